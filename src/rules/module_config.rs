//! R14: `POST /v1/modules/config/bdb/{uid}` and `POST /v1/bdbs/{uid}/modules/config` (deprecated
//! 7.4, API-CATALOGUE §4), `translate` mode only: `auto` observes, so nothing here runs unless an
//! operator opts in. The old body `{"modules":[{"module_name","module_args"}]}` becomes a
//! `PUT /v1/bdbs/{uid}` body built from the database as read with `GET /v1/bdbs/{uid}?extended=true`.
//! Pure: the executor reads the body (at most [`MAX_BODY`]), sends the look-up, then calls
//! [`plan_redis7`] or [`plan_redis8`] by [`is_redis8`].
//!
//! Contract (§4.2, §4.4): old error codes for a bad body (`400 invalid_schema` / `missing_field` /
//! `param_error`); each module found in `module_list` by name, case-insensitively (else
//! `400 module_not_exist`); Redis < 8 merges `NAME VALUE` pairs into that entry's `module_args`;
//! Redis ≥ 8 maps each pair through a fixed table into the whole `search` / `timeseries` /
//! `probabilistic` object; anything that cannot be merged or mapped is
//! `406 module_args_unmapped`, naming the tokens and linking the object page.
//!
//! Decisions:
//! - The Redis 8 table is the Redis Open Source configuration tables ("Parameter name (version
//!   < 8.0) → (version ≥ 8.0)", `DEV/ai/search-and-query/administration/configuration.md`,
//!   `DEV/data-types/timeseries/configuration.md`, `DEV/data-types/probabilistic/configuration.md`)
//!   restricted to keys on the RS object pages (`L/objects/bdb/{search,timeseries,probabilistic}.md`),
//!   each value parsed by the type and range on the RS page: see [`TABLE`]. Where the two sources
//!   disagree the narrower range wins (`cf-max-expansions`: RS 1–65536, DEV 1–65535 → 1–65535),
//!   and `bf-error-rate` (both "0–1") excludes its edges: a rate of 0 or 1 makes no usable filter,
//!   and refusing is safer than guessing which edge the cluster takes. Everything else
//!   (`MAXEXPANSIONS`, absent from the RS page; ReJSON; graph; a flag; an out-of-range value) is
//!   `406`: never guessed.
//! - Values are never echoed: a token is shown in an error or the audit only when it has the
//!   shape of a name (`^[A-Z_]+$`) and does not follow a token naming a password (search's
//!   `OSS_GLOBAL_PASSWORD` takes one); any other token shows as `…`.
//! - Pairing is the contract's: an even token count and every name `^[A-Z_]+$`. A flag followed
//!   by a name-shaped token (`NOGC ON_TIMEOUT RETURN FAIL`) still pairs wrongly; the contract
//!   accepts that limit and so does this core (Redis < 8 only; on Redis 8 the names go through the
//!   table, which catches it).
//! - The merge keeps the current order, gives an existing name the new value (every occurrence,
//!   should the database hold one twice), and appends new names in their order. Several entries
//!   of one request apply one after the other, so a later one sees the earlier one's result.
//! - On Redis 8 a module counts as present when `module_list` lists it **or** the reply carries
//!   its object (the capabilities are built in, and whether `module_list` still lists them is
//!   undocumented). A present module with no object on the RS page (ReJSON, graph) is `406`; an
//!   absent one `400 module_not_exist`. A mapped module whose object is missing from the reply is
//!   `502 upstream_invalid_reply` (the look-up must be sent with `extended=true`).
//! - An empty `modules` list is `400 invalid_schema` and empty `module_args` `400 param_error`:
//!   nothing to send, and a no-op `PUT` could still restart shards.
//! - The `PUT` body holds `module_list` as read (every entry, every key, F4's deprecated ones
//!   included) with only the touched `module_args` replaced, or only the touched objects, whole.
//! - [`is_redis8`] reads the major of `redis_version`; `None` when absent or unparsable, which the
//!   caller treats as a failed look-up (§1.6: pass through, audited).

use crate::error::ApiError;
use http::StatusCode;
use serde_json::{Map, Value};
use std::fmt;

mod args;
mod redis8;

pub use args::{arg_names, merge_args};
use args::{pairs, shown};
pub use redis8::{plan_redis8, Mapping, ValueType, TABLE};

/// Largest body read (§4.4 step 1).
pub const MAX_BODY: usize = 64 * 1024;
/// The bdb object page (Redis < 8, `module_list`; ReJSON and graph).
pub const BDB_OBJECT_DOCS: &str =
    "https://redis.io/docs/latest/operate/rs/references/rest-api/objects/bdb/";
/// Characters the old `module_args` pattern forbids (§4.1).
const FORBIDDEN: &[char] = &['&', '<', '>', '"'];

/// One entry of the old body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleArgs {
    pub module_name: String,
    pub args: String,
}

/// Where a module's arguments go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    ModuleList,
    Search,
    Timeseries,
    Probabilistic,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::ModuleList => "module_list",
            Target::Search => "search",
            Target::Timeseries => "timeseries",
            Target::Probabilistic => "probabilistic",
        }
    }

    /// The object page this target is documented on.
    pub fn docs(self) -> String {
        match self {
            Target::ModuleList => BDB_OBJECT_DOCS.to_owned(),
            other => format!("{BDB_OBJECT_DOCS}{}/", other.as_str()),
        }
    }

    /// The Redis 8 object of a module (`search`, `timeseries`, `bf`; any case).
    fn of_module(module_name: &str) -> Option<Target> {
        [
            ("search", Target::Search),
            ("timeseries", Target::Timeseries),
            ("bf", Target::Probabilistic),
        ]
        .into_iter()
        .find(|(name, _)| module_name.eq_ignore_ascii_case(name))
        .map(|(_, target)| target)
    }
}

/// Arguments that cannot be merged or mapped: the tokens shown (values as `…`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    pub tokens: Vec<String>,
    pub reason: String,
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tokens.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{} ({})", self.reason, self.tokens.join(" "))
        }
    }
}

/// What goes into the audit record for one module: argument names only, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleAudit {
    pub module_name: String,
    pub arg_names: Vec<String>,
    /// `None`: nothing on Redis 8 takes this module's arguments (ReJSON, graph, unknown).
    pub target: Option<Target>,
}

/// The audit record's part from this core (§4.4 step 7; the executor adds `action_uid`, status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub bdb_uid: u64,
    pub modules: Vec<ModuleAudit>,
}

/// Step 1: the old body, with the old error codes (§4.2). Error texts never repeat arguments.
pub fn parse(body: &[u8]) -> Result<Vec<ModuleArgs>, ApiError> {
    let schema = |text: &str| ApiError::bad_request("invalid_schema", text);
    let missing = |text: String| ApiError::bad_request("missing_field", text);
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err(schema("the body is not a JSON object"));
    };
    let list = match object.get("modules") {
        None | Some(Value::Null) => return Err(missing("the body has no modules".into())),
        Some(Value::Array(list)) if list.is_empty() => return Err(schema("modules is empty")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(schema("modules is not a list")),
    };
    let mut modules = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Value::Object(item) = item else {
            return Err(schema(&format!("modules[{i}] is not an object")));
        };
        let module_name = match item.get("module_name") {
            None | Some(Value::Null) => {
                return Err(missing(format!("modules[{i}] has no module_name")))
            }
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(schema(&format!("modules[{i}].module_name is not a string"))),
        };
        let args = match item.get("module_args") {
            None | Some(Value::Null) => {
                return Err(missing(format!("modules[{i}] has no module_args")))
            }
            Some(Value::String(args)) => args,
            Some(_) => return Err(param(i, "is not a string")),
        };
        if args.contains(FORBIDDEN) {
            return Err(param(i, "holds one of the characters & < > \""));
        }
        if args.trim().is_empty() {
            return Err(param(i, "is empty"));
        }
        modules.push(ModuleArgs {
            module_name,
            args: args.clone(),
        });
    }
    Ok(modules)
}

fn param(i: usize, what: &str) -> ApiError {
    ApiError::bad_request("param_error", format!("modules[{i}].module_args {what}"))
}

/// The audit part for a parsed body; `redis8` picks the targets.
pub fn audit(bdb_uid: u64, modules: &[ModuleArgs], redis8: bool) -> Audit {
    Audit {
        bdb_uid,
        modules: modules
            .iter()
            .map(|m| ModuleAudit {
                module_name: m.module_name.clone(),
                arg_names: arg_names(&m.args),
                target: if redis8 {
                    Target::of_module(&m.module_name)
                } else {
                    Some(Target::ModuleList)
                },
            })
            .collect(),
    }
}

/// Whether the database runs Redis ≥ 8, from `redis_version` (`"7.4"`, `"8.0"`); `None` when the
/// reply has no parsable one.
pub fn is_redis8(bdb: &Value) -> Option<bool> {
    let version = bdb.get("redis_version")?.as_str()?;
    let major = version.split('.').next()?;
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(major.parse::<u32>().ok()? >= 8)
}

/// Redis < 8: the `PUT /v1/bdbs/{uid}` body `{"module_list": …}` (§4.4 steps 3–4).
pub fn plan_redis7(bdb: &Value, modules: &[ModuleArgs]) -> Result<Value, ApiError> {
    let mut list = match bdb.get("module_list") {
        Some(Value::Array(list)) => list.clone(),
        _ => Vec::new(),
    };
    for module in modules {
        let Some(entry) = list
            .iter_mut()
            .find(|e| names_module(e, &module.module_name))
        else {
            return Err(module_not_exist(bdb, &module.module_name));
        };
        let current = match entry.get("module_args") {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                let unmapped = Unmapped {
                    tokens: Vec::new(),
                    reason: "the database's module_args is not a string".into(),
                };
                return Err(args_unmapped(
                    bdb,
                    module,
                    &unmapped,
                    Some(Target::ModuleList),
                ));
            }
        };
        let merged = merge_args(current, &module.args)
            .map_err(|u| args_unmapped(bdb, module, &u, Some(Target::ModuleList)))?;
        if let Value::Object(entry) = entry {
            entry.insert("module_args".into(), Value::String(merged));
        }
    }
    let mut body = Map::new();
    body.insert("module_list".into(), Value::Array(list));
    Ok(Value::Object(body))
}

fn names_module(entry: &Value, module_name: &str) -> bool {
    entry
        .get("module_name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.eq_ignore_ascii_case(module_name))
}

/// The database uid as the reply gives it, for texts.
fn uid_text(bdb: &Value) -> String {
    match bdb.get("uid") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "{uid}".to_owned(),
    }
}

fn module_not_exist(bdb: &Value, module_name: &str) -> ApiError {
    ApiError::bad_request(
        "module_not_exist",
        format!(
            "module {module_name} is not enabled on database {}",
            uid_text(bdb)
        ),
    )
}

/// `406 module_args_unmapped` naming the tokens and linking the page of `target` (the bdb object
/// page when nothing takes the arguments).
fn args_unmapped(
    bdb: &Value,
    module: &ModuleArgs,
    unmapped: &Unmapped,
    target: Option<Target>,
) -> ApiError {
    let uid = uid_text(bdb);
    let next = match target {
        Some(target) => format!(
            "Set them with PUT /v1/bdbs/{uid} ({}), see {}",
            target.as_str(),
            target.docs()
        ),
        None => format!("See {BDB_OBJECT_DOCS}"),
    };
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "module_args_unmapped",
        format!(
            "the shim cannot translate module_args of {} for database {uid}: {unmapped}. {next}",
            module.module_name
        ),
    )
    .with("module_name", module.module_name.clone())
    .with("tokens", unmapped.tokens.clone())
}

#[cfg(test)]
#[path = "module_config_tests.rs"]
mod tests;
