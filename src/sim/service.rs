//! Where a request enters the simulator: read the body (bounded), hand `/__sim` to the control
//! routes, record the request, apply the fault switches and latency, classify, authenticate,
//! dispatch to a handler under the state lock, and turn the outcome (JSON, empty, or a gzip
//! package) into a response — the one place that does so.

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::faults::RouteFault;
use super::routes::{self, Access, Answer, Rejection, Route, Served};
use super::{
    auth, authorize, certs, cluster, control, debuginfo, legacy, module_upgrade, modules, reads,
};
use super::{cluster_nodes, user_defined, RecordedRequest, Simulator};
use crate::error::{json_response, ApiError};

/// Largest request body accepted: JSON bodies are a few hundred bytes; module packages in
/// tests are small (a real RAMP bundle can be larger: the simulator is not the place for them).
const MAX_BODY: usize = 4 << 20;
/// Largest module package (`POST /v1/modules`, `/v2/modules`): room for the streaming tests'
/// 20 MiB package.
const MAX_PACKAGE: usize = 64 << 20;

/// The service handed to [`crate::listener::serve`], one per connection.
#[derive(Clone)]
pub struct SimService(pub Arc<Simulator>, pub Option<u64>);

/// The error that makes hyper close the connection without a reply (the `drop` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a simulated fault")]
pub struct Dropped;

type Reply = Response<Full<Bytes>>;

impl hyper::service::Service<Request<Incoming>> for SimService {
    type Response = Reply;
    type Error = Dropped;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Dropped>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let (sim, node) = (self.0.clone(), self.1);
        Box::pin(async move { handle(sim, node, req).await })
    }
}

async fn handle(
    sim: Arc<Simulator>,
    node: Option<u64>,
    req: Request<Incoming>,
) -> Result<Reply, Dropped> {
    // issue 21: a node taken down closes the connections it still has.
    if node.is_some_and(|uid| sim.nodes.is_down(uid)) {
        return Err(Dropped);
    }
    let (parts, body) = req.into_parts();
    let limit = match parts.uri.path() {
        "/v1/modules" | "/v2/modules" => MAX_PACKAGE,
        _ => MAX_BODY,
    };
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let e = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("Request body exceeds {limit} bytes or could not be read"),
            );
            return Ok(e.to_response());
        }
    };
    let path = parts.uri.path();
    if path == "/__sim" || path.starts_with("/__sim/") {
        if let Some(reply) = cluster_nodes::control(&sim, &parts.method, path, &body).await {
            return Ok(reply);
        }
        return Ok(control::handle(&sim, &parts.method, path, &body));
    }
    sim.record(RecordedRequest {
        method: parts.method.clone(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| path.to_owned(), |pq| pq.as_str().to_owned()),
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        body: body.clone(),
        node,
        traceparent: parts
            .headers
            .get("traceparent")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
    });
    if let Some(reply) = cluster_nodes::redirect(&sim, node, path, parts.uri.query()) {
        return Ok(reply);
    }
    let fault = sim.faults().take_route_fault(parts.method.as_str(), path);
    let latency = sim.faults().latency_for(parts.method.as_str(), path);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let reply = match fault {
        Some(RouteFault::Drop) => return Err(Dropped),
        Some(RouteFault::DropReply) => {
            let _served = respond(dispatch(&sim, &parts, &body));
            return Err(Dropped);
        }
        Some(RouteFault::Status(code)) => status_fault(code),
        Some(RouteFault::InvalidJson) => invalid_json(),
        None => respond(dispatch(&sim, &parts, &body)),
    };
    tracing::debug!(method = %parts.method, path, status = reply.status().as_u16(), "simulated cluster reply");
    Ok(reply)
}

/// Auth, classification and the handler. Only `/v1` and `/v2` exist, and both need
/// credentials before anything else is revealed, except the two JWT routes, which
/// authenticate the caller themselves.
fn dispatch(sim: &Simulator, parts: &Parts, body: &[u8]) -> Result<Answer, Rejection> {
    let path = parts.uri.path();
    let versioned = ["/v1", "/v2"]
        .iter()
        .any(|v| path == *v || path.starts_with(&format!("{v}/")));
    if !versioned {
        return Err(routes::route_not_found(path).into());
    }
    let (v1_modules_on_8x, v2_modules_on_8x) = sim.faults.modules_on_8x();
    let served = Served {
        version: sim.version,
        v1_modules_on_8x,
        v2_modules_on_8x,
    };
    let classified = routes::classify(&parts.method, path, served);
    // issue 22 (b): module config, revamp, syncer state, maintenance
    let classified = super::catalogue_b::gate_sibling(classified, path, sim.version, &sim.faults);
    let headers = &parts.headers;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (version, faults, duration) = (sim.version, &sim.faults, sim.action_duration);
    sim.store.with(|state| {
        match &classified {
            Ok(Route::Authorize) => {
                return Ok(authorize::authorize(state, version, headers, body)?.into())
            }
            Ok(Route::RefreshJwt) => return Ok(authorize::refresh(state, headers, body)?.into()),
            _ => {}
        }
        // issue 22 (a): password, stats, license, logs. The password route authenticates
        // itself (by build); the others are reads for any authenticated user.
        use super::{license, logs, stats_v1, users_password};
        if users_password::switched_off(version, faults, path) {
            auth::authenticate(headers, state, version)?;
            return Err(routes::route_not_found(path).into());
        }
        let query = parts.uri.query();
        match &classified {
            Ok(Route::UsersPassword(op)) => {
                return Ok(users_password::change(state, version, *op, headers, body)?);
            }
            Ok(Route::Stats(stats)) => {
                auth::authenticate(headers, state, version)?;
                return Ok(stats_v1::read(state, stats, query)?.into());
            }
            Ok(Route::License) => {
                auth::authenticate(headers, state, version)?;
                return Ok(license::license(state).into());
            }
            Ok(Route::Logs) => {
                auth::authenticate(headers, state, version)?;
                return Ok(logs::logs(state, query)?.into());
            }
            _ => {}
        }
        let role = auth::authenticate(headers, state, version)?;
        let route = classified?;
        let allowed = match route.access() {
            Access::Read => true,
            Access::Write | Access::Debug => role.may_write(),
        };
        if !allowed {
            return Err(auth::forbidden().into());
        }
        let answer: Answer = match route {
            // issue 22 (b): module config, revamp, syncer state, maintenance
            route @ (Route::ModuleConfig(_)
            | Route::BdbUpdate(_)
            | Route::OptimizeShards(_)
            | Route::Revamp(_)
            | Route::SyncerState(..)
            | Route::Maintenance { .. }) => {
                let query = parts.uri.query();
                let ctx = super::catalogue_b::Ctx {
                    version,
                    faults,
                    duration,
                    query,
                };
                super::catalogue_b::answer(state, &ctx, &route, body)?
            }
            Route::Upgrade(uid) => {
                module_upgrade::upgrade(state, version, faults, uid, body, duration)?.into()
            }
            Route::ModulesUpgrade(uid) | Route::LegacyUpgrade(uid) => {
                legacy::upgrade_modules(state, uid, body)?.into()
            }
            Route::ClusterUpdate => cluster::update(state, version, body)?.into(),
            Route::BdbCreate { v2 } => super::fields::create_bdb(state, version, v2, body)?.into(),
            Route::UserCreate => super::fields::create_user(state, body)?.into(),
            Route::UserUpdate(uid) => super::users_update::update(state, uid, body)?.into(),
            Route::RoleCreate => super::roles::create(state, body)?.into(),
            Route::Roles => super::roles::list(state, faults.predefined_roles()).into(),
            Route::RedisAcls => super::redis_acls::list(state, seeded(faults)).into(),
            Route::RedisAclCreate => super::redis_acls::create(state, body, seeded(faults))?.into(),
            Route::Certificates { bulk } => certs::update(state, version, faults, bulk, body)?,
            Route::ModuleUpload { v2 } => {
                modules::upload(state, faults, v2, content_type, body, duration)?
            }
            Route::ModuleDelete { v2, uid } => modules::delete(state, faults, v2, &uid, duration)?,
            Route::UserDefinedCreate => user_defined::create(state, version, body)?,
            Route::UserDefinedDelete(uid) => user_defined::delete(state, &uid)?,
            Route::ArtifactUpload => {
                user_defined::upload_artifact(state, version, content_type, body)?
            }
            Route::Artifacts => {
                Answer::Json(serde_json::to_value(&state.artifacts).unwrap_or_default())
            }
            Route::Debuginfo(scope) => {
                Answer::Gzip(debuginfo::package(state, scope, faults.debuginfo_bytes())?)
            }
            read => reads::read(state, &read, parts.uri.query())?.into(),
        };
        Ok(answer)
    })
}

/// F2's switch: the ACLs removed in 7.2.4 are listed.
fn seeded(faults: &super::faults::Faults) -> bool {
    faults.predefined_roles() == super::roles::Predefined::Seeded
}

fn respond(outcome: Result<Answer, Rejection>) -> Reply {
    match outcome {
        // issue 22 (b): module config, revamp, syncer state, maintenance
        Ok(Answer::JsonWithHeaders(value, headers)) => {
            let mut resp: Reply = json_response(StatusCode::OK, to_bytes(&value));
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    resp.headers_mut().insert(name, v);
                }
            }
            resp
        }
        Ok(Answer::Json(value)) => json_response(StatusCode::OK, to_bytes(&value)),
        Ok(Answer::Empty) => Response::new(Full::new(Bytes::new())),
        Ok(Answer::Gzip(bytes)) => {
            let mut resp = Response::new(Full::new(bytes));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-gzip"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=debuginfo.tar.gz"),
            );
            resp
        }
        Err(Rejection::Api(e)) => {
            let mut resp: Reply = e.to_response();
            auth::add_challenge(&mut resp);
            if let Some(allow) = e.extra.get("allow").and_then(Value::as_str) {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    resp.headers_mut().insert(header::ALLOW, v);
                }
            }
            resp
        }
        Err(Rejection::NotAcceptable(message)) => json_response(
            StatusCode::NOT_ACCEPTABLE,
            to_bytes(&json!({ "message": message })),
        ),
    }
}

fn status_fault(code: u16) -> Reply {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    ApiError::new(
        status,
        "sim_fault",
        format!("Simulated fault: status {code}"),
    )
    .to_response()
}

/// A reply cut off mid-object, as a crashing API process might leave it.
fn invalid_json() -> Reply {
    json_response(
        StatusCode::OK,
        Bytes::from_static(br#"{"uid": 1, "name": "orders-db", "module_list": [{"#),
    )
}

pub(super) fn to_bytes(value: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}
