//! The admin port over a real socket: health, readiness following upstream replies, metrics
//! read back with a Prometheus text parser, the live `/deprecations` rows, RS-shaped errors.

mod support;

use bytes::Bytes;
use deprecation_shim::admin::{self, AdminState};
use deprecation_shim::audit::report::Report;
use deprecation_shim::audit::{AuditLog, AuditRecord};
use deprecation_shim::listener;
use deprecation_shim::metrics::{Metrics, RouteClass, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use prometheus_parse::{Scrape, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::harness::{admin_bearer, AdminPort, ADMIN_TOKEN};
use support::{send, Reply};
use tokio::sync::oneshot;

const PASSWORD: &str = "n0t-in-metrics-Pa55";

fn new_state() -> Arc<AdminState> {
    let metrics = Arc::new(Metrics::new());
    let audit = Arc::new(AuditLog::disabled(metrics.clone()));
    let state = AdminState::new(metrics, audit);
    state.set_token(deprecation_shim::config::AdminToken::parse(ADMIN_TOKEN));
    Arc::new(state)
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, Method::GET, path, &[], Bytes::new()).await
}

fn deprecated_record(user_agent: &'static str, status: StatusCode) -> AuditRecord {
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&support::basic("ops", PASSWORD)).unwrap(),
    );
    h.insert("user-agent", HeaderValue::from_static(user_agent));
    let mut rec = AuditRecord::begin(
        SystemTime::now(),
        "rid",
        "10.9.8.7".parse().unwrap(),
        &Method::POST,
        "/v1/modules/upgrade/bdb/{uid}",
        &h,
        false,
    );
    rec.bdb_uid = Some(12);
    rec.finish(status, None, None, Duration::from_millis(30));
    rec
}

#[tokio::test]
async fn healthz_answers_ok() {
    let port = AdminPort::serve(new_state());
    let addr = port.addr;
    let r = get(addr, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_ignores_traffic_and_turns_503_when_draining() {
    let state = new_state();
    let port = AdminPort::serve(state.clone());
    let addr = port.addr;
    let r = get(addr, "/readyz").await;
    assert_eq!(r.status, StatusCode::OK, "ready before any upstream reply");
    assert_eq!(r.json()["status"], "ready");
    state.mark_upstream_ok();
    let r = get(addr, "/readyz?verbose").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["checks"]["last_upstream_reply_ms_ago"].is_u64());
    state.set_draining();
    let r = get(addr, "/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = r.json();
    assert_eq!(body["error_code"], "draining");
    assert_eq!(body["message"], body["description"]);
    assert_eq!(
        get(addr, "/healthz").await.status,
        StatusCode::OK,
        "still alive"
    );
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_with_the_recorded_values() {
    let state = new_state();
    let m = &state.metrics;
    for _ in 0..3 {
        m.request(RouteClass::PassThrough, 200);
    }
    m.request(RouteClass::PassThrough, 404);
    m.request(RouteClass::Deprecated, 406);
    m.upstream_latency(RouteClass::PassThrough, Duration::from_millis(3));
    m.upstream_latency(RouteClass::PassThrough, Duration::from_millis(120));
    m.deprecated_call(true, Some("ops"), Some("upgrader/1.0"));
    m.deprecated_call(true, Some("ops"), Some("upgrader/1.0"));
    m.deprecated_call(false, None, Some("curl/8.5.0"));
    m.translation_outcome(None);
    m.translation_outcome(Some("module_downgrade_unsupported"));
    m.audit_write_failed();
    let _in_flight = m.in_flight();

    let port = AdminPort::serve(state.clone());
    let addr = port.addr;
    let r = get(addr, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(!text.contains(PASSWORD));
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();

    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("no {name}{labels:?} in\n{text}"));
        match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{name}: {other:?}"),
        }
    };
    let requests = "deprecation_shim_requests_total";
    assert_eq!(
        value(
            requests,
            &[("route_class", "pass_through"), ("status", "200")]
        ),
        3.0
    );
    assert_eq!(
        value(
            requests,
            &[("route_class", "pass_through"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            requests,
            &[("route_class", "deprecated"), ("status", "406")]
        ),
        1.0
    );
    let calls = "deprecation_shim_deprecated_calls_total";
    assert_eq!(
        value(calls, &[("user", "ops"), ("user_agent", "upgrader/1.0")]),
        2.0
    );
    assert_eq!(
        value(
            calls,
            &[("user", "unverified"), ("user_agent", "unverified")]
        ),
        1.0
    );
    let outcomes = "deprecation_shim_translation_outcomes_total";
    assert_eq!(value(outcomes, &[("error_code", "ok")]), 1.0);
    assert_eq!(
        value(outcomes, &[("error_code", "module_downgrade_unsupported")]),
        1.0
    );
    assert_eq!(value("deprecation_shim_in_flight_requests", &[]), 1.0);
    assert_eq!(
        value("deprecation_shim_audit_write_failures_total", &[]),
        1.0
    );
    // Both route classes' series exist from the start (the shim keeps handles to them); only
    // the pass-through one has observations.
    let pass = [("route_class", "pass_through")];
    let deprecated = [("route_class", "deprecated")];
    assert_eq!(
        value("deprecation_shim_upstream_latency_seconds_count", &pass),
        2.0
    );
    assert!((value("deprecation_shim_upstream_latency_seconds_sum", &pass) - 0.123).abs() < 1e-9);
    assert_eq!(
        value(
            "deprecation_shim_upstream_latency_seconds_count",
            &deprecated
        ),
        0.0
    );

    let histogram = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "deprecation_shim_upstream_latency_seconds"
                && s.labels.get("route_class") == Some("pass_through")
        })
        .expect("histogram");
    let Value::Histogram(buckets) = &histogram.value else {
        panic!("{:?}", histogram.value)
    };
    let le = |bound: f64| {
        buckets
            .iter()
            .find(|b| b.less_than == bound || (b.less_than - bound).abs() < 1e-9)
            .map(|b| b.count)
    };
    // 5 ms bucket holds the 3 ms call; 160 ms bucket both.
    assert_eq!(le(0.005), Some(1.0));
    assert_eq!(le(0.08), Some(1.0));
    assert_eq!(le(0.16), Some(2.0));
    assert_eq!(le(f64::INFINITY), Some(2.0));
}

#[tokio::test]
async fn deprecations_lists_live_callers_like_the_report() {
    let state = new_state();
    state
        .audit
        .write(&deprecated_record("upgrader/1.0", StatusCode::OK))
        .await
        .unwrap();
    state
        .audit
        .write(&deprecated_record("upgrader/1.0", StatusCode::BAD_REQUEST))
        .await
        .unwrap();
    state
        .audit
        .write(&deprecated_record("other-tool/3", StatusCode::BAD_GATEWAY))
        .await
        .unwrap();
    let port = AdminPort::serve(state);
    let addr = port.addr;
    // Issue 20: without the bearer token (or with a wrong one), counts only, no identities.
    let bearer = admin_bearer();
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789abcdef"),
        Some(ADMIN_TOKEN),
    ] {
        let h: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let r = send(addr, Method::GET, "/deprecations", &h, Bytes::new()).await;
        let hidden: Report = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((hidden.totals.calls, hidden.totals.callers), (3, 2));
        assert!(hidden.callers.is_empty(), "{auth:?}: {:?}", hidden.callers);
        assert_eq!(r.header("x-deprecation-shim-callers"), Some("hidden"));
        assert!(!String::from_utf8_lossy(&r.body).contains("ops"));
    }
    let r = send(
        addr,
        Method::GET,
        "/deprecations",
        &[("authorization", bearer.as_str())],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-deprecation-shim-callers"), Some("shown"));
    assert!(!String::from_utf8_lossy(&r.body).contains(PASSWORD));
    let report: Report = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(report.totals.calls, 3);
    assert_eq!(report.totals.callers, 2);
    let up = report
        .callers
        .iter()
        .find(|c| c.user_agent.as_deref() == Some("upgrader/1.0"))
        .unwrap();
    assert_eq!(
        (up.user.as_deref(), up.client.as_str()),
        (Some("ops"), "10.9.8.7")
    );
    assert_eq!(
        (up.calls, up.outcomes.ok, up.outcomes.client_error),
        (2, 1, 1)
    );
    assert_eq!(up.databases, [12]);
}

#[tokio::test]
async fn unknown_path_and_wrong_method_are_rs_shaped() {
    let port = AdminPort::serve(new_state());
    let addr = port.addr;
    let r = get(addr, "/v1/bdbs").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let body = r.json();
    assert_eq!(body["error_code"], "not_found");
    assert!(body["description"].as_str().unwrap().contains("/v1/bdbs"));
    let r = send(addr, Method::DELETE, "/metrics", &[], Bytes::new()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(r.json()["error_code"], "method_not_allowed");
}

#[tokio::test]
async fn stops_when_shutdown_resolves() {
    let listener = listener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(admin::serve(listener, new_state(), async {
        let _ = stopped.await;
    }));
    assert_eq!(get(addr, "/healthz").await.status, StatusCode::OK);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("admin port stopped")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
