//! `POST /v1/users/authorize` per release (API-RULES §2.6), JWTs on every route,
//! `refresh_jwt`, the 8.2 Basic switch, and `GET /v1/bootstrap` (§6).

use deprecation_shim::sim::{SimVersion, DEMO_ADMIN, DEMO_VIEWER};
use http::Method;
use serde_json::{json, Value};

use crate::support::harness::Sim;
use crate::support::legacy::{admin, assert_rs_error, viewer};
use crate::support::{get, send, Reply};

fn creds_body(user: (&str, &str), extra: Value) -> String {
    let mut v = json!({"username": user.0, "password": user.1});
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v.to_string()
}

async fn authorize(c: &Sim, auth: Option<&str>, body: &str) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    send(
        c.addr,
        Method::POST,
        "/v1/users/authorize",
        &headers,
        body.to_owned(),
    )
    .await
}

fn token(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

#[tokio::test]
async fn before_7_8_2_authorize_reads_body_credentials_and_ignores_the_header() {
    let c = Sim::start(SimVersion::V7_4).await;
    let body_only = authorize(&c, None, &creds_body(DEMO_ADMIN, json!({"ttl": 60}))).await;
    let t = token(&body_only);
    assert_eq!(
        get(c.addr, "/v1/bdbs/1", &format!("JWT {t}")).await.status,
        200
    );
    assert_rs_error(
        &authorize(&c, Some(&admin()), "").await,
        401,
        "unauthorized",
    );
    let both = authorize(&c, Some(&admin()), &creds_body(DEMO_VIEWER, json!({}))).await;
    let viewer_token = token(&both);
    let r = send(
        c.addr,
        Method::PUT,
        "/v1/cluster",
        &[("authorization", &format!("JWT {viewer_token}"))],
        "{}",
    )
    .await;
    assert_rs_error(&r, 403, "insufficient_permissions");
    assert_rs_error(&authorize(&c, None, "{}").await, 401, "unauthorized");
}

#[tokio::test]
async fn from_7_8_2_authorize_needs_the_basic_header_and_ignores_body_credentials() {
    for v in [
        SimVersion::V7_8,
        SimVersion::V7_22,
        SimVersion::V8_0,
        SimVersion::V8_2,
    ] {
        let c = Sim::start(v).await;
        let body_only = authorize(&c, None, &creds_body(DEMO_ADMIN, json!({}))).await;
        assert_rs_error(&body_only, 401, "unauthorized");
        let t = token(&authorize(&c, Some(&admin()), r#"{"ttl": 120}"#).await);
        let both = authorize(&c, Some(&viewer()), &creds_body(DEMO_ADMIN, json!({}))).await;
        let vt = token(&both);
        let put = |tok: String| async move {
            send(
                c.addr,
                Method::PUT,
                "/v1/cluster",
                &[("authorization", &format!("Bearer {tok}"))],
                "{}",
            )
            .await
        };
        assert_eq!(
            put(t).await.status,
            200,
            "{v}: the header user is the admin"
        );
        assert_rs_error(&put(vt).await, 403, "insufficient_permissions");
        assert_rs_error(&authorize(&c, None, "").await, 401, "unauthorized");
    }
}

#[tokio::test]
async fn ttl_outside_1_to_86400_is_400_and_tokens_expire_after_their_ttl() {
    let c = Sim::start(SimVersion::V8_0).await;
    for ttl in ["0", "86401", "\"60\""] {
        let r = authorize(&c, Some(&admin()), &format!(r#"{{"ttl": {ttl}}}"#)).await;
        assert_rs_error(&r, 400, "invalid_ttl");
    }
    let t = token(&authorize(&c, Some(&admin()), r#"{"ttl": 1}"#).await);
    assert_eq!(
        get(c.addr, "/v1/nodes", &format!("JWT {t}")).await.status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_rs_error(
        &get(c.addr, "/v1/nodes", &format!("JWT {t}")).await,
        401,
        "unauthorized",
    );
    assert_rs_error(
        &get(c.addr, "/v1/nodes", "JWT not-a-token").await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn refresh_jwt_swaps_a_live_token_for_a_new_one_and_tokens_stay_out_of_the_state() {
    let c = Sim::start(SimVersion::V7_8).await;
    let t = token(&authorize(&c, Some(&admin()), "").await);
    let auth = format!("JWT {t}");
    let h = [("authorization", auth.as_str())];
    let fresh = token(
        &send(
            c.addr,
            Method::POST,
            "/v1/users/refresh_jwt",
            &h,
            r#"{"ttl": 30}"#,
        )
        .await,
    );
    assert_ne!(fresh, t);
    assert_eq!(
        get(c.addr, "/v1/bdbs", &format!("JWT {fresh}"))
            .await
            .status,
        200
    );
    let basic = [("authorization", admin())];
    let basic: Vec<(&str, &str)> = basic.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = send(c.addr, Method::POST, "/v1/users/refresh_jwt", &basic, "").await;
    assert_rs_error(&r, 401, "unauthorized");
    let state = get(c.addr, "/__sim/state", "").await;
    let text = String::from_utf8_lossy(&state.body);
    assert!(
        !text.contains(&t) && !text.contains(&fresh),
        "no token in the state dump"
    );
}

#[tokio::test]
async fn on_8_2_switching_basic_off_makes_basic_401_while_jwts_keep_working() {
    let c = Sim::start(SimVersion::V8_2).await;
    assert_eq!(
        c.get("/v1/cluster").await.json()["control_plane_basic_authentication"],
        true
    );
    let t = token(&authorize(&c, Some(&admin()), "").await);
    let jwt = format!("JWT {t}");
    let off = send(
        c.addr,
        Method::PUT,
        "/v1/cluster",
        &[("authorization", &jwt)],
        r#"{"control_plane_basic_authentication": false}"#,
    )
    .await;
    assert_eq!(off.status, 200);
    assert_rs_error(&c.get("/v1/bdbs").await, 401, "unauthorized");
    assert_rs_error(
        &authorize(&c, Some(&admin()), "").await,
        401,
        "unauthorized",
    );
    assert_eq!(get(c.addr, "/v1/bdbs", &jwt).await.status, 200);
    let on = send(
        c.addr,
        Method::PUT,
        "/v1/cluster",
        &[("authorization", &jwt)],
        r#"{"control_plane_basic_authentication": true}"#,
    )
    .await;
    assert_eq!(on.status, 200);
    assert_eq!(c.get("/v1/bdbs").await.status, 200);
}

#[tokio::test]
async fn the_basic_switch_does_nothing_before_8_2() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = send(
        c.addr,
        Method::PUT,
        "/v1/cluster",
        &[("authorization", &admin())],
        r#"{"control_plane_basic_authentication": false}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(c.get("/v1/bdbs/1").await.status, 200);
}

#[tokio::test]
async fn bootstrap_names_the_answering_node_and_its_release_for_any_authenticated_user() {
    let expected = [
        (SimVersion::V7_4, "7.4.6-77"),
        (SimVersion::V7_8, "7.8.2-34"),
        (SimVersion::V7_22, "7.22.2-14"),
        (SimVersion::V8_0, "8.0.2-17"),
        (SimVersion::V8_2, "8.2.0-25"),
    ];
    for (v, software) in expected {
        let c = Sim::start(v).await;
        let r = get(c.addr, "/v1/bootstrap", &viewer()).await;
        assert_eq!(r.status, 200);
        let b = r.json();
        assert_eq!(b["bootstrap_status"]["state"], "completed");
        assert_eq!(b["local_node_info"]["software_version"], software);
        assert_eq!(b["local_node_info"]["uid"], 1);
        let none = send(c.addr, Method::GET, "/v1/bootstrap", &[], "").await;
        assert_rs_error(&none, 401, "unauthorized");
    }
}
