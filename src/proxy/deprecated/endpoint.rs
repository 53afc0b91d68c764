//! The deprecated route's outer handler: runs a [`Call`], turns its result into the reply (old
//! shape or RS error), marks the reply with the deprecation headers, and emits the call's one
//! deprecation warning and one audit record — written before the reply leaves.

use super::flow::{Call, Trace};
use crate::audit::{self, AuditRecord, ModuleChange};
use crate::error::ApiError;
use crate::escape::Escaped;
use crate::listener::ConnInfo;
use crate::metrics::{InFlight, RouteClass};
use crate::proxy::app::App;
use crate::proxy::budget;
use crate::proxy::hop_headers::Hop;
use crate::proxy::reply::{error_response, RespBody};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The tracing target of the per-call deprecation warning.
pub const TARGET: &str = "deprecation";

/// The route templates recorded in audit records.
pub const ROUTE: &str = "/v1/modules/upgrade/bdb/{uid}";
pub const SIBLING_ROUTE: &str = "/v1/bdbs/{uid}/modules/upgrade";

/// Handles `POST /v1/modules/upgrade/bdb/{bdb_uid}` (or the opted-in sibling): `rule` is the
/// index of the matched module-upgrade rule in the rule table. The sibling is translated and
/// audited but, not being deprecated, gets no deprecation headers.
///
/// The work runs in its own task ([`super::start`]): a hang-up must not cancel an upgrade
/// half-way (the POST is never retried) nor lose the call's audit record. Past
/// `shim.max_concurrent_calls` the call is refused at once (the refusal is audited).
pub fn handle(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rule: usize,
    in_flight: Option<InFlight>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    super::start(app.work.clone(), conn, in_flight, move |conn, refused| {
        handle_detached(app, conn, req, rule, refused)
    })
}

async fn handle_detached(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rule: usize,
    refused: Option<ApiError>,
) -> Response<RespBody> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let table = &app.config.rules.table;
    let matched = parts
        .uri
        .path_and_query()
        .and_then(|pq| table.match_rule(rule, &parts.method, pq.as_str()));
    // `None`: `{uid}` is not a decimal integer (API.md §5.1).
    let bdb_uid = matched.and_then(|m| m.params.int("uid"));
    let rule_name = matched.map_or("module_upgrade", |m| m.rule.name.as_str());
    let deprecated = matched.is_none_or(|m| m.rule.id == crate::rules::RuleId::ModuleUpgrade);
    let route = if deprecated { ROUTE } else { SIBLING_ROUTE };
    let (mut record, request_id) = begin_record(&app, &conn, &parts, route);
    record.bdb_uid = bdb_uid;
    record.rule = Some(rule_name.to_owned());

    let hop = Hop {
        client_ip: conn.peer.ip(),
        tls: conn.tls,
        host: None,
    };
    let mut trace = Trace::default();
    let mut verified = false;
    let lifecycle_refusal = match &refused {
        None => super::lifecycle::gate(&app, rule_name, &conn, &parts, &mut record).await,
        Some(_) => None,
    };
    let result = if let Some(refused) = refused {
        Err(refused)
    } else if app.audit.must_fail() && app.audit.last_write_failed() {
        // Refuse before anything changes on the cluster: this call could not be audited.
        Err(audit::unavailable())
    } else if let Some(r) = &lifecycle_refusal {
        super::observe::discard(body, app.config.shim.max_body_size, &app).await;
        Err(r.to_api_error())
    } else {
        match bdb_uid {
            Some(bdb_uid) => {
                let mut call = Call {
                    app: &app,
                    bdb_uid,
                    headers: identity_headers(&app, &parts.headers, hop, &request_id),
                    verified: AtomicBool::new(false),
                    trace: Trace::default(),
                };
                let result = tokio::select! {
                    biased;
                    r = call.run(&parts.headers, body) => r,
                    () = app.work.interrupted() => Err(budget::interrupted_error(None)),
                };
                trace = call.trace;
                verified = call.verified.into_inner();
                result
            }
            None => Err(ApiError::not_found(
                "bdb_not_found",
                format!(
                    "database uid in {} is not a decimal integer",
                    parts.uri.path()
                ),
            )),
        }
    };
    let interrupted = matches!(&result, Err(e) if e.error_code == budget::INTERRUPTED);
    let result = match result {
        Err(_) if interrupted => {
            app.work.count_interrupted();
            Err(budget::interrupted_error(trace.action_uid.as_deref()))
        }
        other => other,
    };
    record.verified = verified;
    // Only a user the cluster accepted gets a metrics series of its own: junk credentials
    // cannot fill the series cap (they all count as "unverified").
    app.metrics.rule_call(
        record.rule.as_deref(),
        record.verified,
        record.user.as_deref(),
        record.user_agent.as_deref(),
    );

    let mut error = result.as_ref().err().cloned();
    record.modules = if trace.modules.is_empty() {
        // Refused before a plan: what the caller asked for, nothing resolved.
        trace
            .requested
            .iter()
            .map(|m| requested_change(m))
            .collect()
    } else {
        trace.modules.iter().map(module_change).collect()
    };
    record.action_uid.clone_from(&trace.action_uid);
    finish(&mut record, error.as_ref(), started);
    // Refused: the shim answered without the cluster acting on the call.
    let refused = error
        .as_ref()
        .is_some_and(|e| trace.action_uid.is_none() && e.blame != crate::error::Blame::Upstream);
    record.rule_action = Some(if refused { "refused" } else { "translated" }.to_owned());
    if interrupted {
        record.outcome = audit::Outcome::Interrupted;
    }
    if app.audit.write(&record).await.is_err() && app.audit.must_fail() {
        error = Some(audit::unavailable());
        finish(&mut record, error.as_ref(), started);
    }
    app.metrics.rule_outcome(
        record.rule.as_deref(),
        error.as_ref().map(|e| e.error_code.as_str()),
    );
    app.metrics
        .upstream_latency(RouteClass::Deprecated, trace.upstream_time);
    log_call(&app, &record, conn, &trace, started);

    let retry_after = error.as_ref().and_then(budget::retry_after).or_else(|| {
        let r = lifecycle_refusal.as_ref()?.retry_after?;
        let e = error.as_ref()?;
        (e.error_code == crate::lifecycle::ROUTE_BROWNOUT).then_some(r.as_secs())
    });
    let mut resp = match (error, result) {
        (Some(e), _) => error_response(&e),
        (None, Ok(value)) => {
            let body = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
            crate::error::json_response::<Full<Bytes>>(StatusCode::OK, body).map(Either::Right)
        }
        (None, Err(e)) => error_response(&e),
    };
    if deprecated {
        app.config.shim.headers.apply(resp.headers_mut(), bdb_uid);
    }
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        resp.headers_mut()
            .insert(audit::record::REQUEST_ID_HEADER, v);
    }
    resp
}

/// The call's audit record, started from its head, and its request id (the caller's
/// `X-Request-Id`, or a new one).
pub(super) fn begin_record(
    app: &App,
    conn: &ConnInfo,
    parts: &http::request::Parts,
    route: &str,
) -> (AuditRecord, String) {
    let request_id = audit::request_id(&parts.headers);
    let audit_cfg = &app.config.audit;
    let mut record = AuditRecord::begin(
        SystemTime::now(),
        &request_id,
        conn.peer.ip(),
        &parts.method,
        route,
        &parts.headers,
        audit_cfg.trust_forwarded_for,
    );
    record.instance = Some(app.config.instance.clone());
    record.forwarded_client = audit::forwarded::client(
        conn.peer.ip(),
        &parts.headers,
        audit_cfg.trust_forwarded_for,
        &audit_cfg.trusted_proxies,
    )
    .map(|ip| ip.to_string());
    (record, request_id)
}

/// The headers that carry the caller's identity on the shim's own upstream calls.
pub fn identity_headers(
    app: &App,
    caller: &HeaderMap,
    hop: crate::proxy::hop_headers::Hop<'_>,
    request_id: &str,
) -> HeaderMap {
    let mut out = HeaderMap::new();
    if let Some(auth) = caller.get(http::header::AUTHORIZATION) {
        out.insert(http::header::AUTHORIZATION, auth.clone());
    }
    // As on pass-through: the caller's chain is kept, and the caller appended when configured.
    for v in caller.get_all(&crate::proxy::hop_headers::X_FORWARDED_FOR) {
        out.append(
            crate::proxy::hop_headers::X_FORWARDED_FOR.clone(),
            v.clone(),
        );
    }
    let rules = crate::config::Forwarding {
        x_forwarded_proto: false,
        x_forwarded_host: false,
        ..app.config.forwarding
    };
    crate::proxy::hop_headers::add_forwarding(&mut out, hop, rules);
    if let Ok(id) = HeaderValue::from_str(request_id) {
        out.insert(crate::audit::record::REQUEST_ID_HEADER, id);
    }
    out
}

fn finish(record: &mut AuditRecord, error: Option<&ApiError>, started: Instant) {
    match error {
        None => record.finish(StatusCode::OK, None, None, started.elapsed()),
        Some(e) => record.finish(
            e.status,
            Some(&e.error_code),
            Some(e.blame),
            started.elapsed(),
        ),
    }
}

fn module_change(m: &crate::rules::module_upgrade::translate::PlannedModule) -> ModuleChange {
    ModuleChange {
        from_module_id: Some(m.current_module_id.clone()),
        from_module_name: Some(m.current_module_name.clone()),
        from_version: Some(m.from_version.clone()),
        to_module_id: m.new_module_id.clone(),
        to_version: m.to_version.clone(),
    }
}

fn requested_change(new_module: &str) -> ModuleChange {
    ModuleChange {
        to_module_id: new_module.to_owned(),
        ..ModuleChange::default()
    }
}

fn log_call(app: &App, record: &AuditRecord, conn: ConnInfo, trace: &Trace, started: Instant) {
    let modules: Vec<String> = trace
        .modules
        .iter()
        .map(|m| {
            format!(
                "{} {} ({}) -> {}",
                m.current_module_name,
                m.from_version,
                m.current_module_id,
                m.to_version.as_deref().unwrap_or(&m.new_module_id)
            )
        })
        .collect();
    let elapsed = started.elapsed();
    let (warn, days) = super::lifecycle::loudness(app, record.rule.as_deref().unwrap_or(""));
    let days_left = super::lifecycle::days_left_text(days);
    // Every text below can come from the caller or the cluster: escaped, one line each.
    macro_rules! line { ($level:expr) => { tracing::event!(
        target: TARGET,
        $level,
        request_id = %Escaped(&record.request_id),
        client = %conn.peer,
        user = %Escaped(record.user.as_deref().unwrap_or("-")),
        user_agent = %Escaped(record.user_agent.as_deref().unwrap_or("-")),
        bdb = record.bdb_uid,
        modules = %Escaped(&modules.join(", ")),
        action_uid = %Escaped(record.action_uid.as_deref().unwrap_or("-")),
        status = record.status,
        error_code = %Escaped(record.error_code.as_deref().unwrap_or("-")),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        shim_ms = elapsed.saturating_sub(trace.upstream_time).as_secs_f64() * 1000.0,
        phase = %record.phase.as_deref().unwrap_or("-"),
        "deprecated route POST /v1/modules/upgrade/bdb/{{uid}} called; migrate this caller to POST /v1/bdbs/{{uid}}/upgrade{days_left}"
    ) } }
    if warn {
        line!(tracing::Level::WARN);
    } else {
        line!(tracing::Level::INFO);
    }
    for w in &trace.warnings {
        tracing::warn!(target: TARGET, request_id = %Escaped(&record.request_id), "{}", Escaped(w));
    }
}
