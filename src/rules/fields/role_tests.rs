use super::*;
use crate::rules::fields::builtin::builtin;
use crate::rules::fields::{inspect, FieldTable};
use crate::rules::Mode;
use http::Method;
use serde_json::json;

fn facts(roles: Value, bdbs: Value) -> RoleFacts {
    RoleFacts::read(&roles, &bdbs).expect("arrays")
}

fn role(uid: u64, name: &str, management: &str) -> Value {
    json!({"uid": uid, "name": name, "management": management})
}

#[test]
fn one_unscoped_unbound_role_with_that_management_is_found() {
    let f = facts(
        json!([role(3, "DBA", "admin"), role(7, "Viewers", "db_viewer")]),
        json!([{"uid": 1, "roles_permissions": [{"role_uid": 3, "redis_acl_uid": 1}]}]),
    );
    assert_eq!(f.decide("db_viewer"), Lookup::Found(7));
}

#[test]
fn roles_are_matched_by_management_never_by_name() {
    let f = facts(json!([role(4, "db_viewer", "admin")]), json!([]));
    assert_eq!(f.decide("db_viewer"), Lookup::None);
    assert_eq!(f.decide("admin"), Lookup::Found(4));
}

#[test]
fn scoped_roles_are_not_candidates_but_empty_scopes_are() {
    let mut scoped = role(5, "Scoped", "db_viewer");
    scoped["resources"] = json!({"bdbs": [1]});
    let mut empty = role(6, "Empty", "db_viewer");
    empty["resources"] = json!([]);
    let f = facts(json!([scoped.clone()]), json!([]));
    assert_eq!(f.decide("db_viewer"), Lookup::None);
    let f = facts(json!([scoped, empty]), json!([]));
    assert_eq!(f.decide("db_viewer"), Lookup::Found(6));
}

#[test]
fn two_candidates_are_ambiguous_unless_one_is_bound() {
    let roles = json!([role(7, "A", "db_viewer"), role(8, "B", "db_viewer")]);
    assert_eq!(
        facts(roles.clone(), json!([])).decide("db_viewer"),
        Lookup::Ambiguous
    );
    let bdbs = json!([{"uid": 2, "roles_permissions": [{"role_uid": 8, "redis_acl_uid": 2}]}]);
    assert_eq!(facts(roles, bdbs).decide("db_viewer"), Lookup::Found(7));
}

#[test]
fn candidates_all_bound_are_bound() {
    let bdbs = json!([{"uid": 1}, {"uid": 2, "roles_permissions": [{"role_uid": 7}]}]);
    let f = facts(json!([role(7, "A", "db_viewer")]), bdbs);
    assert_eq!(f.decide("db_viewer"), Lookup::Bound);
}

#[test]
fn a_reply_that_is_not_an_array_is_no_facts() {
    assert!(RoleFacts::read(&json!({"error_code": "x"}), &json!([])).is_none());
    assert!(RoleFacts::read(&json!([]), &json!(null)).is_none());
}

fn table(mode: Mode) -> FieldTable {
    let mut rules = builtin().unwrap();
    rules.retain(|r| r.id == "F1");
    rules[0].mode = mode;
    FieldTable::new(rules)
}

#[test]
fn translate_marks_a_role_pending_and_settling_rewrites_it() {
    let mut body = json!({"name": "u", "role": "db_viewer", "password": "p"});
    let mut found = inspect(
        &table(Mode::Translate),
        &Method::POST,
        "/v1/users",
        &mut body,
        None,
    );
    assert!(pending(&found));
    let f = facts(json!([role(7, "V", "db_viewer")]), json!([]));
    settle(&mut found, &mut body, Some(&f));
    assert!(found.changed);
    assert_eq!(
        body,
        json!({"name": "u", "role_uids": [7], "password": "p"})
    );
    let detail = found.hits[0].detail("field_user_role");
    assert_eq!(detail["action"], "renamed");
    assert_eq!(detail["lookup"], "found");
    assert_eq!(detail["value"], "db_viewer");
    assert_eq!(detail["to"], "/role_uids");
}

#[test]
fn a_failed_or_fruitless_look_up_leaves_the_body_as_it_came() {
    for (facts_, outcome) in [
        (None, "failed"),
        (Some(facts(json!([]), json!([]))), "none"),
    ] {
        let mut body = json!({"role": "db_viewer"});
        let mut found = inspect(
            &table(Mode::Translate),
            &Method::PUT,
            "/v1/users/3",
            &mut body,
            None,
        );
        settle(&mut found, &mut body, facts_.as_ref());
        assert!(!found.changed);
        assert_eq!(body, json!({"role": "db_viewer"}));
        assert_eq!(found.hits[0].action, "untouched");
        assert_eq!(found.hits[0].lookup, Some(outcome));
    }
}

#[test]
fn none_role_uids_and_auto_mode_never_ask_for_a_look_up() {
    let cases = [
        (Mode::Translate, json!({"role": "none"}), Some("role_none")),
        (
            Mode::Translate,
            json!({"role": "admin", "role_uids": [1]}),
            Some("has_role_uids"),
        ),
        (Mode::Translate, json!({"role": 3}), Some("not_a_string")),
        (Mode::Auto, json!({"role": "admin"}), None),
    ];
    for (mode, mut body, why) in cases {
        let found = inspect(&table(mode), &Method::POST, "/v1/users", &mut body, None);
        assert!(!pending(&found), "{body}");
        assert_eq!(found.hits[0].why, why, "{body}");
    }
}
