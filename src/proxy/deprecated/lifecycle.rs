//! The lifecycle on the request path (issue 13): for each audited call of a rule that has a
//! `[lifecycle.<rule>]`, what [`crate::lifecycle::decide`] says — served, exempt, would-refuse
//! (dry run) or refused — taken before anything of the call is sent upstream, written into the
//! call's audit record (`phase`, `exemption`) and counted once the call ends ([`Gated::count`]);
//! and how loud the call's deprecation log line is. The envelope ([`super::envelope`]) calls
//! [`gate`] once per call and, on a refusal, answers it after discarding the body.
//!
//! Decisions:
//! - "Now" is `app.clock` (the system clock; a fixed one in tests, a started one under `--now`).
//! - The caller's address is the forwarded client when `X-Forwarded-For` is trusted
//!   ([`crate::audit::forwarded`], the same address the audit record names), else the peer.
//! - Exemption by *verified* user: the cluster verifies credentials only when it is called, and
//!   a refused call is never sent. So, only when the call would be refused (or would-refuse in a
//!   dry run) and a live `user` exemption names the Basic-auth user the caller claims, the shim
//!   sends `GET /v1/cluster` ([`VERIFY_PATH`], a read every role may do) with the caller's
//!   `Authorization` and request id, and counts a 2xx as verification; any other answer, or
//!   none, leaves the user unverified and the refusal stands. Every other call costs nothing
//!   extra. R1's login in the body (issue 20) is verified with the body's credentials when the
//!   cluster checks those ([`super::envelope`]'s pre-read). A JWT caller has no user name the shim can read: exempt it by User-Agent or CIDR.
//! - A refusal is the RS error shape with `Retry-After` for a 503 (the handlers add the
//!   rule's successor `Link`, `Deprecation` and `Sunset`); the body is read and dropped up to
//!   `shim.max_body_size` within the request timeout, never buffered, never forwarded.
//! - The per-call log line is INFO while a rule's lifecycle is far from its Sunset and WARN
//!   within `warn_before_sunset` of it (naming the days left); without a lifecycle it stays
//!   WARN, as it always was.

use crate::audit::AuditRecord;
use crate::lifecycle::{self, Caller, Decision, Escalation, Grant, Refusal};
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use http::{HeaderMap, HeaderValue, Method};

/// What a user exemption's verification reads: cheap, and allowed to every role.
pub const VERIFY_PATH: &str = "/v1/cluster";

/// What the gate decided for a call, counted once its outcome is known ([`Gated::count`]).
#[derive(Debug)]
pub struct Gated {
    pub decision: Decision,
    /// The cluster verified the claimed user for an exemption.
    pub verified: bool,
}

impl Gated {
    /// The refusal to answer, if enforced.
    pub fn refusal(&self) -> Option<&Refusal> {
        match &self.decision {
            Decision::Refuse(r) => Some(r),
            _ => None,
        }
    }

    /// Counts the decision by rule and caller. Issue 20: after the call, so that a served
    /// (`would_refuse`, `exempt`) call the cluster verified counts under its user, not
    /// "unverified".
    pub fn count(&self, app: &App, record: &AuditRecord) {
        app.metrics.lifecycle().decision(
            record.rule.as_deref().unwrap_or(""),
            &self.decision,
            self.verified || record.verified,
            record.user.as_deref(),
            record.user_agent.as_deref(),
        );
    }
}

/// Decides the call of rule `rule` and fills `record.phase` / `record.exemption`; `None` for a
/// rule without lifecycle.
pub async fn gate(
    app: &App,
    rule: &str,
    conn: &ConnInfo,
    (parts, verify_with): (&http::request::Parts, Option<&HeaderValue>),
    record: &mut AuditRecord,
) -> Option<Gated> {
    let lc = app.config.lifecycle.rules.get(rule)?;
    let now = app.clock.now();
    let audit_cfg = &app.config.audit;
    let client_ip = crate::audit::forwarded::client(
        conn.peer.ip(),
        &parts.headers,
        audit_cfg.trust_forwarded_for,
        &audit_cfg.trusted_proxies,
    )
    .unwrap_or_else(|| conn.peer.ip());
    let mut caller = Caller {
        verified_user: None,
        user_agent: record.user_agent.as_deref(),
        client_ip: Some(client_ip),
    };
    let mut decision = lifecycle::decide(now, lc, &caller);
    let mut verified = false;
    let claimed = record.user.as_deref();
    let user_exemption_could_apply =
        matches!(decision, Decision::Refuse(_) | Decision::WouldRefuse { .. })
            && lc.plan().exemptions.iter().any(|e| {
                matches!(e.grant, Grant::User(_))
                    && e.applies(
                        now,
                        &Caller {
                            verified_user: claimed,
                            ..caller
                        },
                    )
            });
    let credentials = verify_with.or_else(|| parts.headers.get(http::header::AUTHORIZATION));
    if user_exemption_could_apply && verify(app, credentials, &record.request_id).await {
        verified = true;
        caller.verified_user = claimed;
        decision = lifecycle::decide(now, lc, &caller);
    }
    record.phase = Some(decision.name().to_owned());
    if let Decision::Exempt { exemption, .. } = &decision {
        record.exemption = Some(exemption.to_string());
    }
    Some(Gated { decision, verified })
}

/// `GET /v1/cluster` with the caller's credentials (its `Authorization`, or R1's body login as
/// one): a 2xx verifies them.
async fn verify(app: &App, credentials: Option<&HeaderValue>, request_id: &str) -> bool {
    let Some(auth) = credentials else {
        return false;
    };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, auth.clone());
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(crate::audit::record::REQUEST_ID_HEADER, id);
    }
    let verify = || app.upstream.call(Method::GET, VERIFY_PATH, &headers, None);
    matches!(
        crate::telemetry::in_call("verify look-up", &Method::GET, VERIFY_PATH, verify).await,
        Ok(f) if f.status.is_success()
    )
}

/// How loud rule `rule`'s per-call line is now: `(warn, days to Sunset)`. WARN without a
/// lifecycle (as before issue 13); with one, INFO until `warn_before_sunset` before Sunset.
pub fn loudness(app: &App, rule: &str) -> (bool, Option<i64>) {
    match app.config.lifecycle.rules.get(rule) {
        None => (true, None),
        Some(lc) => match lc.escalation(app.clock.now()) {
            Escalation::Info => (false, lc.days_to_sunset(app.clock.now())),
            Escalation::Warn { days_left } => (true, Some(days_left)),
        },
    }
}

/// `"; 12 days to its Sunset"`, `"; its Sunset has passed"`, or nothing.
pub fn days_left_text(days: Option<i64>) -> String {
    match days {
        None => String::new(),
        Some(d) if d < 0 => "; its Sunset has passed".to_owned(),
        Some(0) => "; less than a day to its Sunset".to_owned(),
        Some(1) => "; 1 day to its Sunset".to_owned(),
        Some(d) => format!("; {d} days to its Sunset"),
    }
}
