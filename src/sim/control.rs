//! The simulator's own control routes, outside the cluster API and without auth, latency,
//! faults or recording (so a test can always reach them):
//!
//! - `GET /__sim/state`: [`Simulator::snapshot`].
//! - `GET /__sim/faults`: the current [`super::FaultSet`].
//! - `POST /__sim/faults`: merge a fault JSON (see [`super::faults`]); answers the new set.
//! - `DELETE /__sim/faults`: clear every switch; answers `{}`.
//!
//! Multi-node mode adds `/__sim/nodes` and `/__sim/master` (see `cluster_nodes`).

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;

use super::service::to_bytes;
use super::Simulator;
use crate::error::{json_response, ApiError};

pub fn handle(sim: &Simulator, method: &Method, path: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let ok = |b: Bytes| json_response(StatusCode::OK, b);
    match (method.as_str(), path) {
        ("GET", "/__sim/state") => ok(to_bytes(&sim.snapshot())),
        ("GET", "/__sim/faults") => ok(to_bytes(&sim.faults().get())),
        ("POST", "/__sim/faults") => match serde_json::from_slice(body)
            .map_err(|e| e.to_string())
            .and_then(|patch| sim.faults().merge_json(&patch))
        {
            Ok(set) => ok(to_bytes(&set)),
            Err(e) => ApiError::bad_request("invalid_request", format!("Bad fault JSON: {e}"))
                .to_response(),
        },
        ("DELETE", "/__sim/faults") => {
            sim.faults().clear();
            ok(to_bytes(&sim.faults().get()))
        }
        (_, "/__sim/state" | "/__sim/faults") => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        )
        .to_response(),
        _ => {
            ApiError::not_found("not_found", format!("No such control route: {path}")).to_response()
        }
    }
}
