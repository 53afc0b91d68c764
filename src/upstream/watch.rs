//! The node redirect a deprecated call met, for its audit record (API-CATALOGUE §10 T5,
//! `redirected`). The call's task runs in [`watching`]; `route.rs` notes each redirect it
//! handles with [`note`]; the envelope takes it with [`taken`] when it closes the record.
//!
//! Decisions:
//! - A task-local slot, not a parameter: the redirect happens deep in the upstream client,
//!   under every rule's step, and the record is the envelope's; threading it through each
//!   step's calls would touch every rule for one audit field.
//! - One redirect per record: the first one met, unless a later one was not followed (a
//!   `refused` or `relative` redirect says more about the call's reply than a followed one).
//! - Outside [`watching`] (pass-through calls) nothing is kept. A call's task started from
//!   within a watched task (a deprecated call spawned after the version look-up it triggered)
//!   shares its slot, so the look-up's redirect is the call's too.

use super::redirect::Redirected;
use std::future::Future;
use std::sync::{Arc, Mutex};

type Slot = Arc<Mutex<Option<Redirected>>>;

tokio::task_local! {
    static MET: Slot;
}

/// Runs `call` with a slot for the redirect its upstream requests meet: the running task's
/// slot when it has one (see the decisions), else a new one.
pub fn watching<F: Future>(call: F) -> impl Future<Output = F::Output> {
    let slot = MET.try_with(Slot::clone).unwrap_or_default();
    MET.scope(slot, call)
}

/// Notes `met` for the running call (see the decisions); nothing outside [`watching`].
pub fn note(met: Redirected) {
    let _ = MET.try_with(|slot| {
        let mut slot = crate::locks::lock(slot);
        let keep_old = slot.as_ref().is_some_and(|old| old.outcome != "followed")
            || (slot.is_some() && met.outcome == "followed");
        if !keep_old {
            *slot = Some(met);
        }
    });
}

/// The redirect the running call met, taken (None outside [`watching`]).
pub fn taken() -> Option<Redirected> {
    MET.try_with(|slot| crate::locks::lock(slot).take())
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn met(from: &str, outcome: &str) -> Redirected {
        Redirected {
            from: from.into(),
            status: 307,
            to: None,
            to_node_uid: None,
            outcome: outcome.into(),
        }
    }

    #[tokio::test]
    async fn the_first_redirect_is_kept_unless_a_later_one_was_not_followed() {
        let got = watching(async {
            note(met("a", "followed"));
            note(met("b", "followed"));
            taken()
        })
        .await;
        assert_eq!(got.map(|m| m.from), Some("a".into()));
        let got = watching(async {
            note(met("a", "followed"));
            note(met("b", "refused"));
            note(met("c", "followed"));
            taken()
        })
        .await;
        assert_eq!(got.map(|m| m.from), Some("b".into()));
    }

    #[tokio::test]
    async fn a_call_started_inside_a_watched_task_shares_its_slot() {
        let got = watching(async {
            note(met("lookup", "followed"));
            watching(async { taken() }).await
        })
        .await;
        assert_eq!(got.map(|m| m.from), Some("lookup".into()));
    }

    #[tokio::test]
    async fn nothing_is_kept_outside_a_watched_call() {
        note(met("a", "followed"));
        assert_eq!(taken(), None);
        assert_eq!(watching(async { taken() }).await, None);
    }
}
