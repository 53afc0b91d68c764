//! Certificate replacement per release (API-RULES §3.5): `update_cert` everywhere,
//! `certificates` from 7.22 (404 below), validation per entry, all-or-nothing, the 409 switch,
//! names only in the state.

use deprecation_shim::sim::certs::EXPIRED_MARKER;
use deprecation_shim::sim::{FaultSet, SimVersion};
use http::Method;
use serde_json::{json, Value};

use crate::support::harness::Sim;
use crate::support::legacy::{admin, assert_rs_error, viewer};
use crate::support::{send, Reply};

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBsim\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----\n";

async fn put(c: &Sim, path: &str, auth: &str, body: &Value) -> Reply {
    let h = [
        ("authorization", auth),
        ("content-type", "application/json"),
    ];
    send(c.addr, Method::PUT, path, &h, body.to_string()).await
}

fn replaced(c: &Sim) -> Value {
    c.sim.snapshot()["certificates_replaced"].clone()
}

#[tokio::test]
async fn update_cert_is_served_on_every_release_and_certificates_from_7_22() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        let one = json!({"name": "proxy", "certificate": CERT, "key": KEY});
        let r = put(&c, "/v1/cluster/update_cert", &admin(), &one).await;
        assert_eq!((r.status.as_u16(), r.body.len()), (200, 0), "{v}");
        let bulk = put(
            &c,
            "/v1/cluster/certificates",
            &admin(),
            &json!({"certificates": [one]}),
        )
        .await;
        if v >= SimVersion::V7_22 {
            assert_eq!(bulk.status, 200, "{v}");
            assert_eq!(replaced(&c), json!(["proxy", "proxy"]));
        } else {
            assert_rs_error(&bulk, 404, "not_found");
            assert_eq!(replaced(&c), json!(["proxy"]));
        }
    }
}

#[tokio::test]
async fn each_entry_is_validated_unknown_403_non_pem_400_missing_key_400_expired_406() {
    let c = Sim::start(SimVersion::V7_22).await;
    let expired =
        format!("-----BEGIN CERTIFICATE-----\n{EXPIRED_MARKER}\n-----END CERTIFICATE-----");
    let cases = [
        (
            json!({"name": "certificate1", "certificate": CERT, "key": KEY}),
            403,
            "unknown_certificate",
        ),
        (
            json!({"name": "sso_service", "certificate": CERT, "key": KEY}),
            403,
            "unknown_certificate",
        ),
        (
            json!({"name": "api", "certificate": "[cert_content]", "key": KEY}),
            400,
            "invalid_certificate",
        ),
        (
            json!({"name": "api", "certificate": CERT}),
            400,
            "missing_key",
        ),
        (
            json!({"name": "api", "certificate": CERT, "key": "plain"}),
            400,
            "invalid_key",
        ),
        (
            json!({"name": "api", "certificate": expired, "key": KEY}),
            406,
            "expired_certificate",
        ),
        (
            json!({"name": "api", "certificate": CERT, "key": KEY, "extra": 1}),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let r = put(&c, "/v1/cluster/update_cert", &admin(), &body).await;
        assert_rs_error(&r, status, code);
        assert!(!String::from_utf8_lossy(&r.body).contains("secretkeymaterial"));
    }
    let ca = json!({"name": "mtls_trusted_ca", "certificate": CERT});
    assert_eq!(
        put(&c, "/v1/cluster/update_cert", &admin(), &ca)
            .await
            .status,
        200,
        "a CA needs no key"
    );
    assert_eq!(replaced(&c), json!(["mtls_trusted_ca"]));
}

#[tokio::test]
async fn certificates_validates_every_entry_before_changing_any() {
    let c = Sim::start(SimVersion::V8_0).await;
    let body = json!({"certificates": [
        {"name": "proxy", "certificate": CERT, "key": KEY},
        {"name": "nope", "certificate": CERT, "key": KEY},
    ]});
    assert_rs_error(
        &put(&c, "/v1/cluster/certificates", &admin(), &body).await,
        403,
        "unknown_certificate",
    );
    assert_eq!(replaced(&c), json!([]));
    let empty = put(
        &c,
        "/v1/cluster/certificates",
        &admin(),
        &json!({"certificates": []}),
    )
    .await;
    assert_rs_error(&empty, 400, "invalid_request");
}

#[tokio::test]
async fn the_partial_update_switch_replaces_the_first_certificate_then_answers_409_once() {
    let c = Sim::start(SimVersion::V8_2).await;
    c.sim
        .faults()
        .merge_json(&json!({"partial_cert_update": true}))
        .expect("switch");
    let body = json!({"certificates": [
        {"name": "proxy", "certificate": CERT, "key": KEY},
        {"name": "api", "certificate": CERT, "key": KEY},
    ]});
    let r = put(&c, "/v1/cluster/certificates", &admin(), &body).await;
    assert_rs_error(&r, 409, "not_all_nodes_updated");
    assert_eq!(replaced(&c), json!(["proxy"]));
    assert_eq!(c.sim.faults().get(), FaultSet::default(), "one-shot");
    assert_eq!(
        put(&c, "/v1/cluster/certificates", &admin(), &body)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn certificate_routes_need_an_admin_and_the_state_shows_names_only() {
    let c = Sim::start(SimVersion::V7_22).await;
    let one = json!({"name": "api", "certificate": CERT, "key": KEY});
    assert_rs_error(
        &put(&c, "/v1/cluster/update_cert", &viewer(), &one).await,
        403,
        "insufficient_permissions",
    );
    assert_eq!(
        put(&c, "/v1/cluster/update_cert", &admin(), &one)
            .await
            .status,
        200
    );
    let state = send(c.addr, Method::GET, "/__sim/state", &[], "").await;
    let text = String::from_utf8_lossy(&state.body);
    assert!(
        text.contains("\"certificates_replaced\":[\"api\"]"),
        "{text}"
    );
    assert!(!text.contains("BEGIN") && !text.contains("secretkeymaterial"));
}
