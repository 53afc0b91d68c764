//! Cluster error replies turned into the shim's replies: failed look-ups (API.md §5.3) and a
//! refused `POST /v1/bdbs/{uid}/upgrade` (§5.8).
//!
//! Decisions:
//! - A JSON object body is kept: `error_code` from it (else derived from the status), the text
//!   from `message`, else `description`, and every other field alongside. When both texts are
//!   present and differ, `message` wins (the key the request pages document).
//! - Any other body (HTML from a load balancer, plain text) becomes the text, cut to 512 bytes.
//! - A busy database (`409 action_in_progress`: another upgrade of it runs, e.g. one a second
//!   replica sent) is relayed as is, status, code and text: the old route answered a busy
//!   database the same way (the 7.4 simulator's native route does), and the caller's tooling
//!   already retries on it. The shim never waits on an action it did not start, nor resends.
//! - Blame follows the status: 4xx is the caller's (credentials, permissions, a bad request),
//!   5xx the cluster's. A status that is not an error at all is 502 `upstream_invalid_reply`.

use crate::error::{ApiError, Blame};
use http::StatusCode;
use serde_json::{Map, Value};

/// Upstream bodies quoted as error text are cut here so an HTML error page stays readable.
const MAX_QUOTED_BODY: usize = 512;

/// Maps a non-2xx reply of the new route (§5.8): 406 without an `error_code` is the old route's
/// `unsupported_module_capabilities`; anything else keeps its status and body.
pub fn map_upgrade_error(status: StatusCode, body: &[u8]) -> ApiError {
    let what = "POST /v1/bdbs/{uid}/upgrade";
    let Some(blame) = blame_for(status) else {
        return not_an_error(what, status);
    };
    let mut reply = relay(what, status, body);
    if status == StatusCode::NOT_ACCEPTABLE && reply.code.is_none() {
        reply.code = Some("unsupported_module_capabilities".into());
    }
    reply.into_error(status, blame)
}

/// Maps a non-2xx look-up reply (§5.3). `what` names the call (`"GET /v1/bdbs/1"`); a 404 on a
/// `/v1/bdbs/` look-up means the database does not exist: 404 `bdb_not_found`.
pub fn map_lookup_error(what: &str, status: StatusCode, body: &[u8]) -> ApiError {
    let Some(blame) = blame_for(status) else {
        return not_an_error(what, status);
    };
    let mut reply = relay(what, status, body);
    if status == StatusCode::NOT_FOUND && what.contains("/v1/bdbs/") {
        reply.code = Some("bdb_not_found".into());
    }
    reply.into_error(status, blame)
}

/// What was salvaged from an upstream error body.
struct Relayed {
    code: Option<String>,
    text: String,
    extra: Map<String, Value>,
}

impl Relayed {
    fn into_error(self, status: StatusCode, blame: Blame) -> ApiError {
        let code = self.code.unwrap_or_else(|| code_for(status).to_owned());
        let mut err = ApiError::new(status, code, self.text).blamed_on(blame);
        err.extra = self.extra;
        err
    }
}

fn relay(what: &str, status: StatusCode, body: &[u8]) -> Relayed {
    let default_text = || format!("{what} failed with {status}");
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut obj)) => {
            let code = take_text(&mut obj, "error_code");
            let message = take_text(&mut obj, "message");
            let description = take_text(&mut obj, "description");
            Relayed {
                code,
                text: message.or(description).unwrap_or_else(default_text),
                extra: obj,
            }
        }
        _ => Relayed {
            code: None,
            text: quote(body).unwrap_or_else(default_text),
            extra: Map::new(),
        },
    }
}

/// Removes `key` (it is rebuilt by [`ApiError::body_json`]) and returns it as non-empty text.
fn take_text(obj: &mut Map<String, Value>, key: &str) -> Option<String> {
    match obj.remove(key)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn quote(body: &[u8]) -> Option<String> {
    let cut = &body[..body.len().min(MAX_QUOTED_BODY)];
    let text = String::from_utf8_lossy(cut).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn blame_for(status: StatusCode) -> Option<Blame> {
    if status.is_client_error() {
        Some(Blame::Client)
    } else if status.is_server_error() {
        Some(Blame::Upstream)
    } else {
        None
    }
}

fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        _ => "upstream_error",
    }
}

fn not_an_error(what: &str, status: StatusCode) -> ApiError {
    ApiError::upstream_invalid_reply(format!(
        "{what} answered {status}, which is neither success nor an error"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn upgrade_406_without_code_is_unsupported_module_capabilities() {
        let e = map_upgrade_error(StatusCode::NOT_ACCEPTABLE, &bytes(json!({"message": "no"})));
        assert_eq!(e.status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(e.error_code, "unsupported_module_capabilities");
        assert_eq!(e.text, "no");
        assert_eq!(e.blame, Blame::Client);
        let e = map_upgrade_error(StatusCode::NOT_ACCEPTABLE, b"");
        assert_eq!(e.error_code, "unsupported_module_capabilities");
        assert!(e.text.contains("406"), "{}", e.text);
    }

    #[test]
    fn upgrade_406_with_code_keeps_it() {
        let body = bytes(json!({"error_code": "redis_incompatible_version", "description": "d"}));
        let e = map_upgrade_error(StatusCode::NOT_ACCEPTABLE, &body);
        assert_eq!(e.error_code, "redis_incompatible_version");
        assert_eq!(e.text, "d");
    }

    #[test]
    fn upgrade_error_body_is_passed_through_with_both_texts() {
        let body = bytes(json!({"error_code": "bdb_busy", "message": "busy", "action_uid": "a1"}));
        let e = map_upgrade_error(StatusCode::CONFLICT, &body);
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(
            e.body_json(),
            json!({"error_code": "bdb_busy", "message": "busy", "description": "busy",
                   "action_uid": "a1"})
        );
        let body = bytes(json!({"error_code": "internal", "description": "boom"}));
        let e = map_upgrade_error(StatusCode::INTERNAL_SERVER_ERROR, &body);
        assert_eq!(e.body_json()["message"], "boom");
        assert_eq!(e.blame, Blame::Upstream);
    }

    #[test]
    fn upgrade_non_json_body_is_quoted_and_cut() {
        let e = map_upgrade_error(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert_eq!(e.error_code, "upstream_error");
        assert_eq!(e.text, "<html>bad gateway</html>");
        assert_eq!(e.blame, Blame::Upstream);
        let mut long = "é".repeat(300).into_bytes();
        long.extend(b"tail");
        let e = map_upgrade_error(StatusCode::INTERNAL_SERVER_ERROR, &long);
        assert!(e.text.len() <= MAX_QUOTED_BODY + 3, "{}", e.text.len());
        assert!(!e.text.contains("tail"));
        let e = map_upgrade_error(StatusCode::SERVICE_UNAVAILABLE, b"\xff\xfe oops");
        assert!(e.text.contains("oops"));
        let e = map_upgrade_error(StatusCode::BAD_REQUEST, b"[1,2]");
        assert_eq!(
            (e.error_code.as_str(), e.text.as_str()),
            ("upstream_error", "[1,2]")
        );
    }

    #[test]
    fn non_error_status_is_upstream_invalid_reply() {
        for status in [StatusCode::OK, StatusCode::FOUND] {
            let e = map_upgrade_error(status, b"{}");
            assert_eq!(e.status, StatusCode::BAD_GATEWAY);
            assert_eq!(e.error_code, "upstream_invalid_reply");
            let e = map_lookup_error("GET /v1/modules", status, b"");
            assert_eq!(e.error_code, "upstream_invalid_reply");
        }
    }

    #[test]
    fn lookup_404_on_the_bdb_is_bdb_not_found() {
        let body = bytes(json!({"error_code": "not_found", "description": "no such db"}));
        let e = map_lookup_error("GET /v1/bdbs/9", StatusCode::NOT_FOUND, &body);
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.error_code, "bdb_not_found");
        assert_eq!(e.text, "no such db");
        let e = map_lookup_error("GET /v1/bdbs/9", StatusCode::NOT_FOUND, b"");
        assert_eq!(e.error_code, "bdb_not_found");
        assert_eq!(e.text, "GET /v1/bdbs/9 failed with 404 Not Found");
        let e = map_lookup_error("GET /v1/nodes", StatusCode::NOT_FOUND, b"");
        assert_eq!(e.error_code, "upstream_error");
    }

    #[test]
    fn lookup_auth_failures_keep_status_in_rs_shape() {
        let e = map_lookup_error("GET /v1/bdbs/1", StatusCode::UNAUTHORIZED, b"");
        assert_eq!(
            (e.status, e.error_code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
        assert_eq!(e.blame, Blame::Client);
        let e = map_lookup_error("GET /v1/modules", StatusCode::FORBIDDEN, b"Forbidden");
        assert_eq!(
            (e.error_code.as_str(), e.text.as_str()),
            ("forbidden", "Forbidden")
        );
        let body = bytes(json!({"error_code": "insufficient_permissions", "message": "m"}));
        let e = map_lookup_error("GET /v1/modules", StatusCode::FORBIDDEN, &body);
        assert_eq!(e.error_code, "insufficient_permissions");
        let e = map_lookup_error("GET /v1/bdbs/1", StatusCode::SERVICE_UNAVAILABLE, b"");
        assert_eq!(e.error_code, "upstream_error");
        assert_eq!(e.blame, Blame::Upstream);
        let v = e.body_json();
        assert_eq!(v["description"], v["message"]);
    }
}
