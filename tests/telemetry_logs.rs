//! Issue 24 item 5: with `telemetry.logs = true` every line the audit writer puts in the JSONL
//! file is also one OTLP log record, received here by the receiver built from the official
//! protobuf definitions ([`support::otlp`]). Its own binary: telemetry is process-wide, and here
//! `logs` is on (`tests/telemetry.rs` asserts that with it off no log request arrives).

mod support;

use deprecation_shim::config::telemetry::{validate, RawTelemetry};
use deprecation_shim::config::LogFormat;
use deprecation_shim::sim::{SimVersion, DEMO_VIEWER};
use http::Method;
use opentelemetry_proto::tonic::common::v1::any_value;
use serde_json::{json, Value};
use std::time::Duration;
use support::audit_file::{lines, settled};
use support::harness::audited;
use support::legacy::{admin, legacy_upgrade};
use support::otlp::{attr, hex, ReceivedLog, Receiver};

const UPGRADE_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PASSWORD_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const NEW_PASSWORD: &str = "rotated-pass-77";

/// The log record's body as text (the exporter sends it as a string value).
fn body(log: &ReceivedLog) -> String {
    match log.record.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => panic!("body is not a string: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_audit_line_is_one_log_record_linked_to_its_trace_without_secrets() {
    let receiver = Receiver::start().await;
    let cfg = validate(RawTelemetry {
        enabled: Some(true),
        endpoint: Some(receiver.endpoint()),
        logs: Some(true),
        ..RawTelemetry::default()
    })
    .expect("telemetry config")
    .expect("enabled");
    let guard = deprecation_shim::telemetry::init(LogFormat::Text, Some((&cfg, "replica-l")))
        .expect("telemetry")
        .expect("first init");
    let (_sim, audit, shim) = audited(SimVersion::V8_0, "").await;

    // A translated module upgrade (an intent line, then its outcome line) and an R13 password
    // change with the credentials in its body, each continuing a caller's trace.
    let upgrade_tp = format!("00-{UPGRADE_TRACE}-{CALLER_SPAN}-01");
    let reply = legacy_upgrade(
        shim.addr,
        &[("authorization", &admin()), ("traceparent", &upgrade_tp)],
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
    let password_tp = format!("00-{PASSWORD_TRACE}-{CALLER_SPAN}-01");
    let body_creds = json!({
        "username": DEMO_VIEWER.0,
        "old_password": DEMO_VIEWER.1,
        "new_password": NEW_PASSWORD,
    });
    let reply = support::send(
        shim.addr,
        Method::PUT,
        "/v1/users/password",
        &[
            ("content-type", "application/json"),
            ("traceparent", &password_tp),
        ],
        body_creds.to_string(),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
    settled(&audit, 2).await;
    guard.flush();

    let file = lines(&audit);
    assert!(file.len() >= 3, "intent + outcome + R13: {file:#?}");
    let logs = receiver
        .logs_at_least(file.len(), Duration::from_secs(10))
        .await;
    assert_eq!(logs.len(), file.len(), "one log record per audit line");
    let spans = receiver.spans();

    for line in &file {
        let matching: Vec<&ReceivedLog> = logs
            .iter()
            .filter(|l| serde_json::from_str::<Value>(&body(l)).ok().as_ref() == Some(line))
            .collect();
        assert_eq!(matching.len(), 1, "log records for {line}");
        let log = matching[0];
        let r = &log.record;
        assert_eq!(r.event_name, "deprecation_shim.audit");
        assert_eq!((r.severity_number, r.severity_text.as_str()), (9, "INFO"));
        let trace_id = line["trace_id"].as_str().expect("the line has a trace id");
        assert!([UPGRADE_TRACE, PASSWORD_TRACE].contains(&trace_id));
        assert_eq!(hex(&r.trace_id), trace_id, "{line}");
        // The span is one of that trace's (the call's, or its `audit write`).
        assert!(
            spans
                .iter()
                .any(|s| s.span.span_id == r.span_id && hex(&s.span.trace_id) == trace_id),
            "log of {line} names span {} not exported in its trace",
            hex(&r.span_id)
        );
        let a = &r.attributes;
        assert_eq!(
            attr(a, "request_id"),
            line["request_id"].as_str().map(str::to_owned)
        );
        assert_eq!(
            attr(a, "outcome"),
            line["outcome"].as_str().map(str::to_owned)
        );
        assert_eq!(attr(a, "rule"), line["rule"].as_str().map(str::to_owned));
        assert_eq!(
            attr(a, "http.response.status_code"),
            Some(line["status"].to_string())
        );
        assert_eq!(
            attr(a, "record"),
            line["record"].as_str().map(str::to_owned)
        );
        assert_eq!(
            attr(&log.resource, "service.instance.id").as_deref(),
            Some("replica-l")
        );
    }
    assert!(file.iter().any(|l| l["record"] == "intent"));
    assert!(file.iter().any(|l| l["route"] == "/v1/users/password"));

    // Never a secret in what left for the collector: neither password, nor a Basic header.
    let bodies = receiver.log_bodies();
    assert!(!bodies.is_empty());
    for bytes in &bodies {
        for secret in [DEMO_VIEWER.1, NEW_PASSWORD, "Basic "] {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret:?} in an exported log request");
        }
    }
}
