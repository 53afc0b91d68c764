//! The simulated cluster's R14 runtime module configuration (issue 22 (b)), over real sockets,
//! per release where the releases differ: the old routes, `PUT /v1/bdbs/{uid}` with a
//! `module_list`, and the 8.x `extended` objects. Final states are read back through
//! `GET /__sim/state`. The part's other routes are in `sim_catalogue_b.rs`.

mod support;

use deprecation_shim::sim::{seed, SimConfig, SimVersion};
use serde_json::{json, Value};

use support::catalogue::{call_as, each, module_args, ok, put, refused, state, switch, POST, PUT};
use support::harness::{Sim, ACTION};
use support::legacy::{assert_rs_error, viewer};
use support::post_json;

fn config(name: &str, args: &str) -> Value {
    json!({"modules": [{"module_name": name, "module_args": args}]})
}

// ---- R14 ---------------------------------------------------------------------------------

const CONFIG_OLD: &str = "/v1/modules/config/bdb/1";
const CONFIG_NEW: &str = "/v1/bdbs/1/modules/config";

#[tokio::test]
async fn both_config_routes_merge_module_args_on_every_release() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        let r = c.post(CONFIG_OLD, config("search", "MINPREFIX 3")).await;
        assert_eq!((r.status.as_u16(), r.body.len()), (200, 0), "{v}");
        let args = "MINPREFIX 5 MAXEXPANSIONS 1000";
        assert_eq!(c.post(CONFIG_NEW, config("Search", args)).await.status, 200);
        let db1 = &state(&c).await["bdbs"][0];
        let want = "PARTITIONS AUTO MINPREFIX 5 MAXEXPANSIONS 1000";
        assert_eq!(module_args(db1, "search"), want, "{v}");
        assert_eq!(db1["status"], "active", "applied at once, no action");
    }
}

#[tokio::test]
async fn config_route_errors_carry_the_documented_codes() {
    let c = Sim::start(SimVersion::V7_8).await;
    let bad = [
        (json!([1]), 400, "invalid_schema"),
        (json!({}), 400, "missing_field"),
        (
            json!({"modules": [{"module_args": ""}]}),
            400,
            "missing_field",
        ),
        (config("search", "A <1>"), 400, "param_error"),
        (config("timeseries", "A 1"), 400, "module_not_exist"),
    ];
    for (body, status, code) in bad {
        refused(&c, POST, CONFIG_OLD, body, status, code).await;
    }
    let not_string = json!({"modules": [{"module_name": "search", "module_args": 1}]});
    refused(&c, POST, CONFIG_NEW, not_string, 400, "param_error").await;
    let path = "/v1/modules/config/bdb/77";
    let any = config("search", "A 1");
    refused(&c, POST, path, any, 404, "db_not_exist").await;
    let rejson = config("ReJSON", "A 1");
    let code = "unsupported_module_config";
    let body = refused(&c, POST, CONFIG_NEW, rejson, 406, code).await;
    let text = "Module does not support runtime configuration of arguments";
    assert_eq!(body["description"], text);
    let r = post_json(c.addr, CONFIG_OLD, &viewer(), &config("search", "A 1")).await;
    assert_rs_error(&r, 403, "insufficient_permissions");
    let seeded = seed::seed(SimVersion::V7_8).to_json();
    assert_eq!(state(&c).await["bdbs"], seeded["bdbs"]);
}

#[tokio::test]
async fn extended_objects_appear_from_8_0_and_the_old_routes_map_into_search() {
    let on_8_0 = SimConfig {
        version: SimVersion::V8_0,
        state: Some(seed::seed_with_redis8(SimVersion::V8_0)),
        action_duration: ACTION,
    };
    for c in [Sim::with(on_8_0).await, Sim::start(SimVersion::V8_2).await] {
        let ext = c.get("/v1/bdbs/5?extended=true").await.json();
        assert_eq!(ext["search"]["search-max-prefix-expansions"], 200);
        assert_eq!(ext["timeseries"]["ts-retention-policy"], 0);
        assert_eq!(ext["probabilistic"]["cf-max-expansions"], 32);
        let args = "MINPREFIX 3 MAXPREFIXEXPANSIONS 300 TIMEOUT 1000";
        ok(&c
            .post("/v1/bdbs/5/modules/config", config("search", args))
            .await);
        let ext = c.get("/v1/bdbs/5?extended=true").await.json();
        let want = json!({"search-min-prefix": 3, "search-max-prefix-expansions": 300,
                          "search-timeout": 1000, "search-workers": 0});
        assert_eq!(ext["search"], want, "{}", c.version());
        assert_eq!(module_args(&ext, "search"), args);
        assert_eq!(
            c.bdb(5).await.get("search"),
            None,
            "only with extended=true"
        );
        let redis_7 = c.get("/v1/bdbs/1?extended=true").await.json();
        assert_eq!(redis_7.get("search"), None);
    }
    for v in [SimVersion::V7_4, SimVersion::V7_22] {
        let c = Sim::start(v).await;
        let all = c.get("/v1/bdbs?extended=true").await.json();
        let none = each(&all, |b| &b["search"]).iter().all(Value::is_null);
        assert!(none, "{v}");
    }
}

#[tokio::test]
async fn put_module_list_ends_where_the_old_route_ends() {
    for v in [SimVersion::V7_8, SimVersion::V8_0] {
        let old = Sim::start(v).await;
        ok(&old.post(CONFIG_OLD, config("search", "MINPREFIX 3")).await);
        let new = Sim::start(v).await;
        let args = "PARTITIONS AUTO MINPREFIX 3";
        let list = json!({"module_list": [{"module_name": "search", "module_args": args}]});
        let reply = ok(&put(&new, "/v1/bdbs/1", &list).await);
        assert_eq!(reply["status"], "active-change-pending");
        let action = reply["action_uid"].as_str().expect("action_uid");
        assert_eq!(new.wait_action(action).await["status"], "completed");
        let (a, b) = (state(&old).await, state(&new).await);
        assert_eq!(
            a["bdbs"][0]["module_list"], b["bdbs"][0]["module_list"],
            "{v}"
        );
        assert_eq!(b["bdbs"][0]["status"], "active");
    }
}

#[tokio::test]
async fn put_module_list_switch_and_the_8x_objects() {
    let c = Sim::start(SimVersion::V8_2).await;
    switch(&c, json!({"put_module_list": "406"})).await;
    let list = json!({"module_list": [{"module_name": "search", "module_args": "MINPREFIX 3"}]});
    refused(&c, PUT, "/v1/bdbs/1", list, 406, "module_list_read_only").await;
    let timeout = json!({"search": {"search-timeout": 900}});
    let reply = ok(&put(&c, "/v1/bdbs/5", &timeout).await);
    c.wait_action(reply["action_uid"].as_str().expect("action"))
        .await;
    let search = &c.get("/v1/bdbs/5?extended=true").await.json()["search"];
    assert_eq!(
        (&search["search-timeout"], &search["search-min-prefix"]),
        (&json!(900), &json!(2))
    );
    let r = call_as(&c, &viewer(), PUT, "/v1/bdbs/5", &json!({})).await;
    assert_rs_error(&r, 403, "insufficient_permissions");
    let c = Sim::start(SimVersion::V7_22).await;
    refused(&c, PUT, "/v1/bdbs/1", timeout, 400, "invalid_request").await;
}
