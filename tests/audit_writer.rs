//! The audit writer on real files: one line per record, on disk when `write` returns, no
//! interleaving under concurrent writers, reopen after logrotate's rename, and failures
//! reported, counted and logged without secrets.

use deprecation_shim::audit::{AuditError, AuditLog, AuditRecord};
use deprecation_shim::config::{Audit, AuditFailure};
use deprecation_shim::metrics::Metrics;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const PASSWORD: &str = "Tr0ub4dor&3-audit";

fn config(path: &Path, policy: AuditFailure) -> Audit {
    Audit {
        path: Some(path.to_owned()),
        fsync: false,
        on_write_failure: policy,
        ..Audit::default()
    }
}

fn open(path: &Path) -> (AuditLog, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let log = AuditLog::open(&config(path, AuditFailure::Fail), metrics.clone()).unwrap();
    (log, metrics)
}

fn record(id: &str) -> AuditRecord {
    let mut h = HeaderMap::new();
    let creds = base64_basic("legacy-bot", PASSWORD);
    h.insert("authorization", HeaderValue::from_str(&creds).unwrap());
    h.insert("user-agent", HeaderValue::from_static("upgrader/2.0"));
    let mut rec = AuditRecord::begin(
        SystemTime::now(),
        id,
        "192.0.2.10".parse().unwrap(),
        &Method::POST,
        "/v1/modules/upgrade/bdb/{uid}",
        &h,
        false,
    );
    rec.bdb_uid = Some(3);
    rec.finish(StatusCode::OK, None, None, Duration::from_millis(4));
    rec
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn lines(path: &Path) -> Vec<AuditRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn record_is_on_disk_as_one_line_when_write_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (log, metrics) = open(&path);
    for i in 0..3 {
        log.write(&record(&format!("r{i}"))).await.unwrap();
        // Read through a separate descriptor, as another process would, before anything else.
        let on_disk = lines(&path);
        assert_eq!(on_disk.len(), i + 1);
        assert_eq!(on_disk[i].request_id, format!("r{i}"));
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(PASSWORD) && !text.contains("Basic "),
        "{text}"
    );
    assert!(text.contains("\"user\":\"legacy-bot\""));
    assert_eq!(metrics.audit_write_failures(), 0);
    assert_eq!(log.summary().totals.calls, 3);
}

#[tokio::test]
async fn appends_to_an_existing_file_with_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
    let mut cfg = config(&path, AuditFailure::Fail);
    cfg.fsync = true;
    let log = AuditLog::open(&cfg, Arc::new(Metrics::new())).unwrap();
    log.write(&record("after")).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\"earlier\":true}\n{"), "{text}");
    assert_eq!(text.lines().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (log, _) = open(&path);
    let log = Arc::new(log);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..500 {
                let mut rec = record(&format!("t{t}-{i}"));
                // Records of different sizes make a torn write visible as broken JSON.
                rec.user_agent = Some("x".repeat((t * 97 + i) % 700));
                log.write(&rec).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let records = lines(&path);
    assert_eq!(records.len(), 4_000);
    let ids: HashSet<String> = records.into_iter().map(|r| r.request_id).collect();
    assert_eq!(ids.len(), 4_000);
    assert!(ids.contains("t7-499") && ids.contains("t0-0"));
}

#[tokio::test]
async fn reopen_after_rename_writes_to_a_fresh_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let rotated = dir.path().join("audit.jsonl.1");
    let (log, _) = open(&path);
    log.write(&record("before-rotate")).await.unwrap();
    std::fs::rename(&path, &rotated).unwrap();
    // Until reopened, the open descriptor still points at the moved file.
    log.write(&record("between")).await.unwrap();
    assert!(!path.exists());
    log.reopen().unwrap();
    log.write(&record("after-reopen")).await.unwrap();
    let old: Vec<String> = lines(&rotated).into_iter().map(|r| r.request_id).collect();
    let new: Vec<String> = lines(&path).into_iter().map(|r| r.request_id).collect();
    assert_eq!(old, ["before-rotate", "between"]);
    assert_eq!(new, ["after-reopen"]);
    assert_eq!(log.path(), Some(path));
}

/// A writer that collects log output, to check what a failure prints.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn write_failure_is_an_error_counted_and_logged_loudly() {
    let full = PathBuf::from("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let metrics = Arc::new(Metrics::new());
    let log = AuditLog::open(&config(&full, AuditFailure::Fail), metrics.clone()).unwrap();
    assert!(log.must_fail());
    assert!(!log.last_write_failed());
    let err = log.write(&record("lost-1")).await.unwrap_err();
    assert!(matches!(err, AuditError::Write { .. }), "{err:?}");
    assert!(err.to_string().contains("/dev/full"), "{err}");
    assert!(log.write(&record("lost-2")).await.is_err());
    assert_eq!(metrics.audit_write_failures(), 2);
    assert!(log.last_write_failed());
    let refusal = deprecation_shim::audit::unavailable();
    assert_eq!(
        (refusal.status.as_u16(), refusal.error_code.as_str()),
        (503, "audit_unavailable")
    );
    assert!(metrics
        .encode()
        .contains("deprecation_shim_audit_write_failures_total 2"));
    // The live view still knows about the calls.
    assert_eq!(log.summary().totals.calls, 2);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("ERROR") && logs.contains("AUDIT RECORD NOT WRITTEN"),
        "{logs}"
    );
    assert!(
        logs.contains("lost-1") && logs.contains("No space left"),
        "{logs}"
    );
    assert!(!logs.contains(PASSWORD), "{logs}");

    let cont = AuditLog::open(&config(&full, AuditFailure::Continue), metrics).unwrap();
    assert!(!cont.must_fail());
}

#[tokio::test]
async fn unopenable_path_is_refused_at_start_naming_it() {
    let path = PathBuf::from("/nonexistent-dir/audit.jsonl");
    let err = match AuditLog::open(&config(&path, AuditFailure::Fail), Arc::new(Metrics::new())) {
        Ok(_) => panic!("opened {}", path.display()),
        Err(e) => e,
    };
    assert!(
        err.to_string().contains("/nonexistent-dir/audit.jsonl"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn disabled_log_writes_nothing_but_feeds_the_live_summary() {
    let cfg = Audit {
        path: None,
        fsync: false,
        on_write_failure: AuditFailure::Fail,
        ..Audit::default()
    };
    let log = AuditLog::open(&cfg, Arc::new(Metrics::new())).unwrap();
    log.write(&record("r")).await.unwrap();
    assert_eq!(log.path(), None);
    let summary = log.summary();
    assert_eq!(summary.callers[0].user.as_deref(), Some("legacy-bot"));
    assert_eq!(summary.callers[0].databases, [3]);
}

#[tokio::test]
async fn reconfigure_switches_file_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let (log, _) = open(&a);
    log.write(&record("one")).await.unwrap();
    log.reconfigure(&config(&b, AuditFailure::Continue))
        .unwrap();
    assert!(!log.must_fail());
    log.write(&record("two")).await.unwrap();
    assert!(!log.last_write_failed());
    assert_eq!(lines(&a).len(), 1);
    assert_eq!(lines(&b)[0].request_id, "two");
    // A bad new path changes nothing.
    assert!(log
        .reconfigure(&config(Path::new("/nonexistent-dir/x"), AuditFailure::Fail))
        .is_err());
    assert_eq!(log.path(), Some(b));
    assert!(!log.must_fail());
}

#[cfg(unix)]
#[tokio::test]
async fn audit_file_is_created_owner_only_unless_a_mode_is_configured() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let private = dir.path().join("audit.jsonl");
    let (log, _) = open(&private);
    log.write(&record("r-private")).await.unwrap();
    assert_eq!(mode(&private), 0o600);
    // Renamed away by logrotate: the reopened file is created 0600 too.
    std::fs::rename(&private, dir.path().join("audit.jsonl.1")).unwrap();
    log.reopen().unwrap();
    assert_eq!(mode(&private), 0o600);

    let shared = dir.path().join("shipped.jsonl");
    let cfg = Audit {
        file_mode: 0o640,
        ..config(&shared, AuditFailure::Fail)
    };
    AuditLog::open(&cfg, Arc::new(Metrics::new())).unwrap();
    // The process umask may take bits away, never add them.
    assert_eq!(mode(&shared) & !0o640, 0, "{:o}", mode(&shared));
    assert_eq!(mode(&shared) & 0o600, 0o600);
}
