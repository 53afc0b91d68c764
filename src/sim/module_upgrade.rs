//! The new route, `POST /v1/bdbs/{uid}/upgrade`: validates the body, works out what the upgrade
//! will change — including the 7.8.2 trap (no `redis_version` → Redis moves to the release
//! default; `latest_with_modules` absent or true → every module moves to its latest fitting
//! version) — and starts an `SMUpgradeBDB` action that applies it on completion.
//!
//! Synchronous answers: 404 unknown database, 400 body or module problems (`missing_module`),
//! 406 capabilities (with no `error_code`: RS documents none for this route), 409 busy.
//! A `modules` entry for a Redis 8 database follows the `redis8_modules` switch (`redis8`).
//! A plan that does not fit (downgrade, Redis or cluster version) is accepted and its action
//! fails with the old route's code, as RS validates the plan inside the state machine.

use serde_json::{Map, Value};
use std::time::Duration;

use super::actions::{self, Change, Fate};
use super::body;
use super::compat::{self, Misfit};
use super::faults::{Faults, Redis8Modules};
use super::routes::{bdb_not_found, Rejection};
use super::state::{Bdb, BdbModule, Module, SimState};
use super::version::SimVersion;
use crate::error::ApiError;

/// The fields of the body the simulator acts on (the rest are type-checked and ignored).
#[derive(Debug, Default)]
struct Body {
    redis_version: Option<String>,
    keep_redis_version: bool,
    latest_with_modules: Option<bool>,
    modules: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    current_module: Option<String>,
    new_module: String,
    new_module_args: Option<String>,
}

const BOOL_FIELDS: &[&str] = &[
    "force_restart",
    "keep_redis_version",
    "keep_crdt_protocol_version",
    "may_discard_data",
    "force_discard",
    "preserve_roles",
    "latest_with_modules",
    // Not in the field table, but the docs' own example body sends it.
    "swap_roles",
];
const KNOWN_FIELDS: &[&str] = &[
    "force_restart",
    "keep_redis_version",
    "keep_crdt_protocol_version",
    "may_discard_data",
    "force_discard",
    "preserve_roles",
    "latest_with_modules",
    "swap_roles",
    "parallel_shards_upgrade",
    "modules",
    "redis_version",
];
const ENTRY_FIELDS: &[&str] = &["current_module", "new_module", "new_module_args"];

/// Handles the new route; returns the BDB object to answer with.
pub fn upgrade(
    state: &mut SimState,
    version: SimVersion,
    faults: &Faults,
    uid: u64,
    raw: &[u8],
    duration: Duration,
) -> Result<Value, Rejection> {
    let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?.clone();
    let mut body = parse(raw)?;
    if super::redis8::runs_redis8(&bdb) && !body.modules.is_empty() {
        match faults.redis8_modules() {
            Redis8Modules::Ignore => body.modules.clear(),
            Redis8Modules::Reject => {
                return Err(ApiError::new(
                    http::StatusCode::NOT_ACCEPTABLE,
                    "redis8_module_upgrade_unsupported",
                    format!(
                        "Database {uid} runs Redis {}: its modules are versioned with Redis",
                        bdb.version
                    ),
                )
                .into())
            }
        }
    }
    let explicit = resolve_entries(state, &bdb, &body.modules)?;
    for (current, new, _) in &explicit {
        let caps = current_caps(state, current);
        if let Err(m) = compat::check_capabilities(&caps, new) {
            return Err(Rejection::NotAcceptable(m.text));
        }
    }
    if let Some(running) = state.busy_with(&bdb) {
        return Err(busy(uid, &running).into());
    }
    let target = target_redis(version, &bdb, &body)?;
    let latest = body
        .latest_with_modules
        .unwrap_or(version.has_upgrade_trap());
    let (change, misfit) = plan(state, &bdb, &explicit, target, latest);
    let fate = match (faults.take_action_fate(), misfit) {
        (Fate::Complete, Some(m)) => Fate::Fail {
            error_code: m.error_code.to_owned(),
            error_message: m.text,
        },
        (fate, _) => fate,
    };
    actions::start(state, uid, change, fate, duration);
    let mut reply = state.bdb(uid).map(Bdb::to_json).unwrap_or(Value::Null);
    if faults.omits_action_uid() {
        if let Some(obj) = reply.as_object_mut() {
            obj.remove("action_uid");
        }
    }
    Ok(reply)
}

/// 409 for a database that is busy with another action.
pub fn busy(uid: u64, running: &str) -> ApiError {
    ApiError::new(
        http::StatusCode::CONFLICT,
        "action_in_progress",
        format!("Database {uid} is busy with action {running}"),
    )
    .with("action_uid", running)
}

fn parse(raw: &[u8]) -> Result<Body, ApiError> {
    let map = body::object(raw, true)?;
    body::only_known(&map, KNOWN_FIELDS, "")?;
    for key in BOOL_FIELDS {
        body::opt_bool(&map, key)?;
    }
    body::opt_uint(&map, "parallel_shards_upgrade")?;
    Ok(Body {
        redis_version: body::opt_str(&map, "redis_version")?,
        keep_redis_version: body::opt_bool(&map, "keep_redis_version")?.unwrap_or(false),
        latest_with_modules: body::opt_bool(&map, "latest_with_modules")?,
        modules: parse_entries(&map)?,
    })
}

fn parse_entries(map: &Map<String, Value>) -> Result<Vec<Entry>, ApiError> {
    let list = match map.get("modules") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(body::shape("modules", "must be a list")),
    };
    let mut entries = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let ctx = format!("modules[{i}].");
        let Value::Object(entry) = item else {
            return Err(body::shape(&format!("modules[{i}]"), "must be an object"));
        };
        body::only_known(entry, ENTRY_FIELDS, &ctx)?;
        entries.push(Entry {
            current_module: body::entry_str(entry, "current_module", &ctx)?,
            new_module: body::req_str(entry, "new_module", &ctx)?,
            new_module_args: body::entry_str(entry, "new_module_args", &ctx)?,
        });
    }
    Ok(entries)
}

/// Pairs each requested entry with the enabled module it replaces (400 `missing_module`
/// when the new module is not in the catalog or nothing on the database matches).
fn resolve_entries(
    state: &SimState,
    bdb: &Bdb,
    entries: &[Entry],
) -> Result<Vec<(BdbModule, Module, Option<String>)>, ApiError> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let new = state.module(&e.new_module).ok_or_else(|| {
            missing(format!(
                "Module {} is not present in the cluster",
                e.new_module
            ))
        })?;
        let current = match &e.current_module {
            Some(id) => bdb.module_list.iter().find(|m| &m.module_id == id),
            None => bdb
                .module_list
                .iter()
                .find(|m| m.module_name.eq_ignore_ascii_case(&new.module_name)),
        };
        let current = current
            .filter(|m| m.module_name.eq_ignore_ascii_case(&new.module_name))
            .ok_or_else(|| {
                missing(format!(
                    "No {} module to replace is enabled on database {}",
                    new.module_name, bdb.uid
                ))
            })?;
        out.push((current.clone(), new.clone(), e.new_module_args.clone()));
    }
    Ok(out)
}

fn missing(text: String) -> ApiError {
    ApiError::bad_request("missing_module", text)
}

fn current_caps(state: &SimState, current: &BdbModule) -> Vec<String> {
    state
        .module(&current.module_id)
        .map(|m| m.capabilities.clone())
        .unwrap_or_default()
}

/// The (`redis_version`, `version`) the database ends on.
fn target_redis(version: SimVersion, bdb: &Bdb, body: &Body) -> Result<(String, String), ApiError> {
    let current = (bdb.redis_version.clone(), bdb.version.clone());
    if let Some(wanted) = &body.redis_version {
        if wanted == &bdb.redis_version || wanted == &bdb.version {
            return Ok(current);
        }
        let bundled = version.find_bundled(wanted).ok_or_else(|| {
            let list: Vec<&str> = version
                .bundled_redis()
                .iter()
                .map(|b| b.redis_version)
                .collect();
            ApiError::bad_request(
                "invalid_redis_version",
                format!(
                    "Redis {wanted} is not bundled with this cluster (bundled: {})",
                    list.join(", ")
                ),
            )
        })?;
        if super::version::compare_versions(bundled.version, &bdb.version).is_lt() {
            return Err(ApiError::bad_request(
                "invalid_redis_version",
                format!(
                    "Redis downgrade from {} to {wanted} is not supported",
                    bdb.redis_version
                ),
            ));
        }
        return Ok((bundled.redis_version.to_owned(), bundled.version.to_owned()));
    }
    let latest = version.latest_redis();
    let bump = version.has_upgrade_trap()
        && !body.keep_redis_version
        && super::version::compare_versions(latest.version, &bdb.version).is_gt();
    Ok(if bump {
        (latest.redis_version.to_owned(), latest.version.to_owned())
    } else {
        current
    })
}

/// What the action will change, and the first reason it cannot (the action then fails).
fn plan(
    state: &SimState,
    bdb: &Bdb,
    explicit: &[(BdbModule, Module, Option<String>)],
    target: (String, String),
    latest: bool,
) -> (Change, Option<Misfit>) {
    let node = state.lowest_software_version();
    let redis_moves = target.0 != bdb.redis_version || target.1 != bdb.version;
    let mut change = Change {
        redis: redis_moves.then(|| target.clone()),
        ..Change::default()
    };
    let mut misfit = None;
    for current in &bdb.module_list {
        let caps = current_caps(state, current);
        let chosen = match explicit
            .iter()
            .rev()
            .find(|(c, _, _)| c.module_id == current.module_id)
        {
            Some((_, new, args)) => {
                misfit = misfit.or(compat::check_downgrade(current, new).err());
                misfit = misfit.or(compat::check_pack(new, node).err());
                Some((new, args.clone()))
            }
            None if latest => {
                compat::latest_fitting(&state.modules, current, &caps, (&target.0, &target.1), node)
                    .map(|new| (new, None))
            }
            None => None,
        };
        let ends_on = chosen
            .as_ref()
            .map(|(m, _)| *m)
            .or_else(|| state.module(&current.module_id));
        if let (Some(m), true) = (ends_on, redis_moves || chosen.is_some()) {
            misfit = misfit.or(compat::check_redis(m, &target.0, &target.1, false).err());
        }
        if let Some((new, args)) = chosen {
            let entry = BdbModule {
                module_id: new.uid.clone(),
                module_name: new.module_name.clone(),
                module_args: args.unwrap_or_else(|| current.module_args.clone()),
                semantic_version: new.semantic_version.clone(),
            };
            change.modules.push((current.module_id.clone(), entry));
        }
    }
    (change, misfit)
}
