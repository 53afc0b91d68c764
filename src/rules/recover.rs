//! After a POST (or DELETE) that a node may have applied but never answered (API-CATALOGUE §10
//! T3, issue 21): which action, among those another node lists, is the one the shim started,
//! and the error when it cannot tell. Pure: the I/O (asking another node) is the steps'
//! (`proxy::deprecated::module_upgrade::recover`, `proxy::deprecated::modules`).
//!
//! Decisions:
//! - The request is never sent again: a second upgrade is worse than an unknown outcome.
//! - "Ours" is the one unfinished action of the right kind on the object that was not running
//!   before the request was sent. None, or more than one: the shim cannot tell, and says so
//!   (`502 upstream_outcome_unknown`, audited `unknown`), never `ok`.
//! - A finished action is never taken for ours: an earlier upgrade of the same database looks
//!   the same, and the list carries no clock the shim can compare with its own.

use crate::error::{ApiError, Blame};
use crate::rules::module_upgrade::model::{Action, Bdb};
use crate::rules::module_upgrade::translate::{action_state, ActionState};
use http::StatusCode;
use serde_json::Value;

/// `error_code` of a call whose request may or may not have been applied.
pub const OUTCOME_UNKNOWN: &str = "upstream_outcome_unknown";

/// The actions of a `GET /v1/actions[/bdb/{uid}]` reply: an array of actions, or an object
/// holding them under `actions` and `state-machines` (RS has answered both ways). `None`
/// when the reply is neither.
pub fn listed_actions(body: &[u8]) -> Option<Vec<Action>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let lists: Vec<&Value> = match &value {
        Value::Array(_) => vec![&value],
        Value::Object(o) => ["actions", "state-machines"]
            .iter()
            .filter_map(|k| o.get(*k))
            .collect(),
        _ => return None,
    };
    if lists.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for list in lists {
        let Value::Array(items) = list else {
            return None;
        };
        // An entry that is not an action (no status) is skipped, not fatal.
        out.extend(
            items
                .iter()
                .filter_map(|a| serde_json::from_value::<Action>(a.clone()).ok()),
        );
    }
    Some(out)
}

fn running(a: &Action) -> bool {
    matches!(action_state(a), ActionState::Running)
}

/// The one action in `listed` that `wanted` accepts, still running and not `before`; `None`
/// when there is none or more than one.
fn the_one<'a>(
    listed: &'a [Action],
    before: Option<&str>,
    wanted: impl Fn(&Action) -> bool,
) -> Option<&'a str> {
    let mut found = listed.iter().filter(|a| {
        let uid = a.action_uid.as_deref().filter(|u| !u.is_empty());
        uid.is_some() && uid != before && running(a) && wanted(a)
    });
    let first = found.next()?.action_uid.as_deref();
    match found.next() {
        Some(_) => None,
        None => first,
    }
}

/// The upgrade the shim started on database `bdb_uid`, from what another node says after the
/// POST went unanswered: `listed`, its actions (`GET /v1/actions/bdb/{uid}`), when it could
/// be read, else `bdb_now`, the database (`action_uid` names the action running on it).
/// `before` is the database's `action_uid` when it was read before the POST.
pub fn started_upgrade(
    bdb_uid: u64,
    before: Option<&str>,
    listed: Option<&[Action]>,
    bdb_now: Option<&Bdb>,
) -> Option<String> {
    let object = format!("bdb:{bdb_uid}");
    if let Some(listed) = listed {
        return the_one(listed, before, |a| {
            let upgrade = a
                .name
                .as_deref()
                .is_some_and(|n| n.to_ascii_lowercase().contains("upgrade"));
            upgrade && a.object_name.as_deref().is_none_or(|o| o == object)
        })
        .map(str::to_owned);
    }
    let now = bdb_now?.action_uid.as_deref().filter(|u| !u.is_empty())?;
    (Some(now) != before).then(|| now.to_owned())
}

/// The action on module `module_uid` (a delete the shim sent), from `GET /v1/actions`.
pub fn started_on_module(module_uid: &str, listed: &[Action]) -> Option<String> {
    let object = format!("module:{module_uid}");
    the_one(listed, None, |a| a.object_name.as_deref() == Some(&object)).map(str::to_owned)
}

/// `502 upstream_outcome_unknown`: `what` ("the upgrade of database 1") was sent, no node
/// answered it (`cause`), and no node shows that it started; `check` says where to look.
pub fn outcome_unknown(what: &str, cause: &ApiError, check: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        OUTCOME_UNKNOWN,
        format!(
            "{what} was sent to the cluster, but the node gave no answer ({}) and no other node \
             shows that it started: the outcome is unknown. It was not sent again; check {check} \
             before calling again",
            cause.text
        ),
    )
    .blamed_on(Blame::Upstream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn actions(v: Value) -> Vec<Action> {
        listed_actions(v.to_string().as_bytes()).expect("a list")
    }

    #[test]
    fn the_one_new_running_upgrade_is_ours() {
        let listed = actions(json!([
            {"action_uid": "old", "name": "SMUpgradeBDB", "object_name": "bdb:1", "status": "completed"},
            {"action_uid": "new", "name": "SMUpgradeBDB", "object_name": "bdb:1", "status": "active"},
            {"action_uid": "cfg", "name": "SMUpdateBDB", "object_name": "bdb:1", "status": "active"},
        ]));
        assert_eq!(
            started_upgrade(1, None, Some(&listed), None).as_deref(),
            Some("new")
        );
    }

    #[test]
    fn none_or_two_candidates_or_the_one_running_before_cannot_be_told() {
        let two = actions(json!([
            {"action_uid": "a", "name": "SMUpgradeBDB", "status": "pending"},
            {"action_uid": "b", "name": "SMUpgradeBDB", "status": "active"},
        ]));
        assert_eq!(started_upgrade(1, None, Some(&two), None), None);
        let done =
            actions(json!([{"action_uid": "a", "name": "SMUpgradeBDB", "status": "completed"}]));
        assert_eq!(started_upgrade(1, None, Some(&done), None), None);
        let before =
            actions(json!([{"action_uid": "a", "name": "SMUpgradeBDB", "status": "active"}]));
        assert_eq!(started_upgrade(1, Some("a"), Some(&before), None), None);
        let other_db = actions(json!([
            {"action_uid": "x", "name": "SMUpgradeBDB", "object_name": "bdb:2", "status": "active"}
        ]));
        assert_eq!(started_upgrade(1, None, Some(&other_db), None), None);
    }

    #[test]
    fn without_a_list_the_database_names_its_new_action() {
        let bdb: Bdb = serde_json::from_value(json!({"uid": 1, "action_uid": "n"})).expect("bdb");
        assert_eq!(
            started_upgrade(1, None, None, Some(&bdb)).as_deref(),
            Some("n")
        );
        assert_eq!(started_upgrade(1, Some("n"), None, Some(&bdb)), None);
        let idle: Bdb = serde_json::from_value(json!({"uid": 1, "action_uid": null})).expect("bdb");
        assert_eq!(started_upgrade(1, None, None, Some(&idle)), None);
    }

    #[test]
    fn a_list_may_be_an_object_of_actions_and_state_machines() {
        let listed = actions(json!({
            "actions": [{"action_uid": "m", "object_name": "module:7", "status": "running"}],
            "state-machines": [{"action_uid": "u", "name": "SMUpgradeBDB", "object_name": "bdb:1", "status": "active"}],
        }));
        assert_eq!(started_on_module("7", &listed).as_deref(), Some("m"));
        assert_eq!(
            started_upgrade(1, None, Some(&listed), None).as_deref(),
            Some("u")
        );
        assert_eq!(listed_actions(b"{\"x\": 1}"), None);
        assert_eq!(listed_actions(b"not json"), None);
    }

    #[test]
    fn the_unknown_outcome_is_a_502_naming_what_and_where_to_look() {
        let cause = ApiError::upstream_unavailable("the cluster is unreachable: reset");
        let e = outcome_unknown("the upgrade of database 3", &cause, "GET /v1/actions/bdb/3");
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert_eq!(e.error_code, OUTCOME_UNKNOWN);
        assert!(
            e.text.contains("database 3") && e.text.contains("unknown"),
            "{}",
            e.text
        );
        assert!(e.text.contains("reset"), "{}", e.text);
    }
}
