//! Logging set-up and, when `[telemetry]` is on, OpenTelemetry traces of the deprecated calls
//! (issue 24; `docs/TELEMETRY.md`).
//!
//! Logs: human-readable or JSON lines on stderr, `RUST_LOG` honoured (default `info`). Access
//! records use the `access` target and deprecation warnings the `deprecation` target, so each
//! can be filtered or routed on its own (`RUST_LOG=info,access=off`).
//!
//! Traces: `tracing` spans of the [`TARGET`] target, turned into OpenTelemetry spans by
//! `tracing-opentelemetry` and exported over OTLP/HTTP by [`export`] through the bounded
//! [`queue`]. With `telemetry.logs`, the audit records as OTLP log records too ([`logs`]),
//! through a queue of the same kind.
//!
//! Decisions:
//! - Off costs a branch: with telemetry off no subscriber layer is interested in [`TARGET`], so
//!   every span helper here returns [`Span::none`] after one relaxed load, and nothing is
//!   injected into upstream requests.
//! - The log layer never sees [`TARGET`] spans, so turning telemetry on does not change a log
//!   line.
//! - Process-wide, set once at start-up: `[telemetry]` is not reloaded; a reload that changes
//!   it is silently without effect until a restart (`docs/TELEMETRY.md`).
//! - The caller's W3C `traceparent`/`tracestate` is continued; the sampler is parent-based, so
//!   the caller's sampled flag decides for its trace, `telemetry.sampling` for new ones.

mod client;
pub mod context;
mod export;
pub mod logs;
pub mod queue;

use crate::config::telemetry::Telemetry;
use crate::config::LogFormat;
use http::{HeaderMap, Method};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use client::{fetched, in_call, request_in_call, Answered, FORWARDED, OWN};
pub use export::Guard;
pub use queue::{dropped_counter, Signal};

/// The target of the spans exported as traces (and of nothing else).
pub const TARGET: &str = "otel";

/// Whether traces are exported: set once by [`init`].
static ON: AtomicBool = AtomicBool::new(false);
/// Whether `telemetry.sampling` is 0: a request without a sampled parent is then never
/// exported, which [`pass_through_plan`] knows before any span exists. Set once by [`init`].
static NEVER_ROOTS: AtomicBool = AtomicBool::new(false);

/// Whether traces are exported (`[telemetry] enabled = true` and [`init`] installed them).
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Installs the global subscriber: the log layer, and the trace layer when `telemetry` is set
/// (`instance` becomes `service.instance.id`). A second call (tests) installs nothing and
/// returns `None`, as does a call without `telemetry`. Keep the [`Guard`]: dropping it flushes
/// and stops the export. With `telemetry.logs`, the audit writer's lines are exported from
/// then on ([`logs::emit`]).
pub fn init(
    format: LogFormat,
    telemetry: Option<(&Telemetry, &str)>,
) -> Result<Option<Guard>, String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let not_traces = filter_fn(|m| m.target() != TARGET);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    }
    .with_filter(filter.and(not_traces));
    let Some((cfg, instance)) = telemetry else {
        let _ = tracing_subscriber::registry().with(fmt).try_init();
        return Ok(None);
    };
    let (guard, tracer, logger) = export::start(cfg, instance)?;
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_level(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(filter_fn(|m| m.is_span() && m.target() == TARGET));
    if tracing_subscriber::registry()
        .with(fmt)
        .with(traces)
        .try_init()
        .is_err()
    {
        return Ok(None);
    }
    NEVER_ROOTS.store(cfg.sampling <= 0.0, Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
    if let Some(logger) = logger {
        logs::install(logger);
    }
    Ok(Some(guard))
}

/// The span of one deprecated call, continuing the caller's trace context when its headers
/// carry one. The envelope names it and fills its attributes ([`close_call`]).
pub fn call_span(method: &Method, path: &str, headers: &HeaderMap) -> Span {
    if !on() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "deprecated call",
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        url.path = path,
        http.route = Empty,
        http.response.status_code = Empty,
        rule = Empty,
        mode = Empty,
        phase = Empty,
        outcome = Empty,
        error_code = Empty,
        bdb_uid = Empty,
        enduser.id = Empty,
        request_id = Empty,
    );
    continue_trace(&span, headers);
    span
}

/// What tracing a pass-through request needs, decided before any span exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassThroughPlan {
    /// A span ([`pass_through_span`]): it may be exported.
    Span,
    /// No span: it would never be exported. The upstream request carries the caller's own
    /// unsampled `traceparent` as it came (`None`), or this fresh unsampled one.
    Unsampled(Option<http::HeaderValue>),
}

/// The sampler's answer where it is known without a span (parent-based, as [`export`]'s
/// sampler): a valid caller `traceparent` whose sampled flag is off, or no valid one while
/// `telemetry.sampling` is 0. Any other request gets a [`PassThroughPlan::Span`], which the
/// SDK's sampler decides. A span that will never be exported costs the tracing layer's
/// bookkeeping on every request (`docs/PERFORMANCE.md`), which this skips.
pub fn pass_through_plan(headers: &HeaderMap) -> PassThroughPlan {
    plan(
        headers,
        NEVER_ROOTS.load(Ordering::Relaxed),
        fresh_unsampled,
    )
}

fn plan(
    headers: &HeaderMap,
    never_roots: bool,
    fresh: impl FnOnce() -> Option<http::HeaderValue>,
) -> PassThroughPlan {
    let parent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(context::parse_traceparent);
    match parent {
        Some(tp) if !tp.sampled => PassThroughPlan::Unsampled(None),
        Some(_) => PassThroughPlan::Span,
        None if never_roots => PassThroughPlan::Unsampled(fresh()),
        None => PassThroughPlan::Span,
    }
}

/// A new trace's unsampled `traceparent` (random ids, flags `00`): what the SDK would inject
/// for a root it did not sample.
fn fresh_unsampled() -> Option<http::HeaderValue> {
    use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
    let ids = RandomIdGenerator::default();
    let value = format!("00-{}-{}-00", ids.new_trace_id(), ids.new_span_id());
    http::HeaderValue::from_str(&value).ok()
}

/// The span of one pass-through request: exported only when sampled (by the caller's flag, or
/// the ratio), but always the context its upstream request carries.
pub fn pass_through_span(method: &Method, path: &str, headers: &HeaderMap) -> Span {
    if !on() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "pass through",
        otel.name = %method,
        otel.kind = "server",
        http.request.method = %method,
        url.path = path,
        http.response.status_code = Empty,
    );
    continue_trace(&span, headers);
    span
}

fn continue_trace(span: &Span, headers: &HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Fails only for a span already started, which this one is not.
        let _ = span.set_parent(parent);
    }
}

/// A child of the current span for one request the shim sends on its own behalf: `name` says
/// what it is for (version look-up, pre-validation read, upgrade POST, action poll).
pub fn upstream_span(name: &'static str, method: &Method, path: &str) -> Span {
    if !on() {
        return Span::none();
    }
    tracing::info_span!(
        target: TARGET,
        "upstream",
        otel.name = name,
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = %method,
        url.path = path,
        http.response.status_code = Empty,
    )
}

/// A child of the current span for work of the shim's own (the audit write).
pub fn local_span(name: &'static str) -> Span {
    if !on() {
        return Span::none();
    }
    tracing::info_span!(target: TARGET, "local", otel.name = name)
}

/// Sets the current span's context into `headers` as `traceparent` (and `tracestate`): every
/// request sent upstream goes through here ([`crate::upstream`]). A no-op when off.
pub fn inject(headers: &mut HeaderMap) {
    if !on() {
        return;
    }
    let cx = Span::current().context();
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
    }
}

/// The trace id of the current span (32 lowercase hex digits) when telemetry is on; otherwise
/// the one of the caller's `traceparent`, if it sent a valid one (`docs/TELEMETRY.md`).
pub fn trace_id(headers: &HeaderMap) -> Option<String> {
    if on() {
        let cx = Span::current().context();
        let sc = cx.span().span_context().clone();
        if sc.is_valid() {
            return Some(sc.trace_id().to_string());
        }
    }
    let value = headers.get("traceparent")?.to_str().ok()?;
    context::parse_traceparent(value).map(|tp| tp.trace_id.to_owned())
}

/// The current span when telemetry is on (to run a spawned task in it), else none.
pub fn current() -> Span {
    if on() {
        Span::current()
    } else {
        Span::none()
    }
}

/// The current span when it is a deprecated call's ([`call_span`]).
pub fn current_call() -> Option<Span> {
    if !on() {
        return None;
    }
    let span = Span::current();
    let is_call = span
        .metadata()
        .is_some_and(|m| m.target() == TARGET && m.name() == "deprecated call");
    is_call.then_some(span)
}

/// The call's attributes, from its audit record, once it is answered: names only, never a
/// credential (`enduser.id` is the Basic-auth user name, and only once the cluster accepted
/// it).
pub fn close_call(record: &crate::audit::AuditRecord, mode: &str) {
    let Some(span) = current_call() else {
        return;
    };
    // Named once the route template is known (HTTP server span: "{method} {http.route}");
    // the span has started by now, so through its OpenTelemetry handle.
    let name = format!("{} {}", record.method, record.route);
    span.context().span().update_name(name);
    span.record("http.route", record.route.as_str());
    span.record("http.response.status_code", record.status);
    span.record("outcome", record.outcome.as_str());
    span.record("mode", mode);
    span.record("request_id", record.request_id.as_str());
    if let Some(rule) = &record.rule {
        span.record("rule", rule.as_str());
    }
    span.record("phase", record.phase.as_deref().unwrap_or("served"));
    if let Some(code) = &record.error_code {
        span.record("error_code", code.as_str());
    }
    if record.status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    if let Some(uid) = record.bdb_uid {
        span.record("bdb_uid", uid);
    }
    if let (true, Some(user)) = (record.verified, &record.user) {
        span.record("enduser.id", user.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(traceparent: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(tp) = traceparent {
            h.insert("traceparent", tp.parse().unwrap());
        }
        h
    }

    const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const UNSAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

    #[test]
    fn a_sampled_caller_always_gets_a_span() {
        for never_roots in [false, true] {
            assert_eq!(
                plan(&headers(Some(SAMPLED)), never_roots, fresh_unsampled),
                PassThroughPlan::Span
            );
        }
    }

    #[test]
    fn an_unsampled_caller_keeps_its_own_context_and_gets_no_span() {
        for never_roots in [false, true] {
            let got = plan(&headers(Some(UNSAMPLED)), never_roots, || {
                panic!("not needed")
            });
            assert_eq!(got, PassThroughPlan::Unsampled(None));
        }
    }

    #[test]
    fn without_a_valid_parent_the_ratio_decides() {
        for parent in [None, Some("00-zz-00f067aa0ba902b7-01")] {
            assert_eq!(
                plan(&headers(parent), false, fresh_unsampled),
                PassThroughPlan::Span
            );
            let PassThroughPlan::Unsampled(Some(v)) = plan(&headers(parent), true, fresh_unsampled)
            else {
                panic!("sampling 0 gives a fresh unsampled context");
            };
            let tp = context::parse_traceparent(v.to_str().unwrap()).expect("a valid traceparent");
            assert!(!tp.sampled);
        }
    }

    #[test]
    fn fresh_contexts_are_new_traces() {
        let a = fresh_unsampled().unwrap();
        let b = fresh_unsampled().unwrap();
        assert_ne!(a, b);
    }
}
