//! The old ↔ new translation, as plain functions over plain data (no I/O, no async).
//!
//! A deprecated call, once the rule table ([`crate::rules`]) has classified it, goes through
//! these modules in order:
//! - [`legacy`]: parse the old body (shapes A–D of API.md §2) into [`legacy::LegacyRequest`].
//! - [`model`]: the cluster objects the look-ups return (BDB, module, node, action), read leniently.
//! - [`translate`]: resolve and pre-validate the modules, build the pinned body for
//!   `POST /v1/bdbs/{uid}/upgrade`, judge the upgrade action, shape the old reply and map errors.
//!
//! The `Deprecation` / `Link` / `Sunset` headers every old-route reply carries are rendered by
//! [`crate::rules::deprecation_headers`], shared by every rule.
//!
//! The look-ups, the POST and the polling around these functions live in the executor on the
//! request path (the `proxy::deprecated` module), which owns no translation logic of its own; nothing
//! here imports the request path.

pub mod legacy;
pub mod model;
pub mod translate;
