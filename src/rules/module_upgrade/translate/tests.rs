//! Tests of resolution, pre-validation and the pinned body, against one sample database and
//! catalog; plus the property that no body makes parsing or planning panic or answer non-4xx.

use super::*;
use crate::rules::module_upgrade::legacy::parse_legacy_body;
use http::StatusCode;
use proptest::prelude::*;
use serde_json::json;

const JSON_OLD: &str = "json-2.6.17";
const JSON_NEW: &str = "json-2.8.4";
const SEARCH_OLD: &str = "search-2.8.4";

fn module(uid: &str, name: &str, semver: &str, version: u64, caps: &[&str]) -> Module {
    Module {
        uid: uid.into(),
        module_name: name.into(),
        semantic_version: semver.into(),
        version: Some(version),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    }
}

fn catalog() -> Vec<Module> {
    let caps = ["replica_of", "flash"];
    let more = ["replica_of", "flash", "eviction"];
    vec![
        module(JSON_OLD, "ReJSON", "2.6.17", 20617, &caps),
        Module {
            min_redis_version: Some("6.0".into()),
            ..module(JSON_NEW, "ReJSON", "2.8.4", 20804, &more)
        },
        module("json-2.4.13", "ReJSON", "2.4.13", 20413, &caps),
        Module {
            min_redis_version: Some("7.4".into()),
            ..module("json-needs-7.4", "ReJSON", "2.9.0", 20900, &more)
        },
        Module {
            compatible_redis_version: Some("7.4".into()),
            ..module("json-bundled-7.4", "ReJSON", "2.10.0", 21000, &more)
        },
        Module {
            min_redis_pack_version: Some("7.8.2".into()),
            ..module("json-pack-7.8", "ReJSON", "2.10.1", 21001, &more)
        },
        module("json-nocaps", "ReJSON", "2.10.2", 21002, &["replica_of"]),
        module(SEARCH_OLD, "search", "2.8.4", 20804, &[]),
        module("search-2.10.5", "search", "2.10.5", 21005, &[]),
        module("timeseries-1.12", "timeseries", "1.12.0", 11200, &[]),
    ]
}

fn bdb() -> Bdb {
    Bdb {
        uid: 1,
        name: "orders-db".into(),
        status: Some("active".into()),
        action_uid: None,
        redis_version: Some("7.2".into()),
        version: Some("7.2.4".into()),
        module_list: vec![
            BdbModule {
                module_id: JSON_OLD.into(),
                module_name: "ReJSON".into(),
                module_args: "MAX_DEPTH 64".into(),
                semantic_version: "2.6.17".into(),
            },
            BdbModule {
                module_id: SEARCH_OLD.into(),
                module_name: "search".into(),
                module_args: String::new(),
                semantic_version: "2.8.4".into(),
            },
        ],
    }
}

fn request(body: Value) -> LegacyRequest {
    parse_legacy_body(body.to_string().as_bytes()).unwrap()
}

fn plan_with(body: Value, mode: Prevalidate) -> Result<Plan, ApiError> {
    plan(&request(body), &bdb(), &catalog(), None, mode)
}

fn refused(body: Value, mode: Prevalidate) -> ApiError {
    plan_with(body, mode).unwrap_err()
}

fn flat(new_module: &str) -> Value {
    json!({"current_module": JSON_OLD, "new_module": new_module})
}

#[test]
fn deprecated_call_pins_redis_version() {
    let plan = plan_with(flat(JSON_NEW), Prevalidate::Enforce).unwrap();
    assert_eq!(
        plan.body,
        json!({
            "redis_version": "7.2",
            "latest_with_modules": false,
            "modules": [{"current_module": JSON_OLD, "new_module": JSON_NEW,
                         "new_module_args": "MAX_DEPTH 64"}]
        })
    );
    assert!(plan.warnings.is_empty());
    assert_eq!(
        plan.modules,
        [PlannedModule {
            current_module_id: JSON_OLD.into(),
            current_module_name: "ReJSON".into(),
            from_version: "2.6.17".into(),
            new_module_id: JSON_NEW.into(),
            to_version: Some("2.8.4".into()),
            new_module_args: "MAX_DEPTH 64".into(),
        }]
    );
}

#[test]
fn caller_args_and_flags_are_carried_over() {
    let body = json!({
        "modules": [{"current_module": JSON_OLD, "new_module": JSON_NEW, "new_module_args": ""}],
        "preserve_roles": true, "may_discard_data": false, "force_restart": true
    });
    let plan = plan_with(body, Prevalidate::Enforce).unwrap();
    assert_eq!(
        plan.body,
        json!({
            "redis_version": "7.2", "latest_with_modules": false,
            "modules": [{"current_module": JSON_OLD, "new_module": JSON_NEW,
                         "new_module_args": ""}],
            "preserve_roles": true, "may_discard_data": false, "force_restart": true
        })
    );
}

#[test]
fn resolves_by_module_name_case_insensitively() {
    let body = json!({"modules": [{"module_name": "ReJson", "current_semantic_version": "2.2.1",
                                   "new_module": JSON_NEW}]});
    let plan = plan_with(body, Prevalidate::Enforce).unwrap();
    assert_eq!(plan.modules[0].current_module_id, JSON_OLD);
    assert_eq!(plan.body["modules"][0]["current_module"], JSON_OLD);
}

#[test]
fn resolves_by_the_new_modules_catalog_name() {
    let plan = plan_with(json!({"new_module": "search-2.10.5"}), Prevalidate::Enforce).unwrap();
    assert_eq!(plan.modules[0].current_module_id, SEARCH_OLD);
    assert_eq!(plan.modules[0].from_version, "2.8.4");
    assert_eq!(plan.body["modules"][0]["new_module_args"], "");
}

#[test]
fn stale_current_uid_falls_through_to_the_name() {
    let body = json!({"current_module": "gone", "module_name": "rejson", "new_module": JSON_NEW});
    let plan = plan_with(body, Prevalidate::Enforce).unwrap();
    assert_eq!(plan.modules[0].current_module_id, JSON_OLD);
}

#[test]
fn current_module_of_another_name_is_missing_module_in_every_mode() {
    for mode in [Prevalidate::Enforce, Prevalidate::Warn, Prevalidate::Off] {
        let err = refused(flat("search-2.10.5"), mode);
        assert_eq!(err.error_code, "missing_module");
        assert!(err.text.contains("version of itself"), "{}", err.text);
        let by_name = json!({"module_name": "search", "new_module": JSON_NEW});
        assert_eq!(refused(by_name, mode).error_code, "missing_module");
    }
}

#[test]
fn unknown_new_module_is_missing_module() {
    let err = refused(flat("nope"), Prevalidate::Enforce);
    assert_eq!(err.status, StatusCode::BAD_REQUEST);
    assert_eq!(err.error_code, "missing_module");
    assert!(err.text.contains("nope"), "{}", err.text);
}

#[test]
fn unknown_new_module_is_a_warning_in_warn_mode_and_ignored_when_off() {
    let plan = plan_with(flat("nope"), Prevalidate::Warn).unwrap();
    assert_eq!(plan.warnings.len(), 1);
    assert_eq!(plan.warnings[0].error_code, "missing_module");
    assert_eq!(plan.modules[0].to_version, None);
    assert_eq!(plan.body["modules"][0]["new_module"], "nope");
    let plan = plan_with(flat("nope"), Prevalidate::Off).unwrap();
    assert!(plan.warnings.is_empty());
    assert_eq!(plan.body["modules"][0]["current_module"], JSON_OLD);
}

#[test]
fn module_not_enabled_on_the_database_is_missing_module_in_every_mode() {
    for mode in [Prevalidate::Enforce, Prevalidate::Warn, Prevalidate::Off] {
        let err = refused(json!({"new_module": "timeseries-1.12"}), mode);
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.error_code, "missing_module");
        assert!(err.text.contains("\"timeseries\""), "{}", err.text);
        let err = refused(json!({"new_module": "nope"}), mode);
        assert_eq!(err.error_code, "missing_module");
    }
}

fn assert_406(new_module: &str, code: &str, text: &str) {
    let err = refused(flat(new_module), Prevalidate::Enforce);
    assert_eq!(err.status, StatusCode::NOT_ACCEPTABLE, "{err}");
    assert_eq!(err.error_code, code, "{err}");
    assert!(err.text.contains(text), "{:?} lacks {text:?}", err.text);
}

#[test]
fn older_module_is_module_downgrade_unsupported() {
    assert_406("json-2.4.13", "module_downgrade_unsupported", "2.4.13");
}

#[test]
fn downgrade_falls_back_to_semantic_versions_when_the_current_is_not_in_the_catalog() {
    let mut catalog = catalog();
    catalog.retain(|m| m.uid != JSON_OLD);
    let req = request(flat("json-2.4.13"));
    let err = plan(&req, &bdb(), &catalog, None, Prevalidate::Enforce).unwrap_err();
    assert_eq!(err.error_code, "module_downgrade_unsupported");
    let req = request(flat(JSON_NEW));
    assert!(plan(&req, &bdb(), &catalog, None, Prevalidate::Enforce).is_ok());
}

#[test]
fn min_redis_version_above_the_database_is_redis_incompatible_version() {
    assert_406("json-needs-7.4", "redis_incompatible_version", "7.2.4");
}

#[test]
fn min_redis_version_is_not_checked_on_databases_from_7_4() {
    let mut bdb = bdb();
    bdb.version = Some("7.4.0".into());
    bdb.redis_version = Some("7.4".into());
    let mut catalog = catalog();
    catalog[3].min_redis_version = Some("8.0".into());
    let req = request(flat("json-needs-7.4"));
    let plan = plan(&req, &bdb, &catalog, None, Prevalidate::Enforce).unwrap();
    assert_eq!(plan.body["redis_version"], "7.4");
}

#[test]
fn compatible_redis_version_must_equal_the_database_redis_version() {
    assert_406(
        "json-bundled-7.4",
        "redis_incompatible_version",
        "Redis 7.4",
    );
    let mut bdb = bdb();
    bdb.redis_version = Some("7.4".into());
    bdb.version = Some("7.4.2".into());
    let req = request(flat("json-bundled-7.4"));
    assert!(plan(&req, &bdb, &catalog(), None, Prevalidate::Enforce).is_ok());
}

#[test]
fn min_redis_pack_version_above_the_lowest_node_is_redis_pack_incompatible_version() {
    let req = request(flat("json-pack-7.8"));
    assert!(needs_nodes(&req, &catalog()));
    let nodes = |versions: &[&str]| -> Vec<Node> {
        let node = |(i, v): (usize, &&str)| Node {
            uid: i as u64 + 1,
            software_version: Some(v.to_string()),
        };
        versions.iter().enumerate().map(node).collect()
    };
    let mixed = nodes(&["7.8.2-34", "7.4.2-54", "7.8.4-1"]);
    let err = plan(&req, &bdb(), &catalog(), Some(&mixed), Prevalidate::Enforce).unwrap_err();
    assert_eq!(err.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(err.error_code, "redis_pack_incompatible_version");
    assert!(err.text.contains("7.4.2-54"), "{}", err.text);
    let current = nodes(&["7.8.2-34", "7.10.0-1"]);
    assert!(plan(
        &req,
        &bdb(),
        &catalog(),
        Some(&current),
        Prevalidate::Enforce
    )
    .is_ok());
    assert!(plan(&req, &bdb(), &catalog(), None, Prevalidate::Enforce).is_ok());
}

#[test]
fn nodes_are_needed_only_for_modules_with_a_pack_minimum() {
    assert!(!needs_nodes(&request(flat(JSON_NEW)), &catalog()));
    assert!(!needs_nodes(&request(flat("nope")), &catalog()));
    let both = json!({"modules": [{"new_module": JSON_NEW}, {"new_module": "json-pack-7.8"}]});
    assert!(needs_nodes(&request(both), &catalog()));
}

#[test]
fn lost_capability_is_unsupported_module_capabilities() {
    assert_406("json-nocaps", "unsupported_module_capabilities", "flash");
}

#[test]
fn first_failing_check_wins() {
    let mut catalog = catalog();
    // Older *and* short of capabilities: the downgrade comes first in the table.
    catalog[2].capabilities.clear();
    let req = request(flat("json-2.4.13"));
    let err = plan(&req, &bdb(), &catalog, None, Prevalidate::Enforce).unwrap_err();
    assert_eq!(err.error_code, "module_downgrade_unsupported");
    let plan = plan(&req, &bdb(), &catalog, None, Prevalidate::Warn).unwrap();
    let codes: Vec<&str> = plan
        .warnings
        .iter()
        .map(|w| w.error_code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "module_downgrade_unsupported",
            "unsupported_module_capabilities"
        ]
    );
}

#[test]
fn warn_mode_sends_anyway_and_off_mode_does_not_check() {
    for id in [
        "json-2.4.13",
        "json-needs-7.4",
        "json-bundled-7.4",
        "json-nocaps",
    ] {
        let warned = plan_with(flat(id), Prevalidate::Warn).unwrap();
        assert_eq!(warned.warnings.len(), 1, "{id}");
        assert_eq!(warned.warnings[0].status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(warned.body["modules"][0]["new_module"], id);
        let off = plan_with(flat(id), Prevalidate::Off).unwrap();
        assert!(off.warnings.is_empty(), "{id}");
        assert_eq!(off.body, warned.body);
    }
}

#[test]
fn several_modules_are_planned_in_order_and_errors_name_the_entry() {
    let body = json!({"modules": [{"new_module": JSON_NEW}, {"new_module": "search-2.10.5"}]});
    let plan = plan_with(body, Prevalidate::Enforce).unwrap();
    let currents: Vec<&str> = plan
        .modules
        .iter()
        .map(|m| m.current_module_id.as_str())
        .collect();
    assert_eq!(currents, [JSON_OLD, SEARCH_OLD]);
    assert_eq!(plan.body["modules"].as_array().map(Vec::len), Some(2));
    let body = json!({"modules": [{"new_module": JSON_NEW}, {"new_module": "json-nocaps"}]});
    let err = refused(body, Prevalidate::Enforce);
    assert!(err.text.starts_with("modules[1]: "), "{}", err.text);
}

#[test]
fn two_entries_for_the_same_module_are_invalid_request() {
    let body = json!({"modules": [{"new_module": JSON_NEW},
                                  {"module_name": "REJSON", "new_module": "json-nocaps"}]});
    let err = refused(body, Prevalidate::Off);
    assert_eq!(err.status, StatusCode::BAD_REQUEST);
    assert_eq!(err.error_code, "invalid_request");
    assert!(err.text.contains(JSON_OLD), "{}", err.text);
}

#[test]
fn database_without_redis_version_is_never_upgraded_unpinned() {
    for version in [None, Some(String::new())] {
        let bdb = Bdb {
            redis_version: version,
            ..bdb()
        };
        let req = request(flat(JSON_NEW));
        let err = plan(&req, &bdb, &catalog(), None, Prevalidate::Off).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_GATEWAY);
        assert_eq!(err.error_code, "upstream_invalid_reply");
    }
}

/// JSON values of any shape, with the legacy keys and the sample uids over-represented so a fair
/// share of bodies get past parsing into `plan`.
fn arb_json() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        JSON_OLD,
        JSON_NEW,
        SEARCH_OLD,
        "json-nocaps",
        "ReJson",
        "search",
        "",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        words.prop_map(Value::from),
    ];
    let keys = prop_oneof![
        prop::sample::select(vec![
            "modules",
            "new_module",
            "current_module",
            "module_name",
            "new_module_args",
            "current_semantic_version",
            "preserve_roles",
            "may_discard_data",
            "force_restart",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A legacy entry whose fields are mostly plausible (sample uids and names), sometimes anything.
fn arb_entry() -> impl Strategy<Value = Value> {
    let plausible = prop::sample::select(vec![
        JSON_OLD,
        JSON_NEW,
        SEARCH_OLD,
        "search-2.10.5",
        "json-2.4.13",
        "json-nocaps",
        "json-pack-7.8",
        "timeseries-1.12",
        "ReJson",
        "SEARCH",
        "nope",
    ])
    .prop_map(Value::from);
    let field = prop_oneof![4 => plausible, 1 => Just(Value::Null), 1 => arb_json()];
    let keys = prop::sample::select(vec![
        "current_module",
        "module_name",
        "new_module_args",
        "current_semantic_version",
    ]);
    (
        field.clone(),
        prop::collection::btree_map(keys, field, 0..3),
    )
        .prop_map(|(new_module, rest)| {
            let mut entry: Map<String, Value> =
                rest.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            entry.insert("new_module".into(), new_module);
            Value::Object(entry)
        })
}

fn check_body(body: &[u8]) -> Result<(), TestCaseError> {
    let outcome = parse_legacy_body(body).and_then(|req| {
        let planned = plan(&req, &bdb(), &catalog(), None, Prevalidate::Enforce)?;
        Ok((req, planned))
    });
    match outcome {
        Ok((req, planned)) => {
            prop_assert_eq!(&planned.body["redis_version"], "7.2");
            prop_assert_eq!(&planned.body["latest_with_modules"], false);
            let sent = planned.body["modules"].as_array().map_or(0, Vec::len);
            prop_assert_eq!(sent, req.entries.len());
        }
        Err(e) => {
            prop_assert!(e.status.is_client_error(), "{}", e);
            let v = e.body_json();
            for key in ["error_code", "description", "message"] {
                let text = v[key].as_str().unwrap_or_default();
                prop_assert!(!text.is_empty(), "{} empty in {}", key, v);
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_fail_as_rs_shaped_4xx(
        body in prop::collection::vec(any::<u8>(), 0..256)
    ) {
        check_body(&body)?;
    }

    #[test]
    fn arbitrary_json_never_panics_and_fails_as_rs_shaped_4xx(value in arb_json()) {
        check_body(value.to_string().as_bytes())?;
    }

    #[test]
    fn near_valid_bodies_never_panic_and_fail_as_rs_shaped_4xx(
        entries in prop::collection::vec(arb_entry(), 1..3),
        flag in prop_oneof![4 => any::<bool>().prop_map(Value::from), 1 => arb_json()],
    ) {
        let body = json!({"modules": entries, "preserve_roles": flag});
        check_body(body.to_string().as_bytes())?;
    }
}
