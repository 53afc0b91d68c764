//! The translated upgrade when a node fails after the POST (issue 21 item 3, API-CATALOGUE §10
//! T3): the shim never sends the upgrade twice; it finds the action it started on another node
//! and waits on it, or answers `502 upstream_outcome_unknown`, audited `unknown`. Also a node
//! killed under a bounded mixed load, and the master moving in the middle of an upgrade.
//!
//! Decisions:
//! - "A node dies right after the POST" is the simulator's `drop_reply` fault (the upgrade is
//!   applied, the connection closes without its reply) with the master moved and the node taken
//!   down as soon as the POST is recorded; "the POST was lost" is its `drop` fault (closed before
//!   anything is applied).
//! - Upgrades run are counted from the cluster's state (`SMUpgradeBDB` actions on the database),
//!   not from the POSTs it received: a follower's `307` records a POST that applied nothing.

mod support;

use deprecation_shim::sim::{RouteMatch, SimVersion, Simulator};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::audit_file::{records, AuditFile};
use support::harness::SimNodes;
use support::legacy::{
    admin, assert_rs_error, legacy_upgrade, module_delete, module_package, module_upload,
    upgrade_posts,
};
use support::{get, within, Reply};

const LIMIT: Duration = Duration::from_secs(15);

/// The upgrades the cluster ran on database 1.
fn upgrades_run(sim: &Simulator) -> usize {
    sim.snapshot()["actions"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|a| a["name"] == "SMUpgradeBDB" && a["object_name"] == "bdb:1")
                .count()
        })
        .unwrap_or(0)
}

/// The audit records of the seed route, in order.
fn upgrade_records(audit: &AuditFile) -> Vec<Value> {
    records(audit)
        .into_iter()
        .filter(|r| r["route"] == "/v1/modules/upgrade/bdb/{uid}")
        .collect()
}

async fn upgrade(shim: std::net::SocketAddr) -> Reply {
    let auth = admin();
    within(
        LIMIT,
        "legacy upgrade",
        legacy_upgrade(shim, &[("authorization", auth.as_str())]),
    )
    .await
}

/// Once the cluster has received `n` upgrade POSTs: node 2 becomes the master and node 1 goes
/// down (an election after the master died).
fn kill_master_after_post(sim: Arc<Simulator>, n: usize) -> tokio::task::JoinHandle<()> {
    kill_master_once(sim, move |sim| upgrade_posts(sim).len() >= n)
}

/// The same election once `seen` says so of the cluster's requests.
fn kill_master_once(
    sim: Arc<Simulator>,
    seen: impl Fn(&Simulator) -> bool + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let deadline = Instant::now() + LIMIT;
        while !seen(&sim) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sim.set_master(2).expect("node 2");
        sim.node_down(1).await.expect("node 1 down");
    })
}

#[tokio::test]
async fn a_node_dying_right_after_the_upgrade_post_is_waited_out_on_another_node() {
    let c = SimNodes::start(SimVersion::default()).await;
    let audit = AuditFile::new();
    let shim = c.shim(&[1, 2, 3], &audit.toml("")).await;
    c.sim
        .faults()
        .drop_reply(RouteMatch::method("POST", "/v1/bdbs/1/upgrade").times(1));
    let killer = kill_master_after_post(c.sim.clone(), 1);
    let r = upgrade(shim.addr).await;
    killer.await.expect("killer");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(upgrades_run(&c.sim), 1);
    assert_eq!(upgrade_posts(&c.sim).len(), 1, "the POST was never re-sent");
    let rec = upgrade_records(&audit);
    assert_eq!(rec.len(), 1, "{rec:?}");
    assert_eq!(rec[0]["outcome"], "ok", "{}", rec[0]);
    let action = &c.sim.snapshot()["actions"][0];
    assert_eq!(rec[0]["action_uid"], action["action_uid"], "{}", rec[0]);
    assert_eq!(action["status"], "completed");
}

#[tokio::test]
async fn a_lost_upgrade_post_is_a_502_outcome_unknown_audited_unknown_and_never_resent() {
    let c = SimNodes::start(SimVersion::default()).await;
    let audit = AuditFile::new();
    let shim = c.shim(&[1, 2, 3], &audit.toml("")).await;
    c.sim
        .faults()
        .drop_connection(RouteMatch::method("POST", "/v1/bdbs/1/upgrade").times(1));
    let r = upgrade(shim.addr).await;
    let body = assert_rs_error(&r, 502, "upstream_outcome_unknown");
    let text = body["description"].as_str().unwrap_or_default();
    assert!(text.contains("database 1"), "{text}");
    assert!(text.contains("unknown"), "{text}");
    assert_eq!(upgrades_run(&c.sim), 0);
    assert_eq!(upgrade_posts(&c.sim).len(), 1, "the POST was never re-sent");
    // The shim asked for the database's actions after the POST.
    let asked = c
        .sim
        .requests()
        .iter()
        .any(|q| q.path == "/v1/actions/bdb/1");
    assert!(asked);
    let rec = upgrade_records(&audit);
    assert_eq!(rec.len(), 1, "{rec:?}");
    assert_eq!(rec[0]["outcome"], "unknown", "{}", rec[0]);
    assert_eq!(rec[0]["error_code"], "upstream_outcome_unknown");
    assert_eq!(rec[0]["status"], 502);
}

#[tokio::test]
async fn the_master_moving_in_the_middle_of_a_translated_upgrade_still_ends_200_with_one_upgrade() {
    let c = SimNodes::start(SimVersion::default()).await;
    let shim = c.shim(&[1, 2, 3], "").await;
    let sim = c.sim.clone();
    let mover = tokio::spawn(async move {
        let deadline = Instant::now() + LIMIT;
        while upgrade_posts(&sim).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // The action runs 200 ms: move the master while the shim polls it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        sim.set_master(3).expect("node 3");
    });
    let r = upgrade(shim.addr).await;
    mover.await.expect("mover");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(upgrades_run(&c.sim), 1);
    // Polls after the move reached the new master (through a redirect or directly).
    let polled_on_3 = c
        .sim
        .requests()
        .iter()
        .any(|q| q.node == Some(3) && q.path.starts_with("/v1/"));
    assert!(polled_on_3, "{:?}", c.sim.requests());
}

/// Reads and legacy upgrades at once; the master dies (node 2 elected) 0.6 s in. One upgrade
/// POST loses its reply (applied) and one is lost (not applied).
#[tokio::test]
async fn a_node_killed_under_mixed_load_fails_no_read_and_never_runs_an_upgrade_twice() {
    let c = SimNodes::start(SimVersion::default()).await;
    let audit = AuditFile::new();
    let shim = c.shim(&[3, 1, 2], &audit.toml("")).await;
    let addr = shim.addr;
    let started = Instant::now();
    let readers: Vec<_> = (0..4)
        .map(|w| {
            tokio::spawn(async move {
                let mut failed = Vec::new();
                for i in 0..50 {
                    let path =
                        ["/v1/bdbs/1", "/v1/cluster", "/v1/nodes", "/v1/modules"][(w + i) % 4];
                    let r = get(addr, path, &admin()).await;
                    if r.status != 200 || r.status.is_redirection() {
                        failed.push(format!("{path}: {}", r.head()));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                failed
            })
        })
        .collect();
    let sim = c.sim.clone();
    let chaos = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        sim.set_master(2).expect("node 2");
        sim.node_down(1).await.expect("node 1 down");
        sim.faults()
            .drop_reply(RouteMatch::method("POST", "/v1/bdbs/1/upgrade").times(1));
        tokio::time::sleep(Duration::from_millis(600)).await;
        sim.faults()
            .drop_connection(RouteMatch::method("POST", "/v1/bdbs/1/upgrade").times(1));
    });
    let mut answers = Vec::new();
    for _ in 0..10 {
        let r = upgrade(addr).await;
        answers.push((r.status.as_u16(), r.json()["error_code"].clone()));
    }
    chaos.await.expect("chaos");
    let mut failed_reads = Vec::new();
    for r in readers {
        failed_reads.extend(r.await.expect("reader"));
    }
    assert!(started.elapsed() < LIMIT);
    assert_eq!(failed_reads, Vec::<String>::new(), "0 failed reads");
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let unknown = answers
        .iter()
        .filter(|(s, code)| *s == 502 && *code == "upstream_outcome_unknown")
        .count();
    assert_eq!(ok + unknown, answers.len(), "{answers:?}");
    let run = upgrades_run(&c.sim);
    assert!(
        run >= ok && run <= ok + unknown,
        "upgrades run {run}, ok {ok}, unknown {unknown}"
    );
    let rec = upgrade_records(&audit);
    let outcomes: Vec<&str> = rec.iter().filter_map(|r| r["outcome"].as_str()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "ok").count(), ok);
    assert_eq!(
        outcomes.iter().filter(|o| **o == "unknown").count(),
        unknown
    );
    eprintln!("mixed load: 200 reads, 0 failed; {} legacy upgrades: {ok} ok, {unknown} unknown; {run} upgrades run", answers.len());
}

/// The module uploaded through the shim (R4 on 7.22), by uid.
async fn uploaded(shim: std::net::SocketAddr) -> String {
    let r = module_upload(
        shim,
        module_package("rejson.Linux-ubuntu18.04-x86_64.2.9.9.zip", 64),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["uid"].as_str().expect("uid").to_owned()
}

/// R5 (T3): the node applies `DELETE /v2/modules/{uid}` and dies before answering; the shim
/// never re-sends it, finds the delete's action (or the module gone) on another node, and
/// answers the old route's 200.
#[tokio::test]
async fn a_node_dying_right_after_a_module_delete_is_recovered_on_another_node_never_resent() {
    let c = SimNodes::start(SimVersion::V7_22).await;
    let audit = AuditFile::new();
    let shim = c.shim(&[1, 2, 3], &audit.toml("")).await;
    let uid = uploaded(shim.addr).await;
    let path = format!("/v2/modules/{uid}");
    c.sim
        .faults()
        .drop_reply(RouteMatch::method("DELETE", &path).times(1));
    let deletes = {
        let path = path.clone();
        move |sim: &Simulator| {
            sim.requests()
                .iter()
                .filter(|r| r.method == http::Method::DELETE && r.path == path)
                .count()
        }
    };
    let killer = {
        let deletes = deletes.clone();
        kill_master_once(c.sim.clone(), move |sim| deletes(sim) >= 1)
    };
    let r = within(
        LIMIT,
        "legacy module delete",
        module_delete(shim.addr, &uid),
    )
    .await;
    killer.await.expect("killer");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(deletes(&c.sim), 1, "the DELETE was never re-sent");
    let catalog = get(c.addr(2), "/v1/modules", &admin()).await.json();
    let still = catalog
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["uid"] == uid.as_str());
    assert!(!still, "the module is gone: {catalog}");
    let rec = records(&audit)
        .into_iter()
        .filter(|r| r["rule"] == "module_delete")
        .collect::<Vec<_>>();
    assert_eq!(rec.len(), 1, "{rec:?}");
    assert_eq!(rec[0]["outcome"], "ok", "{}", rec[0]);
    assert_eq!(rec[0]["status"], 200, "{}", rec[0]);
}

/// R4 (T3): the package streamed and the node died before answering: nothing names the upload,
/// so the shim cannot tell; it says so (502 `upstream_outcome_unknown`, audited `unknown`) and
/// never re-sends the package.
#[tokio::test]
async fn a_module_upload_lost_after_sending_is_a_502_outcome_unknown_never_resent() {
    let c = SimNodes::start(SimVersion::V7_22).await;
    let audit = AuditFile::new();
    let shim = c.shim(&[1, 2, 3], &audit.toml("")).await;
    // The master is learned first, so the upload goes straight to it.
    assert_eq!(get(shim.addr, "/v1/cluster", &admin()).await.status, 200);
    c.sim
        .faults()
        .drop_reply(RouteMatch::method("POST", "/v2/modules").times(1));
    let package = module_package("rejson.Linux-ubuntu18.04-x86_64.2.9.9.zip", 64);
    let r = within(
        LIMIT,
        "legacy module upload",
        module_upload(shim.addr, package),
    )
    .await;
    let body = assert_rs_error(&r, 502, "upstream_outcome_unknown");
    let text = body["description"].as_str().unwrap_or_default();
    assert!(text.contains("module upload"), "{text}");
    let posts = c
        .sim
        .requests()
        .iter()
        .filter(|q| q.method == http::Method::POST && q.path == "/v2/modules")
        .count();
    assert_eq!(posts, 1, "the package was never re-sent");
    let rec = records(&audit)
        .into_iter()
        .filter(|r| r["rule"] == "module_upload")
        .collect::<Vec<_>>();
    assert_eq!(rec.len(), 1, "{rec:?}");
    assert_eq!(rec[0]["outcome"], "unknown", "{}", rec[0]);
    assert_eq!(
        rec[0]["error_code"], "upstream_outcome_unknown",
        "{}",
        rec[0]
    );
}
