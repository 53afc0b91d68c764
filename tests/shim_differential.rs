//! Differential test: each legacy request of [`CASES`] is sent (a) to a fresh simulated 7.4
//! cluster on its native old route and (b) through the shim to a fresh simulated 8.0 cluster,
//! both starting from the same state (the 7.4 seed, nodes included). The replies (status,
//! `error_code`, and the old reply's `uid`, `name`, `module_id`, `module_name`,
//! `semantic_version`, `module_args`) and the resulting databases (`module_list`,
//! `redis_version`, `version` of every database) must match.
//!
//! Differences allowed, and why:
//! - Error texts (`description`/`message`) and extra error fields (the 7.4 cluster names the
//!   offending `field` of an `invalid_request`; a failed call through the shim may carry an
//!   `action_uid`) are not compared: only `error_code` is part of the old contract.
//! - Headers: only replies through the shim carry `Deprecation` and `Link` (and `Sunset` when
//!   configured); the native 7.4 route sends none.
//! - Timing: the 7.4 route answers at once; the shim answers when the 8.0 upgrade action has
//!   finished, so the same final state is reached later.
//! - Cluster state outside the databases: the 8.0 cluster records the `SMUpgradeBDB` action the
//!   shim started (its `actions` list), the 7.4 cluster none; an accept-mode reply would also
//!   carry `action_uid` (not used here: this table runs in wait mode).
//! - A `current_module` uid that is not enabled on the database but whose entry also names the
//!   module (`module_name`): 7.4 answers 400 `missing_module`; the shim falls through to the
//!   name and upgrades (its documented resolution decision, `src/rules/module_upgrade/translate.rs`). Test
//!   `stale_current_module_uid_with_name` pins both answers.
//! - Order of refusals: 7.4 checks credentials and permission before it reads the body; the
//!   shim parses the body first (it learns about credentials only from the cluster). A malformed
//!   body with wrong credentials is 401 on 7.4 and 400 through the shim; with a read-only role
//!   403 on 7.4 and 400 through the shim. Well-formed bodies get 401/403 on both (table rows).
//!   Test `malformed_body_is_judged_before_credentials_by_the_shim` pins both answers.

mod support;

use deprecation_shim::sim::seed::*;
use deprecation_shim::sim::{SimConfig, SimVersion, Simulator};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::harness::{state_of, Sim};
use support::legacy::{admin, assert_rs_error_shape, old_route, viewer};
use support::{basic, send};

/// One legacy request, and what both sides must answer.
struct Case {
    name: &'static str,
    bdb: u64,
    body: Body,
    auth: Auth,
    /// The status and `error_code` (`None` for 200) both sides give.
    expect: (u16, Option<&'static str>),
}

enum Body {
    Json(fn() -> Value),
    Raw(&'static [u8]),
}

#[derive(Clone, Copy)]
enum Auth {
    Admin,
    Viewer,
    WrongPassword,
}

const fn ok(name: &'static str, bdb: u64, body: fn() -> Value) -> Case {
    Case {
        name,
        bdb,
        body: Body::Json(body),
        auth: Auth::Admin,
        expect: (200, None),
    }
}

const fn err(
    name: &'static str,
    bdb: u64,
    body: fn() -> Value,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        bdb,
        body: Body::Json(body),
        auth: Auth::Admin,
        expect: (status, Some(code)),
    }
}

const CASES: &[Case] = &[
    ok("shape_a_uid_and_empty_args", 1, || {
        json!({"modules": [{"current_module": REJSON_2_6_6, "new_module": REJSON_2_6_17,
                            "new_module_args": ""}],
               "preserve_roles": true, "may_discard_data": false})
    }),
    ok("shape_b_doc_example_by_name", 1, || {
        json!({"modules": [{"module_name": "ReJSON", "current_semantic_version": "2.6.6",
                            "new_module": REJSON_2_6_17}],
               "preserve_roles": true})
    }),
    ok(
        "shape_b_name_in_other_case",
        1,
        || json!({"modules": [{"module_name": "ReJson", "new_module": REJSON_2_6_17}]}),
    ),
    ok("shape_c_union_with_force_restart_and_args", 1, || {
        json!({"modules": [{"current_module": SEARCH_2_8_4, "module_name": "search",
                            "current_semantic_version": "2.8.4", "new_module": SEARCH_2_8_9,
                            "new_module_args": "PARTITIONS 4"}],
               "force_restart": true})
    }),
    ok(
        "shape_d_flat_args_kept",
        1,
        || json!({"current_module": SEARCH_2_8_4, "new_module": SEARCH_2_8_9}),
    ),
    ok(
        "new_module_only_found_by_its_name",
        1,
        || json!({"new_module": SEARCH_2_8_9}),
    ),
    ok("several_modules_reply_for_the_first", 1, || {
        json!({"modules": [{"module_name": "search", "new_module": SEARCH_2_8_9},
                           {"module_name": "ReJSON", "new_module": REJSON_2_6_17}]})
    }),
    ok("module_args_given_on_older_redis", 3, || {
        json!({"modules": [{"module_name": "timeseries", "new_module": TIMESERIES_1_8_15,
                            "new_module_args": "RETENTION_POLICY 1000"}]})
    }),
    ok(
        "module_args_kept_on_older_redis",
        3,
        || json!({"current_module": TIMESERIES_1_8_13, "new_module": TIMESERIES_1_8_15}),
    ),
    ok(
        "same_version_is_not_a_downgrade",
        1,
        || json!({"new_module": REJSON_2_6_6}),
    ),
    ok(
        "active_active_database",
        4,
        || json!({"new_module": REJSON_2_6_17}),
    ),
    err(
        "missing_module_not_in_catalog",
        1,
        || json!({"new_module": UNKNOWN_MODULE_UID}),
        400,
        "missing_module",
    ),
    err(
        "current_module_of_another_module",
        1,
        || json!({"modules": [{"current_module": REJSON_2_6_6, "new_module": SEARCH_2_8_9}]}),
        400,
        "missing_module",
    ),
    err(
        "missing_module_not_enabled",
        2,
        || json!({"new_module": REJSON_2_6_17}),
        400,
        "missing_module",
    ),
    err(
        "downgrade",
        1,
        || json!({"new_module": REJSON_2_4_7}),
        406,
        "module_downgrade_unsupported",
    ),
    err(
        "min_redis_version_above_database",
        3,
        || json!({"new_module": TIMESERIES_1_10_11}),
        406,
        "redis_incompatible_version",
    ),
    err(
        "compatible_redis_version_differs",
        1,
        || json!({"new_module": REJSON_2_8_4}),
        406,
        "redis_incompatible_version",
    ),
    err(
        "min_redis_pack_version_above_nodes",
        1,
        || json!({"new_module": SEARCH_2_8_21_NEEDS_7_8_6}),
        406,
        "redis_pack_incompatible_version",
    ),
    err(
        "capabilities_dropped",
        1,
        || json!({"new_module": SEARCH_2_8_15_NO_CRDB}),
        406,
        "unsupported_module_capabilities",
    ),
    err(
        "second_module_fails_nothing_changes",
        1,
        || json!({"modules": [{"new_module": SEARCH_2_8_9}, {"new_module": REJSON_2_4_7}]}),
        406,
        "module_downgrade_unsupported",
    ),
    err(
        "unknown_database",
        99,
        || json!({"new_module": REJSON_2_6_17}),
        404,
        "bdb_not_found",
    ),
    err(
        "empty_modules_list",
        1,
        || json!({"modules": []}),
        400,
        "invalid_request",
    ),
    err(
        "new_module_not_a_string",
        1,
        || json!({"modules": [{"new_module": 5}]}),
        400,
        "invalid_request",
    ),
    Case {
        name: "syntax_error",
        bdb: 1,
        body: Body::Raw(b"{\"new_module\": "),
        auth: Auth::Admin,
        expect: (400, Some("invalid_json")),
    },
    Case {
        name: "viewer_may_not_upgrade",
        bdb: 1,
        body: Body::Json(|| json!({"new_module": REJSON_2_6_17})),
        auth: Auth::Viewer,
        expect: (403, Some("insufficient_permissions")),
    },
    Case {
        name: "wrong_password",
        bdb: 1,
        body: Body::Json(|| json!({"new_module": REJSON_2_6_17})),
        auth: Auth::WrongPassword,
        expect: (401, Some("unauthorized")),
    },
];

/// What one side answered and became.
#[derive(Debug, PartialEq)]
struct Outcome {
    status: u16,
    error_code: Option<String>,
    /// The old reply's fields (200 only).
    reply: Option<Value>,
    /// `module_list`, `redis_version`, `version` of every database.
    databases: Value,
}

const REPLY_FIELDS: &[&str] = &[
    "uid",
    "name",
    "module_id",
    "module_name",
    "semantic_version",
    "module_args",
];

#[tokio::test]
async fn old_route_on_7_4_and_shim_on_8_0_agree() {
    assert!(CASES.len() >= 15);
    let mut differences = Vec::new();
    for case in CASES {
        let native = native_7_4(case).await;
        let shimmed = through_shim_8_0(case).await;
        let expected = (case.expect.0, case.expect.1.map(str::to_owned));
        assert_eq!(
            (native.status, native.error_code.clone()),
            expected,
            "{}: 7.4 itself",
            case.name
        );
        if native != shimmed {
            differences.push(format!(
                "{}:\n  7.4:  {native:?}\n  shim: {shimmed:?}",
                case.name
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// R12 (API-CATALOGUE §2.3, issue 22): the sibling `POST /v1/bdbs/{uid}/modules/upgrade` is
/// translated on 8.0 exactly as the seed route is, so the same table holds for it: native on
/// 7.4 vs through the shim on 8.0 (where the cluster answers it 404, the contract's default).
/// The 8.0 cluster starts from the 7.4 seed, whose nodes still say 7.4.6 (the table's
/// `min_redis_pack_version` rows need them), so the shim is told the release
/// (`rules.rs_version`), as an operator pins it.
#[tokio::test]
async fn sibling_route_on_7_4_and_shim_on_8_0_agree() {
    let mut differences = Vec::new();
    for case in CASES {
        let native = native_7_4_at(case, sibling_route).await;
        let shimmed = through_shim_8_0_at(case, sibling_route, SIBLING_TOML).await;
        if native != shimmed {
            differences.push(format!(
                "{}:\n  7.4:  {native:?}\n  shim: {shimmed:?}",
                case.name
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Issue 21: the whole table again (seed route and sibling) with the shim in front of three
/// nodes, a follower first in `upstream.nodes`.
#[test]
fn the_table_holds_with_a_follower_first() {
    support::topology::with_follower_first(|| {
        old_route_on_7_4_and_shim_on_8_0_agree();
        sibling_route_on_7_4_and_shim_on_8_0_agree();
        stale_current_module_uid_with_name();
        malformed_body_is_judged_before_credentials_by_the_shim();
    });
}

const SIBLING_TOML: &str = "[rules]\nrs_version = \"8.0.20-68\"";

fn sibling_route(uid: u64) -> String {
    format!("/v1/bdbs/{uid}/modules/upgrade")
}

#[tokio::test]
async fn stale_current_module_uid_with_name() {
    let case = ok("stale_current_module_uid_with_name", 1, || {
        json!({"modules": [{"current_module": REJSON_2_6_17, "module_name": "ReJSON",
                            "new_module": REJSON_2_6_17}]})
    });
    let native = native_7_4(&case).await;
    assert_eq!(
        (native.status, native.error_code.as_deref()),
        (400, Some("missing_module"))
    );
    let shimmed = through_shim_8_0(&case).await;
    assert_eq!((shimmed.status, shimmed.error_code.as_deref()), (200, None));
    assert_eq!(
        shimmed.reply.as_ref().map(|r| r["module_id"].clone()),
        Some(json!(REJSON_2_6_17))
    );
}

#[tokio::test]
async fn malformed_body_is_judged_before_credentials_by_the_shim() {
    for (auth, native_answer) in [
        (Auth::WrongPassword, (401, "unauthorized")),
        (Auth::Viewer, (403, "insufficient_permissions")),
    ] {
        let case = Case {
            name: "malformed_body_and_no_right",
            bdb: 1,
            body: Body::Raw(b"{"),
            auth,
            expect: (400, Some("invalid_json")),
        };
        let native = native_7_4(&case).await;
        assert_eq!(
            (native.status, native.error_code.as_deref()),
            (native_answer.0, Some(native_answer.1))
        );
        let shimmed = through_shim_8_0(&case).await;
        assert_eq!(
            (shimmed.status, shimmed.error_code.as_deref()),
            (400, Some("invalid_json"))
        );
    }
}

const QUICK: Duration = Duration::from_millis(60);

async fn native_7_4(case: &Case) -> Outcome {
    native_7_4_at(case, old_route).await
}

async fn native_7_4_at(case: &Case, route: fn(u64) -> String) -> Outcome {
    let sim = Sim::timed(SimVersion::V7_4, QUICK).await;
    let addr = sim.addr;
    outcome(case, addr, &sim, route).await
}

async fn through_shim_8_0(case: &Case) -> Outcome {
    through_shim_8_0_at(case, old_route, "").await
}

async fn through_shim_8_0_at(case: &Case, route: fn(u64) -> String, toml: &str) -> Outcome {
    let seed_7_4 = Simulator::new(SimConfig {
        version: SimVersion::V7_4,
        ..SimConfig::default()
    })
    .snapshot();
    let cfg = SimConfig {
        version: SimVersion::V8_0,
        state: Some(state_of(seed_7_4)),
        action_duration: QUICK,
    };
    let (sim, shim) = support::topology::front_of(cfg, toml).await;
    outcome(case, shim.addr, &sim, route).await
}

async fn outcome(
    case: &Case,
    addr: SocketAddr,
    sim: &Simulator,
    route: fn(u64) -> String,
) -> Outcome {
    let auth = match case.auth {
        Auth::Admin => admin(),
        Auth::Viewer => viewer(),
        Auth::WrongPassword => basic(deprecation_shim::sim::DEMO_ADMIN.0, "nope"),
    };
    let body = match &case.body {
        Body::Json(make) => make().to_string().into_bytes(),
        Body::Raw(raw) => raw.to_vec(),
    };
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let reply = send(addr, http::Method::POST, &route(case.bdb), &headers, body).await;
    let json = reply.json();
    let status = reply.status.as_u16();
    let (error_code, fields) = if status == 200 {
        let fields = REPLY_FIELDS
            .iter()
            .map(|k| (k.to_string(), json[*k].clone()))
            .collect();
        (None, Some(Value::Object(fields)))
    } else {
        assert_rs_error_shape(&json);
        (json["error_code"].as_str().map(str::to_owned), None)
    };
    let databases = sim.snapshot()["bdbs"]
        .as_array()
        .expect("bdbs")
        .iter()
        .map(|b| {
            json!({"uid": b["uid"], "module_list": b["module_list"],
                        "redis_version": b["redis_version"], "version": b["version"]})
        })
        .collect();
    Outcome {
        status,
        error_code,
        reply: fields,
        databases,
    }
}
