//! `PUT /v1/users/{uid}` of the simulated cluster: the decisions of [`super`].

use super::*;
use crate::sim::seed::seed;
use crate::sim::version::SimVersion;

fn put(state: &mut SimState, uid: u64, body: Value) -> Result<Value, ApiError> {
    update(state, uid, body.to_string().as_bytes())
}

fn with_roles() -> (SimState, u64, u64) {
    let mut state = seed(SimVersion::V7_22);
    let mut role = |name: &str, management: &str| {
        let body = json!({"name": name, "management": management}).to_string();
        let made = super::super::roles::create(&mut state, body.as_bytes()).expect("role");
        made["uid"].as_u64().expect("uid")
    };
    let (admins, viewers) = (role("Admins", "admin"), role("Viewers", "db_viewer"));
    (state, admins, viewers)
}

#[test]
fn role_uids_set_the_role_and_a_legacy_role_empties_them() {
    let (mut state, admins, viewers) = with_roles();
    let shown = put(&mut state, 2, json!({"role_uids": [admins]})).expect("200");
    assert_eq!(shown["role"], "admin");
    assert_eq!(shown["role_uids"], json!([admins]));
    let shown = put(&mut state, 2, json!({"role": "db_viewer", "name": "Pat"})).expect("200");
    assert_eq!(
        shown,
        json!({"uid": 2, "username": shown["username"], "role": "db_viewer",
               "role_uids": [], "name": "Pat"})
    );
    let shown = put(
        &mut state,
        2,
        json!({"role": "admin", "role_uids": [viewers]}),
    )
    .expect("200");
    assert_eq!(
        (shown["role"].clone(), shown["role_uids"].clone()),
        (json!("db_viewer"), json!([viewers]))
    );
}

#[test]
fn bad_types_unknown_keys_and_unknown_users_change_nothing() {
    let (mut state, _, _) = with_roles();
    let before = serde_json::to_value(&state.users).expect("json");
    for (body, field) in [
        (json!({"role": 3}), "role"),
        (json!({"role": "cluster_viewer"}), "role"),
        (json!({"role_uids": "1"}), "role_uids"),
        (json!({"role_uids": []}), "role_uids"),
        (json!({"name": "x", "email_alerts": "yes"}), "email_alerts"),
        (json!({"password": 1}), "password"),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let e = put(&mut state, 2, body.clone()).expect_err("400");
        assert_eq!(
            (e.status.as_u16(), e.error_code.as_str()),
            (400, "invalid_request"),
            "{body}"
        );
        assert_eq!(e.extra.get("field"), Some(&json!(field)), "{body}");
    }
    let e = put(&mut state, 99, json!({"role": "admin"})).expect_err("404");
    assert_eq!(
        (e.status.as_u16(), e.error_code.as_str()),
        (404, "user_not_found")
    );
    assert_eq!(
        user_uid("x1").expect_err("404").error_code,
        "user_not_found"
    );
    assert_eq!(serde_json::to_value(&state.users).expect("json"), before);
}

#[test]
fn the_last_admin_cannot_be_demoted_and_a_password_is_never_shown() {
    let (mut state, _, _) = with_roles();
    let e = put(&mut state, 1, json!({"role": "db_viewer"})).expect_err("406");
    assert_eq!(e.status.as_u16(), 406);
    assert_eq!(e.error_code, "change_last_admin_role_not_allowed");
    let shown = put(&mut state, 2, json!({"password": "new-secret-pw"})).expect("200");
    assert!(!shown.to_string().contains("new-secret-pw"));
    let name = shown["username"].as_str().expect("username").to_owned();
    assert!(state.users.check(&name, "new-secret-pw").is_some());
    assert_eq!(state.users.by_uid(2).map(User::password_count), Some(1));
}
