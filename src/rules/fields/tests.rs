use super::builtin::builtin;
use super::verdict::{verdict, Verdict};
use super::*;
use crate::rules::version::{V7_22_0, V7_2_0, V8_0_0, V8_2_0};
use serde_json::json;

fn table() -> FieldTable {
    FieldTable::new(builtin().expect("the built-in field rules build"))
}

fn with_mode(name: &str, mode: Mode) -> FieldTable {
    let mut rules = builtin().unwrap();
    for r in rules.iter_mut().filter(|r| r.name == name) {
        r.mode = mode;
    }
    FieldTable::new(rules)
}

fn run(
    t: &FieldTable,
    method: Method,
    path: &str,
    body: Value,
    v: Option<Version>,
) -> (Value, Inspection) {
    let mut body = body;
    let out = inspect(t, &method, path, &mut body, v);
    (body, out)
}

#[test]
fn f5_renames_use_ipv6_on_8_2_and_observes_below_the_gate() {
    let t = table();
    let (body, out) = run(
        &t,
        Method::PUT,
        "/v1/cluster",
        json!({"use_ipv6": false, "name": "c"}),
        Some(V8_2_0),
    );
    assert_eq!(body, json!({"use_external_ipv6": false, "name": "c"}));
    assert!(out.changed);
    assert_eq!(out.hits[0].action, "renamed");
    assert_eq!(out.hits[0].value, Some(json!(false)));
    let (body, out) = run(
        &t,
        Method::PUT,
        "/v1/cluster",
        json!({"use_ipv6": false}),
        Some(V8_0_0),
    );
    assert_eq!(body, json!({"use_ipv6": false}));
    assert_eq!(
        (out.hits[0].action, out.hits[0].why),
        ("observed", Some("below_gate"))
    );
    let (_, out) = run(
        &t,
        Method::PUT,
        "/v1/cluster",
        json!({"use_ipv6": true}),
        None,
    );
    assert_eq!(out.hits[0].why, Some("version_unknown"));
    assert!(!out.changed);
}

#[test]
fn f6_rename_follows_the_contracts_table_of_both_keys() {
    let t = table();
    let v = Some(V7_22_0);
    let put = |b| run(&t, Method::PUT, "/v1/cluster", b, v);
    let (b, o) = put(json!({"sentinel_ssl_policy": "required"}));
    assert_eq!(
        (b, o.hits[0].action),
        (json!({"sentinel_tls_mode": "required"}), "renamed")
    );
    let (b, o) = put(json!({"sentinel_ssl_policy": "required", "sentinel_tls_mode": "required"}));
    assert_eq!(
        (b, o.hits[0].action),
        (json!({"sentinel_tls_mode": "required"}), "dropped")
    );
    let both = json!({"sentinel_ssl_policy": "required", "sentinel_tls_mode": "disabled"});
    let (b, o) = put(both.clone());
    assert_eq!((b, o.hits[0].why), (both, Some("conflict")));
    let (b, o) = put(json!({"sentinel_ssl_policy": "strict"}));
    assert_eq!(
        (b, o.hits[0].why),
        (
            json!({"sentinel_ssl_policy": "strict"}),
            Some("value_unmapped")
        )
    );
    assert!(!o.changed);
}

#[test]
fn f3_records_the_path_and_presence_never_the_value() {
    let t = table();
    let body = json!({"instances": [{"db_config": {"authentication_redis_pass": "s3cret"}}],
                      "default_db_config": {"authentication_redis_pass": "s3cret"}});
    let (after, out) = run(&t, Method::POST, "/v1/crdbs", body.clone(), Some(V8_2_0));
    assert_eq!(after, body);
    let pointers: Vec<&str> = out.hits.iter().map(|h| h.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/default_db_config/authentication_redis_pass",
            "/instances/0/db_config/authentication_redis_pass"
        ]
    );
    let detail = out.hits[0].detail("field_redis_pass").to_string();
    assert!(!detail.contains("s3cret"), "{detail}");
    assert!(detail.contains("\"present\":true"), "{detail}");
}

#[test]
fn f4_strips_ids_only_with_translate_and_a_module_name() {
    let body = json!({"name": "db", "module_list": [
        {"module_name": "search", "module_id": "abc", "semantic_version": "2.8.4", "module_args": ""},
        {"module_id": "only-id"}
    ]});
    let (b, o) = run(
        &table(),
        Method::POST,
        "/v1/bdbs",
        body.clone(),
        Some(V8_0_0),
    );
    assert_eq!(b, body, "auto observes");
    assert_eq!(o.hits.len(), 3);
    let t = with_mode("field_module_id", Mode::Translate);
    let (b, o) = run(&t, Method::POST, "/v1/bdbs", body, Some(V8_0_0));
    assert_eq!(
        b,
        json!({"name": "db", "module_list": [{"module_name": "search", "module_args": ""}, {"module_id": "only-id"}]})
    );
    let actions: Vec<_> = o
        .hits
        .iter()
        .map(|h| (h.pointer.as_str(), h.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("/module_list/0/module_id", "stripped"),
            ("/module_list/1/module_id", "untouched"),
            ("/module_list/0/semantic_version", "stripped")
        ]
    );
}

#[test]
fn f7_rewrites_create_bodies_only_and_never_merges_a_partial_object() {
    let t = with_mode("field_db_conns_auditing", Mode::Translate);
    let v = Some(V8_2_0);
    let (b, _) = run(
        &t,
        Method::POST,
        "/v1/bdbs",
        json!({"db_conns_auditing": true}),
        v,
    );
    assert_eq!(b, json!({"audit_settings": {"audit_mode": "connection"}}));
    let (b, _) = run(
        &t,
        Method::POST,
        "/v2/bdbs",
        json!({"bdb": {"db_conns_auditing": false}}),
        v,
    );
    assert_eq!(b, json!({"bdb": {}}));
    let (b, o) = run(
        &t,
        Method::PUT,
        "/v1/bdbs/3",
        json!({"db_conns_auditing": true}),
        v,
    );
    assert_eq!(
        (b, o.hits[0].why),
        (
            json!({"db_conns_auditing": true}),
            Some("not_on_this_route")
        )
    );
    let partial = json!({"db_conns_auditing": true, "audit_settings": {"filters": []}});
    let (b, o) = run(&t, Method::POST, "/v1/bdbs", partial.clone(), v);
    assert_eq!((b, o.hits[0].why), (partial, Some("conflict")));
    let (_, o) = run(
        &t,
        Method::PUT,
        "/v1/cluster/policy",
        json!({"db_conns_auditing": true}),
        v,
    );
    assert_eq!(o.hits[0].action, "observed");
}

#[test]
fn f1_observes_the_role_with_its_value_and_nothing_else_is_looked_at() {
    let t = table();
    let (b, o) = run(
        &t,
        Method::POST,
        "/v1/users",
        json!({"role": "db_viewer", "password": "p"}),
        Some(V8_2_0),
    );
    assert_eq!(b, json!({"role": "db_viewer", "password": "p"}));
    assert_eq!(o.hits.len(), 1);
    assert_eq!(o.hits[0].value, Some(json!("db_viewer")));
    assert!(t.inspects(&Method::PUT, "/v1/users/7"));
    assert!(!t.inspects(&Method::GET, "/v1/users/7"));
    assert!(!t.inspects(&Method::PUT, "/v1/bdbs"));
    assert!(!t.may_act(&Method::POST, "/v1/users"));
    assert!(t.may_act(&Method::PUT, "/v1/cluster"));
}

#[test]
fn a_refusal_names_the_field_and_its_successor() {
    let mut rules = builtin().unwrap();
    let f5 = rules.iter_mut().find(|r| r.id == "F5").unwrap();
    f5.action = FieldAction::Refuse;
    let t = FieldTable::new(rules);
    let (_, o) = run(
        &t,
        Method::PUT,
        "/v1/cluster",
        json!({"use_ipv6": true}),
        Some(V8_2_0),
    );
    let r = o.refusal.expect("refused");
    assert_eq!(r.error_code, "field_not_supported");
    assert!(r.description.contains("/use_ipv6") && r.description.contains("use_external_ipv6"));
    let (_, o) = run(
        &t,
        Method::PUT,
        "/v1/cluster",
        json!({"use_ipv6": true}),
        Some(V7_2_0),
    );
    assert!(
        o.refusal.is_none(),
        "below the gate a refusal only observes"
    );
}

#[test]
fn long_and_composite_values_are_recorded_bounded() {
    let t = table();
    let long = "r".repeat(1000);
    let (_, o) = run(&t, Method::POST, "/v1/users", json!({ "role": long }), None);
    let recorded = o.hits[0].value.as_ref().and_then(Value::as_str).unwrap();
    assert_eq!(recorded.chars().count(), engine::MAX_VALUE_CHARS + 1);
    let (_, o) = run(
        &t,
        Method::POST,
        "/v1/users",
        json!({"role": {"a": 1}}),
        None,
    );
    assert_eq!(o.hits[0].value, Some(json!({"type": "object"})));
}

#[test]
fn verdicts_on_a_target_follow_gates_modes_and_what_the_target_ignores() {
    let rules = builtin().unwrap();
    let by = |id: &str| rules.iter().find(|r| r.id == id).unwrap();
    assert_eq!(verdict(by("F5"), V8_2_0), Verdict::Carried);
    assert_eq!(verdict(by("F5"), V8_0_0), Verdict::Unaffected);
    assert_eq!(verdict(by("F6"), V8_0_0), Verdict::Carried);
    assert_eq!(verdict(by("F4"), V8_2_0), Verdict::Changes);
    assert_eq!(verdict(by("F3"), V8_2_0), Verdict::Unaffected);
    assert_eq!(verdict(by("F1"), V8_2_0), Verdict::Unaffected);
    let mut f5 = by("F5").clone();
    f5.mode = Mode::Observe;
    assert_eq!(verdict(&f5, V8_2_0), Verdict::Changes);
    f5.mode = Mode::Auto;
    f5.action = FieldAction::Refuse;
    assert_eq!(verdict(&f5, V8_2_0), Verdict::Breaks);
}

#[test]
fn every_builtin_field_rule_becomes_a_table_rule_with_its_routes() {
    for (i, r) in builtin().unwrap().iter().enumerate() {
        let rule = r.to_rule(i).unwrap();
        assert_eq!(rule.id, RuleId::Field(i));
        assert_eq!(rule.matcher.routes().count(), r.sites.len(), "{}", r.name);
    }
}

#[test]
fn f2_observes_only_roles_permissions_references_that_are_not_positive_integers() {
    let t = table();
    let body = json!({"name": "db", "roles_permissions": [
        {"role_uid": 3, "redis_acl_uid": 2},
        {"role_uid": "DB Member", "redis_acl_uid": 0},
        {"role_uid": null, "redis_acl_uid": 1.5},
    ]});
    let (after, out) = run(&t, Method::POST, "/v1/bdbs", body.clone(), Some(V8_2_0));
    assert_eq!(after, body, "never changed");
    assert!(!out.changed && out.refusal.is_none());
    let hits: Vec<(&str, Option<&str>, Option<Value>)> = out
        .hits
        .iter()
        .map(|h| (h.pointer.as_str(), h.why, h.value.clone()))
        .collect();
    let why = Some("roles_permissions_invalid");
    assert_eq!(
        hits,
        [
            (
                "/roles_permissions/1/role_uid",
                why,
                Some(json!("DB Member"))
            ),
            ("/roles_permissions/2/role_uid", why, Some(Value::Null)),
            ("/roles_permissions/1/redis_acl_uid", why, Some(json!(0))),
            ("/roles_permissions/2/redis_acl_uid", why, Some(json!(1.5))),
        ]
    );
    let valid = json!({"roles_permissions": [{"role_uid": 3, "redis_acl_uid": 2}]});
    assert!(run(&t, Method::PUT, "/v1/bdbs/1", valid, Some(V8_2_0))
        .1
        .hits
        .is_empty());
    let rules = builtin().unwrap();
    let rule = rules.iter().find(|r| r.id == "F2").expect("F2");
    assert_eq!(verdict(rule, V8_2_0), Verdict::Breaks);
    assert_eq!(verdict(rule, V7_2_0), Verdict::Unaffected);
}
