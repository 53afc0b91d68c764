//! R1: `POST /v1/users/authorize` with the credentials in the body, which RS 7.8.2 and later
//! ignore (API-RULES §2). The caller's body credentials become a Basic `Authorization` header.
//!
//! Decisions (§2.7):
//! - A request that already has an `Authorization` header, of any scheme, is forwarded untouched
//!   with its body (step 1): the body is not even read ([`forwards_untouched`]).
//! - A body that is not a JSON object with string `username` and `password` is forwarded
//!   untouched (step 2): the cluster answers 400 or 401 itself.
//! - `:` or a control character in the user name, or a control character in the password, is
//!   `400 invalid_credentials_format` without calling the cluster (step 3; RFC 7617 §2 forbids
//!   `:` in the user-id). Non-ASCII is sent as UTF-8 (the cluster's charset is unknown, §8).
//! - The body sent depends on the cached version, never on a look-up (step 5): known ≥ 7.8.2
//!   drops `username` and `password` and keeps every other key (`ttl` included); unknown (or
//!   older, when the rule is forced to `translate`) sends the original body with the header.
//! - The header value is a secret: [`BasicCredentials`] never prints it, and the `HeaderValue`
//!   it hands out is marked sensitive. The audit gets the user name and `ttl` only (step 7).

use super::version::{Version, V7_8_2};
use crate::error::ApiError;
use base64::Engine;
use http::header::{HeaderValue, AUTHORIZATION};
use http::HeaderMap;
use serde_json::{Map, Value};
use std::fmt;

/// Largest body read to look for credentials (§2.7 step 2).
pub const MAX_BODY: usize = 64 * 1024;

/// Step 1: the request carries its own `Authorization`; forward it and its body untouched.
pub fn forwards_untouched(headers: &HeaderMap) -> bool {
    headers.contains_key(AUTHORIZATION)
}

/// `Basic base64(username ":" password)`: a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials(HeaderValue);

impl BasicCredentials {
    /// The value for `Authorization`, marked sensitive (kept out of HPACK tables and debug output).
    pub fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicCredentials(<redacted>)")
    }
}

/// What to send upstream when the rule applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The original body, byte for byte (unknown version: old servers read it, §2.7 step 5).
    Original,
    /// The body without `username`/`password`, as JSON (`{}` when nothing else was sent); send
    /// it with `Content-Type: application/json` and its own `Content-Length`.
    Rewritten(Vec<u8>),
}

/// What goes into the audit record (never the password, the header or the token).
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub user: String,
    /// The caller's `ttl`, as sent (a number when it is one).
    pub ttl: Option<Value>,
}

/// The decision for one authorize call, after [`forwards_untouched`] said no.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Step 2: forward the original request untouched.
    Forward,
    /// Step 3: reply with this, never calling the cluster.
    Refuse { error: ApiError, audit: Audit },
    /// Steps 4–5: add `authorization`, send `body`.
    Send {
        authorization: BasicCredentials,
        body: Body,
        audit: Audit,
    },
}

/// Steps 2–5 for a body (at most [`MAX_BODY`] bytes) and the cached cluster version.
pub fn plan(body: &[u8], cluster_version: Option<Version>) -> Decision {
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
        return Decision::Forward;
    };
    let (Some(Value::String(user)), Some(Value::String(password))) =
        (object.get("username"), object.get("password"))
    else {
        return Decision::Forward;
    };
    let audit = Audit {
        user: user.clone(),
        ttl: object.get("ttl").cloned(),
    };
    if let Some(problem) = format_problem(user, password) {
        let error = ApiError::bad_request(
            "invalid_credentials_format",
            format!(
                "{problem}; it cannot be sent in an HTTP Basic Authorization header (RFC 7617)"
            ),
        );
        return Decision::Refuse { error, audit };
    }
    let Some(authorization) = basic(user, password) else {
        return Decision::Forward;
    };
    let body = if cluster_version.is_some_and(|v| v.at_least(V7_8_2)) {
        object.remove("username");
        object.remove("password");
        Body::Rewritten(to_json(object))
    } else {
        Body::Original
    };
    Decision::Send {
        authorization,
        body,
        audit,
    }
}

/// The login a body carries: a JSON object with string `username` and `password` (issue 20:
/// R1's deprecated form). The credentials are a secret, kept only to verify the user for an
/// exemption ([`BasicCredentials`] never prints them); `None` when they cannot be a Basic pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyLogin {
    pub user: String,
    pub credentials: Option<BasicCredentials>,
}

/// The body's login, if it carries one.
pub fn body_login(body: &[u8]) -> Option<BodyLogin> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let (Some(Value::String(user)), Some(Value::String(password))) =
        (object.get("username"), object.get("password"))
    else {
        return None;
    };
    let credentials = format_problem(user, password)
        .is_none()
        .then(|| basic(user, password))
        .flatten();
    Some(BodyLogin {
        user: user.clone(),
        credentials,
    })
}

/// Whether the cluster checks the body's credentials rather than the header's (issue 20): when
/// there is no header (the shim then sends the body's as the header), and when there is one but
/// the cluster still reads the body first (below 7.8.2, or an unknown version, for which the
/// body goes as it came, §2.7 step 5).
pub fn body_is_checked(has_header: bool, cluster_version: Option<Version>) -> bool {
    !has_header || !cluster_version.is_some_and(|v| v.at_least(V7_8_2))
}

fn format_problem(user: &str, password: &str) -> Option<&'static str> {
    if user.contains(':') {
        Some("the username contains ':'")
    } else if user.chars().any(char::is_control) {
        Some("the username contains a control character")
    } else if password.chars().any(char::is_control) {
        Some("the password contains a control character")
    } else {
        None
    }
}

fn basic(user: &str, password: &str) -> Option<BasicCredentials> {
    let mut pair = String::with_capacity(user.len() + password.len() + 1);
    pair.push_str(user);
    pair.push(':');
    pair.push_str(password);
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(BasicCredentials(value))
}

fn to_json(object: Map<String, Value>) -> Vec<u8> {
    // Serialising a map of JSON values cannot fail.
    serde_json::to_vec(&Value::Object(object)).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: Option<Version> = Some(V7_8_2);

    fn send(d: Decision) -> (String, Body, Audit) {
        match d {
            Decision::Send {
                authorization,
                body,
                audit,
            } => (
                authorization.header_value().to_str().unwrap().to_owned(),
                body,
                audit,
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_login_names_its_user_and_whose_credentials_the_cluster_checks() {
        let login = body_login(br#"{"username":"admin@x","password":"pw","ttl":5}"#);
        let login = login.expect("a login");
        assert_eq!(login.user, "admin@x");
        assert!(login.credentials.is_some());
        assert!(!format!("{login:?}").contains("pw"), "{login:?}");
        assert_eq!(body_login(br#"{"ttl":5}"#), None);
        assert_eq!(body_login(b"not json"), None);
        let colon = body_login(br#"{"username":"a:b","password":"pw"}"#).expect("login");
        assert_eq!(colon.credentials, None, "cannot be a Basic pair");
        let old = Some(Version::new(7, 4, 6));
        assert!(
            body_is_checked(false, NEW),
            "no header: the body's, sent as the header"
        );
        assert!(body_is_checked(true, old), "below 7.8.2 the body wins");
        assert!(
            body_is_checked(true, None),
            "unknown: the body goes as it came"
        );
        assert!(
            !body_is_checked(true, NEW),
            "7.8.2 and later read the header"
        );
    }

    #[test]
    fn a_request_with_any_authorization_is_forwarded_untouched() {
        let mut h = HeaderMap::new();
        assert!(!forwards_untouched(&h));
        h.insert(AUTHORIZATION, HeaderValue::from_static("JWT abc"));
        assert!(forwards_untouched(&h));
    }

    #[test]
    fn on_a_new_cluster_the_credentials_move_to_the_header_and_ttl_stays() {
        let body = br#"{"username":"user@redislabs.com","password":"my_password","ttl":600,"x":1}"#;
        let (header, body, audit) = send(plan(body, NEW));
        // base64("user@redislabs.com:my_password")
        assert_eq!(header, "Basic dXNlckByZWRpc2xhYnMuY29tOm15X3Bhc3N3b3Jk");
        assert_eq!(body, Body::Rewritten(br#"{"ttl":600,"x":1}"#.to_vec()));
        assert_eq!(audit.user, "user@redislabs.com");
        assert_eq!(audit.ttl, Some(Value::from(600)));
    }

    #[test]
    fn without_other_keys_the_new_body_is_an_empty_object() {
        let (_, body, audit) = send(plan(br#"{"username":"a","password":"b"}"#, NEW));
        assert_eq!(body, Body::Rewritten(b"{}".to_vec()));
        assert_eq!(audit.ttl, None);
    }

    #[test]
    fn on_an_unknown_or_older_version_the_header_goes_with_the_original_body() {
        let raw = br#"{"username":"a","password":"b","ttl":5}"#;
        for version in [
            None,
            Some(Version::new(7, 4, 6)),
            Some(Version::new(7, 8, 1)),
        ] {
            let (header, body, _) = send(plan(raw, version));
            assert_eq!(header, "Basic YTpi");
            assert_eq!(body, Body::Original, "{version:?}");
        }
        let (_, body, _) = send(plan(raw, Some(Version::new(8, 2, 0))));
        assert!(matches!(body, Body::Rewritten(_)));
    }

    #[test]
    fn bodies_without_string_credentials_are_forwarded() {
        for body in [
            &b""[..],
            b"not json",
            b"[1]",
            b"{}",
            br#"{"username":"a"}"#,
            br#"{"password":"b"}"#,
            br#"{"username":1,"password":"b"}"#,
            br#"{"username":"a","password":null}"#,
        ] {
            assert_eq!(plan(body, NEW), Decision::Forward, "{body:?}");
        }
    }

    #[test]
    fn colon_or_control_characters_are_refused_without_echoing_the_password() {
        for body in [
            &br#"{"username":"a:b","password":"secret-pw"}"#[..],
            br#"{"username":"a\nb","password":"secret-pw"}"#,
            br#"{"username":"a","password":"secret\u0000pw"}"#,
            br#"{"username":"a","password":"secret\u007fpw"}"#,
        ] {
            let Decision::Refuse { error, audit } = plan(body, NEW) else {
                panic!("{body:?}")
            };
            assert_eq!(error.status, http::StatusCode::BAD_REQUEST);
            assert_eq!(error.error_code, "invalid_credentials_format");
            let shown = format!("{error:?} {audit:?} {}", error.body_json());
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    #[test]
    fn non_ascii_credentials_are_sent_as_utf8() {
        let (header, _, audit) = send(plan(r#"{"username":"é","password":"ü"}"#.as_bytes(), NEW));
        assert_eq!(header, "Basic w6k6w7w="); // base64("é:ü" in UTF-8)
        assert_eq!(audit.user, "é");
    }

    #[test]
    fn the_credentials_never_show_in_debug_output() {
        let d = plan(br#"{"username":"alice","password":"hunter2"}"#, NEW);
        let shown = format!("{d:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("YWxpY2U6aHVudGVyMg"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        let Decision::Send { authorization, .. } = d else {
            panic!()
        };
        assert!(authorization.header_value().is_sensitive());
    }
}
