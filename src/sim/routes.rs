//! Route classification of the simulated cluster API: method + path (+ release and the 8.x
//! module switches) → [`Route`], or why not (404 for a route the release does not serve, 405,
//! 404 `bdb_not_found` for a database uid that is not an integer). Pure; the handlers live in
//! `reads`, `upgrade`, `legacy`, `jwt`, `certs`, `uploads`, `user_defined` and `debuginfo`.
//! The routes themselves ([`Route`], [`Scope`], [`Access`]) are in `route`.

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::Value;

use super::version::SimVersion;
use crate::error::ApiError;

mod route;
pub use route::{Access, Route, Scope};

/// Why a route answers something other than 200.
#[derive(Debug)]
pub enum Rejection {
    /// An RS-shaped error (`error_code`, `description`, `message`).
    Api(ApiError),
    /// 406 whose body has only a `message` and no `error_code`: the new route's capability
    /// refusal, for which RS documents no error code.
    NotAcceptable(String),
}

impl From<ApiError> for Rejection {
    fn from(e: ApiError) -> Self {
        Rejection::Api(e)
    }
}

/// A successful reply's body.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    // issue 22 (b): module config, revamp, syncer state, maintenance
    /// 200 with a JSON body and extra response headers (`cluster-state-id`).
    JsonWithHeaders(Value, Vec<(&'static str, String)>),
    Json(Value),
    /// 200 with no body (certificate replacement, v1 module delete).
    Empty,
    /// A support package, `application/x-gzip`.
    Gzip(Bytes),
}

impl From<Value> for Answer {
    fn from(v: Value) -> Self {
        Answer::Json(v)
    }
}

/// What this cluster serves beyond its release: the 8.x module-route switches.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub version: SimVersion,
    pub v1_modules_on_8x: bool,
    pub v2_modules_on_8x: bool,
}

impl From<SimVersion> for Served {
    fn from(version: SimVersion) -> Self {
        Served {
            version,
            v1_modules_on_8x: false,
            v2_modules_on_8x: false,
        }
    }
}

type Entry = (Method, Result<Route, ApiError>);

/// Classifies a request. One trailing slash is tolerated. A route the release does not serve
/// is 404 whatever the method; a served path with another method is 405.
pub fn classify(method: &Method, path: &str, served: impl Into<Served>) -> Result<Route, ApiError> {
    let served = served.into();
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let entries = candidates(&segs, path, served).ok_or_else(|| route_not_found(path))?;
    if let Some((_, route)) = entries.iter().find(|(m, _)| m == method) {
        return route.clone();
    }
    let allowed: Vec<&str> = entries.iter().map(|(m, _)| m.as_str()).collect();
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {path}"),
    )
    .with("allow", allowed.join(", ")))
}

fn candidates(segs: &[&str], path: &str, served: Served) -> Option<Vec<Entry>> {
    use Method as M;
    let v = served.version;
    let gate = |on: bool, route: Route| {
        if on {
            Ok(route)
        } else {
            Err(route_not_found(path))
        }
    };
    let v1_modules = !v.is_8x() || served.v1_modules_on_8x;
    let v2_modules = !v.is_8x() || served.v2_modules_on_8x;
    let one = |m: Method, r: Result<Route, ApiError>| Some(vec![(m, r)]);
    match segs {
        ["v1", "bdbs"] => Some(vec![
            (M::GET, Ok(Route::Bdbs)),
            (M::POST, Ok(Route::BdbCreate { v2: false })),
        ]),
        ["v2", "bdbs"] => one(M::POST, Ok(Route::BdbCreate { v2: true })),
        ["v1", "users"] => one(M::POST, Ok(Route::UserCreate)),
        ["v1", "roles"] => Some(vec![
            (M::GET, Ok(Route::Roles)),
            (M::POST, Ok(Route::RoleCreate)),
        ]),
        ["v1", "redis_acls"] => Some(vec![
            (M::GET, Ok(Route::RedisAcls)),
            (M::POST, Ok(Route::RedisAclCreate)),
        ]),
        ["v1", "bdbs", uid] if *uid != "stats" => Some(vec![
            (M::GET, bdb_uid(uid).map(Route::Bdb)),
            (M::PUT, bdb_uid(uid).map(Route::BdbUpdate)),
        ]),
        ["v1", "bdbs", uid, "upgrade"] => one(M::POST, bdb_uid(uid).map(Route::Upgrade)),
        ["v1", "bdbs", uid, "modules", "upgrade"] => {
            one(M::POST, bdb_uid(uid).map(Route::ModulesUpgrade))
        }
        ["v1", "bdbs", uid, "debuginfo"] => one(M::GET, bdb_debug(uid, Scope::Bdb)),
        // issue 22 (b): module config, revamp, syncer state, maintenance
        ["v1", "bdbs", uid, "modules", "config"] | ["v1", "modules", "config", "bdb", uid] => {
            one(M::POST, bdb_uid(uid).map(Route::ModuleConfig))
        }
        ["v1", "bdbs", uid, "actions", "optimize_shards_placement"] => {
            one(M::GET, bdb_uid(uid).map(Route::OptimizeShards))
        }
        ["v1", "bdbs", uid, "actions", "revamp"] if v >= SimVersion::V7_22 => {
            one(M::PUT, bdb_uid(uid).map(Route::Revamp))
        }
        ["v1", "bdbs", uid, "syncer_state", rest @ ..] => {
            let which = super::syncer::Syncer::from_segments(rest)?;
            one(M::GET, bdb_uid(uid).map(|u| Route::SyncerState(u, which)))
        }
        ["v1", "nodes", uid, "actions", action @ ("maintenance_on" | "maintenance_off")] => {
            let on = *action == "maintenance_on";
            one(
                M::POST,
                node_uid(uid).map(|node| Route::Maintenance { node, on }),
            )
        }
        ["v1", "modules"] => Some(vec![
            (M::GET, Ok(Route::Modules)),
            (M::POST, gate(v1_modules, Route::ModuleUpload { v2: false })),
        ]),
        ["v1", "modules", "upgrade", "bdb", uid] if v.old_route_enabled() => {
            one(M::POST, bdb_uid(uid).map(Route::LegacyUpgrade))
        }
        ["v1", "modules", uid] => {
            let delete = Route::ModuleDelete {
                v2: false,
                uid: (*uid).to_owned(),
            };
            Some(vec![
                (M::GET, Ok(Route::Module((*uid).to_owned()))),
                (M::DELETE, gate(v1_modules, delete)),
            ])
        }
        ["v2", "modules"] => one(M::POST, gate(v2_modules, Route::ModuleUpload { v2: true })),
        ["v2", "modules", "user-defined"] => {
            one(M::POST, gate(v.is_8x(), Route::UserDefinedCreate))
        }
        ["v2", "modules", "user-defined", uid] => one(
            M::DELETE,
            gate(v.is_8x(), Route::UserDefinedDelete((*uid).to_owned())),
        ),
        ["v2", "modules", uid] => {
            let delete = Route::ModuleDelete {
                v2: true,
                uid: (*uid).to_owned(),
            };
            one(M::DELETE, gate(v2_modules, delete))
        }
        ["v2", "local", "modules", "user-defined", "artifacts"] => Some(vec![
            (M::GET, gate(v.is_8x(), Route::Artifacts)),
            (M::POST, gate(v.is_8x(), Route::ArtifactUpload)),
        ]),
        ["v1", "nodes"] => one(M::GET, Ok(Route::Nodes)),
        ["v1", "nodes", uid, "debuginfo"] => one(
            M::GET,
            node_uid(uid).map(|n| Route::Debuginfo(Scope::Node(Some(n)))),
        ),
        ["v1", "cluster"] => Some(vec![
            (M::GET, Ok(Route::Cluster)),
            (M::PUT, Ok(Route::ClusterUpdate)),
        ]),
        ["v1", "cluster", "update_cert"] => one(M::PUT, Ok(Route::Certificates { bulk: false })),
        ["v1", "cluster", "certificates"] => one(
            M::PUT,
            gate(
                v.has_certificates_route(),
                Route::Certificates { bulk: true },
            ),
        ),
        ["v1", "cluster", "debuginfo"] => one(M::GET, Ok(Route::Debuginfo(Scope::Cluster))),
        ["v1", "debuginfo", "all"] => one(M::GET, Ok(Route::Debuginfo(Scope::Cluster))),
        ["v1", "debuginfo", "all", "bdb", uid] => one(M::GET, bdb_debug(uid, Scope::Bdb)),
        ["v1", "debuginfo", "node"] => one(M::GET, Ok(Route::Debuginfo(Scope::Node(None)))),
        ["v1", "debuginfo", "node", "bdb", uid] => one(M::GET, bdb_debug(uid, Scope::NodeBdb)),
        ["v1", "bootstrap"] => one(M::GET, Ok(Route::Bootstrap)),
        ["v1", "users", "authorize"] => one(M::POST, Ok(Route::Authorize)),
        ["v1", "users", "refresh_jwt"] => one(M::POST, Ok(Route::RefreshJwt)),
        // issue 22 (a): password, stats, license, logs
        ["v1", "users", "password"] => {
            use super::users_password::PasswordOp as Op;
            Some(vec![
                (M::PUT, Ok(Route::UsersPassword(Op::Replace))),
                (M::POST, Ok(Route::UsersPassword(Op::Add))),
                (M::DELETE, Ok(Route::UsersPassword(Op::Delete))),
            ])
        }
        // `{int: uid}`: any other segment is an unregistered route (404 not_found).
        ["v1", "users", uid] if uid.bytes().all(|b| b.is_ascii_digit()) => one(
            M::PUT,
            super::users_update::user_uid(uid).map(Route::UserUpdate),
        ),
        ["v1", kind, "stats", rest @ ..] => {
            super::stats_v1::classify(kind, rest).map(|route| vec![(M::GET, route)])
        }
        ["v1", "license"] => one(M::GET, Ok(Route::License)),
        ["v1", "logs"] => one(M::GET, Ok(Route::Logs)),
        ["v1", "actions"] => one(M::GET, Ok(Route::Actions)),
        ["v1", "actions", "bdb", uid] => one(M::GET, bdb_uid(uid).map(Route::BdbActions)),
        ["v1", "actions", uid] => one(M::GET, Ok(Route::ActionV1((*uid).to_owned()))),
        ["v2", "actions", uid] => one(M::GET, Ok(Route::ActionV2((*uid).to_owned()))),
        _ => None,
    }
}

fn bdb_debug(uid: &str, scope: fn(u64) -> Scope) -> Result<Route, ApiError> {
    bdb_uid(uid).map(|u| Route::Debuginfo(scope(u)))
}

/// A node uid: decimal digits only.
fn node_uid(raw: &str) -> Result<u64, ApiError> {
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| node_not_found(raw))
}

pub fn node_not_found(uid: impl std::fmt::Display) -> ApiError {
    ApiError::not_found("node_not_found", format!("Node {uid} does not exist"))
}

/// A database uid: decimal digits only (RS routes declare `{int: uid}`).
fn bdb_uid(raw: &str) -> Result<u64, ApiError> {
    let parsed = if raw.bytes().all(|b| b.is_ascii_digit()) {
        raw.parse::<u64>().ok()
    } else {
        None
    };
    parsed.ok_or_else(|| bdb_not_found(raw))
}

pub fn bdb_not_found(uid: impl std::fmt::Display) -> ApiError {
    ApiError::not_found("bdb_not_found", format!("Database {uid} does not exist"))
}

pub fn route_not_found(path: &str) -> ApiError {
    ApiError::not_found("not_found", format!("No such route: {path}"))
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
