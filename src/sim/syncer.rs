//! R16, the syncer state of a database (`shared/API-CATALOGUE.md` §6):
//! `GET /v1/bdbs/{uid}/syncer_state` (deprecated 7.2.4), its successor `…/syncer_state/crdt` and
//! the sibling `…/syncer_state/replica`, on every release, for every role (`view_bdb_info`).
//!
//! Decisions:
//! - The old path and `/crdt` answer the same object, 200 for a CRDB (`crdt: true`; the seed's
//!   uid 4 `geo-replicated`), else `404 syncer_state_not_found` "Syncer state key does not
//!   exist" (as `RERS-live` saw on a non-CRDB database). An unknown database is
//!   `404 bdb_not_found`.
//! - `/replica` answers 200 only for a Replica Of database (a non-empty `replica_sources` list
//!   in the database object; none is seeded, a state file can add one), else the same 404: a
//!   CRDB has a CRDT syncer, not a replica syncer.
//! - The object is `{"DB", "RunID", "Syncer", "Sources"}`; `DB` and `RunID` (a number, as in the
//!   docs' example) are documented, the rest is ours. Deterministic per database.

use serde_json::{json, Value};

use super::routes::bdb_not_found;
use super::state::{Bdb, SimState};
use crate::error::ApiError;

/// Which syncer path was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syncer {
    /// `…/syncer_state` (deprecated): the CRDT syncer.
    Legacy,
    /// `…/syncer_state/crdt`.
    Crdt,
    /// `…/syncer_state/replica`.
    Replica,
}

impl Syncer {
    /// The path segments after `syncer_state`; `None` for an unknown path.
    pub fn from_segments(rest: &[&str]) -> Option<Syncer> {
        match rest {
            [] => Some(Syncer::Legacy),
            ["crdt"] => Some(Syncer::Crdt),
            ["replica"] => Some(Syncer::Replica),
            _ => None,
        }
    }
}

/// A fixed start time for the `RunID`s (2024-03-11T09:20:00Z, the seed's `created_time`).
const RUN_EPOCH: u64 = 1_710_148_800;

/// Answers one of the three routes.
pub fn syncer_state(state: &SimState, uid: u64, which: Syncer) -> Result<Value, ApiError> {
    let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?;
    let (has, kind) = match which {
        Syncer::Legacy | Syncer::Crdt => (bdb.crdt, "crdt"),
        Syncer::Replica => (is_replica_of(bdb), "replica"),
    };
    if !has {
        return Err(ApiError::not_found(
            "syncer_state_not_found",
            "Syncer state key does not exist",
        ));
    }
    Ok(json!({
        "DB": bdb.uid,
        "RunID": RUN_EPOCH + bdb.uid,
        "Syncer": kind,
        "Sources": [{"Id": 1, "Status": "in-sync", "LagMs": 0}],
    }))
}

fn is_replica_of(bdb: &Bdb) -> bool {
    bdb.extra
        .get("replica_sources")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed;
    use crate::sim::version::SimVersion;

    #[test]
    fn crdb_has_a_crdt_syncer_and_old_and_new_paths_agree() {
        let s = seed(SimVersion::V7_4);
        let old = syncer_state(&s, 4, Syncer::Legacy).expect("crdb");
        assert_eq!(old, syncer_state(&s, 4, Syncer::Crdt).expect("crdb"));
        assert_eq!(old["DB"], 4);
        let none = syncer_state(&s, 4, Syncer::Replica).expect_err("not replica-of");
        assert_eq!(none.error_code, "syncer_state_not_found");
        let plain = syncer_state(&s, 1, Syncer::Legacy).expect_err("not a crdb");
        assert_eq!(plain.text, "Syncer state key does not exist");
        let missing = syncer_state(&s, 99, Syncer::Crdt).expect_err("no db");
        assert_eq!(missing.error_code, "bdb_not_found");
    }

    #[test]
    fn a_replica_of_database_has_a_replica_syncer() {
        let mut s = seed(SimVersion::V8_2);
        if let Some(b) = s.bdb_mut(2) {
            b.extra
                .insert("replica_sources".into(), json!([{"uri": "redis://x"}]));
        }
        assert_eq!(
            syncer_state(&s, 2, Syncer::Replica).expect("replica")["Syncer"],
            "replica"
        );
        assert_eq!(Syncer::from_segments(&["crdt", "x"]), None);
    }
}
