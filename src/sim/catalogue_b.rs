//! Glue for the routes of issue 22 (b), the break catalogue's R12 and R14–R17
//! (`shared/API-CATALOGUE.md` §2, §4–§7): their model switches, the 8.x gate of the sibling
//! module-upgrade route, the one dispatch function `service` calls for them, and the helper that
//! starts an asynchronous database action. The handlers live in `module_config` and
//! `bdb_update` (R14), `revamp` (R15), `syncer` (R16) and `maintenance` (R17).
//!
//! Switches (in [`super::FaultSet`], over `POST /__sim/faults`; they stay until cleared):
//! - `"sibling_on_8x": "404" | "serve"` (default `"404"`): on 8.0 and 8.2,
//!   `POST /v1/bdbs/{uid}/modules/upgrade` answers as an unregistered route (404 `not_found`,
//!   whatever the method) or is served by the < 8.0 model (`legacy`), Redis 8 databases included.
//! - `"put_module_list": "accept" | "406"` (default `"accept"`): whether `PUT /v1/bdbs/{uid}`
//!   takes a `module_list`.
//! - `"revamp_state_header": true`: `PUT …/actions/revamp?dry_run=true` also sends
//!   `cluster-state-id` (default: only the old GET sends it).
//! - `"revamp_busy": true`: every revamp answers `409 busy` (the GET is unaffected).
//!
//! Decisions:
//! - The sibling gate runs before authentication answers anything else, exactly where the
//!   classification of an unknown path would fail, so a viewer gets the same 404 as an admin.
//! - Database actions started here are named `SMUpdateBDB` (the name is ours) and mark the
//!   database `active-change-pending` until they finish, as upgrades do.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::actions::{self, Change, Fate};
use super::faults::Faults;
use super::routes::{route_not_found, Answer, Rejection, Route};
use super::state::{SimState, STATUS_CHANGE_PENDING};
use super::version::SimVersion;
use super::{bdb_update, maintenance, module_config, revamp, syncer};
use crate::error::ApiError;

/// The state-machine name of `PUT /v1/bdbs/{uid}` and of a revamp (ours).
pub const UPDATE_ACTION: &str = "SMUpdateBDB";

/// What 8.x does with `POST /v1/bdbs/{uid}/modules/upgrade` (R12; `RERS-gap` saw a 404).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SiblingOn8x {
    /// Unregistered: 404 `not_found` for every method.
    #[default]
    #[serde(rename = "404")]
    NotFound,
    /// Served as before 8.0.
    #[serde(rename = "serve")]
    Serve,
}

/// Whether `PUT /v1/bdbs/{uid}` accepts a `module_list` (R14; undocumented either way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PutModuleList {
    /// Accepted; applied by the update action.
    #[default]
    #[serde(rename = "accept")]
    Accept,
    /// 406 `module_list_read_only`.
    #[serde(rename = "406")]
    Refuse,
}

/// Turns the sibling route into an unknown one on 8.x unless `sibling_on_8x = "serve"`.
pub fn gate_sibling(
    classified: Result<Route, ApiError>,
    path: &str,
    version: SimVersion,
    faults: &Faults,
) -> Result<Route, ApiError> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let sibling = matches!(segs.as_slice(), ["v1", "bdbs", _, "modules", "upgrade"]);
    if sibling && version.is_8x() && faults.get().sibling_on_8x == SiblingOn8x::NotFound {
        return Err(route_not_found(path));
    }
    classified
}

/// What a handler here may need besides the state and the body.
pub struct Ctx<'a> {
    pub version: SimVersion,
    pub faults: &'a Faults,
    pub duration: Duration,
    /// The raw query string, if any.
    pub query: Option<&'a str>,
}

/// Answers one of this routes (auth and permission already checked).
pub fn answer(
    state: &mut SimState,
    ctx: &Ctx<'_>,
    route: &Route,
    body: &[u8],
) -> Result<Answer, Rejection> {
    match route {
        Route::ModuleConfig(uid) => module_config::configure(state, *uid, body),
        Route::BdbUpdate(uid) => bdb_update::update(state, ctx, *uid, body),
        Route::OptimizeShards(uid) => revamp::optimize(state, *uid, ctx.query).map_err(Into::into),
        Route::Revamp(uid) => revamp::revamp(state, ctx, *uid, body),
        Route::SyncerState(uid, which) => Ok(syncer::syncer_state(state, *uid, *which)?.into()),
        Route::Maintenance { node, on } => {
            Ok(maintenance::maintenance(state, *node, *on, body, ctx.duration)?.into())
        }
        _ => Err(ApiError::new(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Not a route of this module",
        )
        .into()),
    }
}

/// Starts an [`UPDATE_ACTION`] on database `uid` that applies `change` on completion, and marks
/// the database busy with it. Returns the `action_uid`.
pub fn start_bdb_action(
    state: &mut SimState,
    uid: u64,
    change: Change,
    fate: Fate,
    duration: Duration,
) -> String {
    let object = format!("bdb:{uid}");
    let action_uid = actions::start_named(state, UPDATE_ACTION, &object, change, fate, duration);
    if let Some(bdb) = state.bdb_mut(uid) {
        bdb.status = STATUS_CHANGE_PENDING.to_owned();
        bdb.action_uid = Some(action_uid.clone());
    }
    action_uid
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn switches_read_and_default_as_documented() {
        let f = Faults::default();
        assert_eq!(f.get().sibling_on_8x, SiblingOn8x::NotFound);
        assert_eq!(f.get().put_module_list, PutModuleList::Accept);
        let set = f
            .merge_json(&json!({"sibling_on_8x": "serve", "put_module_list": "406",
                                "revamp_state_header": true, "revamp_busy": true}))
            .expect("valid switches");
        assert_eq!(set.sibling_on_8x, SiblingOn8x::Serve);
        assert_eq!(set.put_module_list, PutModuleList::Refuse);
        assert!(set.revamp_state_header && set.revamp_busy);
        assert!(f.merge_json(&json!({"sibling_on_8x": "maybe"})).is_err());
        let cleared = f
            .merge_json(&json!({"sibling_on_8x": null, "put_module_list": null}))
            .expect("clears");
        assert_eq!(cleared.sibling_on_8x, SiblingOn8x::NotFound);
    }

    #[test]
    fn routes_classify_per_release() {
        use super::super::routes::classify;
        use super::super::syncer::Syncer;
        use http::Method;
        let at = |m: &Method, p: &str, v: SimVersion| classify(m, p, v).map_err(|e| e.status);
        for v in SimVersion::ALL {
            assert_eq!(
                at(&Method::POST, "/v1/modules/config/bdb/3", v),
                Ok(Route::ModuleConfig(3))
            );
            assert_eq!(
                at(&Method::POST, "/v1/bdbs/3/modules/config/", v),
                Ok(Route::ModuleConfig(3))
            );
            assert_eq!(at(&Method::PUT, "/v1/bdbs/3", v), Ok(Route::BdbUpdate(3)));
            assert_eq!(
                at(
                    &Method::GET,
                    "/v1/bdbs/1/actions/optimize_shards_placement",
                    v
                ),
                Ok(Route::OptimizeShards(1))
            );
            assert_eq!(
                at(&Method::GET, "/v1/bdbs/4/syncer_state/crdt", v),
                Ok(Route::SyncerState(4, Syncer::Crdt))
            );
            assert_eq!(
                at(&Method::POST, "/v1/nodes/2/actions/maintenance_off", v),
                Ok(Route::Maintenance { node: 2, on: false })
            );
            let revamp = at(&Method::PUT, "/v1/bdbs/1/actions/revamp", v);
            let want = match v >= SimVersion::V7_22 {
                true => Ok(Route::Revamp(1)),
                false => Err(http::StatusCode::NOT_FOUND),
            };
            assert_eq!(revamp, want, "{v}");
        }
        let v = SimVersion::V7_4;
        assert_eq!(
            at(&Method::GET, "/v1/bdbs/1/actions/revamp", v),
            Err(http::StatusCode::NOT_FOUND),
            "unknown whatever the method"
        );
        assert_eq!(
            at(&Method::GET, "/v1/bdbs/4/syncer_state/other", v),
            Err(http::StatusCode::NOT_FOUND)
        );
        assert_eq!(
            at(&Method::POST, "/v1/nodes/x/actions/maintenance_on", v),
            Err(http::StatusCode::NOT_FOUND)
        );
        assert_eq!(
            at(&Method::GET, "/v1/nodes/1/actions/maintenance_on", v),
            Err(http::StatusCode::METHOD_NOT_ALLOWED)
        );
    }

    #[test]
    fn the_sibling_is_unknown_on_8x_only_by_default() {
        let f = Faults::default();
        let path = "/v1/bdbs/1/modules/upgrade/";
        let ok = || Ok(Route::ModulesUpgrade(1));
        let status = |v| gate_sibling(ok(), path, v, &f).map_err(|e| e.error_code);
        assert_eq!(status(SimVersion::V7_22), Ok(Route::ModulesUpgrade(1)));
        assert_eq!(status(SimVersion::V8_0), Err("not_found".to_owned()));
        assert_eq!(
            gate_sibling(ok(), "/v1/bdbs/1/upgrade", SimVersion::V8_2, &f),
            Ok(Route::ModulesUpgrade(1)),
            "other paths untouched"
        );
        f.merge_json(&json!({"sibling_on_8x": "serve"}))
            .expect("valid");
        assert_eq!(status(SimVersion::V8_2), Ok(Route::ModulesUpgrade(1)));
    }
}
