//! Reopen on SIGUSR1 and SIGHUP after logrotate moved the file. Its own test binary: the
//! signals go to this whole process, whose handlers are installed before the first is sent.
#![cfg(unix)]

use deprecation_shim::audit::{reopen_on_signals, AuditLog, AuditRecord};
use deprecation_shim::config::{Audit, AuditFailure};
use deprecation_shim::metrics::Metrics;
use http::{HeaderMap, Method, StatusCode};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn record(id: &str) -> AuditRecord {
    let mut rec = AuditRecord::begin(
        SystemTime::now(),
        id,
        "127.0.0.1".parse().unwrap(),
        &Method::POST,
        "/v1/modules/upgrade/bdb/{uid}",
        &HeaderMap::new(),
        false,
    );
    rec.finish(StatusCode::OK, None, None, Duration::from_millis(1));
    rec
}

fn ids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<AuditRecord>(l).unwrap().request_id)
        .collect()
}

fn send_signal(name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until the log writes to a fresh file at `path` (the reopen happened).
async fn wait_for_fresh_file(log: &AuditLog, path: &Path, probe: &str) {
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if path.exists() {
            log.write(&record(probe)).await.unwrap();
            return;
        }
    }
    panic!("no reopen within 2s");
}

#[tokio::test]
async fn usr1_and_hup_reopen_the_moved_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let cfg = Audit {
        path: Some(path.clone()),
        fsync: false,
        on_write_failure: AuditFailure::Fail,
        ..Audit::default()
    };
    let log = Arc::new(AuditLog::open(&cfg, Arc::new(Metrics::new())).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(reopen_on_signals(log.clone(), async {
        let _ = stopped.await;
    }));
    // Let the task install its handlers before any signal is sent.
    tokio::time::sleep(Duration::from_millis(100)).await;

    log.write(&record("first")).await.unwrap();
    std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
    send_signal("USR1");
    wait_for_fresh_file(&log, &path, "after-usr1").await;

    std::fs::rename(&path, dir.path().join("audit.jsonl.2")).unwrap();
    send_signal("HUP");
    wait_for_fresh_file(&log, &path, "after-hup").await;

    assert_eq!(ids(&dir.path().join("audit.jsonl.1")), ["first"]);
    assert_eq!(ids(&dir.path().join("audit.jsonl.2")), ["after-usr1"]);
    assert_eq!(ids(&path), ["after-hup"]);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
