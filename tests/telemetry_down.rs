//! Issue 24: a collector that is down never fails or holds up a request, nor changes the audit
//! file; the spans and audit log records it could not take are counted in
//! `deprecation_shim_telemetry_dropped_total{signal="traces"}` and `{signal="logs"}`.
//! Its own binary: telemetry is process-wide, and here it points at a closed port.

mod support;

use deprecation_shim::config::telemetry::{validate, RawTelemetry};
use deprecation_shim::config::LogFormat;
use deprecation_shim::sim::SimVersion;
use deprecation_shim::telemetry::{dropped_counter, Signal};
use std::time::{Duration, Instant};
use support::audit_file::settled;
use support::harness::audited;
use support::legacy::{admin, legacy_upgrade};
use support::shim::free_port;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_collector_down_every_call_succeeds_and_drops_are_counted() {
    let cfg = validate(RawTelemetry {
        enabled: Some(true),
        endpoint: Some(format!("http://127.0.0.1:{}", free_port())),
        sampling: Some(1.0),
        queue_size: Some(8),
        export_timeout: Some("500ms".into()),
        logs: Some(true),
        ..RawTelemetry::default()
    })
    .expect("telemetry config")
    .expect("enabled");
    let guard = deprecation_shim::telemetry::init(LogFormat::Text, Some((&cfg, "replica-b")))
        .expect("telemetry")
        .expect("first init");
    let (_sim, audit, shim) = audited(SimVersion::V8_0, "").await;

    let started = Instant::now();
    // Pass-through requests (one span each) all at once: more than the queue holds.
    let auth = admin();
    let gets = (0..64).map(|_| support::get(shim.addr, "/v1/bdbs/1", &auth));
    for reply in futures_util::future::join_all(gets).await {
        assert_eq!(reply.status.as_u16(), 200);
    }
    // And translated calls, each a handful of spans.
    for _ in 0..3 {
        let reply = legacy_upgrade(shim.addr, &[("authorization", &admin())]).await;
        assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
    }
    let took = started.elapsed();
    // Every call is in the file, whatever the collector did.
    let records = settled(&audit, 3).await;
    assert!(records.iter().all(|r| r["status"] == 200));
    guard.flush();
    let spans = dropped_counter(Signal::Traces).get();
    let logs = dropped_counter(Signal::Logs).get();
    println!(
        "64 pass-through + 3 translated calls in {took:?}; {spans} spans, {logs} log records dropped"
    );
    assert!(spans > 0, "no span counted as dropped");
    assert!(logs > 0, "no log record counted as dropped");
    assert!(took < Duration::from_secs(10), "calls held up: {took:?}");
    let metrics = deprecation_shim::metrics::Metrics::new().encode();
    for (signal, n) in [("traces", spans), ("logs", logs)] {
        let line = format!("deprecation_shim_telemetry_dropped_total{{signal=\"{signal}\"}} {n}");
        assert!(
            metrics.contains(&line),
            "{line} not in /metrics:\n{metrics}"
        );
    }
}
