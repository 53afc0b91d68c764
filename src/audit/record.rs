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

/// Modules listed in one record; the rest of a (hostile) list is only counted, in
/// `modules_omitted`. With every text field cut at [`MAX_FIELD_CHARS`], this keeps the longest
/// possible line (every character a 6-byte JSON escape) near 300 KiB, well under the
/// [`MAX_LINE_BYTES`](super::report::MAX_LINE_BYTES) that `report` reads, so no caller can
/// hide its own record by making it too long.
pub const MAX_RECORDED_MODULES: usize = 16;

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
    /// The cluster may or may not have done what the call asked: a request was sent, no node
    /// answered it, and no node showed that it started (`upstream_outcome_unknown`, issue 21).
    Unknown,
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
            Outcome::Unknown => "unknown",
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
    /// The caller's address read from `X-Forwarded-For` by the trusted-proxy rule
    /// ([`super::forwarded`]): always an IP address, absent when the header does not count.
    /// `report` attributes the call to it instead of `client`.
    #[serde(default)]
    pub forwarded_client: Option<String>,
    /// The Basic-auth user name; never the password.
    pub user: Option<String>,
    /// Whether the cluster accepted this call's `Authorization` (some upstream call made with
    /// it got an answer other than 401/403 and 5xx). False: `user` is only what was sent.
    #[serde(default)]
    pub verified: bool,
    pub user_agent: Option<String>,
    /// The route template, not the raw path (`/v1/modules/upgrade/bdb/{uid}`).
    pub route: String,
    pub method: String,
    pub bdb_uid: Option<u64>,
    /// At most [`MAX_RECORDED_MODULES`]; from → to once resolved, else only what was asked for.
    pub modules: Vec<ModuleChange>,
    /// Entries past [`MAX_RECORDED_MODULES`], counted, not listed (absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub modules_omitted: u64,
    pub action_uid: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
    pub outcome: Outcome,
    pub duration_ms: f64,
    pub shim_version: String,
    /// The replica that served the call (`instance`, default the host name), so a report
    /// merged over several replicas' files says which one saw a caller. Absent in records of
    /// older versions.
    #[serde(default)]
    pub instance: Option<String>,
    /// The rule the call matched (`module_upgrade`, `update_cert`, ...). Absent: the
    /// module-upgrade rule (records written before the rule table existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What the rule did: `translated`, `observed`, `refused`, `gone` or `passed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_action: Option<String>,
    /// The lifecycle phase the call met: `served`, `exempt`, `would_refuse` or `refused`.
    /// Absent: no lifecycle decision was taken (counted as served).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The exemption that let the call through (its `Display`: `user_agent "rmadm/*" until ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<String>,
    /// What a rewrite rule did, by rule (issue 12): R1 `{user, ttl, translated}`, R3
    /// `{name, key_present}`, R7–R10 `{old_path, new_path, bdb_uid, node_uid}`. Built by the
    /// executor from the rules' audit structs, which hold names only: never a password, token,
    /// private key or package byte (API-RULES §1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// The cluster's version the rule's decision was taken at (`7.22.2-79`), or `unknown` when
    /// the decision needed it and it could not be learned (issue 20: the call is then still
    /// gated and audited). Absent: the decision did not depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_version: Option<String>,
    /// A node's redirect the call met (API-CATALOGUE §10 T5): `{from, status, to, to_node_uid,
    /// outcome}` with outcome `followed`, `relative`, `refused` or `unauthorized`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected: Option<crate::upstream::redirect::Redirected>,
    /// `intent`: written before a state-changing call's own first request upstream (issue 20),
    /// followed by the call's outcome record (same `request_id`), which has no `record` field.
    /// An intent with no outcome after it is a call whose end nobody saw: `report` counts it
    /// `interrupted`.
    /// `coalesced` (issue 20, [`super::coalesce`]): one line standing for `count` failed calls
    /// of one unverified caller, key and interval, between `first_seen` and `last_seen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// How many calls a coalesced record stands for (absent: one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_request_id: Option<String>,
    /// The call's W3C trace id (32 hex digits), so an audit line leads to its trace (issue 24):
    /// its span's with telemetry on, else the caller's `traceparent`'s. Absent: neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
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
            forwarded_client: None,
            user: basic_auth_user(headers),
            verified: false,
            user_agent: joined_header(headers, "user-agent"),
            route: route.to_owned(),
            method: method.as_str().to_owned(),
            bdb_uid: None,
            modules: Vec::new(),
            modules_omitted: 0,
            action_uid: None,
            status: 0,
            error_code: None,
            outcome: Outcome::Ok,
            duration_ms: 0.0,
            shim_version: env!("CARGO_PKG_VERSION").to_owned(),
            instance: None,
            rule: None,
            rule_action: None,
            phase: None,
            exemption: None,
            detail: None,
            cluster_version: None,
            redirected: None,
            record: None,
            count: None,
            first_seen: None,
            last_seen: None,
            first_request_id: None,
            last_request_id: None,
            trace_id: None,
        }
    }

    /// Records how the call ended: status, `error_code` (None on success), blame (None on
    /// success) and how long it took; then cuts every field to its cap ([`Self::cap_fields`]).
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
        self.cap_fields();
    }

    /// Cuts every caller- or cluster-supplied text to [`MAX_FIELD_CHARS`] and the module list
    /// to [`MAX_RECORDED_MODULES`] (the rest counted in `modules_omitted`). Idempotent.
    pub fn cap_fields(&mut self) {
        if self.modules.len() > MAX_RECORDED_MODULES {
            self.modules_omitted += (self.modules.len() - MAX_RECORDED_MODULES) as u64;
            self.modules.truncate(MAX_RECORDED_MODULES);
        }
        for m in &mut self.modules {
            cap(&mut m.to_module_id);
            for field in [
                &mut m.from_module_id,
                &mut m.from_module_name,
                &mut m.from_version,
                &mut m.to_version,
            ]
            .into_iter()
            .flatten()
            {
                cap(field);
            }
        }
        cap(&mut self.request_id);
        for field in [
            &mut self.forwarded_for,
            &mut self.user,
            &mut self.user_agent,
            &mut self.action_uid,
            &mut self.error_code,
            &mut self.instance,
            &mut self.rule,
            &mut self.rule_action,
            &mut self.phase,
            &mut self.exemption,
        ]
        .into_iter()
        .flatten()
        {
            cap(field);
        }
    }

    /// The record as one JSON line, newline included.
    /// The intent record of this call as begun: no reply yet (`status` 0), `interrupted` until
    /// its outcome record says otherwise.
    pub fn intent(&self) -> AuditRecord {
        AuditRecord {
            record: Some("intent".to_owned()),
            status: 0,
            outcome: Outcome::Interrupted,
            ..self.clone()
        }
    }

    pub fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }
}

/// Cuts `s` to [`MAX_FIELD_CHARS`] characters, in place.
fn cap(s: &mut String) {
    if let Some((i, _)) = s.char_indices().nth(MAX_FIELD_CHARS) {
        s.truncate(i);
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
mod tests;
