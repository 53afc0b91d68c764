//! After the new route accepted the upgrade: judging the action and the database while waiting
//! (API.md §5.6), and shaping the old route's final reply (§5.7).
//!
//! Decisions:
//! - Action statuses are compared case-insensitively; anything not known as finished counts as
//!   running, so an unfamiliar status ends at the deadline rather than in a false success.
//! - A BDB whose `action_uid` is an empty string counts as idle, like `null`.
//! - In replies, an unknown `action_uid` or `semantic_version` is JSON `null`, never invented.

use super::{non_empty, PlannedModule};
use crate::error::{ApiError, Blame};
use crate::rules::module_upgrade::model::{Action, Bdb, BdbModule, Module};
use http::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Where an upgrade action stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionState {
    Running,
    Completed,
    /// The reply for the caller: 500 with the action's `error_code` (or `upgrade_failed`).
    Failed(ApiError),
}

/// Judges a polled action (`pending|active|queued|running` and unknown → running).
pub fn action_state(a: &Action) -> ActionState {
    let status = a.status.trim().to_ascii_lowercase();
    match status.as_str() {
        "completed" => ActionState::Completed,
        "failed" | "cancelled" | "canceled" | "aborted" => ActionState::Failed(failure(a, &status)),
        _ => ActionState::Running,
    }
}

fn failure(a: &Action, status: &str) -> ApiError {
    // Both places are trimmed alike: a blank code is no code.
    let code = non_empty(a.error_code.as_deref())
        .or_else(|| non_empty(a.error.as_ref()?.get("error_code")?.as_str()))
        .unwrap_or("upgrade_failed");
    let text = non_empty(a.error_message.as_deref())
        .map(str::to_owned)
        .or_else(|| a.error.as_ref().and_then(error_text))
        .unwrap_or_else(|| {
            let uid = a.action_uid.as_deref().unwrap_or("(unknown)");
            format!("upgrade action {uid} ended with status {status}")
        });
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, text)
        .with("action_uid", a.action_uid.clone())
        .blamed_on(Blame::Upstream)
}

/// The text of an action's `error`: a string, or an object's `message`/`description`, or the
/// object itself as JSON.
fn error_text(error: &Value) -> Option<String> {
    match error {
        Value::Null => None,
        Value::String(s) => non_empty(Some(s)).map(str::to_owned),
        Value::Object(o) => Some(
            ["message", "description"]
                .iter()
                .find_map(|k| non_empty(o.get(*k)?.as_str()))
                .map_or_else(|| error.to_string(), str::to_owned),
        ),
        other => Some(other.to_string()),
    }
}

/// The fallback wait (§5.6): the database is idle again.
pub fn bdb_settled(b: &Bdb) -> bool {
    b.status.as_deref() == Some("active") && non_empty(b.action_uid.as_deref()).is_none()
}

/// 504 `upgrade_timeout`: the upgrade may still finish; the `action_uid` lets the caller follow it.
pub fn timeout_error(action_uid: Option<&str>, waited: Duration) -> ApiError {
    let waited = humantime::format_duration(Duration::from_secs(waited.as_secs()));
    let text = match action_uid {
        Some(uid) => format!(
            "upgrade action {uid} had not finished after {waited}; it may still complete, \
             follow it with GET /v1/actions/{uid}"
        ),
        None => format!("the database had not settled {waited} after the upgrade was started"),
    };
    ApiError::new(StatusCode::GATEWAY_TIMEOUT, "upgrade_timeout", text)
        .with("action_uid", action_uid)
}

/// The `action_uid` of the new route's 200 reply (the BDB object), if it carries a usable one.
pub fn upgrade_action_uid(reply: &Value) -> Option<String> {
    match reply.get("action_uid")? {
        Value::String(s) => non_empty(Some(s)).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The old 200 reply from the database after the upgrade, for the first requested module, with a
/// warning to log when the database does not carry the module that was asked for.
pub fn old_reply(bdb_after: &Bdb, first: &PlannedModule) -> (Value, Option<String>) {
    let list = &bdb_after.module_list;
    if let Some(m) = list.iter().find(|m| m.module_id == first.new_module_id) {
        return (from_module_list(bdb_after, m), None);
    }
    let same_name = list.iter().find(|m| {
        m.module_name
            .eq_ignore_ascii_case(&first.current_module_name)
    });
    if let Some(m) = same_name {
        let warning = format!(
            "database {} ended on module {} {} ({}) instead of the requested {}; \
             replying with what the database carries",
            bdb_after.uid, m.module_name, m.semantic_version, m.module_id, first.new_module_id
        );
        return (from_module_list(bdb_after, m), Some(warning));
    }
    let warning = format!(
        "database {} no longer carries module {} after the upgrade; replying from the plan",
        bdb_after.uid, first.current_module_name
    );
    let reply = reply_json(
        bdb_after,
        &first.new_module_id,
        &first.current_module_name,
        first.to_version.as_deref().into(),
        &first.new_module_args,
    );
    (reply, Some(warning))
}

/// Accept mode (§5.6): the old reply at once, describing the requested module, plus `action_uid`.
pub fn accept_reply(
    bdb: &Bdb,
    first: &PlannedModule,
    catalog: &[Module],
    action_uid: Option<&str>,
) -> Value {
    let requested = catalog.iter().find(|m| m.uid == first.new_module_id);
    let name = requested.map_or(first.current_module_name.as_str(), |m| &m.module_name);
    let version = requested
        .map(|m| m.semantic_version.as_str())
        .or(first.to_version.as_deref());
    let mut reply = reply_json(
        bdb,
        &first.new_module_id,
        name,
        version.into(),
        &first.new_module_args,
    );
    reply["action_uid"] = action_uid.into();
    reply
}

fn from_module_list(bdb: &Bdb, m: &BdbModule) -> Value {
    reply_json(
        bdb,
        &m.module_id,
        &m.module_name,
        m.semantic_version.as_str().into(),
        &m.module_args,
    )
}

/// The old reply shape: `uid`/`name` are the database's (API.md §2).
fn reply_json(bdb: &Bdb, id: &str, name: &str, version: Value, args: &str) -> Value {
    json!({
        "uid": bdb.uid,
        "name": bdb.name,
        "module_id": id,
        "module_name": name,
        "semantic_version": version,
        "module_args": args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::module_upgrade::model::parse_json;

    fn action(v: Value) -> Action {
        parse_json("action", v.to_string().as_bytes()).unwrap()
    }

    fn failed(v: Value) -> ApiError {
        match action_state(&action(v)) {
            ActionState::Failed(e) => e,
            other => panic!("not failed: {other:?}"),
        }
    }

    fn planned() -> PlannedModule {
        PlannedModule {
            current_module_id: "json-old".into(),
            current_module_name: "ReJSON".into(),
            from_version: "2.6.17".into(),
            new_module_id: "json-new".into(),
            to_version: Some("2.8.4".into()),
            new_module_args: "MAX 1".into(),
        }
    }

    fn bdb_with(modules: &[(&str, &str, &str)]) -> Bdb {
        let module_list = modules
            .iter()
            .map(|(id, name, semver)| BdbModule {
                module_id: id.to_string(),
                module_name: name.to_string(),
                module_args: "MAX 1".into(),
                semantic_version: semver.to_string(),
            })
            .collect();
        Bdb {
            uid: 1,
            name: "orders-db".into(),
            status: Some("active".into()),
            module_list,
            ..Default::default()
        }
    }

    #[test]
    fn unfinished_statuses_are_running() {
        for status in ["pending", "active", "queued", "running", "", "rebalancing"] {
            let a = action(json!({"status": status, "progress": "45.5"}));
            assert_eq!(action_state(&a), ActionState::Running, "{status}");
        }
        let a = action(json!({"status": "active", "progress": 12}));
        assert_eq!(action_state(&a), ActionState::Running);
    }

    #[test]
    fn completed_is_completed_whatever_the_case() {
        for status in ["completed", "COMPLETED", " Completed "] {
            let a = action(json!({"status": status, "progress": "100"}));
            assert_eq!(action_state(&a), ActionState::Completed);
        }
    }

    #[test]
    fn failed_action_carries_its_error_code_and_message() {
        let e = failed(json!({"action_uid": "a-1", "status": "failed",
                              "error_code": "shard_upgrade_failed",
                              "error_message": "shard 3 did not restart"}));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.blame, Blame::Upstream);
        assert_eq!(
            e.body_json(),
            json!({"error_code": "shard_upgrade_failed", "action_uid": "a-1",
                   "description": "shard 3 did not restart",
                   "message": "shard 3 did not restart"})
        );
    }

    #[test]
    fn failed_action_text_falls_back_to_error_then_status() {
        let e = failed(json!({"action_uid": "a-2", "status": "failed", "error": "disk full"}));
        assert_eq!(
            (e.error_code.as_str(), e.text.as_str()),
            ("upgrade_failed", "disk full")
        );
        let e = failed(json!({"status": "aborted",
                              "error": {"message": "node lost", "error_code": "node_down"}}));
        assert_eq!(
            (e.error_code.as_str(), e.text.as_str()),
            ("node_down", "node lost")
        );
        let e = failed(json!({"status": "failed", "error": {"step": 4}}));
        assert_eq!(e.text, r#"{"step":4}"#);
        let e = failed(json!({"status": "failed", "error": {"error_code": " \n"}}));
        assert_eq!(e.error_code, "upgrade_failed");
        let e = failed(json!({"status": "failed", "error": {"error_code": " node_down "}}));
        assert_eq!(e.error_code, "node_down");
        let e = failed(json!({"action_uid": "a-3", "status": "cancelled", "error_code": ""}));
        assert_eq!(e.error_code, "upgrade_failed");
        assert_eq!(e.text, "upgrade action a-3 ended with status cancelled");
        assert_eq!(e.extra["action_uid"], "a-3");
    }

    #[test]
    fn bdb_is_settled_when_active_and_idle() {
        let mut b = bdb_with(&[]);
        assert!(bdb_settled(&b));
        b.action_uid = Some(String::new());
        assert!(bdb_settled(&b));
        b.action_uid = Some("a-1".into());
        assert!(!bdb_settled(&b));
        b.action_uid = None;
        b.status = Some("active-change-pending".into());
        assert!(!bdb_settled(&b));
        b.status = None;
        assert!(!bdb_settled(&b));
    }

    #[test]
    fn timeout_is_504_with_the_action_uid() {
        let e = timeout_error(Some("a-9"), Duration::from_millis(600_400));
        assert_eq!(e.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(e.error_code, "upgrade_timeout");
        assert_eq!(e.body_json()["action_uid"], "a-9");
        assert!(e.text.contains("10m"), "{}", e.text);
        let e = timeout_error(None, Duration::from_secs(5));
        assert_eq!(e.body_json()["action_uid"], Value::Null);
    }

    #[test]
    fn action_uid_is_read_from_the_upgrade_reply() {
        let uid = |v: Value| upgrade_action_uid(&v);
        assert_eq!(
            uid(json!({"uid": 1, "action_uid": "a-1"})),
            Some("a-1".into())
        );
        assert_eq!(uid(json!({"action_uid": 17})), Some("17".into()));
        assert_eq!(uid(json!({"action_uid": ""})), None);
        assert_eq!(uid(json!({"action_uid": null})), None);
        assert_eq!(uid(json!({"uid": 1})), None);
        assert_eq!(uid(json!([1])), None);
    }

    #[test]
    fn old_reply_describes_the_requested_module_as_the_database_now_carries_it() {
        let after = bdb_with(&[
            ("search-1", "search", "2.8.4"),
            ("json-new", "ReJSON", "2.8.4"),
        ]);
        let (reply, warning) = old_reply(&after, &planned());
        assert_eq!(
            reply,
            json!({"uid": 1, "name": "orders-db", "module_id": "json-new",
                   "module_name": "ReJSON", "semantic_version": "2.8.4", "module_args": "MAX 1"})
        );
        assert_eq!(warning, None);
    }

    #[test]
    fn old_reply_warns_when_the_cluster_ended_on_another_module() {
        let after = bdb_with(&[("json-other", "rejson", "2.8.5")]);
        let (reply, warning) = old_reply(&after, &planned());
        assert_eq!(reply["module_id"], "json-other");
        assert_eq!(reply["semantic_version"], "2.8.5");
        let warning = warning.unwrap();
        assert!(warning.contains("ended on module"), "{warning}");
        assert!(warning.contains("json-new"), "{warning}");
    }

    #[test]
    fn old_reply_falls_back_to_the_plan_when_the_module_is_gone() {
        let (reply, warning) = old_reply(&bdb_with(&[]), &planned());
        assert_eq!(
            reply,
            json!({"uid": 1, "name": "orders-db", "module_id": "json-new",
                   "module_name": "ReJSON", "semantic_version": "2.8.4", "module_args": "MAX 1"})
        );
        assert!(warning.unwrap().contains("no longer carries"));
    }

    #[test]
    fn accept_reply_describes_the_requested_module_with_the_action_uid() {
        let catalog = [Module {
            uid: "json-new".into(),
            module_name: "ReJSON".into(),
            semantic_version: "2.8.4".into(),
            ..Default::default()
        }];
        let before = bdb_with(&[("json-old", "ReJSON", "2.6.17")]);
        let reply = accept_reply(&before, &planned(), &catalog, Some("a-1"));
        assert_eq!(
            reply,
            json!({"uid": 1, "name": "orders-db", "module_id": "json-new",
                   "module_name": "ReJSON", "semantic_version": "2.8.4", "module_args": "MAX 1",
                   "action_uid": "a-1"})
        );
        let unknown = PlannedModule {
            to_version: None,
            ..planned()
        };
        let reply = accept_reply(&before, &unknown, &[], None);
        assert_eq!(reply["semantic_version"], Value::Null);
        assert_eq!(reply["action_uid"], Value::Null);
        assert_eq!(reply["module_name"], "ReJSON");
    }
}
