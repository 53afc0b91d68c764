//! What the shim refuses to take from the cluster's side of an upgrade at face value
//! (API.md §5.6, §6): an `action_uid` that is not a plain token, and a "completed" action that
//! left the module where it was.

use super::outcome::upgrade_action_uid;
use super::PlannedModule;
use crate::error::{ApiError, Blame};
use crate::rules::module_upgrade::model::Bdb;
use http::StatusCode;
use serde_json::Value;

/// Longest `action_uid` the shim puts into a poll path.
pub const MAX_ACTION_UID_LEN: usize = 128;

/// The `action_uid` of the new route's 200 reply, refused unless it is a plain token (1–128
/// of `A-Z a-z 0-9 - _`): it goes into `GET /v1/actions/{action_uid}` with the caller's
/// `Authorization`, so `../bdbs/2?x=1` must never become a path. The refused value is returned
/// too, for the audit record (the upgrade may have started).
pub fn checked_action_uid(reply: &Value) -> Result<Option<String>, (ApiError, String)> {
    let Some(uid) = upgrade_action_uid(reply) else {
        return Ok(None);
    };
    let plain = uid.len() <= MAX_ACTION_UID_LEN
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        return Ok(Some(uid));
    }
    let e = ApiError::upstream_invalid_reply(
        "the cluster's upgrade reply carries an action_uid that is not a plain token \
         (letters, digits, '-', '_'); the upgrade may have started: check the database",
    )
    .blamed_on(Blame::Upstream);
    Err((e, uid))
}

/// A completed upgrade that left a requested module where it was (API.md §6, "accepted and
/// ignored"): 500 `upgrade_failed` with the `action_uid`, never a 200 — legacy tools read the
/// old route's 200 as "upgraded". A module asked to stay what it is (a retry of a finished
/// job) is not a failure.
pub fn unchanged_error(
    bdb_after: &Bdb,
    modules: &[PlannedModule],
    action_uid: Option<&str>,
) -> Option<ApiError> {
    let carries = |id: &str| bdb_after.module_list.iter().any(|m| m.module_id == id);
    let stuck = modules.iter().find(|m| {
        m.current_module_id != m.new_module_id
            && carries(&m.current_module_id)
            && !carries(&m.new_module_id)
    })?;
    let text = format!(
        "the upgrade {} completed but database {} still runs module {} {} ({}), not the \
         requested {}; nothing was upgraded",
        action_uid.map_or_else(|| "(no action_uid)".to_owned(), |a| format!("action {a}")),
        bdb_after.uid,
        stuck.current_module_name,
        stuck.from_version,
        stuck.current_module_id,
        stuck.new_module_id
    );
    Some(
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "upgrade_failed", text)
            .with("action_uid", action_uid)
            .blamed_on(Blame::Upstream),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::module_upgrade::model::parse_json;
    use serde_json::json;

    fn planned() -> PlannedModule {
        PlannedModule {
            current_module_id: "json-old".into(),
            current_module_name: "ReJSON".into(),
            from_version: "2.4.7".into(),
            new_module_id: "json-new".into(),
            to_version: Some("2.8.4".into()),
            new_module_args: "MAX 1".into(),
        }
    }

    fn bdb_with(modules: &[(&str, &str, &str)]) -> Bdb {
        let list: Vec<Value> = modules
            .iter()
            .map(|(id, name, v)| json!({"module_id": id, "module_name": name, "semantic_version": v, "module_args": ""}))
            .collect();
        parse_json(
            "bdb",
            json!({"uid": 1, "name": "orders-db", "redis_version": "7.2", "module_list": list})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn action_uid_must_be_a_plain_token() {
        let ok = checked_action_uid(&json!({"action_uid": "a1B2-c3_d4"})).unwrap();
        assert_eq!(ok.as_deref(), Some("a1B2-c3_d4"));
        assert_eq!(
            checked_action_uid(&json!({"action_uid": 42}))
                .unwrap()
                .as_deref(),
            Some("42")
        );
        assert_eq!(checked_action_uid(&json!({})).unwrap(), None);
        for bad in [
            "../bdbs/2?x=1",
            "a/b",
            "a b",
            "a%2e",
            "x.y",
            &"a".repeat(129),
            "é",
        ] {
            let (e, seen) = checked_action_uid(&json!({"action_uid": bad})).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.error_code.as_str()),
                (502, "upstream_invalid_reply")
            );
            assert_eq!(seen, bad.trim());
            assert!(!e.text.contains(bad), "{}", e.text);
        }
    }

    #[test]
    fn a_completed_upgrade_that_left_the_module_is_upgrade_failed() {
        let unchanged = bdb_with(&[("json-old", "ReJSON", "2.4.7")]);
        let e = unchanged_error(&unchanged, &[planned()], Some("act-9")).unwrap();
        assert_eq!(
            (e.status.as_u16(), e.error_code.as_str()),
            (500, "upgrade_failed")
        );
        assert_eq!(e.blame, Blame::Upstream);
        assert_eq!(e.body_json()["action_uid"], "act-9");
        assert!(
            e.text.contains("json-old") && e.text.contains("json-new"),
            "{}",
            e.text
        );
        let upgraded = bdb_with(&[("json-new", "ReJSON", "2.8.4")]);
        assert_eq!(
            unchanged_error(&upgraded, &[planned()], Some("act-9")),
            None
        );
        let same = PlannedModule {
            new_module_id: "json-old".into(),
            ..planned()
        };
        assert_eq!(unchanged_error(&unchanged, &[same], None), None);
    }
}
