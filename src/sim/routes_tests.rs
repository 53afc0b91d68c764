//! Tests of the route classification: paths to routes, 404/405, and the release gates.

use super::*;

fn get(path: &str) -> Result<Route, ApiError> {
    classify(&Method::GET, path, SimVersion::V7_8)
}

#[test]
fn known_paths_map_to_routes() {
    assert_eq!(get("/v1/bdbs/"), Ok(Route::Bdbs));
    assert_eq!(get("/v1/bdbs/12"), Ok(Route::Bdb(12)));
    assert_eq!(get("/v1/actions/bdb/3"), Ok(Route::BdbActions(3)));
    assert_eq!(get("/v2/actions/abc"), Ok(Route::ActionV2("abc".into())));
    let post = |p| classify(&Method::POST, p, SimVersion::V7_8);
    assert_eq!(
        post("/v1/modules/upgrade/bdb/1"),
        Ok(Route::LegacyUpgrade(1))
    );
    assert_eq!(
        post("/v1/bdbs/1/modules/upgrade"),
        Ok(Route::ModulesUpgrade(1))
    );
}

#[test]
fn old_route_is_unknown_on_8_0() {
    let r = classify(&Method::POST, "/v1/modules/upgrade/bdb/1", SimVersion::V8_0);
    assert_eq!(r.expect_err("404").error_code, "not_found");
}

#[test]
fn wrong_method_is_405_and_bad_uid_is_bdb_not_found() {
    let e = get("/v1/bdbs/1/upgrade").expect_err("405");
    assert_eq!(e.status, 405);
    assert_eq!(e.extra.get("allow"), Some(&serde_json::json!("POST")));
    assert_eq!(
        get("/v1/bdbs/x1").expect_err("404").error_code,
        "bdb_not_found"
    );
    assert_eq!(
        get("/v1/bdbs/-1").expect_err("404").error_code,
        "bdb_not_found"
    );
    assert_eq!(get("/v1/nope").expect_err("404").error_code, "not_found");
}

#[test]
fn release_gates_follow_the_version_matrix() {
    let put = |p, v: SimVersion| classify(&Method::PUT, p, v).map_err(|e| e.status);
    assert_eq!(
        put("/v1/cluster/certificates", SimVersion::V7_8),
        Err(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        put("/v1/cluster/certificates", SimVersion::V7_22),
        Ok(Route::Certificates { bulk: true })
    );
    let post = |p, s: Served| classify(&Method::POST, p, s).map_err(|e| e.status);
    let v8: Served = SimVersion::V8_0.into();
    assert_eq!(post("/v1/modules", v8), Err(StatusCode::NOT_FOUND));
    assert_eq!(post("/v2/modules", v8), Err(StatusCode::NOT_FOUND));
    let switched = Served {
        v2_modules_on_8x: true,
        ..v8
    };
    assert_eq!(
        post("/v2/modules", switched),
        Ok(Route::ModuleUpload { v2: true })
    );
    assert_eq!(
        post("/v2/modules/user-defined", SimVersion::V7_22.into()),
        Err(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        post("/v2/modules/user-defined", v8),
        Ok(Route::UserDefinedCreate)
    );
    assert_eq!(
        get("/v1/debuginfo/node/bdb/3/"),
        Ok(Route::Debuginfo(Scope::NodeBdb(3)))
    );
    assert_eq!(
        get("/v1/nodes/x/debuginfo").expect_err("404").error_code,
        "node_not_found"
    );
}

#[test]
fn a_users_update_takes_an_integer_uid_and_leaves_the_named_user_routes_alone() {
    let put = |p| classify(&Method::PUT, p, SimVersion::V7_4);
    assert_eq!(put("/v1/users/7"), Ok(Route::UserUpdate(7)));
    assert_eq!(put("/v1/users/x").expect_err("404").error_code, "not_found");
    let pw = put("/v1/users/password");
    assert!(matches!(pw, Ok(Route::UsersPassword(_))), "{pw:?}");
    assert_eq!(get("/v1/users/7").expect_err("405").status, 405);
}
