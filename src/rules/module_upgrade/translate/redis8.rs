//! API.md §6: a legacy module upgrade against a database that runs Redis 8 or later. Such a
//! database's modules are built in and versioned with Redis, and there is no documented way to
//! upgrade one alone; the cluster may refuse a `modules` entry or accept and ignore it.
//!
//! Decisions:
//! - Judged from the database alone (`redis_version`, else `version`), before any upgrade is
//!   planned or sent: 406 `module_version_bound_to_redis` with §6's text.
//! - 200 (the old shape) when every requested module is exactly what the database already
//!   runs: the same module uid in `module_list`, or the catalog entry's name
//!   (case-insensitive) and `semantic_version`. A retry of a finished job stays green.
//! - Never a `redis_version` upgrade: that would change Redis and every module, bring in
//!   Redis 8's breaking changes, and cannot be undone.
//! - An unreadable version is not Redis 8 here: the usual plan and checks then apply.

use super::version::compare_versions;
use super::PlannedModule;
use crate::error::ApiError;
use crate::rules::module_upgrade::legacy::LegacyRequest;
use crate::rules::module_upgrade::model::{Bdb, Module};
use http::StatusCode;
use std::cmp::Ordering;

/// The error code of the refusal.
pub const BOUND_TO_REDIS: &str = "module_version_bound_to_redis";

/// What to do with a legacy upgrade, judged before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Redis8 {
    /// The database runs Redis < 8 (or says nothing readable): plan as usual.
    NotRedis8,
    /// Redis ≥ 8 and the first requested module already runs: reply 200 from this, send nothing.
    AlreadyRuns(PlannedModule),
    /// Redis ≥ 8: refuse with this, send nothing.
    Refuse(ApiError),
}

/// Whether the database runs Redis 8 or later.
pub fn runs_redis8(bdb: &Bdb) -> bool {
    [bdb.redis_version.as_deref(), bdb.version.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|v| !v.is_empty())
        .and_then(|v| compare_versions(v, "8"))
        .is_some_and(|o| o != Ordering::Less)
}

/// §6's decision for one legacy request.
pub fn decide(req: &LegacyRequest, bdb: &Bdb, catalog: &[Module]) -> Redis8 {
    if !runs_redis8(bdb) {
        return Redis8::NotRedis8;
    }
    let running: Option<Vec<PlannedModule>> = req
        .entries
        .iter()
        .map(|e| {
            let wanted = catalog.iter().find(|m| m.uid == e.new_module);
            let m = bdb.module_list.iter().find(|m| {
                m.module_id == e.new_module
                    || wanted.is_some_and(|w| {
                        w.module_name.eq_ignore_ascii_case(&m.module_name)
                            && !w.semantic_version.is_empty()
                            && w.semantic_version == m.semantic_version
                    })
            })?;
            Some(PlannedModule {
                current_module_id: m.module_id.clone(),
                current_module_name: m.module_name.clone(),
                from_version: m.semantic_version.clone(),
                new_module_id: m.module_id.clone(),
                to_version: Some(m.semantic_version.clone()),
                new_module_args: m.module_args.clone(),
            })
        })
        .collect();
    match running.and_then(|mut r| (!r.is_empty()).then(|| r.swap_remove(0))) {
        Some(first) => Redis8::AlreadyRuns(first),
        None => Redis8::Refuse(refusal()),
    }
}

/// The executor's entry point: `None` to plan as usual; else the old-shape 200 reply (with the
/// module it names, for the audit) or the refusal.
pub fn answer(
    req: &LegacyRequest,
    bdb: &Bdb,
    catalog: &[Module],
) -> Option<Result<(serde_json::Value, PlannedModule), ApiError>> {
    match decide(req, bdb, catalog) {
        Redis8::NotRedis8 => None,
        Redis8::AlreadyRuns(first) => Some(Ok((super::old_reply(bdb, &first).0, first))),
        Redis8::Refuse(e) => Some(Err(e)),
    }
}

/// 406 with §6's text.
pub fn refusal() -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        BOUND_TO_REDIS,
        "modules of Redis 8 databases are versioned with Redis (Redis X.Y uses modules X.Y); \
         upgrade Redis with POST /v1/bdbs/{uid}/upgrade and redis_version",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::module_upgrade::legacy::ModuleEntry;

    fn bdb(redis: &str) -> Bdb {
        serde_json::from_value(serde_json::json!({
            "uid": 5, "redis_version": redis, "version": format!("{redis}.1"),
            "module_list": [{"module_id": "json82", "module_name": "ReJSON",
                             "module_args": "", "semantic_version": "8.2.0"}]
        }))
        .expect("bdb")
    }

    fn catalog() -> Vec<Module> {
        let m = |uid: &str, v: &str| Module {
            uid: uid.into(),
            module_name: "ReJSON".into(),
            semantic_version: v.into(),
            ..Module::default()
        };
        vec![
            m("json82", "8.2.0"),
            m("json82b", "8.2.0"),
            m("json26", "2.6.12"),
        ]
    }

    fn ask(uids: &[&str]) -> LegacyRequest {
        LegacyRequest {
            entries: uids
                .iter()
                .map(|u| ModuleEntry {
                    new_module: (*u).into(),
                    ..ModuleEntry::default()
                })
                .collect(),
            preserve_roles: None,
            may_discard_data: None,
            force_restart: None,
        }
    }

    #[test]
    fn a_database_on_redis_7_is_planned_as_usual() {
        assert_eq!(
            decide(&ask(&["json26"]), &bdb("7.4"), &catalog()),
            Redis8::NotRedis8
        );
        let mut unknown = bdb("");
        unknown.version = None;
        assert_eq!(
            decide(&ask(&["json26"]), &unknown, &catalog()),
            Redis8::NotRedis8
        );
    }

    #[test]
    fn another_module_version_on_redis_8_is_refused_with_406_naming_the_redis_upgrade() {
        for v in ["8.0", "8.2", "9.0"] {
            let Redis8::Refuse(e) = decide(&ask(&["json26"]), &bdb(v), &catalog()) else {
                panic!("{v}: not refused");
            };
            assert_eq!(e.status, StatusCode::NOT_ACCEPTABLE);
            assert_eq!(e.error_code, BOUND_TO_REDIS);
            assert!(e
                .text
                .contains("POST /v1/bdbs/{uid}/upgrade and redis_version"));
        }
        let unknown = decide(&ask(&["nope"]), &bdb("8.2"), &catalog());
        assert!(matches!(unknown, Redis8::Refuse(_)));
    }

    #[test]
    fn the_module_already_running_on_redis_8_is_a_200_by_uid_or_by_name_and_version() {
        for uid in ["json82", "json82b"] {
            let Redis8::AlreadyRuns(p) = decide(&ask(&[uid]), &bdb("8.2"), &catalog()) else {
                panic!("{uid}: not already running");
            };
            assert_eq!(
                (p.new_module_id.as_str(), p.from_version.as_str()),
                ("json82", "8.2.0")
            );
        }
        let mixed = decide(&ask(&["json82", "json26"]), &bdb("8.2"), &catalog());
        assert!(
            matches!(mixed, Redis8::Refuse(_)),
            "one entry not running refuses all"
        );
    }
}
