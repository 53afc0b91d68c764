//! The multi-replica rehearsal (issue 14): three shim replicas (the real binary) behind
//! haproxy (round robin, health-checked on `/readyz`) in front of one simulated 8.0 cluster.
//! Clients send a bounded mix of pass-through reads and legacy upgrades on several databases
//! while each replica in turn gets SIGTERM and is started again. Must hold: no failed client
//! request, every legacy call answered once and audited once across the three files, `report`
//! over the three files merges callers and names the replicas, `/deprecations` of each replica
//! agrees with its own file.
//!
//! The short run is part of the suite; `deploy/rehearsal.sh --duration 60` runs the long one
//! (the ignored test below, release build) and prints the figures. haproxy is required: see
//! [`support::rehearsal::haproxy_or_skip`].

mod support;

use deprecation_shim::sim::seed::{REJSON_2_6_17, SEARCH_2_8_9, TIMESERIES_1_8_15};
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::harness::Sim;
use support::legacy::{admin, old_route};
use support::rehearsal::{haproxy_or_skip, percentile_ms, Haproxy, Replica};
use support::shim::run_binary;
use support::{get, try_send};

const USER_AGENTS: [&str; 2] = ["jenkins-upgrade/7", "ansible-redis/2.15"];
/// Upper bound of requests per client, whatever the duration.
const MAX_REQUESTS_PER_CLIENT: u64 = 50_000;

/// One finished client request.
struct Sample {
    started: Instant,
    latency: Duration,
    legacy: bool,
    failed: Option<String>,
}

#[derive(Default)]
struct Sent {
    samples: Vec<Sample>,
    /// Request id → user agent, of every legacy call sent.
    legacy_ids: HashMap<String, &'static str>,
}

/// The legacy call number `n` of a client: databases 1, 3, 4 (upgrades) and 2 (no module:
/// `400 missing_module`), alternating between two tools.
fn legacy_body(n: u64) -> (u64, Value) {
    match n % 5 {
        0 | 3 => (
            1,
            json!({"modules": [{"module_name": "ReJSON", "new_module": REJSON_2_6_17}]}),
        ),
        1 => (3, json!({"new_module": TIMESERIES_1_8_15})),
        2 => (4, json!({"modules": [{"new_module": REJSON_2_6_17}]})),
        _ => (2, json!({"modules": [{"new_module": SEARCH_2_8_9}]})),
    }
}

async fn client(id: usize, front: SocketAddr, stop: Arc<AtomicBool>, sent: Arc<Mutex<Sent>>) {
    let auth = admin();
    for n in 0..MAX_REQUESTS_PER_CLIENT {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let legacy = n % 10 == 3;
        let started = Instant::now();
        let (reply, rid, ua) = if legacy {
            let (db, body) = legacy_body(n / 10 + id as u64);
            let rid = format!("reh-{id}-{n}");
            let ua = USER_AGENTS[(n as usize / 10 + id) % 2];
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("x-request-id", rid.as_str()),
                ("user-agent", ua),
            ];
            let path = old_route(db);
            let r = try_send(front, Method::POST, &path, &headers, body.to_string());
            (
                tokio::time::timeout(Duration::from_secs(30), r).await,
                Some(rid),
                ua,
            )
        } else {
            let path = format!("/v1/bdbs/{}", 1 + n % 4);
            let headers = [("authorization", auth.as_str())];
            let r = try_send(front, Method::GET, &path, &headers, "");
            (
                tokio::time::timeout(Duration::from_secs(30), r).await,
                None,
                "",
            )
        };
        let latency = started.elapsed();
        let failed = match &reply {
            Err(_) => Some("no reply within 30 s".to_owned()),
            Ok(Err(e)) => Some(format!("transport: {e}")),
            // The shim's own answer carries the deprecation header; haproxy's 502/503 does not.
            Ok(Ok(r)) if legacy && r.header("deprecation").is_none() => {
                Some(format!("legacy call not answered by a shim: {}", r.status))
            }
            Ok(Ok(r)) if !legacy && r.status != 200 => Some(format!("read got {}", r.status)),
            Ok(Ok(_)) => None,
        };
        let mut s = sent.lock().unwrap();
        if let Some(rid) = rid {
            s.legacy_ids.insert(rid, ua);
        }
        s.samples.push(Sample {
            started,
            latency,
            legacy,
            failed,
        });
    }
}

/// The outcome records (one per call; intent records left out) after the first `skip` lines.
fn records(path: &std::path::Path, skip: usize) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .skip(skip)
        .map(|l| serde_json::from_str::<Value>(l).expect("audit line is JSON"))
        .filter(|r| r.get("record").is_none())
        .collect()
}

/// Runs the rehearsal: `steady` of load before, between and after the restarts; `rounds`
/// passes over the three replicas. Prints and checks the figures.
async fn rehearse(steady: Duration, rounds: usize, clients: usize) {
    let Some(haproxy_bin) = haproxy_or_skip() else {
        return;
    };
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(150)).await;
    let sim = cluster.addr;
    let dir = tempfile::tempdir().unwrap();
    let mut replicas: Vec<Replica> = (1..=3)
        .map(|i| Replica::new(dir.path(), i, sim, ""))
        .collect();
    for r in &mut replicas {
        r.start();
    }
    let lb = Haproxy::start(&haproxy_bin, dir.path(), &replicas);
    for r in &replicas {
        lb.wait_up(&r.name, Duration::from_secs(10)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Sent::default()));
    let load: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(id, lb.addr, stop.clone(), sent.clone())))
        .collect();
    let begun = Instant::now();
    tokio::time::sleep(steady).await;
    let mut windows = Vec::new();
    let mut lines_at_restart = vec![0; replicas.len()];
    let restarts = AtomicU64::new(0);
    for _ in 0..rounds {
        for (i, r) in replicas.iter_mut().enumerate() {
            let from = Instant::now();
            tokio::task::block_in_place(|| r.stop());
            lines_at_restart[i] = r.audit_lines();
            tokio::task::block_in_place(|| r.start());
            lb.wait_up(&r.name, Duration::from_secs(10)).await;
            windows.push((from, Instant::now()));
            restarts.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(steady / 2).await;
        }
    }
    tokio::time::sleep(steady).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let ran = begun.elapsed();

    // /deprecations of each replica counts what it audited since its last start.
    for (i, r) in replicas.iter().enumerate() {
        let live = get(r.admin, "/deprecations", &support::harness::admin_bearer())
            .await
            .json();
        let since_start = &records(&r.audit, lines_at_restart[i]);
        assert_eq!(
            live["totals"]["calls"].as_u64(),
            Some(since_start.len() as u64),
            "{}: /deprecations vs its audit file since its restart",
            r.name
        );
        for ua in USER_AGENTS {
            let in_file = since_start
                .iter()
                .filter(|rec| rec["user_agent"] == ua)
                .count() as u64;
            let row = live["callers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["user_agent"] == ua);
            assert_eq!(
                row.map_or(0, |c| c["calls"].as_u64().unwrap()),
                in_file,
                "{} {ua}",
                r.name
            );
        }
    }
    for r in &mut replicas {
        tokio::task::block_in_place(|| r.stop());
    }
    drop(lb);

    let sent = Arc::try_unwrap(sent).ok().unwrap().into_inner().unwrap();
    let failed: Vec<&String> = sent
        .samples
        .iter()
        .filter_map(|s| s.failed.as_ref())
        .collect();
    let legacy_sent = sent.samples.iter().filter(|s| s.legacy).count();
    let in_window = |t: Instant| windows.iter().any(|(a, b)| t >= *a && t <= *b);
    let (mut during, mut steady_lat): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for s in sent.samples.iter().filter(|s| !s.legacy) {
        if in_window(s.started) {
            during.push(s.latency)
        } else {
            steady_lat.push(s.latency)
        }
    }
    let mut audited: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_file = Vec::new();
    for r in &replicas {
        let recs = records(&r.audit, 0);
        per_file.push(recs.len());
        for rec in &recs {
            assert_eq!(
                rec["instance"],
                r.name.as_str(),
                "each record names its replica"
            );
            *audited
                .entry(rec["request_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let audited_total: usize = per_file.iter().sum();
    eprintln!(
        "rehearsal: {:.1} s, {} clients, {} restarts; requests sent {}, answered {}, failed {}; \
         legacy calls {} vs audit records {} ({:?} per replica); pass-through p99 steady {:.1} ms \
         ({} reqs) vs during restarts {:.1} ms ({} reqs)",
        ran.as_secs_f64(),
        clients,
        restarts.load(Ordering::Relaxed),
        sent.samples.len(),
        sent.samples.len() - failed.len(),
        failed.len(),
        legacy_sent,
        audited_total,
        per_file,
        percentile_ms(&mut steady_lat, 99.0),
        steady_lat.len(),
        percentile_ms(&mut during, 99.0),
        during.len(),
    );
    assert!(failed.is_empty(), "failed client requests: {failed:?}");
    assert!(
        legacy_sent > 0 && !during.is_empty(),
        "load ran during the restarts"
    );
    assert_eq!(
        audited_total, legacy_sent,
        "audit records = legacy calls sent"
    );
    assert_eq!(audited.len(), sent.legacy_ids.len());
    for (rid, n) in &audited {
        assert_eq!(*n, 1, "{rid} audited once");
        assert!(sent.legacy_ids.contains_key(rid), "{rid} was sent");
    }

    // `report` over the three files: one row per tool, seen by every replica.
    let files: Vec<String> = replicas
        .iter()
        .map(|r| r.audit.display().to_string())
        .collect();
    let mut args = vec!["report", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let out = run_binary(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["totals"]["calls"].as_u64(), Some(legacy_sent as u64));
    let rows = report["callers"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        USER_AGENTS.len(),
        "one row per caller: {report}"
    );
    for ua in USER_AGENTS {
        let row = rows.iter().find(|r| r["user_agent"] == ua).unwrap();
        let sent_by = sent.legacy_ids.values().filter(|v| **v == ua).count() as u64;
        assert_eq!(row["calls"].as_u64(), Some(sent_by), "{ua}");
        assert_eq!(row["client"], "127.0.0.1");
        assert_eq!(
            row["instances"],
            json!(["shim-1", "shim-2", "shim-3"]),
            "{ua}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_haproxy_survive_a_rolling_restart_without_a_failed_request() {
    rehearse(Duration::from_millis(1500), 1, 6).await;
}

/// The long rehearsal: `deploy/rehearsal.sh --duration 60` (REHEARSAL_SECONDS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: run by deploy/rehearsal.sh"]
async fn rehearsal_long() {
    let secs: u64 = std::env::var("REHEARSAL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    // A round (three restarts, each ~2-3 s, plus pauses) takes about 10 s.
    let rounds = (secs / 10).max(1) as usize;
    let clients = std::env::var("REHEARSAL_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    rehearse(Duration::from_secs(3), rounds, clients).await;
}
