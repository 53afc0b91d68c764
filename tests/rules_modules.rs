//! R4–R6 through the executor (API-RULES §4.7–§4.8): module upload and delete on 7.22 go
//! through `/v2/modules` and wait for the action; on 8.0 they are 410 (or forwarded to v2 with
//! `modules_on_8x = "forward_v2"`). Differential rows: the old route served natively by a 7.22
//! simulator vs the shim (forced to translate) in front of another, from the same state.

mod support;

use bytes::Bytes;
use deprecation_shim::sim::{FaultSet, SimVersion, Simulator};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use support::audit_file::{audit_toml, records, AuditFile};
use support::harness::{Shim, Sim};
use support::legacy::{
    admin, module_delete as delete, module_package as package, module_upload as upload, multipart,
    PACKAGE_SECRET as SECRET,
};
use support::shim::{spawn_shim, toml_path};
use support::{get, post_chunked};

/// The catalog, sorted by uid, as the cluster has it.
async fn catalog(sim: SocketAddr) -> Vec<Value> {
    let mut list = match get(sim, "/v1/modules", &admin()).await.json() {
        Value::Array(list) => list,
        other => panic!("catalog: {other}"),
    };
    list.sort_by_key(|m| m["uid"].as_str().unwrap_or_default().to_owned());
    list
}

fn seen(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path.split('?').next().unwrap_or("")))
        .collect()
}

async fn shim_722(extra: &str) -> (SocketAddr, Sim, Shim) {
    let sim = Sim::timed(SimVersion::V7_22, Duration::from_millis(60)).await;
    let sim_addr = sim.addr;
    let toml = format!("[rules]\nrs_version = \"7.22.0\"\n{extra}");
    let shim = Shim::in_front_of(sim_addr, &toml).await;
    (sim_addr, sim, shim)
}

#[tokio::test]
async fn an_upload_on_7_22_goes_through_v2_waits_and_replies_the_module_object_audited() {
    let audit = AuditFile::new();
    let (sim_addr, sim, shim) = shim_722(&audit_toml(&audit)).await;
    sim.clear_requests();
    let reply = upload(
        shim.addr,
        package("rejson.Linux-ubuntu18.04-x86_64.2.9.9.zip", 64),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let module = reply.json();
    assert_eq!(module["module_name"], "ReJSON");
    assert_eq!(module["semantic_version"], "2.9.9");
    assert!(module.get("action_uid").is_none(), "{module}");
    let uid = module["uid"].as_str().expect("uid").to_owned();
    assert!(catalog(sim_addr)
        .await
        .iter()
        .any(|m| m["uid"] == uid.as_str()));
    let calls = seen(&sim);
    assert_eq!(calls[0], "POST /v2/modules", "{calls:?}");
    assert!(
        calls.iter().any(|c| c.starts_with("GET /v1/actions/")),
        "{calls:?}"
    );
    assert!(!calls.contains(&"POST /v1/modules".to_owned()), "{calls:?}");
    assert_eq!(reply.header("deprecation"), Some("@1690848000"));
    let link = reply.header("link").expect("link");
    assert!(
        link.starts_with("</v2/modules>; rel=\"successor-version\""),
        "{link}"
    );

    let rec = records(&audit).pop().expect("a record");
    assert_eq!(rec["rule"], "module_upload");
    assert_eq!(rec["rule_action"], "translated");
    assert_eq!(rec["status"], 200);
    assert_eq!(rec["modules"][0]["to_module_id"], uid.as_str());
    assert_eq!(rec["modules"][0]["from_module_name"], "ReJSON");
    assert_eq!(rec["modules"][0]["to_version"], "2.9.9");
    assert!(rec["action_uid"].is_string(), "{rec}");
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains(SECRET), "package bytes in the audit log");

    sim.clear_requests();
    let gone = delete(shim.addr, &uid).await;
    assert_eq!(gone.status, 200);
    assert!(gone.body.is_empty(), "{:?}", gone.body);
    assert!(seen(&sim).contains(&format!("DELETE /v2/modules/{uid}")));
    assert!(catalog(sim_addr)
        .await
        .iter()
        .all(|m| m["uid"] != uid.as_str()));
    let rec = records(&audit).pop().expect("a record");
    assert_eq!(
        (&rec["rule"], &rec["rule_action"], &rec["status"]),
        (
            &Value::from("module_delete"),
            &Value::from("translated"),
            &Value::from(200)
        )
    );
    assert_eq!(rec["modules"][0]["from_module_id"], uid.as_str());
    assert_eq!(gone.header("link").map(|l| l.contains(&uid)), Some(true));
}

#[tokio::test]
async fn a_failed_upload_action_is_a_400_and_a_missing_module_delete_a_404() {
    let (_, sim, shim) = shim_722("").await;
    sim.faults()
        .fail_next_action("sim_upload_failed", "module did not load on node 2");
    let reply = upload(shim.addr, package("rejson.Linux-x86_64.2.9.8.zip", 8)).await;
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(body["error_code"], "sim_upload_failed");
    assert_eq!(body["description"], "module did not load on node 2");
    assert!(body["action_uid"].is_string(), "{body}");

    let reply = delete(shim.addr, "0123456789abcdef0123456789abcdef").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error_code"], "module_not_found");
}

#[tokio::test]
async fn a_package_over_the_limit_is_413_declared_or_chunked_and_never_completes_upstream() {
    let (sim_addr, sim, shim) = shim_722("module_upload_max_size = \"1KiB\"\n").await;
    let before = catalog(sim_addr).await;
    sim.clear_requests();
    let reply = upload(shim.addr, package("rejson.Linux-x86_64.2.9.7.zip", 4096)).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error_code"], "request_too_large");
    assert!(sim.requests().is_empty(), "{:?}", seen(&sim));

    let auth = admin();
    let ct = multipart();
    let body = Bytes::from(package("rejson.Linux-x86_64.2.9.7.zip", 4096));
    let chunks = vec![body.slice(..512), body.slice(512..1500), body.slice(1500..)];
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", ct.as_str()),
    ];
    let reply = post_chunked(shim.addr, "/v1/modules", &h, chunks).await;
    assert_eq!(reply.status, 413, "{:?}", reply.body);
    assert_eq!(catalog(sim_addr).await, before);
}

#[tokio::test]
async fn a_module_delete_on_8_0_is_410_audited_and_never_sent() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("[rules]\nrs_version = \"8.0.0\"\n")).await;
    sim.clear_requests();
    let reply = delete(shim.addr, "abc123").await;
    assert_eq!(reply.status, 410);
    assert_eq!(reply.json()["error_code"], "route_removed");
    let link = reply.header("link").expect("link");
    assert!(
        link.starts_with("</v2/modules/user-defined/abc123>; rel=\"successor-version\""),
        "{link}"
    );
    assert!(sim.requests().is_empty(), "{:?}", seen(&sim));
    let rec = records(&audit).pop().expect("a record");
    assert_eq!(
        (&rec["rule"], &rec["rule_action"]),
        (&Value::from("module_delete"), &Value::from("gone"))
    );
}

#[tokio::test]
async fn forward_v2_on_8_0_uploads_and_deletes_through_v2_when_the_cluster_serves_it() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim_addr = sim.addr;
    sim.faults().set(FaultSet {
        v2_modules_on_8x: true,
        ..FaultSet::default()
    });
    let toml = "[rules]\nrs_version = \"8.0.0\"\nmodules_on_8x = \"forward_v2\"\n";
    let shim = Shim::in_front_of(sim_addr, toml).await;
    sim.clear_requests();
    let reply = upload(shim.addr, package("rejson.Linux-x86_64.2.9.6.zip", 16)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let uid = reply.json()["uid"].as_str().expect("uid").to_owned();
    assert_eq!(seen(&sim)[0], "POST /v2/modules");
    assert!(catalog(sim_addr)
        .await
        .iter()
        .any(|m| m["uid"] == uid.as_str()));
    assert_eq!(delete(shim.addr, &uid).await.status, 200);
    assert!(catalog(sim_addr)
        .await
        .iter()
        .all(|m| m["uid"] != uid.as_str()));
}

/// Differential rows R4 and R5: the same calls to a 7.22 simulator natively (v1 served) and to
/// the shim forced to translate in front of another 7.22 simulator.
#[tokio::test]
async fn differential_r4_r5_native_v1_and_translated_v2_end_with_the_same_catalog() {
    let _n = Sim::timed(SimVersion::V7_22, Duration::from_millis(40)).await;
    let native = _n.addr;
    let b = Sim::timed(SimVersion::V7_22, Duration::from_millis(40)).await;
    let behind = b.addr;
    let toml = "[rules]\nrs_version = \"7.22.0\"\n[rules.module_upload]\nmode = \"translate\"\n\
                [rules.module_delete]\nmode = \"translate\"\n";
    let shim = Shim::in_front_of(behind, toml).await;
    let pkg = || package("bf.Linux-rhel8-x86_64.2.9.1.zip", 32);
    let (a, t) = (upload(native, pkg()).await, upload(shim.addr, pkg()).await);
    assert_eq!(t.status, a.status, "R4 status");
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["uid"], t.json()["uid"]);
    assert_eq!(catalog(native).await, catalog(behind).await, "R4 catalog");
    assert!(b.requests().iter().any(|r| r.path == "/v2/modules"));
    let uid = a.json()["uid"].as_str().expect("uid").to_owned();
    let (a, t) = (delete(native, &uid).await, delete(shim.addr, &uid).await);
    assert_eq!(t.status, a.status, "R5 status");
    assert_eq!(a.status, 200);
    assert_eq!(catalog(native).await, catalog(behind).await, "R5 catalog");
    let dup = || package("bf.Linux-rhel8-x86_64.2.9.1.zip", 32);
    upload(native, dup()).await;
    upload(shim.addr, dup()).await;
    let (a, t) = (upload(native, dup()).await, upload(shim.addr, dup()).await);
    assert_eq!(
        (a.status.as_u16(), t.status.as_u16()),
        (400, 400),
        "R4 duplicate"
    );
    assert_eq!(a.json()["error_code"], t.json()["error_code"]);
}

/// A 20 MiB package through the real binary: the shim's peak RSS grows by far less than the
/// package (it is streamed to `/v2/modules`, never held).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_package_streams_through_the_binary_without_the_shim_holding_it() {
    const SIZE: usize = 20 << 20;
    let sim = Sim::timed(SimVersion::V7_22, Duration::from_millis(40)).await;
    let sim_addr = sim.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("shim.toml");
    let toml = format!(
        "[upstream]\nurl = \"http://{sim_addr}\"\n[shim]\npoll_interval = \"20ms\"\n\
         [rules]\nrs_version = \"7.22.0\"\n"
    );
    std::fs::write(&cfg, toml).expect("write config");
    let shim = spawn_shim(&["--config", toml_path(&cfg).trim_matches('"')]);
    let before = shim.peak_rss_kib();
    let reply = upload(shim.addr, package("rejson.Linux-x86_64.2.9.5.zip", SIZE)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let after = shim.peak_rss_kib();
    eprintln!("shim peak RSS {before} KiB before, {after} KiB after a 20 MiB upload");
    assert!(
        after.saturating_sub(before) < (SIZE as u64 / 1024) / 2,
        "peak RSS grew from {before} to {after} KiB"
    );
    let posted = sim.requests().into_iter().find(|r| r.path == "/v2/modules");
    assert!(
        posted.is_some_and(|r| r.body.len() > SIZE),
        "the package reached /v2/modules whole"
    );
}
