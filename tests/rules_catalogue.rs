//! Differential rows for the catalogue rules of issue 22 (API-CATALOGUE §3–§8): the old call
//! served natively by an old-version simulator vs the same call through the shim in front of a
//! new-version one started from the same state. Compared per row: status, the reply's
//! meaningful body, and the cluster state the call changed. Allowed to differ: the shim's own
//! headers (`Deprecation`, `Link`, `X-Request-Id`) and action/task ids.
//! R12's rows run the seed route's whole table (`tests/shim_differential.rs`).

mod support;

use deprecation_shim::sim::SimVersion;
use serde_json::{json, Value};
use support::audit_file::{records, settled, AuditFile};
use support::harness::{pair, Shim, Sim};
use support::legacy::{admin, viewer};
use support::{get, post_json, Reply};

fn paths(sim: &Sim) -> Vec<String> {
    support::topology::served(sim)
        .into_iter()
        .map(|r| r.path)
        .collect()
}

/// R16 (§6): on a CRDB the old path natively equals `…/crdt` through the shim; elsewhere both
/// are 404, the shim having tried `/crdt` and then the old path once.
#[tokio::test]
async fn r16_syncer_state_7_4_native_equals_shim_in_front_of_8_0() {
    let (old, _old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_0, "").await;
    for (uid, status) in [(4, 200), (1, 404)] {
        new_sim.clear_requests();
        let path = format!("/v1/bdbs/{uid}/syncer_state");
        let (a, b) = (
            get(old, &path, &viewer()).await,
            get(shim.addr, &path, &viewer()).await,
        );
        assert_eq!((a.status.as_u16(), b.status.as_u16()), (status, status));
        assert_eq!(a.json(), b.json(), "{path}");
        let seen = paths(&new_sim);
        let crdt = format!("{path}/crdt");
        let want: Vec<&str> = if status == 200 {
            vec![crdt.as_str()]
        } else {
            vec![crdt.as_str(), path.as_str()]
        };
        assert_eq!(
            seen.iter()
                .filter(|p| !p.starts_with("/v1/bootstrap"))
                .collect::<Vec<_>>(),
            want,
            "a 404 from /crdt falls back to the old path once"
        );
        assert_eq!(b.header("deprecation"), Some("@1690848000"));
        assert!(b
            .header("link")
            .is_some_and(|l| l.contains(&format!("<{crdt}>; rel=\"successor-version\""))));
    }
}

/// R17 (§7): `keep_slave_shards: true` natively on 7.4 ends in the same node state as the same
/// body through the shim on 8.2, which sent both `evict_*: false` instead.
#[tokio::test]
async fn r17_keep_slave_shards_7_4_native_equals_shim_in_front_of_8_2() {
    let (old, old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_2, "").await;
    let body = json!({"keep_slave_shards": true, "overwrite_snapshot": true});
    let path = "/v1/nodes/2/actions/maintenance_on";
    let (a, b) = (
        post_json(old, path, &admin(), &body).await,
        post_json(shim.addr, path, &admin(), &body).await,
    );
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
    assert_eq!(a.json()["status"], b.json()["status"]);
    for (sim, reply) in [(&old_sim, &a), (&new_sim, &b)] {
        let task = reply.json()["task_id"]
            .as_str()
            .expect("task_id")
            .to_owned();
        assert_eq!(sim.wait_action(&task).await["status"], "completed");
    }
    let node = |sim: &Sim| sim.snapshot()["nodes"][1]["maintenance"].clone();
    assert_eq!(node(&old_sim), node(&new_sim));
    assert_eq!(node(&new_sim)["replicas_kept"], true);
    let sent = support::topology::served(&new_sim)
        .into_iter()
        .find(|r| r.path == path)
        .expect("sent");
    let sent: Value = serde_json::from_slice(&sent.body).expect("json");
    assert_eq!(
        sent,
        json!({"evict_ha_replica": false, "evict_active_active_replica": false,
               "overwrite_snapshot": true})
    );
    assert_eq!(b.header("deprecation"), Some("@1706745600"));
}

/// R17: a body without `keep_slave_shards` is not the deprecated form: sent as it came,
/// unmarked.
#[tokio::test]
async fn r17_a_body_with_the_new_keys_goes_as_it_came() {
    let (_old, _old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_2, "").await;
    let body = json!({"evict_ha_replica": false});
    let path = "/v1/nodes/2/actions/maintenance_on";
    let b = post_json(shim.addr, path, &admin(), &body).await;
    assert_eq!(b.status.as_u16(), 200);
    let sent = support::topology::served(&new_sim)
        .into_iter()
        .find(|r| r.path == path);
    assert_eq!(
        sent.map(|r| serde_json::from_slice::<Value>(&r.body).ok()),
        Some(Some(body))
    );
    assert_eq!(b.header("deprecation"), None);
}

const OPTIMIZE: &str = "/v1/bdbs/1/actions/optimize_shards_placement";

/// R15 (§5), `translate`: the old GET natively on 7.8 and through the shim on 7.22, where it
/// went to `PUT …/revamp?dry_run=true`, give the same blueprint; a viewer, refused by revamp,
/// gets the old GET's answer (fallback), and the database never changes.
#[tokio::test]
async fn r15_optimize_shards_placement_7_8_native_equals_translated_on_7_22() {
    let toml = "[rules.optimize_shards_placement]\nmode = \"translate\"";
    let (old, old_sim, shim, new_sim) = pair(SimVersion::V7_8, SimVersion::V7_22, toml).await;
    for query in [
        "",
        "?shards_count=2&replication=enabled",
        "?avoid_nodes=2&shards_placement=sparse",
    ] {
        for auth in [admin(), viewer()] {
            new_sim.clear_requests();
            let path = format!("{OPTIMIZE}{query}");
            let (a, b) = (
                get(old, &path, &auth).await,
                get(shim.addr, &path, &auth).await,
            );
            assert_eq!(a.status, b.status, "{path}");
            assert_eq!(a.json(), b.json(), "{path}");
            let seen = paths(&new_sim);
            assert!(
                seen.iter()
                    .any(|p| p == "/v1/bdbs/1/actions/revamp?dry_run=true"),
                "{seen:?}"
            );
            if auth == viewer() {
                assert!(
                    seen.contains(&path),
                    "viewer falls back to the GET: {seen:?}"
                );
            }
            assert_eq!(b.header("deprecation"), Some("@1746057600"));
        }
    }
    assert_eq!(
        old_sim.snapshot()["bdbs"][0]["shards_count"],
        new_sim.snapshot()["bdbs"][0]["shards_count"],
        "a dry run changes nothing"
    );
}

/// R15 in `auto`: observed, untouched, marked with the successor and its `dry_run=true`.
#[tokio::test]
async fn r15_auto_observes_and_names_the_dry_run_successor() {
    let (old, _old_sim, shim, new_sim) = pair(SimVersion::V7_22, SimVersion::V8_0, "").await;
    let path = format!("{OPTIMIZE}?shards_count=2");
    let (a, b) = (
        get(old, &path, &admin()).await,
        get(shim.addr, &path, &admin()).await,
    );
    assert_eq!(a.status, b.status);
    assert_eq!(a.json(), b.json());
    assert_eq!(
        a.header("cluster-state-id").is_some(),
        b.header("cluster-state-id").is_some()
    );
    assert!(paths(&new_sim).contains(&path));
    assert!(b.header("link").is_some_and(
        |l| l.contains("</v1/bdbs/1/actions/revamp?dry_run=true>; rel=\"successor-version\"")
    ));
}

fn audit_of(reply: &Reply) -> Option<&str> {
    reply.header("x-request-id")
}

/// Every catalogue rule's call is audited under its rule name with the template it matched.
#[tokio::test]
async fn catalogue_calls_are_audited_with_their_rule_and_template() {
    let sim = Sim::start(SimVersion::V8_0).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    let r16 = get(shim.addr, "/v1/bdbs/4/syncer_state", &admin()).await;
    let r15 = get(shim.addr, OPTIMIZE, &admin()).await;
    assert!(audit_of(&r16).is_some() && audit_of(&r15).is_some());
    drop(shim);
    let recs = settled(&audit, 2).await;
    let seen: Vec<(String, String)> = recs
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap_or("").to_owned(),
                r["route"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        seen.contains(&(
            "syncer_state".into(),
            "/v1/bdbs/{uid:int}/syncer_state".into()
        )),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            "optimize_shards_placement".into(),
            "/v1/bdbs/{uid:int}/actions/optimize_shards_placement".into()
        )),
        "{seen:?}"
    );
    assert_eq!(records(&audit).len(), 2);
}

const CONFIG_OLD: &str = "/v1/modules/config/bdb/1";

fn module_args(sim: &Sim, uid: usize, name: &str) -> Value {
    sim.snapshot()["bdbs"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["uid"] == json!(uid)))
        .and_then(|b| b["module_list"].as_array())
        .and_then(|m| m.iter().find(|m| m["module_name"] == name))
        .map(|m| m["module_args"].clone())
        .unwrap_or(Value::Null)
}

/// R14 (§4.4), `translate`, a Redis 7 database: the old route natively on 7.4 and through the
/// shim on 8.0 (GET + `PUT /v1/bdbs/{uid}` with the merged `module_list`, waited for) end with
/// the same `module_args`; the reply is the old contract's empty 200. Unmappable arguments and
/// a module without runtime configuration are refused before anything is sent.
#[tokio::test]
async fn r14_module_config_7_4_native_equals_translated_on_8_0() {
    let toml = "[rules.module_config]\nmode = \"translate\"";
    let (old, old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_0, toml).await;
    let body = json!({"modules": [{"module_name": "search", "module_args": "MINPREFIX 5 MAXEXPANSIONS 1000"}]});
    let (a, b) = (
        post_json(old, CONFIG_OLD, &admin(), &body).await,
        post_json(shim.addr, CONFIG_OLD, &admin(), &body).await,
    );
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (200, 200),
        "{}",
        String::from_utf8_lossy(&b.body)
    );
    assert_eq!(a.body, b.body, "the old contract: a status code");
    assert_eq!(
        module_args(&old_sim, 1, "search"),
        module_args(&new_sim, 1, "search")
    );
    let seen = paths(&new_sim);
    assert!(
        seen.contains(&"/v1/bdbs/1?extended=true".to_owned()),
        "{seen:?}"
    );
    assert!(
        !seen.contains(&CONFIG_OLD.to_owned()),
        "translated, not forwarded: {seen:?}"
    );
    assert_eq!(b.header("deprecation"), Some("@1706745600"));
    // A flag cannot be paired: refused with guidance, nothing sent.
    new_sim.clear_requests();
    let flag = json!({"modules": [{"module_name": "search", "module_args": "NOGC MINPREFIX 3"}]});
    let r = post_json(shim.addr, CONFIG_OLD, &admin(), &flag).await;
    assert_eq!(r.status.as_u16(), 406);
    assert_eq!(r.json()["error_code"], "module_args_unmapped");
    assert!(new_sim
        .requests()
        .iter()
        .all(|r| r.method != http::Method::PUT));
}

/// R14, `translate`, a Redis 8 database (§4.4 step 5): the old args through the fixed table to
/// the `search` object; the same call served natively by 8.2 (RS maps them itself, RS166878)
/// ends with the same `search` object.
#[tokio::test]
async fn r14_module_config_on_a_redis_8_database_maps_to_the_search_object() {
    let native = Sim::start(SimVersion::V8_2).await;
    let target = Sim::start(SimVersion::V8_2).await;
    let shim = Shim::in_front_of(target.addr, "[rules.module_config]\nmode = \"translate\"").await;
    let args = "MINPREFIX 3 MAXPREFIXEXPANSIONS 300 TIMEOUT 1000";
    let body = json!({"modules": [{"module_name": "search", "module_args": args}]});
    let path = "/v1/bdbs/5/modules/config";
    let (a, b) = (
        post_json(native.addr, path, &admin(), &body).await,
        post_json(shim.addr, path, &admin(), &body).await,
    );
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (200, 200),
        "{}",
        String::from_utf8_lossy(&b.body)
    );
    let ext = "/v1/bdbs/5?extended=true";
    assert_eq!(
        native.get(ext).await.json()["search"],
        target.get(ext).await.json()["search"]
    );
    // ReJSON has no runtime configuration object: refused, never guessed.
    let json_args = json!({"modules": [{"module_name": "ReJSON", "module_args": "MAX_DEPTH 3"}]});
    let r = post_json(shim.addr, path, &admin(), &json_args).await;
    assert!(
        matches!(r.status.as_u16(), 400 | 406),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

/// R14 in `auto`: observed, untouched (the cluster's own old route answers), marked.
#[tokio::test]
async fn r14_auto_observes_the_old_route() {
    let (_old, _old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_0, "").await;
    let body = json!({"modules": [{"module_name": "search", "module_args": "MINPREFIX 4"}]});
    let b = post_json(shim.addr, CONFIG_OLD, &admin(), &body).await;
    assert_eq!(b.status.as_u16(), 200);
    assert!(paths(&new_sim).contains(&CONFIG_OLD.to_owned()));
    assert_eq!(b.header("deprecation"), Some("@1706745600"));
}

/// Issue 21: every differential above again with the shim in front of three nodes, a follower
/// first in `upstream.nodes` (see `support::topology`).
#[test]
fn every_differential_holds_with_a_follower_first() {
    support::topology::with_follower_first(|| {
        r16_syncer_state_7_4_native_equals_shim_in_front_of_8_0();
        r17_keep_slave_shards_7_4_native_equals_shim_in_front_of_8_2();
        r17_a_body_with_the_new_keys_goes_as_it_came();
        r15_optimize_shards_placement_7_8_native_equals_translated_on_7_22();
        r15_auto_observes_and_names_the_dry_run_successor();
        r14_module_config_7_4_native_equals_translated_on_8_0();
        r14_auto_observes_the_old_route();
    });
}
