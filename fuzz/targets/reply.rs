//! Target `reply`: the reply translation, status + body bytes → `map_upgrade_error`,
//! `map_lookup_error`, `parse_json::<Action>` → `action_state`, `parse_json::<Bdb>` →
//! `old_reply` / `bdb_settled`, and `upgrade_action_uid`.
//!
//! Input: bytes 0–1 are the status (big-endian, folded into 100–999), the rest is the body.
//!
//! Invariants: every error is a 4xx/5xx with a non-blank `error_code` and a text, and its body is
//! a JSON object in the RS shape (`description` = `message`); an upstream error status is kept,
//! a non-error status becomes 502 `upstream_invalid_reply`, as does every unparsable look-up
//! reply; a failed action is 500; the old reply has exactly the old route's six fields and the
//! database's own `uid` and `name`.

use super::assert_error_code;
use super::fixtures::planned;
use deprecation_shim::error::{ApiError, Blame};
use deprecation_shim::rules::module_upgrade::model::{parse_json, Action, Bdb, Module, Node};
use deprecation_shim::rules::module_upgrade::translate::{
    action_state, bdb_settled, map_lookup_error, map_upgrade_error, old_reply, upgrade_action_uid,
    ActionState,
};
use http::StatusCode;
use serde_json::Value;

const LOOKUPS: [&str; 4] = [
    "GET /v1/bdbs/1",
    "GET /v1/modules",
    "GET /v1/nodes",
    "GET /v1/actions/a-1",
];

pub fn run(data: &[u8]) {
    let (Some(&hi), Some(&lo)) = (data.first(), data.get(1)) else {
        return;
    };
    let code = 100 + u16::from_be_bytes([hi, lo]) % 900;
    let status = match StatusCode::from_u16(code) {
        Ok(status) => status,
        Err(e) => panic!("status {code}: {e}"),
    };
    let body = &data[2..];

    let e = map_upgrade_error(status, body);
    check_relayed(status, &e);
    if status == StatusCode::NOT_ACCEPTABLE && !has_error_code(body) {
        assert_eq!(e.error_code, "unsupported_module_capabilities", "{e:?}");
    }
    for what in LOOKUPS {
        let e = map_lookup_error(what, status, body);
        check_relayed(status, &e);
        if status == StatusCode::NOT_FOUND && what.contains("/v1/bdbs/") {
            assert_eq!(e.error_code, "bdb_not_found", "{e:?}");
        }
    }

    match parse_json::<Action>("GET /v1/actions/a-1 reply", body) {
        Ok(action) => check_action(&action),
        Err(e) => check_invalid_reply(&e),
    }
    match parse_json::<Bdb>("GET /v1/bdbs/1 reply", body) {
        Ok(bdb) => check_bdb(&bdb),
        Err(e) => check_invalid_reply(&e),
    }
    if let Err(e) = parse_json::<Vec<Module>>("GET /v1/modules reply", body) {
        check_invalid_reply(&e);
    }
    if let Err(e) = parse_json::<Vec<Node>>("GET /v1/nodes reply", body) {
        check_invalid_reply(&e);
    }
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        if let Some(uid) = upgrade_action_uid(&value) {
            assert!(!uid.trim().is_empty(), "blank action_uid from {value}");
        }
    }
}

/// A relayed upstream error: its status when that is an error, else 502.
fn check_relayed(upstream: StatusCode, e: &ApiError) {
    check_error(e);
    if upstream.is_client_error() || upstream.is_server_error() {
        assert_eq!(e.status, upstream, "{e:?}");
    } else {
        assert_eq!(
            (e.status, e.error_code.as_str()),
            (StatusCode::BAD_GATEWAY, "upstream_invalid_reply"),
            "{e:?}"
        );
    }
}

fn check_invalid_reply(e: &ApiError) {
    check_error(e);
    assert_eq!(
        (e.status, e.error_code.as_str(), e.blame),
        (
            StatusCode::BAD_GATEWAY,
            "upstream_invalid_reply",
            Blame::Upstream
        )
    );
}

fn check_error(e: &ApiError) {
    assert!(e.status.as_u16() >= 400, "{e:?}");
    assert_error_code(&e.error_code, e);
    assert!(!e.text.is_empty(), "{e:?}");
    let body: Value = serde_json::from_slice(&e.body_bytes())
        .unwrap_or_else(|err| panic!("error body is not JSON ({err}): {e:?}"));
    assert_eq!(body["error_code"], e.error_code.as_str());
    assert_eq!(body["description"], body["message"]);
    assert_eq!(body["message"], e.text.as_str());
}

fn check_action(action: &Action) {
    let status = action.status.trim().to_ascii_lowercase();
    match action_state(action) {
        ActionState::Completed => assert_eq!(status, "completed"),
        ActionState::Running => assert!(
            !["completed", "failed", "cancelled", "canceled", "aborted"].contains(&status.as_str()),
            "{action:?} judged running"
        ),
        ActionState::Failed(e) => {
            check_error(&e);
            assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR, "{e:?}");
            assert_eq!(
                e.extra.get("action_uid"),
                Some(&action.action_uid.clone().into())
            );
        }
    }
}

fn check_bdb(bdb: &Bdb) {
    if bdb_settled(bdb) {
        assert_eq!(bdb.status.as_deref(), Some("active"), "{bdb:?}");
    }
    for first in &planned() {
        let (reply, warning) = old_reply(bdb, first);
        let obj = reply.as_object().unwrap_or_else(|| panic!("{reply}"));
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "module_args",
                "module_id",
                "module_name",
                "name",
                "semantic_version",
                "uid"
            ]
        );
        assert_eq!(reply["uid"], bdb.uid, "{reply}");
        assert_eq!(reply["name"], bdb.name.as_str(), "{reply}");
        let carried = bdb
            .module_list
            .iter()
            .any(|m| m.module_id == first.new_module_id);
        assert_eq!(warning.is_none(), carried, "{reply} / {warning:?}");
        if carried {
            assert_eq!(reply["module_id"], first.new_module_id.as_str());
        }
    }
}

/// Whether an upstream body names an `error_code` the relay keeps (a non-blank value).
fn has_error_code(body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => match obj.get("error_code") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        },
        _ => false,
    }
}
