//! The audit record: one JSON object per deprecated call, and the helpers that fill it from the
//! request head without ever keeping a secret. The `Authorization` value, the password and the
//! request body never reach a record: only the Basic-auth user name is decoded out of the header.

use crate::error::Blame;
use base64::Engine;
use http::{HeaderMap, Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// Longest caller-supplied text kept in a record (User-Agent, X-Forwarded-For, user name), so a
/// hostile header cannot make records (and the live summary) arbitrarily large.
pub const MAX_FIELD_CHARS: usize = 512;

/// Longest incoming `X-Request-Id` reused as is; longer ones are replaced by a fresh uuid.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The header a request id is read from and returned in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// How a deprecated call ended, as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A 1xx–3xx reply.
    Ok,
    /// The caller sent something wrong (bad body, unknown database, missing module, 401/403).
    ClientError,
    /// The call failed on the server side: the cluster (unreachable, 5xx, failed action,
    /// timeout) or, rarely, the shim itself.
    UpstreamError,
    /// The shim stopped (`shim.shutdown_grace` ran out) before the call finished; the upgrade
    /// may have gone on on the cluster (the record carries the `action_uid` when known).
    Interrupted,
}

impl Outcome {
    /// Derives the outcome from the reply status and, when an error produced it, who is to
    /// blame. Without a blame, 4xx counts as the caller's and 5xx as the server side's.
    pub fn of(status: StatusCode, blame: Option<Blame>) -> Outcome {
        if !status.is_client_error() && !status.is_server_error() {
            return Outcome::Ok;
        }
        match blame {
            Some(Blame::Client) => Outcome::ClientError,
            Some(Blame::Upstream | Blame::Shim) => Outcome::UpstreamError,
            None if status.is_client_error() => Outcome::ClientError,
            None => Outcome::UpstreamError,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ClientError => "client_error",
            Outcome::UpstreamError => "upstream_error",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// One module of the call, from → to. `from_*` are what the database ran before (resolved by
/// the shim, absent when the look-up never happened); `to_*` what the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModuleChange {
    pub from_module_id: Option<String>,
    pub from_module_name: Option<String>,
    pub from_version: Option<String>,
    pub to_module_id: String,
    pub to_version: Option<String>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the call arrived: RFC 3339, UTC, milliseconds (`2024-11-01T09:30:00.123Z`).
    pub ts: String,
    pub request_id: String,
    /// The peer's IP address. The port is left out: it changes per connection and would split
    /// one caller into many rows of the report.
    pub client: String,
    /// `X-Forwarded-For` as received, only when `audit.trust_forwarded_for` is on.
    pub forwarded_for: Option<String>,
    /// The Basic-auth user name; never the password.
    pub user: Option<String>,
    pub user_agent: Option<String>,
    /// The route template, not the raw path (`/v1/modules/upgrade/bdb/{uid}`).
    pub route: String,
    pub method: String,
    pub bdb_uid: Option<u64>,
    pub modules: Vec<ModuleChange>,
    pub action_uid: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
    pub outcome: Outcome,
    pub duration_ms: f64,
    pub shim_version: String,
}

impl AuditRecord {
    /// Starts a record from the request head, when the call arrives. The caller fills
    /// `bdb_uid`, `modules` and `action_uid` as it learns them, then calls [`finish`](Self::finish).
    pub fn begin(
        arrived: SystemTime,
        request_id: &str,
        client: IpAddr,
        method: &Method,
        route: &str,
        headers: &HeaderMap,
        trust_forwarded_for: bool,
    ) -> AuditRecord {
        let forwarded_for = if trust_forwarded_for {
            joined_header(headers, "x-forwarded-for")
        } else {
            None
        };
        AuditRecord {
            ts: format_ts(arrived),
            request_id: request_id.to_owned(),
            client: client.to_string(),
            forwarded_for,
            user: basic_auth_user(headers),
            user_agent: joined_header(headers, "user-agent"),
            route: route.to_owned(),
            method: method.as_str().to_owned(),
            bdb_uid: None,
            modules: Vec::new(),
            action_uid: None,
            status: 0,
            error_code: None,
            outcome: Outcome::Ok,
            duration_ms: 0.0,
            shim_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Records how the call ended: status, `error_code` (None on success), blame (None on
    /// success) and how long it took.
    pub fn finish(
        &mut self,
        status: StatusCode,
        error_code: Option<&str>,
        blame: Option<Blame>,
        elapsed: Duration,
    ) {
        self.status = status.as_u16();
        self.error_code = error_code.map(str::to_owned);
        self.outcome = Outcome::of(status, blame);
        self.duration_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    }

    /// The record as one JSON line, newline included.
    pub fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }
}

/// RFC 3339 UTC with milliseconds, the `ts` format.
pub fn format_ts(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The Basic-auth user name of the request: the part of the decoded credentials before the
/// first ':'. None when there is no `Authorization: Basic`, or it is malformed in any way
/// (bad base64, no ':', not UTF-8, empty or control characters in the name). The password is
/// decoded into a buffer that is dropped here; only the name is returned.
pub fn basic_auth_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = std::str::from_utf8(&decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    let valid = !user.is_empty()
        && user.chars().count() <= MAX_FIELD_CHARS
        && !user.chars().any(char::is_control);
    valid.then(|| user.to_owned())
}

/// The request id: a sane incoming `X-Request-Id` (1–128 visible ASCII characters) is reused
/// so the caller can correlate; anything else is replaced by a new uuid v4.
pub fn request_id(headers: &HeaderMap) -> String {
    let incoming = headers
        .get(REQUEST_ID_HEADER)
        .map(|v| v.as_bytes())
        .filter(|b| !b.is_empty() && b.len() <= MAX_REQUEST_ID_LEN)
        .filter(|b| b.iter().all(|c| c.is_ascii_graphic()));
    match incoming.and_then(|b| std::str::from_utf8(b).ok()) {
        Some(id) => id.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// All values of a header joined with ", ", non-UTF-8 bytes replaced, control characters
/// dropped, cut at [`MAX_FIELD_CHARS`]. None when absent or empty.
fn joined_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut out = String::new();
    for value in headers.get_all(name) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.extend(
            String::from_utf8_lossy(value.as_bytes())
                .chars()
                .filter(|c| !c.is_control()),
        );
    }
    let out = out.trim();
    if out.is_empty() {
        return None;
    }
    Some(out.chars().take(MAX_FIELD_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    fn basic(raw: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn user_is_the_part_before_the_first_colon() {
        assert_eq!(
            basic_auth_user(&auth(&basic("admin@example.com:s3cr3t:x"))),
            Some("admin@example.com".into())
        );
        assert_eq!(basic_auth_user(&auth(&basic("ops:"))), Some("ops".into()));
        let lower = basic("ops:pw").replace("Basic", "basic");
        assert_eq!(basic_auth_user(&auth(&lower)), Some("ops".into()));
    }

    #[test]
    fn malformed_authorization_gives_no_user() {
        let cases = [
            String::new(),
            "Basic".into(),
            "Basic ".into(),
            "Basic !!!notbase64!!!".into(),
            "Bearer abc.def.ghi".into(),
            basic("no-colon-here"),
            basic(":password-only"),
            basic("ctl\u{7}user:pw"),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b':', b'x'])
            ),
            "Basic YWRtaW46cHc".into(), // missing padding
        ];
        for case in &cases {
            assert_eq!(basic_auth_user(&auth(case)), None, "{case:?}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap(),
        );
        assert_eq!(basic_auth_user(&h), None);
        assert_eq!(basic_auth_user(&HeaderMap::new()), None);
    }

    #[test]
    fn password_never_reaches_the_record() {
        let mut h = auth(&basic("legacy-tool:Hunter2-Pa55word"));
        h.insert("user-agent", HeaderValue::from_static("rladmin-script/1.0"));
        let mut rec = AuditRecord::begin(
            SystemTime::UNIX_EPOCH,
            "rid-1",
            "10.0.0.7".parse().unwrap(),
            &Method::POST,
            "/v1/modules/upgrade/bdb/{uid}",
            &h,
            false,
        );
        rec.finish(StatusCode::OK, None, None, Duration::from_millis(12));
        let line = String::from_utf8(rec.to_line().unwrap()).unwrap();
        assert!(line.contains("\"user\":\"legacy-tool\""), "{line}");
        assert!(!line.contains("Hunter2"), "{line}");
        assert!(!line.contains(&basic("legacy-tool:Hunter2-Pa55word")[6..]));
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
    }

    #[test]
    fn request_id_reused_only_when_sane() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123_XYZ"));
        assert_eq!(request_id(&h), "abc-123_XYZ");
        for bad in ["", "has space", &"x".repeat(129)] {
            let mut h = HeaderMap::new();
            h.insert(REQUEST_ID_HEADER, HeaderValue::from_str(bad).unwrap());
            let id = request_id(&h);
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        assert_eq!(request_id(&h).len(), 11);
        assert_eq!(request_id(&HeaderMap::new()).len(), 36);
        let long_ok = "y".repeat(128);
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_str(&long_ok).unwrap());
        assert_eq!(request_id(&h), long_ok);
    }

    #[test]
    fn outcome_follows_status_and_blame() {
        use StatusCode as S;
        assert_eq!(Outcome::of(S::OK, None), Outcome::Ok);
        assert_eq!(Outcome::of(S::BAD_REQUEST, None), Outcome::ClientError);
        assert_eq!(Outcome::of(S::BAD_GATEWAY, None), Outcome::UpstreamError);
        assert_eq!(
            Outcome::of(S::FORBIDDEN, Some(Blame::Upstream)),
            Outcome::UpstreamError
        );
        assert_eq!(
            Outcome::of(S::INTERNAL_SERVER_ERROR, Some(Blame::Shim)),
            Outcome::UpstreamError
        );
        assert_eq!(
            serde_json::to_value(Outcome::ClientError).unwrap(),
            "client_error"
        );
    }

    #[test]
    fn record_round_trips_with_every_field() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        h.append("x-forwarded-for", HeaderValue::from_static("10.1.1.1"));
        let t = humantime::parse_rfc3339("2025-03-04T05:06:07.089Z").unwrap();
        let mut rec = AuditRecord::begin(
            t,
            "r",
            "::1".parse().unwrap(),
            &Method::POST,
            "/v1/modules/upgrade/bdb/{uid}",
            &h,
            true,
        );
        rec.bdb_uid = Some(7);
        rec.modules.push(ModuleChange {
            from_module_id: Some("a".repeat(32)),
            from_module_name: Some("ReJSON".into()),
            from_version: Some("2.4.13".into()),
            to_module_id: "b".repeat(32),
            to_version: Some("2.6.1".into()),
        });
        rec.action_uid = Some("act-1".into());
        rec.finish(
            StatusCode::NOT_ACCEPTABLE,
            Some("module_downgrade_unsupported"),
            Some(Blame::Client),
            Duration::from_micros(1500),
        );
        let v: serde_json::Value = serde_json::from_slice(&rec.to_line().unwrap()).unwrap();
        assert_eq!(v["ts"], "2025-03-04T05:06:07.089Z");
        assert_eq!(v["client"], "::1");
        assert_eq!(v["forwarded_for"], "203.0.113.9, 10.1.1.1");
        assert_eq!(v["user"], serde_json::Value::Null);
        assert_eq!(v["outcome"], "client_error");
        assert_eq!(v["duration_ms"], 1.5);
        assert_eq!(v["shim_version"], env!("CARGO_PKG_VERSION"));
        let back: AuditRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, rec);
    }

    #[test]
    fn forwarded_for_ignored_unless_trusted() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        let rec = AuditRecord::begin(
            SystemTime::now(),
            "r",
            "127.0.0.1".parse().unwrap(),
            &Method::POST,
            "/r",
            &h,
            false,
        );
        assert_eq!(rec.forwarded_for, None);
    }
}
