//! The `redis-enterprise` crate (crates.io), the real third-party client the
//! `tests/third_party_*.rs` tests run through the shim: one client as the demo admin, and the
//! typed values it returns as JSON, to compare two calls (its types do not implement `Eq`).

use deprecation_shim::sim::DEMO_ADMIN;
use redis_enterprise::EnterpriseClient;
use serde::Serialize;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// The crate's client for `http://{addr}`, as the demo admin.
pub fn client(addr: SocketAddr) -> EnterpriseClient {
    EnterpriseClient::builder()
        .base_url(format!("http://{addr}"))
        .username(DEMO_ADMIN.0)
        .password(DEMO_ADMIN.1)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A typed value the crate parsed, as JSON.
pub fn as_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("the crate's types serialise")
}
