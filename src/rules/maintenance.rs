//! R17: `POST /v1/nodes/{uid}/actions/maintenance_on` with `keep_slave_shards`, deprecated in RS
//! 7.4.2 for `evict_ha_replica` and `evict_active_active_replica` (API-CATALOGUE §7). A body
//! rewrite, applied by `auto` on known ≥ 7.4.2. Pure: the executor reads the body (larger than
//! [`MAX_BODY`], it streams through untouched) and sends what [`plan`] says.
//!
//! Contract (§7 table): `"keep_slave_shards": true` → removed, both `evict_*` added as `false`;
//! `false` → removed, nothing added (the cluster default, evict, applies); with any `evict_*` key
//! present → untouched (audit `conflict` when they disagree); a non-boolean value, a body that is
//! not a JSON object or is over 64 KiB → untouched. Other keys are copied.
//!
//! Decisions:
//! - "`evict_*`" means the two successor keys only: `evict_dbs` is another documented key of the
//!   same body and is copied like any other.
//! - Disagreement (`conflict`): `keep_slave_shards: true` beside an `evict_*` that is `true`, or
//!   `false` beside one that is `false` (keeping replicas is not evicting them). A non-boolean
//!   on either side cannot disagree; it is `evict_keys_present`.
//! - No `keep_slave_shards` at all: nothing to translate, [`Untouched::NotApplicable`]. The check
//!   order is size, object, `keep_slave_shards`, `evict_*`, type, so each body gets one reason.
//! - The rewritten body is re-serialised from a `serde_json` map: key order is not kept
//!   (`serde_json`'s `preserve_order` feature is not enabled in this crate and is not added for
//!   this; JSON object order is not semantic), and a key given twice keeps its last value, the
//!   one translated, so what is sent is what was decided.
//! - The audit records the booleans as the cluster receives them (`evict_*` after the rewrite, or
//!   as the caller sent them when untouched); no field of this body is a secret.

use serde_json::{Map, Value};

/// Largest body read (§7).
pub const MAX_BODY: usize = 64 * 1024;
/// The deprecated key.
pub const KEEP_SLAVE_SHARDS: &str = "keep_slave_shards";
/// The two successor keys.
pub const EVICT_KEYS: [&str; 2] = ["evict_ha_replica", "evict_active_active_replica"];

/// Why a body goes untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untouched {
    /// No `keep_slave_shards`: nothing to translate.
    NotApplicable,
    /// Over [`MAX_BODY`].
    TooLarge,
    /// Not a JSON object.
    NotAnObject,
    /// `keep_slave_shards` is not a boolean.
    NotBoolean,
    /// An `evict_*` key is present and agrees (or cannot be compared): the caller uses the new
    /// keys, the server decides.
    EvictKeysPresent,
    /// An `evict_*` key is present and says the opposite of `keep_slave_shards`.
    Conflict,
}

impl Untouched {
    pub fn as_str(self) -> &'static str {
        match self {
            Untouched::NotApplicable => "not_applicable",
            Untouched::TooLarge => "too_large",
            Untouched::NotAnObject => "not_an_object",
            Untouched::NotBoolean => "not_boolean",
            Untouched::EvictKeysPresent => "evict_keys_present",
            Untouched::Conflict => "conflict",
        }
    }
}

/// What goes into the audit record (§7; the executor adds node uid, status, `task_id`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audit {
    /// `keep_slave_shards` as sent, when a boolean.
    pub keep_slave_shards: Option<bool>,
    /// `evict_ha_replica` as the cluster receives it, when a boolean.
    pub evict_ha_replica: Option<bool>,
    /// `evict_active_active_replica` as the cluster receives it, when a boolean.
    pub evict_active_active_replica: Option<bool>,
}

/// The decision for one `maintenance_on` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send this body instead (`Content-Type: application/json`, its own `Content-Length`).
    Rewrite { body: Vec<u8>, audit: Audit },
    /// Forward the original body untouched.
    Untouched { reason: Untouched, audit: Audit },
}

/// The §7 table for one body.
pub fn plan(body: &[u8]) -> Decision {
    let untouched = |reason, audit| Decision::Untouched { reason, audit };
    if body.len() > MAX_BODY {
        return untouched(Untouched::TooLarge, Audit::default());
    }
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
        return untouched(Untouched::NotAnObject, Audit::default());
    };
    let evict = |object: &Map<String, Value>, key: &str| object.get(key).and_then(Value::as_bool);
    let mut audit = Audit {
        keep_slave_shards: object.get(KEEP_SLAVE_SHARDS).and_then(Value::as_bool),
        evict_ha_replica: evict(&object, EVICT_KEYS[0]),
        evict_active_active_replica: evict(&object, EVICT_KEYS[1]),
    };
    let Some(keep) = object.get(KEEP_SLAVE_SHARDS) else {
        return untouched(Untouched::NotApplicable, audit);
    };
    if EVICT_KEYS.iter().any(|k| object.contains_key(*k)) {
        // Keeping the replicas means not evicting them.
        let disagrees = |e: Option<bool>| keep.as_bool().zip(e).is_some_and(|(k, e)| k == e);
        let reason =
            if disagrees(audit.evict_ha_replica) || disagrees(audit.evict_active_active_replica) {
                Untouched::Conflict
            } else {
                Untouched::EvictKeysPresent
            };
        return untouched(reason, audit);
    }
    let Some(keep) = keep.as_bool() else {
        return untouched(Untouched::NotBoolean, audit);
    };
    object.remove(KEEP_SLAVE_SHARDS);
    if keep {
        for key in EVICT_KEYS {
            object.insert(key.to_owned(), Value::Bool(false));
        }
        audit.evict_ha_replica = Some(false);
        audit.evict_active_active_replica = Some(false);
    }
    // Serialising a map of JSON values cannot fail.
    let body = serde_json::to_vec(&Value::Object(object)).unwrap_or_else(|_| b"{}".to_vec());
    Decision::Rewrite { body, audit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rewritten(body: &[u8]) -> (Value, Audit) {
        match plan(body) {
            Decision::Rewrite { body, audit } => (serde_json::from_slice(&body).unwrap(), audit),
            other => panic!("{other:?}"),
        }
    }

    fn reason(body: &[u8]) -> Untouched {
        match plan(body) {
            Decision::Untouched { reason, .. } => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_true_becomes_both_evict_keys_false_and_other_keys_stay() {
        let (sent, audit) = rewritten(
            br#"{"overwrite_snapshot":true,"keep_slave_shards":true,"evict_dbs":false,"x":{"y":[1]}}"#,
        );
        assert_eq!(
            sent,
            json!({"overwrite_snapshot": true, "evict_dbs": false, "x": {"y": [1]},
                   "evict_ha_replica": false, "evict_active_active_replica": false})
        );
        assert_eq!(
            audit,
            Audit {
                keep_slave_shards: Some(true),
                evict_ha_replica: Some(false),
                evict_active_active_replica: Some(false)
            }
        );
    }

    #[test]
    fn keep_false_is_removed_and_nothing_is_added() {
        let (sent, audit) = rewritten(br#"{"keep_slave_shards":false,"overwrite_snapshot":false}"#);
        assert_eq!(sent, json!({"overwrite_snapshot": false}));
        assert_eq!(audit.keep_slave_shards, Some(false));
        assert_eq!(audit.evict_ha_replica, None);
        assert_eq!(audit.evict_active_active_replica, None);
        let (sent, _) = rewritten(br#"{"keep_slave_shards":false}"#);
        assert_eq!(sent, json!({}));
    }

    #[test]
    fn a_key_given_twice_is_translated_by_its_last_value() {
        let (sent, audit) = rewritten(br#"{"keep_slave_shards":false,"keep_slave_shards":true}"#);
        assert_eq!(
            sent,
            json!({"evict_ha_replica": false, "evict_active_active_replica": false})
        );
        assert_eq!(audit.keep_slave_shards, Some(true));
    }

    #[test]
    fn with_an_evict_key_the_body_is_untouched_and_a_disagreement_is_a_conflict() {
        for (body, expected) in [
            (&br#"{"keep_slave_shards":true,"evict_ha_replica":false}"#[..], Untouched::EvictKeysPresent),
            (br#"{"keep_slave_shards":true,"evict_ha_replica":false,"evict_active_active_replica":false}"#, Untouched::EvictKeysPresent),
            (br#"{"keep_slave_shards":false,"evict_active_active_replica":true}"#, Untouched::EvictKeysPresent),
            (br#"{"keep_slave_shards":true,"evict_ha_replica":true}"#, Untouched::Conflict),
            (br#"{"keep_slave_shards":true,"evict_ha_replica":false,"evict_active_active_replica":true}"#, Untouched::Conflict),
            (br#"{"keep_slave_shards":false,"evict_ha_replica":false}"#, Untouched::Conflict),
            (br#"{"keep_slave_shards":true,"evict_ha_replica":"yes"}"#, Untouched::EvictKeysPresent),
            (br#"{"keep_slave_shards":"yes","evict_ha_replica":true}"#, Untouched::EvictKeysPresent),
            (br#"{"keep_slave_shards":true,"evict_ha_replica":null}"#, Untouched::EvictKeysPresent),
        ] {
            assert_eq!(reason(body), expected, "{}", String::from_utf8_lossy(body));
        }
        let Decision::Untouched { audit, .. } =
            plan(br#"{"keep_slave_shards":true,"evict_ha_replica":true}"#)
        else {
            panic!()
        };
        assert_eq!(audit.keep_slave_shards, Some(true));
        assert_eq!(audit.evict_ha_replica, Some(true));
        assert_eq!(audit.evict_active_active_replica, None);
    }

    #[test]
    fn evict_dbs_is_not_an_evict_replica_key() {
        let (sent, _) = rewritten(br#"{"keep_slave_shards":true,"evict_dbs":true}"#);
        assert_eq!(sent["evict_dbs"], true);
        assert_eq!(sent["evict_ha_replica"], false);
    }

    #[test]
    fn non_booleans_non_objects_and_large_bodies_are_untouched() {
        for (body, expected) in [
            (
                &br#"{"keep_slave_shards":"true"}"#[..],
                Untouched::NotBoolean,
            ),
            (br#"{"keep_slave_shards":1}"#, Untouched::NotBoolean),
            (br#"{"keep_slave_shards":null}"#, Untouched::NotBoolean),
            (b"", Untouched::NotAnObject),
            (b"not json", Untouched::NotAnObject),
            (b"[]", Untouched::NotAnObject),
            (b"true", Untouched::NotAnObject),
            (br#"{"keep_slave_shards":true"#, Untouched::NotAnObject),
            (b"{}", Untouched::NotApplicable),
            (br#"{"evict_ha_replica":false}"#, Untouched::NotApplicable),
            (br#"{"overwrite_snapshot":true}"#, Untouched::NotApplicable),
        ] {
            assert_eq!(reason(body), expected, "{}", String::from_utf8_lossy(body));
        }
        let mut large = br#"{"keep_slave_shards":true,"pad":""#.to_vec();
        large.resize(MAX_BODY - 2, b'a');
        large.extend_from_slice(b"\"}");
        assert_eq!(large.len(), MAX_BODY);
        assert!(matches!(plan(&large), Decision::Rewrite { .. }));
        large.insert(large.len() - 2, b'a');
        assert_eq!(reason(&large), Untouched::TooLarge);
    }

    #[test]
    fn reasons_have_stable_audit_names() {
        assert_eq!(Untouched::Conflict.as_str(), "conflict");
        assert_eq!(Untouched::NotApplicable.as_str(), "not_applicable");
        assert_eq!(Untouched::EvictKeysPresent.as_str(), "evict_keys_present");
    }
}
