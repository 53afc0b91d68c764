//! Errors the shim answers with, in the cluster's own error shape, and who is to blame for them.
//!
//! Every error body the shim (or the simulator) produces is
//! `{"error_code": "...", "description": "...", "message": "..."}` — the Redis Software docs use
//! `message` on the request pages and `description` in the OpenAPI schema, so both carry the same
//! text (API.md §1, decision). Extra fields (an `action_uid`, say) sit beside them.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value};
use std::fmt;

/// Who caused an error: decides the status class and how loudly it is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The caller sent something wrong (4xx).
    Client,
    /// The cluster failed, was unreachable, or answered nonsense (5xx/502/504 or a relayed 4xx).
    Upstream,
    /// A fault of the shim itself (500).
    Shim,
}

/// An error reply in the cluster's shape: status, `error_code`, human text, optional extra fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_code: String,
    pub text: String,
    pub blame: Blame,
    pub extra: Map<String, Value>,
    /// `Retry-After` (delay-seconds) on the reply: an overload, a brownout answered 503, a
    /// cluster that could not say its version. Not part of the body.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error_code: impl Into<String>, text: impl Into<String>) -> Self {
        let blame = if status.is_client_error() {
            Blame::Client
        } else if status == StatusCode::INTERNAL_SERVER_ERROR {
            Blame::Shim
        } else {
            Blame::Upstream
        };
        ApiError {
            status,
            error_code: error_code.into(),
            text: text.into(),
            blame,
            extra: Map::new(),
            retry_after: None,
        }
    }

    /// Overrides the blame derived from the status (a 4xx relayed from the cluster, a 500 from a
    /// failed upgrade action).
    pub fn blamed_on(mut self, blame: Blame) -> Self {
        self.blame = blame;
        self
    }

    /// Adds a field beside `error_code`/`description`/`message`.
    /// Adds `Retry-After: secs` to the reply.
    pub fn retry_in(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn bad_request(code: &str, text: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, text)
    }

    pub fn not_found(code: &str, text: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, text)
    }

    pub fn upstream_unavailable(text: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "upstream_unavailable", text)
    }

    pub fn upstream_timeout(text: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", text)
    }

    pub fn upstream_invalid_reply(text: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "upstream_invalid_reply", text)
    }

    /// The JSON body: extra fields first, then the three fixed keys (which win on a clash).
    pub fn body_json(&self) -> Value {
        let mut map = self.extra.clone();
        map.insert("error_code".into(), Value::String(self.error_code.clone()));
        map.insert("description".into(), Value::String(self.text.clone()));
        map.insert("message".into(), Value::String(self.text.clone()));
        Value::Object(map)
    }

    pub fn body_bytes(&self) -> Bytes {
        // Serialising a Map of Strings cannot fail.
        Bytes::from(serde_json::to_vec(&self.body_json()).unwrap_or_default())
    }

    /// A complete response with `Content-Type: application/json`.
    pub fn to_response<B: From<Full<Bytes>>>(&self) -> Response<B> {
        let mut resp = json_response(self.status, self.body_bytes());
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        resp
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.error_code,
            self.text
        )
    }
}

impl std::error::Error for ApiError {}

/// A JSON response with the given status and body; the body type is anything a `Full` converts into.
pub fn json_response<B: From<Full<Bytes>>>(status: StatusCode, body: Bytes) -> Response<B> {
    let mut resp = Response::new(B::from(Full::new(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_code_description_and_message() {
        let e = ApiError::bad_request("invalid_json", "bad body").with("action_uid", "a-1");
        let v = e.body_json();
        assert_eq!(v["error_code"], "invalid_json");
        assert_eq!(v["description"], "bad body");
        assert_eq!(v["message"], "bad body");
        assert_eq!(v["action_uid"], "a-1");
    }

    #[test]
    fn blame_follows_status_unless_overridden() {
        assert_eq!(ApiError::bad_request("x", "y").blame, Blame::Client);
        assert_eq!(ApiError::upstream_timeout("t").blame, Blame::Upstream);
        let relayed =
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", "no").blamed_on(Blame::Upstream);
        assert_eq!(relayed.blame, Blame::Upstream);
    }

    #[test]
    fn fixed_keys_win_over_extra_fields() {
        let e = ApiError::bad_request("real", "text").with("error_code", "fake");
        assert_eq!(e.body_json()["error_code"], "real");
    }
}
