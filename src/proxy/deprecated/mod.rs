//! The executor of the deprecated routes: everything around a rule's pure core
//! ([`crate::shim`], [`crate::rules`]) that does I/O — the budgets, the look-ups, the POST and
//! the polling, the audit record, the deprecation headers and the reply.
//!
//! - [`endpoint`]: the outer handler: admission, the detached task, the audit record, the reply.
//! - [`flow`]: the look-ups, the upgrade POST and the polling of one module-upgrade call.

pub mod endpoint;
pub mod flow;
