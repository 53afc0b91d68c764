//! Which worker the current thread is. In the `workers` threading model (issue 15) each worker
//! is one thread running a single-thread runtime with its own listener, and what a request
//! touches on every call (the upstream pool, the metric shards) exists once per worker, picked
//! by this index: no lock, atomic or cache line is shared between workers on that path.
//!
//! Every other thread — the control runtime (admin port, probe, reload), the threads of the
//! `shared` model, the tests' runtimes — is index 0, so the per-worker state has one slot more
//! than there are workers and the `shared` model has exactly one.

use std::cell::Cell;

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(0) };
}

/// The current thread's worker index (0: not a worker thread).
pub fn current() -> usize {
    INDEX.with(Cell::get)
}

/// Marks the current thread as worker `index` (1-based) for the rest of its life.
pub(crate) fn enter(index: usize) {
    INDEX.with(|c| c.set(index));
}

/// One `T` per worker, plus one for threads that are not workers.
#[derive(Debug)]
pub struct PerWorker<T>(Box<[T]>);

impl<T> PerWorker<T> {
    /// `workers` worker slots and the non-worker one, each made by `make`.
    pub fn new(workers: usize, make: impl FnMut() -> T) -> PerWorker<T> {
        let mut make = make;
        PerWorker((0..=workers).map(|_| make()).collect())
    }

    /// [`new`](Self::new) with a fallible `make`: the first error is returned.
    pub fn try_new<E>(
        workers: usize,
        mut make: impl FnMut() -> Result<T, E>,
    ) -> Result<PerWorker<T>, E> {
        Ok(PerWorker(
            (0..=workers).map(|_| make()).collect::<Result<_, E>>()?,
        ))
    }

    /// The current thread's `T` (a thread claiming an index beyond the slots gets the
    /// non-worker one, never a panic).
    pub fn get(&self) -> &T {
        self.at(current())
    }

    /// Slot `index` (slot 0 when there is no such slot).
    pub fn at(&self, index: usize) -> &T {
        let slots = &self.0;
        slots.get(index).unwrap_or(&slots[0])
    }

    /// Every slot, for merging (metrics at scrape time).
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

/// How many worker slots per-worker state needs under `cfg`: the worker count in the
/// `workers` model, none in the `shared` one (everything is slot 0).
pub fn slots(cfg: &crate::config::Config) -> usize {
    match cfg.threading {
        crate::config::Threading::Workers => cfg.workers,
        crate::config::Threading::Shared => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_worker_thread_sees_its_own_slot_and_other_threads_slot_zero() {
        let per = std::sync::Arc::new(PerWorker::new(2, || std::sync::atomic::AtomicUsize::new(0)));
        let handles: Vec<_> = (1..=2)
            .map(|i| {
                let per = per.clone();
                std::thread::spawn(move || {
                    enter(i);
                    per.get()
                        .fetch_add(i * 10, std::sync::atomic::Ordering::Relaxed);
                })
            })
            .collect();
        for h in handles {
            h.join().expect("worker thread");
        }
        per.get().fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seen: Vec<usize> = per
            .iter()
            .map(|a| a.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        assert_eq!(seen, vec![1, 10, 20]);
    }

    #[test]
    fn an_index_beyond_the_slots_falls_back_to_slot_zero() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let per = PerWorker::new(1, || AtomicUsize::new(0));
        std::thread::scope(|s| {
            s.spawn(|| {
                enter(7);
                per.get().fetch_add(1, Ordering::Relaxed);
            });
        });
        let seen: Vec<usize> = per.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        assert_eq!(seen, vec![1, 0]);
    }
}
