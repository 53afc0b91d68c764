//! A deterministic audit-file generator for the report tests and the 1M-record bench: writes
//! real `AuditRecord` lines (plus corrupt ones at a fixed rate) and computes, independently of
//! the report code, what the report must say about them.
#![allow(dead_code)]

use deprecation_shim::audit::record::format_ts;
use deprecation_shim::audit::report::{Outcomes, Phases, Report, Row, RuleStatus, Totals};
use deprecation_shim::audit::{AuditRecord, ModuleChange, Outcome};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

pub const ROUTE: &str = "/v1/modules/upgrade/bdb/{uid}";

#[derive(Debug, Clone)]
pub struct Spec {
    pub records: u64,
    pub callers: u64,
    pub databases: u64,
    /// A corrupt line after every this many records (0: none).
    pub corrupt_every: u64,
    pub start: SystemTime,
    pub step: Duration,
}

impl Spec {
    pub fn new(records: u64) -> Spec {
        Spec {
            records,
            callers: 250,
            databases: 40,
            corrupt_every: 100_000,
            // 2025-01-01T00:00:00Z
            start: SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600),
            step: Duration::from_millis(250),
        }
    }

    pub fn ts(&self, i: u64) -> SystemTime {
        self.start + self.step * u32::try_from(i).unwrap_or(u32::MAX)
    }
}

/// Caller `c`'s identity: every seventh has no Basic-auth user.
pub fn caller(c: u64) -> (Option<String>, String, String) {
    let user = (!c.is_multiple_of(7)).then(|| format!("svc-{c:03}"));
    let client = format!("10.20.{}.{}", c / 200, c % 200 + 1);
    let ua = format!("legacy-upgrader/{}.{} (team-{})", c % 5, c % 11, c % 13);
    (user, client, ua)
}

fn outcome_of(i: u64) -> (StatusCode, Option<&'static str>) {
    match i % 20 {
        16 => (StatusCode::BAD_REQUEST, Some("invalid_json")),
        17 => (
            StatusCode::NOT_ACCEPTABLE,
            Some("module_downgrade_unsupported"),
        ),
        18 => (StatusCode::BAD_GATEWAY, Some("upstream_unavailable")),
        19 => (StatusCode::GATEWAY_TIMEOUT, Some("upgrade_timeout")),
        _ => (StatusCode::OK, None),
    }
}

pub fn record(spec: &Spec, i: u64) -> AuditRecord {
    let c = i % spec.callers;
    let (user, client, ua) = caller(c);
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&ua) {
        headers.insert("user-agent", v);
    }
    let mut rec = AuditRecord::begin(
        spec.ts(i),
        &format!("req-{i:08}"),
        client.parse().expect("generated IP"),
        &Method::POST,
        ROUTE,
        &headers,
        false,
    );
    rec.verified = user.is_some();
    rec.user = user;
    rec.bdb_uid = Some(1 + (i * 31 + c) % spec.databases);
    rec.modules.push(ModuleChange {
        from_module_id: Some(format!("{:032x}", c)),
        from_module_name: Some("ReJSON".into()),
        from_version: Some("2.4.13".into()),
        to_module_id: format!("{:032x}", c + 1_000_000),
        to_version: Some("2.6.1".into()),
    });
    let (status, code) = outcome_of(i);
    if status == StatusCode::OK {
        rec.action_uid = Some(format!("action-{i}"));
    }
    rec.finish(status, code, None, Duration::from_micros(1000 + i % 5000));
    rec
}

/// Writes the file and returns what the report over all of it must contain.
pub fn write(spec: &Spec, mut out: impl Write) -> io::Result<Report> {
    write_since(spec, &mut out, None)
}

/// Like [`write`], with the expected report for `--since` (records before it still written).
pub fn write_since(
    spec: &Spec,
    out: &mut impl Write,
    since: Option<SystemTime>,
) -> io::Result<Report> {
    let mut rows: HashMap<u64, Row> = HashMap::new();
    let mut skipped = 0;
    for i in 0..spec.records {
        let rec = record(spec, i);
        out.write_all(&rec.to_line().map_err(io::Error::other)?)?;
        if spec.corrupt_every > 0 && (i + 1) % spec.corrupt_every == 0 {
            out.write_all(
                b"{\"ts\":\"2025-01-01T00:00:00.000Z\",\"client\":\"10.0.0.1\",\"outc\n",
            )?;
            skipped += 1;
        }
        if since.is_some_and(|s| spec.ts(i) < s) {
            continue;
        }
        let c = i % spec.callers;
        let row = rows.entry(c).or_insert_with(|| Row {
            rule: "module_upgrade".into(),
            user: rec.user.clone(),
            verified: rec.verified,
            client: rec.client.clone(),
            user_agent: rec.user_agent.clone(),
            calls: 0,
            first_seen: rec.ts.clone(),
            last_seen: rec.ts.clone(),
            databases: Vec::new(),
            outcomes: Outcomes::default(),
            phases: Phases::default(),
            instances: Vec::new(),
        });
        row.calls += 1;
        // Records without `phase` were served.
        row.phases.served += 1;
        row.last_seen = format_ts(spec.ts(i));
        row.databases.extend(rec.bdb_uid);
        match rec.outcome {
            Outcome::Ok => row.outcomes.ok += 1,
            Outcome::ClientError => row.outcomes.client_error += 1,
            Outcome::UpstreamError | Outcome::Interrupted | Outcome::Unknown => {
                row.outcomes.upstream_error += 1
            }
        }
    }
    out.flush()?;
    let mut callers: Vec<Row> = rows.into_values().collect();
    let mut totals = Totals {
        callers: callers.len() as u64,
        skipped_lines: skipped,
        ..Totals::default()
    };
    for row in &mut callers {
        let set: BTreeSet<u64> = row.databases.drain(..).collect();
        row.databases = set.into_iter().collect();
        totals.calls += row.calls;
        totals.outcomes.ok += row.outcomes.ok;
        totals.outcomes.client_error += row.outcomes.client_error;
        totals.outcomes.upstream_error += row.outcomes.upstream_error;
        totals.phases.served += row.phases.served;
    }
    sort_by_caller(&mut callers);
    // Records without `rule` are the module-upgrade rule's.
    let rules = if totals.calls == 0 {
        vec![]
    } else {
        vec![RuleStatus {
            rule: "module_upgrade".into(),
            calls: totals.calls,
            phases: totals.phases,
            lifecycle: None,
        }]
    };
    Ok(Report {
        rules,
        callers,
        totals,
    })
}

/// Sorts rows by identity, so two reports can be compared whatever their display order.
pub fn sort_by_caller(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        (&a.client, &a.user, &a.user_agent).cmp(&(&b.client, &b.user, &b.user_agent))
    });
}
