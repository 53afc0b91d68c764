//! Calls and checks shared by the simulated cluster's issue 22 (b) tests (`sim_catalogue_b.rs`,
//! `sim_module_config.rs`): a JSON request as any user or as the admin, an admin request that
//! must be refused in the RS shape, a 200's body, the `/__sim/state` and `/__sim/faults`
//! endpoints, and two pickers over the JSON they return.
#![allow(dead_code)]

use super::harness::Sim;
use super::legacy::{admin, assert_rs_error};
use super::{send, Reply};
use http::Method;
use serde_json::Value;

pub const POST: Method = Method::POST;
pub const PUT: Method = Method::PUT;

pub async fn call_as(c: &Sim, auth: &str, method: Method, path: &str, body: &Value) -> Reply {
    let headers = [
        ("authorization", auth),
        ("content-type", "application/json"),
    ];
    send(c.addr, method, path, &headers, body.to_string()).await
}

pub async fn put(c: &Sim, path: &str, body: &Value) -> Reply {
    call_as(c, &admin(), PUT, path, body).await
}

/// `assert_rs_error` on a request as the admin.
pub async fn refused(
    c: &Sim,
    method: Method,
    path: &str,
    body: Value,
    status: u16,
    code: &str,
) -> Value {
    assert_rs_error(
        &call_as(c, &admin(), method, path, &body).await,
        status,
        code,
    )
}

/// A 200 reply's JSON body (null when empty).
pub fn ok(r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    if r.body.is_empty() {
        return Value::Null;
    }
    r.json()
}

pub async fn state(c: &Sim) -> Value {
    ok(&send(c.addr, Method::GET, "/__sim/state", &[], "").await)
}

pub async fn switch(c: &Sim, patch: Value) {
    ok(&send(c.addr, POST, "/__sim/faults", &[], patch.to_string()).await);
}

pub fn module_args(bdb: &Value, name: &str) -> String {
    let list = bdb["module_list"].as_array().expect("module_list");
    let m = list.iter().find(|m| m["module_name"] == name).expect(name);
    m["module_args"].as_str().expect("module_args").to_owned()
}

/// One field of every entry of a list.
pub fn each(list: &Value, pick: impl Fn(&Value) -> &Value) -> Vec<Value> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|e| pick(e).clone())
        .collect()
}
