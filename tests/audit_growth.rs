//! Issue 20: the audit tells what happened, at a bounded size.
//!
//! Item 6, bounded audit growth from unverified callers. Repeated failures of one unverified
//! caller coalesce into one record per caller, route and outcome per interval (`count`,
//! `first_seen`, `last_seen`, first and last `request_id`); open intervals are written at a
//! graceful stop and at a reload; `report` still counts every call.
//!
//! Item 9, a download is audited by what was sent: a debuginfo package the client abandoned
//! half-way is `download_abandoned` with the bytes it got, not `ok` with the declared length.

mod support;

use deprecation_shim::audit::report::aggregate;
use deprecation_shim::sim::SimVersion;
use std::process::Command;
use std::time::Duration;
use support::audit_file::{records, settled, AuditFile};
use support::harness::{Shim, Sim};
use support::legacy::admin;
use support::shim::{spawn_shim, toml_path};
use support::{get, send};

const ROUTE: &str = "/v1/debuginfo/all";

/// `n` calls of the debuginfo route without credentials: the cluster answers each 401.
async fn junk(addr: std::net::SocketAddr, n: usize) {
    for _ in 0..n {
        let r = send(
            addr,
            http::Method::GET,
            ROUTE,
            &[("user-agent", "junk/1")],
            "",
        )
        .await;
        assert_eq!(r.status, 401);
    }
}

/// Polls the audit file until `pred` holds on its records (at most 10 s).
async fn until(audit: &AuditFile, what: &str, pred: impl Fn(&[serde_json::Value]) -> bool) {
    for _ in 0..100 {
        if pred(&records(audit)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {:#?}", records(audit));
}

fn coalesced(recs: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    recs.iter().filter(|r| r["record"] == "coalesced").collect()
}

#[tokio::test]
async fn a_junk_flood_writes_two_lines_per_caller_and_the_report_counts_every_call() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    junk(shim.addr, 200).await;
    let admin_reply = get(shim.addr, ROUTE, &admin()).await;
    assert_eq!(admin_reply.status, 200);
    // The admin's download is recorded once its body has ended (item 9).
    let recs = settled(&audit, 2).await;
    assert_eq!(
        recs.len(),
        2,
        "the junk's first call and the admin's: {recs:#?}"
    );
    assert_eq!(recs[0]["status"], 401);
    assert!(recs[0].get("count").is_none());
    assert_eq!(recs[1]["verified"], true);
    // A graceful stop writes the open interval.
    drop(shim);
    until(&audit, "the coalesced record at stop", |r| {
        !coalesced(r).is_empty()
    })
    .await;
    let recs = records(&audit);
    let c = coalesced(&recs);
    assert_eq!(c.len(), 1, "{recs:#?}");
    assert_eq!(c[0]["count"], 199);
    assert_eq!(c[0]["status"], 401);
    assert_eq!(c[0]["user_agent"], "junk/1");
    for key in [
        "first_seen",
        "last_seen",
        "first_request_id",
        "last_request_id",
    ] {
        assert!(c[0][key].is_string(), "{key}: {}", c[0]);
    }
    assert_ne!(c[0]["first_request_id"], c[0]["last_request_id"]);
    let report = aggregate(&[audit.to_path_buf()], None)
        .expect("report")
        .report();
    let calls: u64 = report
        .callers
        .iter()
        .filter(|e| e.rule == "debuginfo_all")
        .map(|e| e.calls)
        .sum();
    assert_eq!(calls, 201, "every call counted exactly");
}

#[tokio::test]
async fn a_reload_writes_the_open_intervals() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("shim.toml");
    std::fs::write(
        &cfg,
        format!(
            "[upstream]\nurl = \"http://{}\"\n[audit]\npath = {}\n",
            sim.addr,
            toml_path(&audit)
        ),
    )
    .expect("config");
    let shim = spawn_shim(&["--config", &cfg.display().to_string()]);
    junk(shim.addr, 30).await;
    assert!(coalesced(&records(&audit)).is_empty(), "still counting");
    let hup = Command::new("kill")
        .args(["-HUP", &shim.pid().to_string()])
        .status()
        .expect("kill");
    assert!(hup.success());
    until(&audit, "the coalesced record at reload", |r| {
        coalesced(r).first().is_some_and(|c| c["count"] == 29)
    })
    .await;
}

/// `GET /v1/debuginfo/all` as the admin on a raw connection: reads the head and `keep` body
/// bytes (all when `None`), then hangs up.
async fn download(addr: std::net::SocketAddr, keep: Option<usize>) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET {ROUTE} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        admin()
    );
    s.write_all(req.as_bytes()).await.expect("send");
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = s.read(&mut buf).await.expect("read");
        got += n;
        if n == 0 || keep.is_some_and(|k| got >= k) {
            return got;
        }
    }
}

#[tokio::test]
async fn an_abandoned_download_is_audited_with_the_bytes_sent_not_ok() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let package = 16 * 1024 * 1024;
    sim.faults()
        .merge_json(&serde_json::json!({ "debuginfo_bytes": package }))
        .expect("fault");
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    let got = download(shim.addr, Some(256 * 1024)).await;
    assert!(got < package / 4, "{got}");
    until(&audit, "the abandoned download's record", |r| r.len() == 1).await;
    let whole = download(shim.addr, None).await;
    assert!(whole > package, "{whole}");
    until(&audit, "the whole download's record", |r| r.len() == 2).await;
    let recs = records(&audit);
    let (cut, full) = (&recs[0], &recs[1]);
    assert_eq!(cut["status"], 200);
    assert_eq!(cut["outcome"], "client_error", "{cut}");
    assert_eq!(cut["error_code"], "download_abandoned");
    let declared = cut["detail"]["bytes"].as_u64().expect("declared");
    let sent = cut["detail"]["bytes_sent"].as_u64().expect("sent");
    assert!(sent < declared, "{sent} of {declared}");
    assert_eq!(full["outcome"], "ok", "{full}");
    assert_eq!(full["detail"]["bytes_sent"], full["detail"]["bytes"]);
}
