//! Route classification of the simulated cluster API: method + path → [`Route`], or why not
//! (404, 405, 404 `bdb_not_found` for a database uid that is not an integer). Pure; the
//! handlers live in `reads`, `upgrade` and `legacy`.

use http::{Method, StatusCode};

use super::version::SimVersion;
use crate::error::ApiError;

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

/// A recognised request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Bdbs,
    Bdb(u64),
    Modules,
    Module(String),
    Nodes,
    Cluster,
    ActionV1(String),
    ActionV2(String),
    BdbActions(u64),
    /// `POST /v1/bdbs/{uid}/upgrade`, the new route.
    Upgrade(u64),
    /// `POST /v1/bdbs/{uid}/modules/upgrade`, the old route's non-deprecated sibling.
    ModulesUpgrade(u64),
    /// `POST /v1/modules/upgrade/bdb/{uid}`, the deprecated route.
    LegacyUpgrade(u64),
}

impl Route {
    /// Whether the route changes state (and so needs a role that may write).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Route::Upgrade(_) | Route::ModulesUpgrade(_) | Route::LegacyUpgrade(_)
        )
    }
}

/// Which route a path names before its method and uid are checked.
enum Shape<'a> {
    Get(Route),
    GetBdb(&'a str, fn(u64) -> Route),
    PostBdb(&'a str, fn(u64) -> Route),
}

/// Classifies a request. One trailing slash is tolerated.
pub fn classify(method: &Method, path: &str, version: SimVersion) -> Result<Route, ApiError> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let shape = match segs.as_slice() {
        ["v1", "bdbs"] => Shape::Get(Route::Bdbs),
        ["v1", "bdbs", uid] => Shape::GetBdb(uid, Route::Bdb),
        ["v1", "bdbs", uid, "upgrade"] => Shape::PostBdb(uid, Route::Upgrade),
        ["v1", "bdbs", uid, "modules", "upgrade"] => Shape::PostBdb(uid, Route::ModulesUpgrade),
        ["v1", "modules"] => Shape::Get(Route::Modules),
        ["v1", "modules", "upgrade", "bdb", uid] if version.old_route_enabled() => {
            Shape::PostBdb(uid, Route::LegacyUpgrade)
        }
        ["v1", "modules", uid] => Shape::Get(Route::Module((*uid).to_owned())),
        ["v1", "nodes"] => Shape::Get(Route::Nodes),
        ["v1", "cluster"] => Shape::Get(Route::Cluster),
        ["v1", "actions", "bdb", uid] => Shape::GetBdb(uid, Route::BdbActions),
        ["v1", "actions", uid] => Shape::Get(Route::ActionV1((*uid).to_owned())),
        ["v2", "actions", uid] => Shape::Get(Route::ActionV2((*uid).to_owned())),
        _ => return Err(route_not_found(path)),
    };
    let (allowed, route) = match shape {
        Shape::Get(route) => (Method::GET, Ok(route)),
        Shape::GetBdb(uid, make) => (Method::GET, bdb_uid(uid).map(make)),
        Shape::PostBdb(uid, make) => (Method::POST, bdb_uid(uid).map(make)),
    };
    if *method != allowed {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        )
        .with("allow", allowed.as_str()));
    }
    route
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
mod tests {
    use super::*;

    fn get(path: &str) -> Result<Route, ApiError> {
        classify(&Method::GET, path, SimVersion::V7_8)
    }

    #[test]
    fn known_paths_map_to_routes() {
        assert_eq!(get("/v1/bdbs/"), Ok(Route::Bdbs));
        assert_eq!(get("/v1/bdbs/12"), Ok(Route::Bdb(12)));
        assert_eq!(get("/v1/actions/bdb/3"), Ok(Route::BdbActions(3)));
        assert_eq!(get("/v2/actions/abc"), Ok(Route::ActionV2("abc".into())));
        let post = |p| classify(&Method::POST, p, SimVersion::V7_8);
        assert_eq!(
            post("/v1/modules/upgrade/bdb/1"),
            Ok(Route::LegacyUpgrade(1))
        );
        assert_eq!(
            post("/v1/bdbs/1/modules/upgrade"),
            Ok(Route::ModulesUpgrade(1))
        );
    }

    #[test]
    fn old_route_is_unknown_on_8_0() {
        let r = classify(&Method::POST, "/v1/modules/upgrade/bdb/1", SimVersion::V8_0);
        assert_eq!(r.expect_err("404").error_code, "not_found");
    }

    #[test]
    fn wrong_method_is_405_and_bad_uid_is_bdb_not_found() {
        assert_eq!(get("/v1/bdbs/1/upgrade").expect_err("405").status, 405);
        assert_eq!(
            get("/v1/bdbs/x1").expect_err("404").error_code,
            "bdb_not_found"
        );
        assert_eq!(
            get("/v1/bdbs/-1").expect_err("404").error_code,
            "bdb_not_found"
        );
        assert_eq!(get("/v1/nope").expect_err("404").error_code, "not_found");
    }
}
