//! What a reply of the old route must look like, as assertions: the RS error shape, the
//! deprecation headers, and the requests the simulated cluster saw; and the demo's upgrade
//! as an old client sends it.
#![allow(dead_code)]

use super::{basic, send, Reply};
use deprecation_shim::sim::{RecordedRequest, Simulator, DEMO_ADMIN, DEMO_VIEWER};
use http::{Method, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;

/// The deprecated route for database `uid`.
pub fn old_route(uid: u64) -> String {
    format!("/v1/modules/upgrade/bdb/{uid}")
}

/// The demo's module upgrade (ReJSON to the seed's newer package), as the old route's body.
pub const DEMO_UPGRADE: &str =
    r#"{"modules":[{"module_name":"ReJSON","new_module":"e498441c107b69c94feae975a9f78330"}]}"#;

/// [`DEMO_UPGRADE`] of database 1 on the old route, with `headers` after its `Content-Type`.
pub async fn legacy_upgrade(addr: SocketAddr, headers: &[(&str, &str)]) -> Reply {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    send(addr, Method::POST, &old_route(1), &h, DEMO_UPGRADE).await
}

pub fn admin() -> String {
    basic(DEMO_ADMIN.0, DEMO_ADMIN.1)
}

pub fn viewer() -> String {
    basic(DEMO_VIEWER.0, DEMO_VIEWER.1)
}

/// The RS error shape (API.md §1): `error_code`, and the same non-empty text under both
/// `description` and `message`. Returns the body.
pub fn assert_rs_error(reply: &Reply, status: u16, error_code: &str) -> Value {
    let body = reply.json();
    assert_eq!(
        (reply.status.as_u16(), body["error_code"].as_str()),
        (status, Some(error_code)),
        "reply: {body}"
    );
    assert_rs_error_shape(&body);
    body
}

/// Only the shape: an object with string `error_code`, and `description` == `message`, non-empty.
pub fn assert_rs_error_shape(body: &Value) {
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    assert!(
        text("error_code").is_some_and(|c| !c.is_empty()),
        "no error_code: {body}"
    );
    let message = text("message").unwrap_or_else(|| panic!("no message: {body}"));
    assert!(!message.is_empty(), "empty message: {body}");
    assert_eq!(
        text("description"),
        Some(message),
        "description differs: {body}"
    );
}

/// `Deprecation: @1730419200` and the `Link` to the successor (RFC 9745, RFC 8288).
pub fn assert_deprecated(reply: &Reply, uid: u64) {
    assert_eq!(reply.header("deprecation"), Some("@1730419200"));
    let link = reply.header("link").unwrap_or_default();
    assert!(
        link.contains(&format!(
            "</v1/bdbs/{uid}/upgrade>; rel=\"successor-version\""
        )),
        "link: {link:?}"
    );
    assert!(link.contains("rel=\"deprecation\""), "link: {link:?}");
}

/// None of the old route's markers.
pub fn assert_not_deprecated(reply: &Reply) {
    for name in ["deprecation", "sunset", "link"] {
        assert_eq!(
            reply.header(name),
            None,
            "{name} on a reply of another route"
        );
    }
}

/// The `POST /v1/bdbs/{uid}/upgrade` requests the cluster received.
pub fn upgrade_posts(sim: &Simulator) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == Method::POST && r.path.ends_with("/upgrade"))
        .filter(|r| r.path.starts_with("/v1/bdbs/") && !r.path.contains("/modules/"))
        .collect()
}

/// Database `uid` as `snapshot()` shows it.
pub fn bdb(sim: &Simulator, uid: u64) -> Value {
    sim.snapshot()["bdbs"]
        .as_array()
        .and_then(|list| list.iter().find(|b| b["uid"] == uid))
        .cloned()
        .unwrap_or_else(|| panic!("no database {uid} in the snapshot"))
}

/// The `module_list` entry of `bdb` for `module_name`.
pub fn module_entry<'a>(bdb: &'a Value, module_name: &str) -> &'a Value {
    bdb["module_list"]
        .as_array()
        .and_then(|l| l.iter().find(|m| m["module_name"] == module_name))
        .unwrap_or_else(|| panic!("no {module_name} on {bdb}"))
}

pub fn ok(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "reply: {:?}", reply.body);
    reply.json()
}

/// The multipart boundary of [`module_package`].
pub const BOUNDARY: &str = "rmadm-like-boundary";
/// Bytes inside every package [`module_package`] builds: never to be found in an audit log.
pub const PACKAGE_SECRET: &str = "PACKAGE-BYTES-NEVER-AUDITED";

/// A RAMP-named package the simulator recognises by its file name.
pub fn module_package(file: &str, filler: usize) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"module\"; filename=\"{file}\"\r\n\
         Content-Type: application/zip\r\n\r\nPK{PACKAGE_SECRET}"
    )
    .into_bytes();
    body.resize(body.len() + filler, b'z');
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn multipart() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The legacy `POST /v1/modules` of `body` (a [`module_package`]), as rmadm sends it.
pub async fn module_upload(addr: SocketAddr, body: Vec<u8>) -> Reply {
    let auth = admin();
    let ct = multipart();
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", ct.as_str()),
    ];
    send(addr, Method::POST, "/v1/modules", &h, body).await
}

/// The legacy `DELETE /v1/modules/{uid}`.
pub async fn module_delete(addr: SocketAddr, uid: &str) -> Reply {
    let auth = admin();
    let h = [("authorization", auth.as_str())];
    send(addr, Method::DELETE, &format!("/v1/modules/{uid}"), &h, "").await
}
