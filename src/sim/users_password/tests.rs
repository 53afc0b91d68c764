//! The R13 model as a table: (build, header, body) → status and the lists afterwards.

use base64::Engine;
use http::{header, HeaderValue};
use serde_json::json;

use super::*;
use crate::sim::auth::{DEMO_ADMIN, DEMO_VIEWER};
use crate::sim::seed::seed;

fn cluster(version: SimVersion, build: &str) -> SimState {
    let mut s = seed(version);
    s.set_build(version, build).expect("a build of the release");
    s
}

fn basic(user: &str, pass: &str) -> HeaderMap {
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let mut h = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Basic {enc}")).expect("header value");
    h.insert(header::AUTHORIZATION, value);
    h
}

fn count(s: &SimState, user: &str) -> usize {
    s.users.find(user).map_or(0, |u| u.password_count())
}

fn run(
    s: &mut SimState,
    version: SimVersion,
    op: PasswordOp,
    h: &HeaderMap,
    body: serde_json::Value,
) -> Result<(), (u16, String)> {
    let raw = body.to_string();
    change(s, version, op, h, raw.as_bytes())
        .map(|a| assert_eq!(a, Answer::Empty))
        .map_err(|e| (e.status.as_u16(), e.error_code))
}

#[test]
fn rs161290_ranges_are_half_open_on_full_builds() {
    let b = |v: &str| parse_build(v).expect("build");
    for inside in [
        "7.8.2-34",
        "7.8.4-95",
        "7.8.6-95",
        "7.8.6-118",
        "7.22.0-95",
        "7.22.0-215",
    ] {
        assert!(has_rs161290(b(inside)), "{inside}");
    }
    for outside in [
        "7.4.6-272",
        "7.8.6-119",
        "7.8.6-286",
        "7.22.0-216",
        "7.22.2-14",
        "8.0.2-17",
    ] {
        assert!(!has_rs161290(b(outside)), "{outside}");
    }
}

#[test]
fn legacy_builds_take_body_credentials_and_ignore_the_header() {
    let v = SimVersion::V7_4;
    let mut s = seed(v);
    let none = HeaderMap::new();
    let body =
        json!({"username": DEMO_VIEWER.0, "old_password": DEMO_VIEWER.1, "new_password": "v2"});
    assert_eq!(run(&mut s, v, PasswordOp::Add, &none, body), Ok(()));
    assert_eq!(count(&s, DEMO_VIEWER.0), 2);
    // The admin's header names another user: the body's user is the one changed.
    let admin = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let body = json!({"username": DEMO_VIEWER.0, "old_password": "v2", "new_password": "v3"});
    assert_eq!(run(&mut s, v, PasswordOp::Replace, &admin, body), Ok(()));
    assert_eq!((count(&s, DEMO_VIEWER.0), count(&s, DEMO_ADMIN.0)), (1, 1));
    assert!(s.users.check(DEMO_VIEWER.0, "v3").is_some());
    let wrong = json!({"username": DEMO_VIEWER.0, "old_password": "v2", "new_password": "v4"});
    assert_eq!(
        run(&mut s, v, PasswordOp::Add, &admin, wrong).map_err(|e| e.0),
        Err(401)
    );
    let missing = json!({"username": DEMO_VIEWER.0, "new_password": "v4"});
    assert_eq!(
        run(&mut s, v, PasswordOp::Add, &none, missing),
        Err((400, "invalid_request".into()))
    );
    let nobody = json!({"username": "nobody", "old_password": "x", "new_password": "y"});
    assert_eq!(
        run(&mut s, v, PasswordOp::Add, &none, nobody),
        Err((404, "user_not_exist".into()))
    );
}

#[test]
fn rs161290_builds_change_the_callers_list_whatever_username_says() {
    for (v, build) in [
        (SimVersion::V7_8, "7.8.2-34"),
        (SimVersion::V7_22, "7.22.0-95"),
    ] {
        let mut s = cluster(v, build);
        let admin = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
        let body = json!({"username": DEMO_VIEWER.0, "new_password": "n1"});
        assert_eq!(
            run(&mut s, v, PasswordOp::Add, &admin, body),
            Ok(()),
            "{build}"
        );
        assert_eq!((count(&s, DEMO_ADMIN.0), count(&s, DEMO_VIEWER.0)), (2, 1));
        let ghost = json!({"username": "nobody", "new_password": "n2"});
        let viewer = basic(DEMO_VIEWER.0, DEMO_VIEWER.1);
        assert_eq!(run(&mut s, v, PasswordOp::Add, &viewer, ghost), Ok(()));
        assert_eq!(count(&s, DEMO_VIEWER.0), 2, "{build}");
    }
}

#[test]
fn fixed_builds_change_the_named_user_with_admin_rights_only() {
    for (v, build) in [
        (SimVersion::V7_8, "7.8.6-119"),
        (SimVersion::V7_22, "7.22.0-216"),
    ] {
        let mut s = cluster(v, build);
        let admin = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
        let viewer = basic(DEMO_VIEWER.0, DEMO_VIEWER.1);
        let body =
            json!({"username": DEMO_VIEWER.0, "new_password": "n1", "old_password": "ignored"});
        assert_eq!(
            run(&mut s, v, PasswordOp::Add, &admin, body),
            Ok(()),
            "{build}"
        );
        assert_eq!((count(&s, DEMO_ADMIN.0), count(&s, DEMO_VIEWER.0)), (1, 2));
        let other = json!({"username": DEMO_ADMIN.0, "new_password": "n2"});
        assert_eq!(
            run(&mut s, v, PasswordOp::Add, &viewer, other),
            Err((403, "unauthorized_action".into()))
        );
        let ghost = json!({"username": "nobody", "new_password": "n2"});
        assert_eq!(
            run(&mut s, v, PasswordOp::Add, &admin, ghost),
            Err((404, "user_not_exist".into()))
        );
        let own = json!({"new_password": "n3"});
        assert_eq!(run(&mut s, v, PasswordOp::Replace, &viewer, own), Ok(()));
        assert_eq!(count(&s, DEMO_VIEWER.0), 1);
    }
}

#[test]
fn header_builds_need_basic_credentials() {
    let v = SimVersion::V8_0;
    let mut s = seed(v);
    let body = json!({"username": DEMO_ADMIN.0, "old_password": DEMO_ADMIN.1, "new_password": "x"});
    for h in [HeaderMap::new(), basic(DEMO_ADMIN.0, "wrong")] {
        assert_eq!(
            run(&mut s, v, PasswordOp::Add, &h, body.clone()).map_err(|e| e.0),
            Err(401)
        );
    }
    assert_eq!(count(&s, DEMO_ADMIN.0), 1);
}

#[test]
fn delete_refuses_the_last_and_unknown_passwords() {
    let v = SimVersion::V8_2;
    let mut s = seed(v);
    let admin = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let del = |p: &str| json!({"old_password": p});
    assert_eq!(
        run(&mut s, v, PasswordOp::Delete, &admin, del(DEMO_ADMIN.1)),
        Err((400, "cannot_delete_last_password".into()))
    );
    let add = json!({"new_password": "second"});
    assert_eq!(run(&mut s, v, PasswordOp::Add, &admin, add.clone()), Ok(()));
    assert_eq!(
        run(&mut s, v, PasswordOp::Add, &admin, add),
        Err((400, "new_password_same_as_current".into()))
    );
    assert_eq!(
        run(&mut s, v, PasswordOp::Delete, &admin, del("third")),
        Err((400, "password_not_found".into()))
    );
    assert_eq!(
        run(&mut s, v, PasswordOp::Delete, &admin, json!({})),
        Err((400, "invalid_request".into()))
    );
    // The password being deleted may be the credential (the shim's translation of a legacy
    // DELETE sends it as both).
    let second = basic(DEMO_ADMIN.0, "second");
    assert_eq!(
        run(&mut s, v, PasswordOp::Delete, &second, del("second")),
        Ok(())
    );
    assert_eq!(count(&s, DEMO_ADMIN.0), 1);
    assert_eq!(
        run(&mut s, v, PasswordOp::Replace, &admin, json!({})),
        Err((400, "invalid_request".into()))
    );
}
