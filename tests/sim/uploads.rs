//! Module upload and delete per release (API-RULES §4.6): v1 synchronous and v2 asynchronous
//! on 7.x, both 404 on 8.x unless switched on, the user-defined APIs on 8.x, and 8.2's
//! `403 modules_upload_disabled` unless `allow_modules_upload`.

use deprecation_shim::sim::modules::stable_uid;
use deprecation_shim::sim::{seed, SimVersion};
use http::Method;
use serde_json::{json, Value};

use crate::support::harness::Sim;
use crate::support::legacy::{admin, assert_rs_error, viewer};
use crate::support::{send, Reply};

const BOUNDARY: &str = "sim-test-boundary-42";

/// A multipart body with one `module` part holding `data` under `file`.
fn form(file: &str, data: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"module\"; filename=\"{file}\"\r\n\
         Content-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(data);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

async fn upload(c: &Sim, path: &str, auth: &str, body: Vec<u8>) -> Reply {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let h = [("authorization", auth), ("content-type", ct.as_str())];
    send(c.addr, Method::POST, path, &h, body).await
}

async fn delete(c: &Sim, path: &str) -> Reply {
    send(
        c.addr,
        Method::DELETE,
        path,
        &[("authorization", &admin())],
        "",
    )
    .await
}

fn manifest(name: &str, version: &str, deps: Value) -> Vec<u8> {
    json!({"module_name": name, "semantic_version": version, "dependencies": deps})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn v1_upload_is_synchronous_on_7x_and_names_the_package_from_its_ramp_file_name() {
    for v in [SimVersion::V7_4, SimVersion::V7_8, SimVersion::V7_22] {
        let c = Sim::start(v).await;
        let body = form(
            "rejson.Linux-ubuntu18.04-x86_64.2.6.20.zip",
            b"PK\x03\x04zip bytes",
        );
        let r = upload(&c, "/v1/modules", &admin(), body.clone()).await;
        assert_eq!(r.status, 200, "{v}: {}", String::from_utf8_lossy(&r.body));
        let m = r.json();
        assert_eq!(
            (m["module_name"].as_str(), m["semantic_version"].as_str()),
            (Some("ReJSON"), Some("2.6.20"))
        );
        assert_eq!(m["uid"], stable_uid("ReJSON", "2.6.20"));
        assert!(m.get("action_uid").is_none());
        let uid = m["uid"].as_str().expect("uid");
        assert_eq!(
            c.get(&format!("/v1/modules/{uid}")).await.status,
            200,
            "in the catalog at once"
        );
        assert_rs_error(
            &upload(&c, "/v1/modules", &admin(), body).await,
            400,
            "module_exists",
        );
    }
}

#[tokio::test]
async fn v1_upload_errors_no_module_invalid_module_dependencies_not_supported() {
    let c = Sim::start(SimVersion::V7_22).await;
    let no_part = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--{BOUNDARY}--\r\n");
    assert_rs_error(
        &upload(&c, "/v1/modules", &admin(), no_part.into_bytes()).await,
        400,
        "no_module",
    );
    assert_rs_error(
        &upload(&c, "/v1/modules", &admin(), form("m.zip", b"")).await,
        400,
        "no_module",
    );
    assert_rs_error(
        &upload(&c, "/v1/modules", &admin(), form("custom.zip", b"junk")).await,
        400,
        "invalid_module",
    );
    let deps = manifest(
        "rg",
        "1.2.1",
        json!({"gears_python": {"sha256": "00", "url": "http://x"}}),
    );
    assert_rs_error(
        &upload(&c, "/v1/modules", &admin(), form("rg.zip", &deps)).await,
        400,
        "dependencies_not_supported",
    );
    assert_rs_error(
        &upload(&c, "/v1/modules", &viewer(), form("rg.zip", &deps)).await,
        403,
        "insufficient_permissions",
    );
    let v2 = upload(&c, "/v2/modules", &admin(), form("rg.zip", &deps)).await;
    assert_eq!(v2.status, 200, "v2 accepts dependencies");
}

#[tokio::test]
async fn v2_upload_runs_a_module_upload_task_and_the_module_appears_when_it_completes() {
    let c = Sim::start(SimVersion::V7_8).await;
    let r = upload(
        &c,
        "/v2/modules",
        &admin(),
        form("x.zip", &manifest("search", "2.8.30", json!({}))),
    )
    .await;
    assert_eq!(r.status, 200);
    let m = r.json();
    let (uid, action) = (
        m["uid"].as_str().expect("uid"),
        m["action_uid"].as_str().expect("action_uid"),
    );
    assert_rs_error(
        &c.get(&format!("/v1/modules/{uid}")).await,
        404,
        "module_not_found",
    );
    let a = c.get(&format!("/v1/actions/{action}")).await.json();
    assert_eq!(
        (a["name"].as_str(), a["action_type"].as_str()),
        (Some("module_upload"), Some("task"))
    );
    assert_eq!(c.wait_action(action).await["status"], "completed");
    assert_eq!(
        c.get(&format!("/v1/modules/{uid}")).await.json()["semantic_version"],
        "2.8.30"
    );
}

#[tokio::test]
async fn a_failed_v2_upload_action_leaves_the_catalog_unchanged() {
    let c = Sim::start(SimVersion::V7_22).await;
    c.sim
        .faults()
        .fail_next_action("invalid_module", "bad package");
    let r = upload(
        &c,
        "/v2/modules",
        &admin(),
        form("x.zip", &manifest("bf", "2.8.9", json!({}))),
    )
    .await;
    let m = r.json();
    let a = c
        .wait_action(m["action_uid"].as_str().expect("action_uid"))
        .await;
    assert_eq!(
        (a["status"].as_str(), a["error_code"].as_str()),
        (Some("failed"), Some("invalid_module"))
    );
    let uid = m["uid"].as_str().expect("uid");
    assert_eq!(c.get(&format!("/v1/modules/{uid}")).await.status, 404);
}

#[tokio::test]
async fn delete_v1_is_synchronous_v2_asynchronous_and_modules_in_use_are_406() {
    let c = Sim::start(SimVersion::V7_4).await;
    assert_rs_error(
        &delete(&c, &format!("/v1/modules/{}", seed::REJSON_2_6_6)).await,
        406,
        "module_in_use",
    );
    assert_rs_error(
        &delete(&c, "/v1/modules/ffff").await,
        404,
        "module_not_found",
    );
    let r = delete(&c, &format!("/v1/modules/{}", seed::REJSON_2_4_7)).await;
    assert_eq!((r.status.as_u16(), r.body.len()), (200, 0));
    assert_eq!(
        c.get(&format!("/v1/modules/{}", seed::REJSON_2_4_7))
            .await
            .status,
        404
    );
    let r = delete(&c, &format!("/v2/modules/{}", seed::SEARCH_2_8_9)).await;
    assert_eq!(r.status, 200);
    let action = r.json()["action_uid"]
        .as_str()
        .expect("action_uid")
        .to_owned();
    assert_eq!(
        c.get(&format!("/v2/actions/{action}")).await.json()["name"],
        "module_delete"
    );
    c.wait_action(&action).await;
    assert_eq!(
        c.get(&format!("/v1/modules/{}", seed::SEARCH_2_8_9))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn on_8x_v1_and_v2_module_upload_and_delete_are_404_unless_switched_on() {
    for v in [SimVersion::V8_0, SimVersion::V8_2] {
        let c = Sim::start(v).await;
        let pkg = form("x.zip", &manifest("bf", "2.8.9", json!({})));
        for path in ["/v1/modules", "/v2/modules"] {
            assert_rs_error(
                &upload(&c, path, &admin(), pkg.clone()).await,
                404,
                "not_found",
            );
        }
        for path in ["/v1/modules/", "/v2/modules/"] {
            let r = delete(&c, &format!("{path}{}", seed::REJSON_2_4_7)).await;
            assert_rs_error(&r, 404, "not_found");
        }
        assert_eq!(c.get("/v1/modules").await.status, 200, "listing stays");
        c.sim
            .faults()
            .merge_json(&json!({"v2_modules_on_8x": true}))
            .expect("switch");
        let r = upload(&c, "/v2/modules", &admin(), pkg.clone()).await;
        assert_eq!(r.status, 200, "{v}");
        c.wait_action(r.json()["action_uid"].as_str().expect("action_uid"))
            .await;
        assert_rs_error(
            &upload(&c, "/v1/modules", &admin(), pkg.clone()).await,
            404,
            "not_found",
        );
        c.sim
            .faults()
            .merge_json(&json!({"v1_modules_on_8x": true}))
            .expect("switch");
        assert_rs_error(
            &upload(&c, "/v1/modules", &admin(), pkg).await,
            400,
            "module_exists",
        );
    }
}

fn config(name: &str) -> Value {
    json!({"module_name": name, "version": 10203, "semantic_version": "1.2.3", "display_name": name,
           "commands": [], "command_line_args": "", "capabilities": ["types"], "min_redis_version": "8.0.0"})
}

#[tokio::test]
async fn user_defined_apis_exist_on_8x_only_and_8_0_allows_uploads() {
    let c7 = Sim::start(SimVersion::V7_22).await;
    assert_rs_error(
        &c7.post("/v2/modules/user-defined", config("custom")).await,
        404,
        "not_found",
    );
    let c = Sim::start(SimVersion::V8_0).await;
    let r = c.post("/v2/modules/user-defined", config("custom")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let uid = r.json()["uid"].as_str().expect("uid").to_owned();
    assert_rs_error(
        &c.post("/v2/modules/user-defined", config("custom")).await,
        406,
        "module_exists",
    );
    let mut partial = config("other");
    partial.as_object_mut().map(|o| o.remove("commands"));
    assert_rs_error(
        &c.post("/v2/modules/user-defined", partial).await,
        400,
        "invalid_request",
    );
    let art = upload(
        &c,
        "/v2/local/modules/user-defined/artifacts",
        &admin(),
        form("custom.zip", &manifest("custom", "1.2.3", json!({}))),
    )
    .await;
    assert_eq!(art.status, 200);
    assert_eq!(
        c.get("/v2/local/modules/user-defined/artifacts")
            .await
            .json(),
        json!([{"module_name": "custom", "version": 10203, "dependencies": []}])
    );
    assert_eq!(
        delete(&c, &format!("/v2/modules/user-defined/{uid}"))
            .await
            .status,
        200
    );
    assert_eq!(c.get(&format!("/v1/modules/{uid}")).await.status, 404);
    assert_eq!(
        c.get("/v2/local/modules/user-defined/artifacts")
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1),
        "artifacts stay"
    );
    assert_rs_error(
        &delete(
            &c,
            &format!("/v2/modules/user-defined/{}", seed::REJSON_8_0_2),
        )
        .await,
        406,
        "module_is_bundled",
    );
}

#[tokio::test]
async fn on_8_2_both_upload_posts_are_403_modules_upload_disabled_until_allowed() {
    let c = Sim::start(SimVersion::V8_2).await;
    assert_eq!(
        c.get("/v1/cluster").await.json()["allow_modules_upload"],
        false
    );
    let pkg = form("custom.zip", &manifest("custom", "1.2.3", json!({})));
    assert_rs_error(
        &c.post("/v2/modules/user-defined", config("custom")).await,
        403,
        "modules_upload_disabled",
    );
    let r = upload(
        &c,
        "/v2/local/modules/user-defined/artifacts",
        &admin(),
        pkg.clone(),
    )
    .await;
    assert_rs_error(&r, 403, "modules_upload_disabled");
    let h = [
        ("authorization", admin()),
        ("content-type", "application/json".to_owned()),
    ];
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let on = send(
        c.addr,
        Method::PUT,
        "/v1/cluster",
        &h,
        r#"{"allow_modules_upload": true}"#,
    )
    .await;
    assert_eq!(on.status, 200);
    assert_eq!(
        c.post("/v2/modules/user-defined", config("custom"))
            .await
            .status,
        200
    );
    assert_eq!(
        upload(
            &c,
            "/v2/local/modules/user-defined/artifacts",
            &admin(),
            pkg
        )
        .await
        .status,
        200
    );
}
