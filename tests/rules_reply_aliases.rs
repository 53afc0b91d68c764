//! F14, reply aliases (API-CATALOGUE §9.6, issue 23), as a differential test: the reply an old
//! release gives a legacy reader natively vs the reply of 8.2 through the shim with the aliases
//! on; off, the shim's reply is the cluster's, byte for byte. Plus the bounds: compressed, not
//! JSON, too large replies pass untouched, counted.
//!
//! The simulator keeps a database's unknown keys as given and models no per-release shape for
//! `ssl`, `dns_address_master` or `endpoint_ip`: the old release's native reply is the old
//! shape written into the old simulator; the new one holds only the successors.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::harness::Sim;
use support::legacy::admin;
use support::upstream::start_upstream;
use support::{bodies_skipped, get, send, shim_app, Reply};

const ON: &str =
    "[rules]\nrs_version = \"8.2.0-25\"\n[rules.field_reply_aliases]\nmode = \"translate\"\n";
const OLD_KEYS: [&str; 4] = [
    "ssl",
    "db_conns_auditing",
    "dns_address_master",
    "endpoint_ip",
];

async fn write(addr: SocketAddr, method: Method, path: &str, body: Value) -> Reply {
    let auth = admin();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let r = send(
        addr,
        method,
        path,
        &headers,
        serde_json::to_vec(&body).expect("json"),
    )
    .await;
    assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    r
}

/// The endpoints of a database with one internal endpoint.
fn endpoints() -> Value {
    json!([{"uid": "9:1", "addr_type": "internal", "dns_name": "redis-12009.internal.sim.local",
            "port": 12009, "addr": ["10.0.0.1"]}])
}

/// The old release's view (old keys) and the new one's (successors only): both simulators get
/// the same cluster and a database `tls-db`; the uid of each.
async fn populate(old: &Sim, new: &Sim) -> (u64, u64) {
    let cluster = |k: &str| json!({k: true, "sentinel_tls_mode": "required"});
    write(old.addr, Method::PUT, "/v1/cluster", cluster("use_ipv6")).await;
    write(
        new.addr,
        Method::PUT,
        "/v1/cluster",
        cluster("use_external_ipv6"),
    )
    .await;
    let old_bdb = json!({"name": "tls-db", "tls_mode": "enabled", "endpoints": endpoints(),
        "ssl": true, "db_conns_auditing": true,
        "dns_address_master": "redis-12009.internal.sim.local:12009", "endpoint_ip": ["10.0.0.1"]});
    let new_bdb = json!({"name": "tls-db", "tls_mode": "enabled", "endpoints": endpoints(),
        "audit_settings": {"audit_mode": "connection_and_crud"}});
    let o = write(old.addr, Method::POST, "/v1/bdbs", old_bdb)
        .await
        .json();
    let n = write(new.addr, Method::POST, "/v1/bdbs", new_bdb)
        .await
        .json();
    (
        o["uid"].as_u64().expect("uid"),
        n["uid"].as_u64().expect("uid"),
    )
}

fn content_length_is_right(r: &Reply) {
    let declared = r
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    assert_eq!(declared, Some(r.body.len()));
}

#[tokio::test]
async fn f14_on_8_2_through_the_shim_a_reader_finds_the_old_keys_8_0_returned() {
    let old = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let new = Sim::timed(SimVersion::V8_2, Duration::from_millis(50)).await;
    let (old_uid, new_uid) = populate(&old, &new).await;
    let audit = AuditFile::new();
    let (_app, shim) = shim_app(new.addr, &audit.toml(ON)).await;
    let auth = admin();
    // Control: 8.2 natively returns none of the old bdb keys, nor `use_ipv6`.
    let native_new = get(new.addr, &format!("/v1/bdbs/{new_uid}"), &auth)
        .await
        .json();
    for k in ["ssl", "dns_address_master", "endpoint_ip"] {
        assert!(native_new.get(k).is_none(), "{k}");
    }
    assert!(get(new.addr, "/v1/cluster", &auth)
        .await
        .json()
        .get("use_ipv6")
        .is_none());

    let native_old = get(old.addr, "/v1/cluster", &auth).await.json();
    let through = get(shim.addr, "/v1/cluster", &auth).await;
    content_length_is_right(&through);
    let through = through.json();
    for k in ["use_ipv6", "sentinel_ssl_policy"] {
        assert_eq!(through[k], native_old[k], "{k}");
    }
    let native_old = get(old.addr, &format!("/v1/bdbs/{old_uid}"), &auth)
        .await
        .json();
    let through = get(shim.addr, &format!("/v1/bdbs/{new_uid}"), &auth).await;
    content_length_is_right(&through);
    let through = through.json();
    for k in OLD_KEYS {
        assert_eq!(through[k], native_old[k], "{k}");
    }
    // The list: each database on its own; the seed's have no endpoints or TLS mode.
    let list = get(shim.addr, "/v1/bdbs", &auth).await.json();
    let list = list.as_array().expect("a list");
    let tls = list.iter().find(|b| b["uid"] == new_uid).expect("tls-db");
    assert_eq!(tls["ssl"], json!(true));
    assert!(list
        .iter()
        .filter(|b| b["uid"] != new_uid)
        .all(|b| b.get("ssl").is_none()));

    let rec = wait_record(&audit, "/v1/cluster").await;
    assert_eq!(rec["rule_action"], "translated");
    assert_eq!(
        rec["detail"]["aliases"],
        json!([{"field": "use_ipv6", "from": "use_external_ipv6", "objects": 1}])
    );
    let rec = wait_record(&audit, "/v1/bdbs/{uid}").await;
    assert_eq!(rec["bdb_uid"], json!(new_uid));
    let fields: Vec<&str> = rec["detail"]["aliases"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["ssl", "dns_address_master", "endpoint_ip"]);
    let text = std::fs::read_to_string(&*audit).unwrap_or_default();
    assert!(!text.contains("10.0.0.1"), "no value is recorded: {text}");
}

async fn wait_record(audit: &AuditFile, route: &str) -> Value {
    for _ in 0..100 {
        let found = records(audit)
            .into_iter()
            .find(|r| r["rule"] == "field_reply_aliases" && r["route"] == route);
        if let Some(r) = found {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no field_reply_aliases record of {route}");
}

#[tokio::test]
async fn f14_off_the_reply_is_the_clusters_byte_for_byte_and_nothing_is_read() {
    let old = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let new = Sim::timed(SimVersion::V8_2, Duration::from_millis(50)).await;
    let (_, uid) = populate(&old, &new).await;
    let audit = AuditFile::new();
    let (app, shim) = shim_app(new.addr, &audit.toml("[rules]\nrs_version = \"8.2.0-25\"")).await;
    let auth = admin();
    for path in [
        "/v1/cluster".to_owned(),
        "/v1/bdbs".into(),
        format!("/v1/bdbs/{uid}"),
    ] {
        let native = get(new.addr, &path, &auth).await;
        let through = get(shim.addr, &path, &auth).await;
        assert_eq!(through.body, native.body, "{path}");
    }
    assert!(records(&audit)
        .iter()
        .all(|r| r["rule"] != "field_reply_aliases"));
    for why in ["reply_not_json", "reply_too_large", "reply_compressed"] {
        assert_eq!(bodies_skipped(&app, why), 0.0, "{why}");
    }
}

#[tokio::test]
async fn f14_replies_compressed_not_json_or_too_large_pass_untouched_and_are_counted() {
    let upstream = start_upstream().await;
    let (app, shim) = shim_app(upstream.addr, ON).await;
    let auth = admin();
    let to = shim.addr;
    let canned = |how: &'static str| {
        let auth = auth.clone();
        async move {
            let headers = [("authorization", auth.as_str()), ("x-canned", how)];
            send(to, Method::GET, "/v1/bdbs/1", &headers, Vec::new()).await
        }
    };
    let r = canned("json").await;
    assert_eq!(r.json()["ssl"], json!(true), "the control gets its alias");
    content_length_is_right(&r);
    for (how, why) in [
        ("gzip", "reply_compressed"),
        ("text", "reply_not_json"),
        ("large", "reply_too_large"),
    ] {
        let r = canned(how).await;
        assert_eq!(r.status, 200, "{how}");
        assert!(r.json().get("ssl").is_none(), "{how}: untouched");
        assert_eq!(bodies_skipped(&app, why), 1.0, "{why}");
    }
}
