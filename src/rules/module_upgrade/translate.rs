//! The translation proper: from an old-route request plus what the cluster reported, to the
//! pinned body for `POST /v1/bdbs/{uid}/upgrade` (API.md §5.3–§5.5); and, re-exported from the
//! submodules, judging the upgrade action (§5.6), shaping the old reply (§5.7) and mapping
//! upstream errors (§5.3, §5.8).
//!
//! Decisions:
//! - The current module is found by the first clue that matches `module_list`: `current_module`
//!   uid, then `module_name`, then the new module's catalog name (all names case-insensitive).
//!   A clue that matches nothing falls through to the next, so a stale uid still finds the module
//!   by name; a database enables at most one module per name, so this cannot pick a stranger.
//! - Resolution failure is 400 `missing_module` in every mode: the new body needs a
//!   `current_module`. So is a current module of another name than the new module's. Two
//!   entries resolving to the same module are 400 `invalid_request`.
//! - A database without `redis_version` is 502 `upstream_invalid_reply`, checked first: an
//!   unpinned call would upgrade Redis and every module (API.md §3), whatever the request says.
//! - `current_semantic_version` from the caller is not compared: `module_list` is the truth.
//! - Checks whose inputs are missing or unparsable are skipped, and the cluster judges.

mod checks;
mod outcome;
pub mod redis8;
mod reply_checks;
mod upstream_error;
pub mod version;

pub use outcome::{
    accept_reply, action_state, bdb_settled, old_reply, timeout_error, upgrade_action_uid,
    ActionState,
};
pub use reply_checks::{checked_action_uid, unchanged_error, MAX_ACTION_UID_LEN};
pub use upstream_error::{map_lookup_error, map_upgrade_error};
pub use version::compare_versions;

use crate::error::ApiError;
use crate::rules::module_upgrade::legacy::{LegacyRequest, ModuleEntry};
use crate::rules::module_upgrade::model::{Bdb, BdbModule, Module, Node};
use serde_json::{Map, Value};

/// How pre-validation failures (API.md §5.4) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prevalidate {
    /// The first failure is the reply; the cluster is not asked to upgrade.
    #[default]
    Enforce,
    /// Failures become [`Plan::warnings`] and the upgrade is still sent; the cluster judges.
    Warn,
    /// No checks, except that the current module must resolve.
    Off,
}

/// What to send and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The body for `POST /v1/bdbs/{uid}/upgrade`.
    pub body: Value,
    /// One per requested entry, in request order; the old reply is built for the first.
    pub modules: Vec<PlannedModule>,
    /// Pre-validation failures that `Prevalidate::Warn` let through, for the log and audit.
    pub warnings: Vec<ApiError>,
}

/// One module upgrade, from → to.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedModule {
    pub current_module_id: String,
    pub current_module_name: String,
    pub from_version: String,
    pub new_module_id: String,
    /// The new module's `semantic_version` from the catalog, when the catalog knows it.
    pub to_version: Option<String>,
    /// The arguments sent for the new module (the caller's, else the current ones).
    pub new_module_args: String,
}

/// True when some requested module declares a `min_redis_pack_version`, i.e. when the I/O layer
/// must fetch `GET /v1/nodes` for [`plan`] to check it.
pub fn needs_nodes(req: &LegacyRequest, catalog: &[Module]) -> bool {
    req.entries.iter().any(|e| {
        find_module(catalog, &e.new_module)
            .and_then(|m| non_empty(m.min_redis_pack_version.as_deref()))
            .is_some()
    })
}

/// Resolves, pre-validates and builds the pinned new-route body. `nodes` is only consulted for
/// `min_redis_pack_version` (see [`needs_nodes`]); `None` skips that check.
pub fn plan(
    req: &LegacyRequest,
    bdb: &Bdb,
    catalog: &[Module],
    nodes: Option<&[Node]>,
    mode: Prevalidate,
) -> Result<Plan, ApiError> {
    let redis_version = pinned_redis_version(bdb)?;
    let ctx = Ctx {
        bdb,
        catalog,
        nodes,
        mode,
        many: req.entries.len() > 1,
    };
    let mut modules: Vec<PlannedModule> = Vec::with_capacity(req.entries.len());
    let mut warnings = Vec::new();
    for (i, entry) in req.entries.iter().enumerate() {
        let planned = ctx.plan_entry(i, entry, &mut warnings)?;
        if modules
            .iter()
            .any(|m| m.current_module_id == planned.current_module_id)
        {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!(
                    "{}resolves to module {} ({}), which an earlier entry already upgrades",
                    ctx.label(i),
                    planned.current_module_id,
                    planned.current_module_name
                ),
            ));
        }
        modules.push(planned);
    }
    let body = new_route_body(req, redis_version, &modules);
    Ok(Plan {
        body,
        modules,
        warnings,
    })
}

struct Ctx<'a> {
    bdb: &'a Bdb,
    catalog: &'a [Module],
    nodes: Option<&'a [Node]>,
    mode: Prevalidate,
    /// Several entries: texts then say which one failed.
    many: bool,
}

impl Ctx<'_> {
    fn plan_entry(
        &self,
        i: usize,
        entry: &ModuleEntry,
        warnings: &mut Vec<ApiError>,
    ) -> Result<PlannedModule, ApiError> {
        let new = find_module(self.catalog, &entry.new_module);
        if new.is_none() {
            let text = format!(
                "{}module {} is not present in the cluster",
                self.label(i),
                entry.new_module
            );
            self.judge(vec![missing_module(text)], warnings)?;
        }
        let current = resolve_current(entry, &self.bdb.module_list, new)
            .ok_or_else(|| missing_module(self.unresolved_text(i, entry, new)))?;
        // A module is only replaced by a version of itself: ReJSON named as the current module of
        // a search upgrade matches nothing (the old route's `missing_module`), in every mode.
        if let Some(new) = new.filter(|n| !n.module_name.eq_ignore_ascii_case(&current.module_name))
        {
            return Err(missing_module(format!(
                "{}module {} is {} {}, but the entry's current module {} is {}; \
                 a module can only be upgraded to a version of itself",
                self.label(i),
                new.uid,
                new.module_name,
                new.semantic_version,
                current.module_id,
                current.module_name
            )));
        }
        // Off skips the checks outright rather than computing failures nobody reads.
        if let Some(new) = new.filter(|_| self.mode != Prevalidate::Off) {
            let input = checks::Input {
                new,
                current,
                bdb: self.bdb,
                catalog: self.catalog,
                nodes: self.nodes,
            };
            let label = self.label(i);
            let failures = checks::failures(&input)
                .into_iter()
                .map(|e| ApiError {
                    text: format!("{label}{}", e.text),
                    ..e
                })
                .collect();
            self.judge(failures, warnings)?;
        }
        Ok(PlannedModule {
            current_module_id: current.module_id.clone(),
            current_module_name: current.module_name.clone(),
            from_version: current.semantic_version.clone(),
            new_module_id: entry.new_module.clone(),
            to_version: new
                .map(|m| m.semantic_version.clone())
                .filter(|v| !v.is_empty()),
            new_module_args: entry
                .new_module_args
                .clone()
                .unwrap_or_else(|| current.module_args.clone()),
        })
    }

    /// Applies the mode to a list of check failures (in check order).
    fn judge(&self, failures: Vec<ApiError>, warnings: &mut Vec<ApiError>) -> Result<(), ApiError> {
        match self.mode {
            Prevalidate::Enforce => failures.into_iter().next().map_or(Ok(()), Err),
            Prevalidate::Warn => {
                warnings.extend(failures);
                Ok(())
            }
            Prevalidate::Off => Ok(()),
        }
    }

    fn label(&self, i: usize) -> String {
        if self.many {
            format!("modules[{i}]: ")
        } else {
            String::new()
        }
    }

    fn unresolved_text(&self, i: usize, entry: &ModuleEntry, new: Option<&Module>) -> String {
        let clues: Vec<String> = [
            entry.current_module.as_ref().map(|u| format!("uid {u}")),
            entry.module_name.as_ref().map(|n| format!("name {n:?}")),
            new.map(|m| format!("name {:?}", m.module_name)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let clues = if clues.is_empty() {
            "no current_module or module_name given, and the new module is unknown".to_owned()
        } else {
            format!("looked for {}", clues.join(", "))
        };
        format!(
            "{}no matching module is enabled on database {} ({clues})",
            self.label(i),
            self.bdb.uid
        )
    }
}

/// The current module for an entry (see the module docs for the order of clues).
fn resolve_current<'a>(
    entry: &ModuleEntry,
    enabled: &'a [BdbModule],
    new: Option<&Module>,
) -> Option<&'a BdbModule> {
    let by_name = |name: &str| {
        enabled
            .iter()
            .find(|m| m.module_name.eq_ignore_ascii_case(name))
    };
    entry
        .current_module
        .as_deref()
        .and_then(|uid| enabled.iter().find(|m| m.module_id == uid))
        .or_else(|| entry.module_name.as_deref().and_then(by_name))
        .or_else(|| new.and_then(|m| by_name(&m.module_name)))
}

fn pinned_redis_version(bdb: &Bdb) -> Result<&str, ApiError> {
    non_empty(bdb.redis_version.as_deref()).ok_or_else(|| {
        ApiError::upstream_invalid_reply(format!(
            "database {} reports no redis_version, so the upgrade cannot be pinned to it; \
             refusing to send an unpinned upgrade, which would upgrade Redis and every module",
            bdb.uid
        ))
    })
}

/// API.md §5.5: pinned to the current Redis, only the named modules, flags only when sent.
fn new_route_body(req: &LegacyRequest, redis_version: &str, modules: &[PlannedModule]) -> Value {
    let entries = modules
        .iter()
        .map(|m| {
            serde_json::json!({
                "current_module": m.current_module_id,
                "new_module": m.new_module_id,
                "new_module_args": m.new_module_args,
            })
        })
        .collect();
    let mut body = Map::new();
    body.insert("redis_version".into(), redis_version.into());
    body.insert("latest_with_modules".into(), false.into());
    body.insert("modules".into(), Value::Array(entries));
    let flags = [
        ("preserve_roles", req.preserve_roles),
        ("may_discard_data", req.may_discard_data),
        ("force_restart", req.force_restart),
    ];
    for (key, value) in flags {
        if let Some(value) = value {
            body.insert(key.into(), value.into());
        }
    }
    Value::Object(body)
}

fn find_module<'a>(catalog: &'a [Module], uid: &str) -> Option<&'a Module> {
    catalog.iter().find(|m| m.uid == uid)
}

/// The trimmed text, or `None` when absent or blank (the cluster sends `""` for unset fields).
fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn missing_module(text: String) -> ApiError {
    ApiError::bad_request("missing_module", text)
}

#[cfg(test)]
mod tests;
