//! What the field rules never inspect, and what they refuse (API-CATALOGUE §1.3, issue 23):
//! bodies that are not JSON, too large (declared or streamed), of another type, pass through
//! whole and are counted; an operator's refusal sends nothing and answers in the RS shape;
//! `headers = true` marks the reply.

mod support;

use bytes::Bytes;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::harness::Sim;
use support::legacy::admin;
use support::{bodies_skipped, post_chunked, send, shim_app};

async fn put_cluster(
    addr: std::net::SocketAddr,
    content_type: &str,
    body: Bytes,
) -> support::Reply {
    let auth = admin();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", content_type),
    ];
    send(addr, Method::PUT, "/v1/cluster", &headers, body).await
}

#[tokio::test]
async fn bodies_not_json_too_large_or_of_another_type_pass_through_whole_and_are_counted() {
    let sim = Sim::timed(SimVersion::V8_2, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let toml = audit.toml("[shim]\nmax_body_size = \"1KiB\"\n[rules]\nrs_version = \"8.2.0-25\"");
    let (app, shim) = shim_app(sim.addr, &toml).await;
    sim.clear_requests();
    // Not JSON: the cluster answers it, as it would without the shim.
    let r = put_cluster(
        shim.addr,
        "application/json",
        Bytes::from_static(b"{not json"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(bodies_skipped(&app, "not_json"), 1.0);
    // Declared too large: never read, streamed, the field inside untouched.
    let pad = "x".repeat(2048);
    let big = serde_json::to_vec(&json!({"use_ipv6": false, "pad": pad})).unwrap();
    let r = put_cluster(shim.addr, "application/json", Bytes::from(big.clone())).await;
    assert_eq!(r.status, 200);
    assert_eq!(bodies_skipped(&app, "too_large"), 1.0);
    // Streamed without a length, grown past the limit while read: the prefix, then the rest.
    let auth = admin();
    let chunks: Vec<Bytes> = big.chunks(300).map(Bytes::copy_from_slice).collect();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let r = post_chunked(shim.addr, "/v1/bdbs", &headers, chunks).await;
    assert_eq!(r.status, 400, "no name: the cluster's own answer");
    assert_eq!(bodies_skipped(&app, "too_large"), 2.0);
    // A type that cannot be JSON.
    let r = put_cluster(
        shim.addr,
        "multipart/form-data; boundary=x",
        Bytes::from_static(b"--x--"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(bodies_skipped(&app, "content_type"), 1.0);
    let sent = sim.requests();
    let bodies: Vec<&Bytes> = sent.iter().map(|r| &r.body).collect();
    assert_eq!(bodies[0].as_ref(), b"{not json");
    assert_eq!(
        bodies[1].as_ref(),
        big.as_slice(),
        "declared: byte for byte"
    );
    assert_eq!(bodies[2].as_ref(), big.as_slice(), "spilled: byte for byte");
    assert!(
        records(&audit).is_empty(),
        "nothing inspected, nothing audited"
    );
}

#[tokio::test]
async fn an_operator_refusal_sends_nothing_and_answers_in_the_rs_shape() {
    let sim = Sim::timed(SimVersion::V8_2, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let toml = audit.toml(
        "[[rules.fields]]\nname = \"legacy-flag\"\nroutes = [\"PUT /v1/cluster\"]\n\
         pointers = [\"/legacy_flag\"]\naction = \"refuse\"\nsuccessor = \"new_flag\"\n\
         docs_url = \"https://example.com/flags\"\n",
    );
    let (_app, shim) = shim_app(sim.addr, &toml).await;
    sim.clear_requests();
    let body = Bytes::from_static(b"{\"legacy_flag\": \"s3cret-ish\", \"name\": \"c\"}");
    let r = put_cluster(shim.addr, "application/json", body).await;
    assert_eq!(r.status, 400);
    let v: Value = r.json();
    assert_eq!(v["error_code"], "field_not_supported");
    let text = v["description"].as_str().unwrap_or_default();
    assert!(
        text.contains("/legacy_flag") && text.contains("new_flag"),
        "{text}"
    );
    assert!(!text.contains("s3cret-ish"));
    // Only the version look-up (F5/F6 share the route) reached the cluster.
    let sent: Vec<String> = sim
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(sent, ["GET /v1/bootstrap"], "the PUT was never sent");
    let rec = records(&audit).pop().expect("audited");
    assert_eq!(rec["rule"], "legacy-flag");
    assert_eq!(rec["status"], 400);
}

#[tokio::test]
async fn headers_true_marks_a_hit_and_an_operator_rename_maps_values() {
    let sim = Sim::timed(SimVersion::V8_2, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let toml = audit.toml(
        "[rules]\nrs_version = \"8.2.0-25\"\n[rules.field_sentinel_policy]\nheaders = true\n\
         [[rules.fields]]\nname = \"tier\"\nroutes = [\"PUT /v1/cluster\"]\npointers = [\"/tier\"]\n\
         action = \"rename\"\nto = \"/service_tier\"\nvalues = { gold = \"premium\" }\n\
         docs_url = \"https://example.com/tiers\"\n",
    );
    let (_app, shim) = shim_app(sim.addr, &toml).await;
    let body = Bytes::from_static(b"{\"sentinel_ssl_policy\": \"disabled\", \"tier\": \"gold\"}");
    let r = put_cluster(shim.addr, "application/json", body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("deprecation"), Some("@1706745600"));
    let cluster = sim.sim.snapshot()["cluster"].clone();
    assert_eq!(cluster["sentinel_tls_mode"], "disabled");
    assert_eq!(cluster["service_tier"], "premium");
    assert!(cluster.get("tier").is_none());
    let rec = records(&audit).pop().expect("audited");
    let actions: Vec<&str> = rec["detail"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|h| h["action"].as_str())
        .collect();
    assert_eq!(actions, ["renamed", "renamed"]);
}
