//! SIGHUP reload of the running binary: a valid new configuration takes effect for new requests
//! without dropping one in flight; an invalid one is refused, named in the log, and the old
//! configuration stays.

mod support;

use deprecation_shim::sim::{SimVersion, DEMO_ADMIN};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::harness::Sim;
use support::shim::{spawn_shim, ShimProcess};
use support::{basic, get, send};

fn write_config(path: &Path, upstream: SocketAddr, extra: &str) {
    let text = format!(
        "[upstream]\nurl = \"http://{upstream}\"\n[shim]\npoll_interval = \"20ms\"\n{extra}\n"
    );
    std::fs::write(path, text).unwrap();
}

/// Rewrites the configuration at `cfg` ([`write_config`] with `extra`), sends SIGHUP and gives
/// the reload time to take effect.
async fn reload_with(shim: &ShimProcess, cfg: &Path, upstream: SocketAddr, extra: &str) {
    write_config(cfg, upstream, extra);
    hangup(shim);
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// The same with an invalid `extra`: the reload is refused, and the log names `key`.
fn reload_refused(
    shim: &mut ShimProcess,
    cfg: &Path,
    upstream: SocketAddr,
    extra: &str,
    key: &str,
) {
    write_config(cfg, upstream, extra);
    hangup(shim);
    shim.wait_for_log("reload refused", Duration::from_secs(5))
        .unwrap_or_else(|log| panic!("no refusal logged:\n{log}"));
    assert!(shim.stderr().contains(key), "{}", shim.stderr());
}

/// An 8.0 simulator and a shim process in front of it, configured by the file `cfg` (in `dir`,
/// kept alive by the caller) with no extra keys.
async fn shim_over_8_0() -> (Sim, tempfile::TempDir, std::path::PathBuf, ShimProcess) {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("shim.toml");
    write_config(&cfg, sim.addr, "");
    let shim = spawn_shim(&["--config", cfg.to_str().unwrap()]);
    (sim, dir, cfg, shim)
}

fn hangup(shim: &ShimProcess) {
    let ok = Command::new("kill")
        .args(["-HUP", &shim.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -HUP failed");
}

/// The Deprecation header of a deprecated-route reply (a bad uid: no upstream call needed).
async fn deprecation_header(shim: SocketAddr) -> String {
    let reply = send(
        shim,
        http::Method::POST,
        "/v1/modules/upgrade/bdb/not-a-number",
        &[],
        "{}",
    )
    .await;
    assert_eq!(reply.status, 404);
    reply.header("deprecation").unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_valid_config_and_refuses_an_invalid_one() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(100)).await;
    let upstream = sim.addr;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("shim.toml");
    write_config(&cfg, upstream, "deprecation_date = \"2024-11-01\"");
    let mut shim = spawn_shim(&["--config", cfg.to_str().unwrap()]);
    let listen = shim.addr;
    assert_eq!(deprecation_header(listen).await, "@1730419200");

    // A request in flight across the reload.
    sim.faults().set_latency(Duration::from_millis(1500));
    let auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let in_flight = tokio::spawn(async move { get(listen, "/v1/bdbs/1", &auth).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    write_config(&cfg, upstream, "deprecation_date = \"2025-01-01\"");
    hangup(&shim);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deprecation_header(listen).await,
        "@1735689600",
        "new config in force"
    );

    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200, "in-flight request survived the reload");
    assert_eq!(reply.json()["uid"], 1);
    sim.faults().set_latency(Duration::ZERO);

    std::fs::write(&cfg, "[shim]\nbogus_key = 1\n").unwrap();
    hangup(&shim);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deprecation_header(listen).await,
        "@1735689600",
        "old config kept"
    );
    shim.wait_for_log("reload refused", Duration::from_secs(5))
        .unwrap_or_else(|log| panic!("no refusal logged:\n{log}"));
    let stderr = shim.stderr();
    assert!(stderr.contains("configuration reloaded"), "{stderr}");
    assert!(stderr.contains("bogus_key"), "{stderr}");
}

/// `GET /v1/legacy/thing`: passed through (the simulator answers 404) unless an operator rule
/// covers it.
async fn legacy_thing(shim: SocketAddr) -> (u16, String) {
    let auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let reply = get(shim, "/v1/legacy/thing", &auth).await;
    let code = reply.json()["error_code"].as_str().unwrap_or("").to_owned();
    (reply.status.as_u16(), code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_an_operator_rule_and_refuses_an_invalid_one_naming_its_key() {
    let (sim, _dir, cfg, mut shim) = shim_over_8_0().await;
    assert_eq!(
        legacy_thing(shim.addr).await.0,
        404,
        "no rule: passed through"
    );

    let rule = |path: &str| {
        format!(
            "[[rules.custom]]\nname = \"legacy-thing\"\nmethod = \"GET\"\npath = \"{path}\"\n\
             kind = \"gone\"\nsuccessor = \"/v2/thing\"\n\
             docs_url = \"https://example.com/migrate\"\ndeprecation_date = \"2025-01-01\"\n"
        )
    };
    reload_with(&shim, &cfg, sim.addr, &rule("/v1/legacy/thing")).await;
    assert_eq!(
        legacy_thing(shim.addr).await,
        (410, "route_removed".to_owned()),
        "the reloaded operator rule answers gone"
    );
    reload_refused(
        &mut shim,
        &cfg,
        sim.addr,
        &rule("no-leading-slash"),
        "rules.custom[0].path",
    );
    assert_eq!(
        legacy_thing(shim.addr).await.0,
        410,
        "the previous rule table stays in force"
    );
}

async fn legacy_flag(shim: SocketAddr) -> (u16, String) {
    let auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let reply = send(
        shim,
        http::Method::PUT,
        "/v1/cluster",
        &headers,
        "{\"legacy_flag\":1}",
    )
    .await;
    let code = reply.json()["error_code"].as_str().unwrap_or("").to_owned();
    (reply.status.as_u16(), code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_an_operator_field_rule_and_refuses_an_invalid_one_naming_its_key() {
    let (sim, _dir, cfg, mut shim) = shim_over_8_0().await;
    assert_eq!(
        legacy_flag(shim.addr).await.0,
        200,
        "no rule: passed through"
    );
    let rule = |pointer: &str| {
        format!(
            "[[rules.fields]]\nname = \"legacy-flag\"\nroutes = [\"PUT /v1/cluster\"]\n\
             pointers = [\"{pointer}\"]\naction = \"refuse\"\nsuccessor = \"new_flag\"\n\
             docs_url = \"https://example.com/flags\"\n"
        )
    };
    reload_with(&shim, &cfg, sim.addr, &rule("/legacy_flag")).await;
    assert_eq!(
        legacy_flag(shim.addr).await,
        (400, "field_not_supported".to_owned())
    );
    reload_refused(
        &mut shim,
        &cfg,
        sim.addr,
        &rule("legacy_flag"),
        "rules.fields[0].pointers",
    );
    assert_eq!(
        legacy_flag(shim.addr).await.0,
        400,
        "the previous table stays"
    );
}

/// Issue 21: a SIGHUP can change the node list. With only a follower configured, its redirect
/// to the master names a node the shim may not use (`502 upstream_redirect`, nothing followed);
/// once the master is added and the shim reloaded, the same read reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_changes_the_node_list() {
    let cluster = support::harness::SimNodes::start(SimVersion::V8_0).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("shim.toml");
    let nodes = |uids: &[u64]| {
        let urls: Vec<String> = uids
            .iter()
            .map(|u| format!("\"http://{}\"", cluster.addr(*u)))
            .collect();
        format!("[upstream]\nnodes = [{}]\n", urls.join(", "))
    };
    std::fs::write(&cfg, nodes(&[2])).unwrap();
    let mut shim = spawn_shim(&["--config", cfg.to_str().unwrap()]);
    let auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let before = get(shim.addr, "/v1/bdbs/1", &auth).await;
    assert_eq!(before.status, 502, "{}", before.head());
    assert_eq!(before.json()["error_code"], "upstream_redirect");
    assert_eq!(before.header("location"), None);

    std::fs::write(&cfg, nodes(&[2, 1])).unwrap();
    hangup(&shim);
    shim.wait_for_log("configuration reloaded", Duration::from_secs(5))
        .unwrap_or_else(|log| panic!("no reload logged:\n{log}"));
    let after = get(shim.addr, "/v1/bdbs/1", &auth).await;
    assert_eq!(after.status, 200, "{}", after.head());
    assert_eq!(after.json()["uid"], 1);
    let last = cluster.sim.requests().last().map(|r| r.node);
    assert_eq!(last, Some(Some(1)), "the read reached the master");
}
