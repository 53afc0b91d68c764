//! Issue 24: deprecated calls seen as traces, by an OTLP/HTTP receiver built in the test from
//! the official protobuf definitions ([`support::otlp`]): a translated module upgrade, and R13
//! (`/v1/users/password` with body credentials), whose upstream requests only the send path's
//! generic wrap turns into spans.
//!
//! Telemetry is process-wide (one global subscriber), so this binary turns it on once, towards
//! one receiver on a thread of its own that every test shares ([`traced`]), with `logs` off;
//! each test reads its own trace id. The collector-down case has its own binary
//! (`tests/telemetry_down.rs`), and the audit records as log records theirs
//! (`tests/telemetry_logs.rs`).

mod support;

use deprecation_shim::config::telemetry::{validate, RawTelemetry};
use deprecation_shim::config::LogFormat;
use deprecation_shim::sim::{SimVersion, DEMO_ADMIN, DEMO_VIEWER};
use deprecation_shim::telemetry::Guard;
use http::Method;
use std::sync::OnceLock;
use std::time::Duration;
use support::audit_file::settled;
use support::harness::audited;
use support::legacy::{admin, legacy_upgrade};
use support::otlp::{attr, hex, Received, Receiver};
use support::send;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const R13_TRACE_ID: &str = "5c0a9e2b7d3f41e8a6b2c4d6e8f01234";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn id(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The receiver and the export's guard, shared by the tests of this binary.
struct Traced {
    receiver: Receiver,
    guard: Guard,
}

/// Turns telemetry on once, towards a receiver that runs on its own thread and runtime (each
/// test's runtime ends with the test; the receiver must outlive them all).
fn traced() -> &'static Traced {
    static TRACED: OnceLock<Traced> = OnceLock::new();
    TRACED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            rt.block_on(async {
                let _ = tx.send(Receiver::start().await);
                std::future::pending::<()>().await
            });
        });
        let receiver = rx.recv().expect("receiver started");
        let cfg = validate(RawTelemetry {
            enabled: Some(true),
            endpoint: Some(receiver.endpoint()),
            // Parent-based: the caller's sampled flag decides, whatever the ratio.
            sampling: Some(0.0),
            ..RawTelemetry::default()
        })
        .expect("telemetry config")
        .expect("enabled");
        let guard = deprecation_shim::telemetry::init(LogFormat::Text, Some((&cfg, "replica-a")))
            .expect("telemetry")
            .expect("first init");
        Traced { receiver, guard }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_translated_module_upgrade_is_one_trace_continued_from_the_caller() {
    let Traced { receiver, guard } = traced();
    let (sim, audit, shim) = audited(SimVersion::V8_0, "").await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let reply = legacy_upgrade(
        shim.addr,
        &[("authorization", &admin()), ("traceparent", &traceparent)],
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
    let records = settled(&audit, 1).await;
    guard.flush();

    let spans = call_trace(receiver, TRACE_ID, 6).await;
    // The parent: the call, a child of the caller's span.
    let root = call_of(&spans);
    let a = &root.span.attributes;
    assert_eq!(root.span.name, "POST /v1/modules/upgrade/bdb/{uid}");
    let want = [
        ("rule", "module_upgrade"),
        ("phase", "served"),
        ("outcome", "ok"),
        ("http.request.method", "POST"),
        ("url.path", "/v1/modules/upgrade/bdb/1"),
        ("http.route", "/v1/modules/upgrade/bdb/{uid}"),
        ("http.response.status_code", "200"),
        ("bdb_uid", "1"),
        ("enduser.id", DEMO_ADMIN.0),
    ];
    for (k, v) in want {
        assert_eq!(attr(a, k).as_deref(), Some(v), "root attribute {k}");
    }
    assert!(attr(a, "mode").is_some(), "root has a mode");
    assert_eq!(attr(a, "error_code"), None);
    assert_eq!(
        attr(&root.resource, "service.instance.id").as_deref(),
        Some("replica-a")
    );
    // Never a secret: no attribute of any span carries the password.
    for r in &spans {
        let text = format!("{:?}", r.span.attributes);
        assert!(!text.contains(DEMO_ADMIN.1), "password in {}", r.span.name);
        assert!(!text.contains("Basic "), "credentials in {}", r.span.name);
    }

    // The children, in order, each a direct child of the call.
    let children = children_of(root, &spans);
    let names: Vec<&str> = children.iter().map(|r| r.span.name.as_str()).collect();
    let expected_order = children_in_order(&names);
    assert!(expected_order, "children out of order: {names:?}");
    for child in &children {
        if child.span.name != "audit write" {
            assert!(
                attr(&child.span.attributes, "http.response.status_code").is_some(),
                "{} has a status",
                child.span.name
            );
        }
    }

    // The audit record names the trace; every request the cluster saw carries it, with the
    // span of the request as parent.
    assert_eq!(records[0]["trace_id"], TRACE_ID);
    // The caller's own requests (a credential-free probe of the cluster is not the call's).
    let received: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.authorization.is_some())
        .collect();
    assert!(!received.is_empty());
    let child_ids: Vec<String> = children.iter().map(|r| hex(&r.span.span_id)).collect();
    for req in &received {
        let tp = req
            .traceparent
            .as_deref()
            .unwrap_or_else(|| panic!("{} {} without traceparent", req.method, req.path));
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts[1], TRACE_ID, "{} {}", req.method, req.path);
        assert!(
            child_ids.iter().any(|c| c == parts[2]),
            "{} {}: parent {} is not a child span of the call",
            req.method,
            req.path,
            parts[2]
        );
    }
    let post = children
        .iter()
        .find(|r| r.span.name == "upgrade POST")
        .expect("upgrade POST span");
    let post_req = received
        .iter()
        .find(|r| r.method == http::Method::POST)
        .expect("the upgrade POST");
    assert!(post_req
        .traceparent
        .as_deref()
        .is_some_and(|tp| tp.contains(&hex(&post.span.span_id))));
}

/// At sampling 0 a pass-through request that cannot be sampled gets no span (the cost
/// `docs/PERFORMANCE.md` measures), yet still a context upstream: the caller's unsampled
/// `traceparent` as it came, or a fresh unsampled one. And with `logs` off, no log request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_at_sampling_0_makes_no_span_yet_carries_a_context() {
    let Traced { receiver, guard } = traced();
    let (sim, _audit, shim) = audited(SimVersion::V8_0, "").await;
    const UNSAMPLED_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    let unsampled = format!("00-{UNSAMPLED_TRACE}-{CALLER_SPAN}-00");
    for tp in [Some(unsampled.as_str()), None] {
        let auth = admin();
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend(tp.map(|tp| ("traceparent", tp)));
        let reply = send(shim.addr, Method::GET, "/v1/bdbs/1", &headers, "").await;
        assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
    }
    let seen: Vec<_> = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/bdbs/1")
        .filter_map(|r| r.traceparent.clone())
        .collect();
    assert_eq!(
        seen.len(),
        2,
        "both reads reached the cluster with a traceparent"
    );
    assert_eq!(
        seen[0], unsampled,
        "the caller's unsampled context goes as it came"
    );
    let fresh: Vec<&str> = seen[1].split('-').collect();
    assert_eq!(
        (fresh.len(), fresh[0], fresh[3]),
        (4, "00", "00"),
        "{}",
        seen[1]
    );
    assert_ne!(fresh[1], TRACE_ID);
    guard.flush();
    for trace in [UNSAMPLED_TRACE, fresh[1]] {
        let spans = receiver
            .trace(&id(trace), 1, Duration::from_millis(300))
            .await;
        assert!(
            spans.is_empty(),
            "trace {trace} was exported: {}",
            spans.len()
        );
    }
    // `telemetry.logs` is off in this binary: the receiver that gets the spans gets no log
    // request (`tests/telemetry_logs.rs` turns it on).
    assert!(
        receiver.log_bodies().is_empty(),
        "a /v1/logs request arrived"
    );
}

/// R13 (API-CATALOGUE §3.4): a password change with body credentials only, translated to a
/// Basic header. No call site names its request: the send path's generic wrap makes it the
/// call's `forwarded call` child, whose context the cluster received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_r13_call_is_one_trace_whose_forwarded_call_the_cluster_saw() {
    let Traced { receiver, guard } = traced();
    let (sim, audit, shim) = audited(SimVersion::V8_0, "").await;
    let (user, password) = DEMO_VIEWER;
    let body = serde_json::json!({
        "username": user,
        "old_password": password,
        "new_password": "second-pass-1",
    });
    let traceparent = format!("00-{R13_TRACE_ID}-{CALLER_SPAN}-01");
    let headers = [
        ("content-type", "application/json"),
        ("traceparent", traceparent.as_str()),
    ];
    let reply = send(
        shim.addr,
        Method::PUT,
        "/v1/users/password",
        &headers,
        body.to_string(),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
    let records = settled(&audit, 1).await;
    assert_eq!(records[0]["rule_action"], "translated", "{}", records[0]);
    guard.flush();

    let spans = call_trace(receiver, R13_TRACE_ID, 3).await;
    let root = call_of(&spans);
    assert_eq!(root.span.name, "PUT /v1/users/password");
    let rule = records[0]["rule"]
        .as_str()
        .expect("the record names its rule");
    assert_eq!(attr(&root.span.attributes, "rule").as_deref(), Some(rule));
    assert_eq!(
        attr(&root.span.attributes, "http.response.status_code").as_deref(),
        Some("200")
    );
    let children = children_of(root, &spans);
    let names: Vec<&str> = children.iter().map(|r| r.span.name.as_str()).collect();
    let rest = match names.first() {
        Some(&"version look-up") => &names[1..],
        _ => &names[..],
    };
    assert_eq!(
        rest,
        ["forwarded call", "audit write"],
        "children: {names:?}"
    );

    let forwarded = children[names.len() - 2];
    // SpanKind::Client (OTLP `SPAN_KIND_CLIENT`).
    assert_eq!(
        forwarded.span.kind, 3,
        "the forwarded call is a client span"
    );
    let a = &forwarded.span.attributes;
    for (k, v) in [
        ("http.request.method", "PUT"),
        ("url.path", "/v1/users/password"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(
            attr(a, k).as_deref(),
            Some(v),
            "forwarded call attribute {k}"
        );
    }
    for r in &spans {
        let text = format!("{:?}", r.span.attributes);
        assert!(!text.contains(password), "password in {}", r.span.name);
        assert!(!text.contains("Basic "), "credentials in {}", r.span.name);
    }

    // The cluster got the translated call (a Basic header built from the body) with the
    // forwarded call's context.
    let sent: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PUT && r.path == "/v1/users/password")
        .collect();
    assert_eq!(sent.len(), 1, "one PUT reached the cluster");
    assert!(sent[0].authorization.is_some(), "sent with a Basic header");
    let want = format!("00-{R13_TRACE_ID}-{}-01", hex(&forwarded.span.span_id));
    assert_eq!(sent[0].traceparent.as_deref(), Some(want.as_str()));
}

/// The spans of `trace` (at least `n`, within 10 s), in start order, printed.
async fn call_trace(receiver: &Receiver, trace: &str, n: usize) -> Vec<Received> {
    let mut spans = receiver.trace(&id(trace), n, Duration::from_secs(10)).await;
    spans.sort_by_key(|r| r.span.start_time_unix_nano);
    print_tree(trace, &spans);
    spans
}

/// The direct children of the call's span `root`, in start order; every span of the trace is
/// the call or one of them.
fn children_of<'a>(root: &Received, spans: &'a [Received]) -> Vec<&'a Received> {
    let children: Vec<&Received> = spans
        .iter()
        .filter(|r| r.span.parent_span_id == root.span.span_id)
        .collect();
    assert_eq!(
        children.len() + 1,
        spans.len(),
        "every span is the call or its child"
    );
    children
}

/// The call's span: the one whose parent is the caller's span.
fn call_of(spans: &[Received]) -> &Received {
    spans
        .iter()
        .find(|r| r.span.parent_span_id == id(CALLER_SPAN))
        .expect("a span whose parent is the caller's")
}

/// `[version look-up]`, pre-validation reads (two or more), the upgrade POST, one poll or more,
/// the result read, the audit write.
fn children_in_order(names: &[&str]) -> bool {
    let mut rest = names;
    if rest.first() == Some(&"version look-up") {
        rest = &rest[1..];
    }
    let reads = rest
        .iter()
        .take_while(|n| **n == "pre-validation read")
        .count();
    rest = &rest[reads..];
    if reads < 2 || rest.first() != Some(&"upgrade POST") {
        return false;
    }
    rest = &rest[1..];
    let polls = rest.iter().take_while(|n| **n == "action poll").count();
    polls >= 1 && rest[polls..] == ["result read", "audit write"]
}

fn print_tree(trace_id: &str, spans: &[Received]) {
    println!("trace {trace_id}, caller span {CALLER_SPAN}:");
    for r in spans {
        let s = &r.span;
        let attrs: Vec<String> = s
            .attributes
            .iter()
            .map(|kv| {
                let v = attr(std::slice::from_ref(kv), &kv.key).unwrap_or_default();
                format!("{}={v}", kv.key)
            })
            .collect();
        println!(
            "  {} parent={} {:?} [{}]",
            hex(&s.span_id),
            hex(&s.parent_span_id),
            s.name,
            attrs.join(", ")
        );
    }
}
