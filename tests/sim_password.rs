//! The simulated cluster's R13 `PUT|POST|DELETE /v1/users/password` (API-CATALOGUE part (a)),
//! over real sockets: per release and build (§3.3, the RS161290 builds included, through the
//! build override) and the 8.x presence switch. Final states are read from `GET /__sim/state`,
//! which shows password counts only. The part's other routes are in `sim_stats.rs`.

mod support;

use deprecation_shim::sim::{SimConfig, SimVersion, DEMO_ADMIN, DEMO_VIEWER};
use http::Method;
use serde_json::{json, Value};

use support::harness::Sim;
use support::legacy::{admin, assert_rs_error, viewer};
use support::{basic, get, send, Reply};

const PATH: &str = "/v1/users/password";

/// A cluster of `version` whose nodes all report `build`.
async fn at_build(version: SimVersion, build: &str) -> Sim {
    let cfg = SimConfig {
        version,
        ..SimConfig::default()
    };
    Sim::with(cfg.with_build(build).expect("a build of the release")).await
}

/// `method /v1/users/password` with a JSON body and, when given, an `Authorization` value.
async fn password(c: &Sim, method: Method, auth: Option<&str>, body: Value) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    send(c.addr, method, PATH, &headers, body.to_string()).await
}

/// (admin, viewer) password counts, as `GET /__sim/state` shows them.
async fn counts(c: &Sim) -> (u64, u64) {
    let state = get(c.addr, "/__sim/state", "").await.json();
    let count = |name: &str| {
        state["users"]
            .as_array()
            .and_then(|l| l.iter().find(|u| u["username"] == name))
            .and_then(|u| u["password_count"].as_u64())
            .unwrap_or_else(|| panic!("no {name} in {state}"))
    };
    (count(DEMO_ADMIN.0), count(DEMO_VIEWER.0))
}

fn ok_empty(r: &Reply) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.is_empty(), "200 with an empty body: {:?}", r.body);
}

#[tokio::test]
async fn before_7_8_2_body_credentials_change_the_body_users_list() {
    let c = Sim::start(SimVersion::V7_4).await;
    let creds = |old: &str, new: &str| json!({"username": DEMO_VIEWER.0, "old_password": old, "new_password": new});
    ok_empty(&password(&c, Method::POST, None, creds(DEMO_VIEWER.1, "v2")).await);
    assert_eq!(counts(&c).await, (1, 2));
    // An admin header naming another user: the body's user is the one changed (inference).
    let r = password(&c, Method::PUT, Some(&admin()), creds("v2", "v3")).await;
    ok_empty(&r);
    assert_eq!(counts(&c).await, (1, 1));
    assert_eq!(
        get(c.addr, "/v1/bdbs", &basic(DEMO_VIEWER.0, "v3"))
            .await
            .status,
        200
    );
    assert_rs_error(
        &password(&c, Method::POST, None, creds("v2", "v4")).await,
        401,
        "unauthorized",
    );
    let no_old = json!({"username": DEMO_VIEWER.0, "new_password": "v4"});
    assert_rs_error(
        &password(&c, Method::POST, None, no_old).await,
        400,
        "invalid_request",
    );
    ok_empty(&password(&c, Method::POST, None, creds("v3", "v4")).await);
    let del = json!({"username": DEMO_VIEWER.0, "old_password": "v3"});
    ok_empty(&password(&c, Method::DELETE, None, del).await);
    assert_eq!(counts(&c).await, (1, 1));
    assert_eq!(
        get(c.addr, "/v1/bdbs", &basic(DEMO_VIEWER.0, "v4"))
            .await
            .status,
        200
    );
    assert_eq!(
        get(c.addr, "/v1/bdbs", &basic(DEMO_VIEWER.0, "v3"))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn from_7_8_2_body_credentials_without_a_header_are_401() {
    let body = json!({"username": DEMO_ADMIN.0, "old_password": DEMO_ADMIN.1, "new_password": "x"});
    for v in [
        SimVersion::V7_8,
        SimVersion::V7_22,
        SimVersion::V8_0,
        SimVersion::V8_2,
    ] {
        let c = Sim::start(v).await;
        for method in [Method::PUT, Method::POST, Method::DELETE] {
            let r = password(&c, method, None, body.clone()).await;
            assert_rs_error(&r, 401, "unauthorized");
            let wrong = basic(DEMO_ADMIN.0, "wrong");
            assert_eq!(
                password(&c, Method::POST, Some(&wrong), body.clone())
                    .await
                    .status,
                401
            );
        }
        assert_eq!(counts(&c).await, (1, 1), "{v}");
    }
}

#[tokio::test]
async fn rs161290_builds_change_the_header_users_list_whatever_username_says() {
    for (v, build) in [
        (SimVersion::V7_8, "7.8.2-34"),
        (SimVersion::V7_22, "7.22.0-95"),
    ] {
        let c = at_build(v, build).await;
        let boot = c.get("/v1/bootstrap").await.json();
        assert_eq!(boot["local_node_info"]["software_version"], build);
        let body = json!({"username": DEMO_VIEWER.0, "new_password": "meant-for-viewer"});
        ok_empty(&password(&c, Method::POST, Some(&admin()), body).await);
        assert_eq!(counts(&c).await, (2, 1), "{build}: the admin's list grew");
        let as_admin = basic(DEMO_ADMIN.0, "meant-for-viewer");
        assert_eq!(get(c.addr, "/v1/bdbs", &as_admin).await.status, 200);
        // PUT as the admin "for the viewer" replaces the admin's own list.
        let body = json!({"username": DEMO_VIEWER.0, "new_password": "reset"});
        ok_empty(&password(&c, Method::PUT, Some(&admin()), body).await);
        assert_eq!(counts(&c).await, (1, 1));
        assert_eq!(
            c.get("/v1/bdbs").await.status,
            401,
            "{build}: admin locked out"
        );
    }
}

#[tokio::test]
async fn fixed_builds_change_the_named_user_and_refuse_a_viewer() {
    let clusters = [
        at_build(SimVersion::V7_8, "7.8.6-119").await,
        at_build(SimVersion::V7_22, "7.22.0-216").await,
        Sim::start(SimVersion::V7_22).await,
        Sim::start(SimVersion::V8_0).await,
        Sim::start(SimVersion::V8_2).await,
    ];
    for c in &clusters {
        let to_viewer = json!({"username": DEMO_VIEWER.0, "new_password": "v2"});
        ok_empty(&password(c, Method::POST, Some(&admin()), to_viewer).await);
        assert_eq!(counts(c).await, (1, 2));
        let to_admin = json!({"username": DEMO_ADMIN.0, "new_password": "a2"});
        let r = password(c, Method::POST, Some(&viewer()), to_admin).await;
        assert_rs_error(&r, 403, "unauthorized_action");
        let ghost = json!({"username": "nobody@example.com", "new_password": "g"});
        let r = password(c, Method::PUT, Some(&admin()), ghost).await;
        assert_rs_error(&r, 404, "user_not_exist");
        // No `username`: the caller's own list; the viewer may change its own.
        let own = json!({"new_password": "v3"});
        ok_empty(&password(c, Method::PUT, Some(&viewer()), own).await);
        assert_eq!(counts(c).await, (1, 1));
        assert_eq!(
            get(c.addr, "/v1/bdbs", &basic(DEMO_VIEWER.0, "v3"))
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn from_7_8_2_put_and_post_ignore_old_password() {
    for c in [
        Sim::start(SimVersion::V7_8).await,
        Sim::start(SimVersion::V8_0).await,
    ] {
        let body = json!({"old_password": "not-a-password-of-anyone", "new_password": "a2"});
        ok_empty(&password(&c, Method::POST, Some(&admin()), body).await);
        assert_eq!(counts(&c).await, (2, 1));
    }
}

#[tokio::test]
async fn delete_names_the_password_and_keeps_the_last_one() {
    for v in [SimVersion::V7_4, SimVersion::V7_22, SimVersion::V8_2] {
        let c = Sim::start(v).await;
        let (header, user) = if v == SimVersion::V7_4 {
            (None, json!(DEMO_ADMIN.0))
        } else {
            (Some(admin()), Value::Null)
        };
        let del = |p: &str| json!({"username": user, "old_password": p});
        let r = password(&c, Method::DELETE, header.as_deref(), del(DEMO_ADMIN.1)).await;
        assert_rs_error(&r, 400, "cannot_delete_last_password");
        let add = json!({"username": user, "old_password": DEMO_ADMIN.1, "new_password": "a2"});
        ok_empty(&password(&c, Method::POST, header.as_deref(), add).await);
        assert_eq!(counts(&c).await, (2, 1), "{v}");
        // The credential may be the password deleted (the shim's legacy translation does so).
        let r = password(&c, Method::DELETE, header.as_deref(), del(DEMO_ADMIN.1)).await;
        ok_empty(&r);
        let a2 = basic(DEMO_ADMIN.0, "a2");
        assert_eq!(counts(&c).await, (1, 1), "{v}");
        assert_eq!(get(c.addr, "/v1/bdbs", &a2).await.status, 200);
        assert_eq!(get(c.addr, "/v1/bdbs", &admin()).await.status, 401);
    }
}

#[tokio::test]
async fn a_new_password_equal_to_a_current_one_or_missing_is_400() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        let legacy = v == SimVersion::V7_4;
        let header = (!legacy).then(admin);
        let body = |new: Value| json!({"username": DEMO_ADMIN.0, "old_password": DEMO_ADMIN.1, "new_password": new});
        for method in [Method::PUT, Method::POST] {
            let same = password(
                &c,
                method.clone(),
                header.as_deref(),
                body(json!(DEMO_ADMIN.1)),
            );
            assert_rs_error(&same.await, 400, "new_password_same_as_current");
            let none = password(&c, method, header.as_deref(), body(Value::Null)).await;
            assert_rs_error(&none, 400, "invalid_request");
        }
        assert_eq!(counts(&c).await, (1, 1), "{v}");
    }
}

#[tokio::test]
async fn the_8x_switch_answers_as_an_unregistered_route() {
    for v in [SimVersion::V8_0, SimVersion::V8_2] {
        let c = Sim::start(v).await;
        let switch = |value: &str| json!({"users_password_on_8x": value}).to_string();
        let set = send(c.addr, Method::POST, "/__sim/faults", &[], switch("404")).await;
        assert_eq!(set.json()["users_password_on_8x"], "404");
        let body = json!({"new_password": "a2"});
        for method in [Method::PUT, Method::POST, Method::DELETE, Method::GET] {
            let r = password(&c, method, Some(&admin()), body.clone()).await;
            assert_rs_error(&r, 404, "not_found");
        }
        let unknown = c.get("/v1/users/nothing-here").await;
        assert_rs_error(&unknown, 404, "not_found");
        assert_eq!(
            password(&c, Method::POST, None, body.clone()).await.status,
            401
        );
        assert_eq!(counts(&c).await, (1, 1));
        send(c.addr, Method::POST, "/__sim/faults", &[], switch("serve")).await;
        ok_empty(&password(&c, Method::POST, Some(&admin()), body).await);
        assert_eq!(counts(&c).await, (2, 1), "{v}");
    }
    // 7.x ignores the switch.
    let c = Sim::start(SimVersion::V7_22).await;
    c.faults()
        .merge_json(&json!({"users_password_on_8x": "404"}))
        .expect("switch");
    let r = password(
        &c,
        Method::POST,
        Some(&admin()),
        json!({"new_password": "a2"}),
    )
    .await;
    ok_empty(&r);
}

#[tokio::test]
async fn the_build_override_shows_on_bootstrap_and_nodes_and_must_fit_the_release() {
    let c = at_build(SimVersion::V7_22, "7.22.0-95").await;
    let nodes = c.get("/v1/nodes").await.json();
    let builds: Vec<&str> = nodes
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["software_version"].as_str())
        .collect();
    assert_eq!(builds, ["7.22.0-95"; 3]);
    let cfg = SimConfig {
        version: SimVersion::V7_8,
        ..SimConfig::default()
    };
    let err = cfg.with_build("7.22.0-95").expect_err("not a 7.8 build");
    assert!(err.contains("7.22.0-95") && err.contains("7.8"), "{err}");
    let plain = Sim::start(SimVersion::V7_8).await;
    let boot = plain.get("/v1/bootstrap").await.json();
    assert_eq!(
        boot["local_node_info"]["software_version"], "7.8.2-34",
        "default kept"
    );
}

#[tokio::test]
async fn the_state_shows_password_counts_never_passwords() {
    let c = Sim::start(SimVersion::V8_0).await;
    let body = json!({"new_password": "secret-second-password"});
    ok_empty(&password(&c, Method::POST, Some(&admin()), body).await);
    let state = get(c.addr, "/__sim/state", "").await;
    let text = String::from_utf8_lossy(&state.body).into_owned();
    assert!(!text.contains("secret-second-password") && !text.contains(DEMO_ADMIN.1));
    assert_eq!(
        state.json()["users"],
        json!([
            {"uid": 1, "username": DEMO_ADMIN.0, "role": "admin", "password_count": 2},
            {"uid": 2, "username": DEMO_VIEWER.0, "role": "db_viewer", "password_count": 1},
        ])
    );
}
