//! The audit file as a test reads it: one JSON record per line, in a temp dir of its own
//! ([`AuditFile`]); and a small set of lifecycle records (rules, phases, an exemption) written
//! through the real audit writer.
#![allow(dead_code)]

use deprecation_shim::audit::AuditLog;
use deprecation_shim::audit::AuditRecord;
use deprecation_shim::config;
use deprecation_shim::lifecycle::Day;
use deprecation_shim::metrics::Metrics;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// `audit.jsonl` in a fresh temp dir, which is removed when this is dropped; derefs to the
/// file's path, for [`records`], [`audit_toml`] and `std::fs`.
pub struct AuditFile {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl AuditFile {
    pub fn new() -> AuditFile {
        let dir = tempfile::tempdir().expect("tempdir");
        AuditFile {
            path: dir.path().join("audit.jsonl"),
            _dir: dir,
        }
    }

    /// `extra_toml`, then the `[audit]` table that points the shim at this file.
    pub fn toml(&self, extra_toml: &str) -> String {
        format!("{extra_toml}\n{}", audit_toml(self))
    }
}

impl Deref for AuditFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for AuditFile {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// Every outcome record in the file (one per call, or a coalesced one standing for several;
/// the intent records that precede state-changing calls left out); none when it does not
/// exist yet.
pub fn records(path: &Path) -> Vec<Value> {
    lines(path)
        .into_iter()
        .filter(|r| r.get("record").is_none_or(|k| k != "intent"))
        .collect()
}

/// How many calls the outcome records stand for (a coalesced record, its `count`).
pub fn calls(path: &Path) -> u64 {
    records(path)
        .iter()
        .map(|r| r.get("count").and_then(Value::as_u64).unwrap_or(1))
        .sum()
}

/// The outcome records once they stand for `n` calls (a coalesced record counts its own, and
/// is written at the end of its interval or at the shim's stop: drop the shim first), at most
/// 5 s.
pub async fn settled(path: &Path, n: u64) -> Vec<Value> {
    for _ in 0..100 {
        if calls(path) == n {
            return records(path);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "{} calls audited, not {n}: {:#?}",
        calls(path),
        records(path)
    );
}

/// Every line of the file, intent records included.
pub fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line ({e}): {l}")))
        .collect()
}

/// The TOML that points the shim's audit trail at `path`.
pub fn audit_toml(path: &Path) -> String {
    format!("[audit]\npath = {:?}\n", path.display().to_string())
}

/// `y-m-d h:min` UTC.
pub fn at(y: i64, m: u32, d: u32, h: u64, min: u64) -> SystemTime {
    Day::from_ymd(y, m, d).start() + Duration::from_secs(h * 3600 + min * 60)
}

/// One call as the executor records it: `rule` and `phase` `None` like records of older files.
pub fn lifecycle_record(
    ts: SystemTime,
    rule: Option<&str>,
    phase: Option<&str>,
    user: (&str, bool),
    user_agent: &str,
) -> AuditRecord {
    let mut h = HeaderMap::new();
    h.insert("user-agent", HeaderValue::from_str(user_agent).expect("ua"));
    let mut rec = AuditRecord::begin(
        ts,
        "rid",
        "10.20.3.4".parse().expect("ip"),
        &Method::POST,
        "/v1/modules",
        &h,
        false,
    );
    rec.user = Some(user.0.to_owned());
    rec.verified = user.1;
    rec.rule = rule.map(str::to_owned);
    rec.phase = phase.map(str::to_owned);
    let (status, code) = match phase {
        Some("refused") => (StatusCode::GONE, Some("route_brownout")),
        _ => (StatusCode::OK, None),
    };
    rec.rule_action = Some(
        if code.is_some() {
            "refused"
        } else {
            "translated"
        }
        .to_owned(),
    );
    if phase == Some("exempt") {
        rec.exemption = Some("user_agent \"python-requests/*\"".to_owned());
    }
    rec.finish(status, code, None, Duration::from_millis(5));
    rec
}

/// The sample: `module_upgrade` with 5 calls on 3 days (3 served, two of them in records
/// without `rule`/`phase`, 1 exempt, 1 refused in the 2027-03-02 14:00 brownout) and
/// `module_upload` with 2 would-refuse calls on 1 day.
pub fn lifecycle_sample() -> Vec<AuditRecord> {
    let ops = ("ops@example.com", true);
    let ci = ("ci-bot", false);
    vec![
        lifecycle_record(at(2027, 2, 27, 9, 0), None, None, ops, "rmadm/1.4.2"),
        lifecycle_record(at(2027, 2, 27, 9, 5), None, None, ops, "rmadm/1.4.2"),
        lifecycle_record(
            at(2027, 2, 28, 9, 0),
            Some("module_upgrade"),
            Some("served"),
            ops,
            "rmadm/1.4.2",
        ),
        lifecycle_record(
            at(2027, 3, 1, 10, 0),
            Some("module_upload"),
            Some("would_refuse"),
            ops,
            "rmadm/1.4.2",
        ),
        lifecycle_record(
            at(2027, 3, 1, 10, 1),
            Some("module_upload"),
            Some("would_refuse"),
            ops,
            "rmadm/1.4.2",
        ),
        lifecycle_record(
            at(2027, 3, 2, 14, 5),
            Some("module_upgrade"),
            Some("refused"),
            ops,
            "rmadm/1.4.2",
        ),
        lifecycle_record(
            at(2027, 3, 2, 14, 6),
            Some("module_upgrade"),
            Some("exempt"),
            ci,
            "python-requests/2.31",
        ),
    ]
}

/// Writes `records` to `path` through the shim's audit writer, as the proxy does.
pub async fn write_through_the_writer(path: &Path, records: &[AuditRecord]) {
    let cfg = config::Audit {
        path: Some(path.to_owned()),
        ..config::Audit::default()
    };
    let log = AuditLog::open(&cfg, Arc::new(Metrics::new())).expect("open audit log");
    for rec in records {
        log.write(rec).await.expect("write audit record");
    }
}

/// A configuration with a lifecycle for `module_upgrade`: deprecated 2024-11-01, Sunset
/// 2027-06-30, enforced, a brownout 2027-03-02 14:00 for 15 minutes.
pub const LIFECYCLE_TOML: &str = "[upstream]\nurl = \"http://127.0.0.1:9\"\n\
[lifecycle.module_upgrade]\ndeprecation_date = \"2024-11-01\"\nsunset_date = \"2027-06-30\"\nenforce = true\n\
[[lifecycle.module_upgrade.brownouts]]\nstart = \"2027-03-02T14:00:00Z\"\nduration = \"15m\"\n";
