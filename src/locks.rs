//! The one poison-ignoring lock used across the crate.
//!
//! Every mutex in this crate guards plain data that each critical section updates whole (a
//! counter pair, a set insert, a `Vec` push, a file handle): a panic while one is held cannot
//! leave it torn in a way that matters, so a poisoned lock is used as is rather than turning
//! one panic into a cascade.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, ignoring poisoning (see the module docs for why that is sound here).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
