//! Properties of the old route through a real shim (one shim and one simulated 8.0 cluster for
//! the whole run): any JSON value and any byte string as the body is answered — the process never
//! falls over — with a 4xx in the RS error shape, marked deprecated, and the cluster is never
//! asked to upgrade.

mod support;

use deprecation_shim::sim::SimVersion;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::sync::OnceLock;
use std::time::Duration;
use support::harness::{Shim, Sim};
use support::legacy::{admin, assert_deprecated, assert_rs_error_shape, old_route, upgrade_posts};
use support::send;

/// The shared servers and the runtime they run on.
struct Env {
    runtime: tokio::runtime::Runtime,
    shim: Shim,
    sim: Sim,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (shim, sim) = runtime.block_on(async {
            let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
            let upstream = sim.addr;
            (Shim::in_front_of(upstream, "").await, sim)
        });
        Env { runtime, shim, sim }
    })
}

/// Sends `body` on the old route and checks the property; the error text on failure.
fn check(body: Vec<u8>) -> Result<(), TestCaseError> {
    let env = env();
    let headers = [
        ("authorization", admin()),
        ("content-type", "application/json".to_owned()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = env.runtime.block_on(send(
        env.shim.addr,
        http::Method::POST,
        &old_route(1),
        &headers,
        body,
    ));
    prop_assert!(reply.status.is_client_error(), "status {}", reply.status);
    let json: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {:?}", reply.body)))?;
    assert_rs_error_shape(&json);
    assert_deprecated(&reply, 1);
    prop_assert!(upgrade_posts(&env.sim).is_empty(), "an upgrade was sent");
    Ok(())
}

/// Object keys: mostly the old body's own field names, so generated values reach deep into the
/// parser and the look-ups instead of stopping at "new_module is required".
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "modules", "new_module", "current_module", "module_name",
            "current_semantic_version", "new_module_args", "preserve_roles",
            "may_discard_data", "force_restart",
        ])
        .prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Bodies of the old route's own shape (A–D) whose every entry must fail: an unknown uid, a
/// downgrade, a Redis or capability misfit, a module the database lacks, or a current module of
/// another name. They get past parsing into the look-ups and pre-validation, and still may not
/// reach the cluster's upgrade route.
fn legacy_body() -> impl Strategy<Value = Value> {
    use deprecation_shim::sim::seed::*;
    let doomed = prop::sample::select(vec![
        UNKNOWN_MODULE_UID,
        REJSON_2_4_7,
        REJSON_2_8_4,
        SEARCH_2_8_15_NO_CRDB,
        TIMESERIES_1_12_2,
    ]);
    let clue = prop::option::of(prop::sample::select(vec![
        REJSON_2_6_6,
        SEARCH_2_8_4,
        "gone",
    ]));
    let name = prop::option::of(prop::sample::select(vec![
        "ReJSON", "rejson", "search", "bf",
    ]));
    let args = prop::option::of(prop_oneof![
        4 => ".{0,20}".prop_map(Value::String),
        1 => json_value(),
    ]);
    let entry = (doomed, clue, name, args, prop::option::of(json_value())).prop_map(
        |(new, current, name, args, extra)| {
            let mut e = Map::new();
            e.insert("new_module".into(), new.into());
            current.map(|c| e.insert("current_module".into(), c.into()));
            name.map(|n| e.insert("module_name".into(), n.into()));
            args.map(|a| e.insert("new_module_args".into(), a));
            extra.map(|x| e.insert("extra".into(), x));
            e
        },
    );
    let flag = prop::option::of(prop_oneof![
        6 => any::<bool>().prop_map(Value::Bool),
        1 => json_value(),
    ]);
    (
        prop::collection::vec(entry, 1..4),
        any::<bool>(),
        flag.clone(),
        flag,
    )
        .prop_map(|(mut entries, flat, preserve_roles, force_restart)| {
            let mut body = if flat {
                entries.swap_remove(0)
            } else {
                let list = entries.into_iter().map(Value::Object).collect();
                Map::from_iter([("modules".to_owned(), Value::Array(list))])
            };
            preserve_roles.map(|v| body.insert("preserve_roles".into(), v));
            force_restart.map(|v| body.insert("force_restart".into(), v));
            Value::Object(body)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_json_body_is_an_rs_shaped_4xx(value in prop_oneof![json_value(), legacy_body()]) {
        check(serde_json::to_vec(&value).expect("serialise"))?;
    }

    #[test]
    fn any_bytes_body_is_an_rs_shaped_4xx(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(bytes)?;
    }
}
