//! The pre-validation checks of API.md §5.4 that compare a resolved current module with the
//! requested new one, each answering with the old route's own `error_code` (406). The two
//! `missing_module` checks live in the caller, because resolution is needed in every mode.

use super::version::{compare_versions, is_lower};
use super::{find_module, non_empty};
use crate::error::ApiError;
use crate::rules::module_upgrade::model::{Bdb, BdbModule, Module, Node};
use http::StatusCode;
use std::cmp::Ordering;

/// Databases from this Redis version on are judged by `compatible_redis_version` alone; API.md
/// §5.4 limits the `min_redis_version` check to databases below it.
const MIN_REDIS_VERSION_CHECK_BELOW: &str = "7.4";

pub(super) struct Input<'a> {
    pub new: &'a Module,
    pub current: &'a BdbModule,
    pub bdb: &'a Bdb,
    pub catalog: &'a [Module],
    pub nodes: Option<&'a [Node]>,
}

/// Every failing check, in the table's order (so the first is the one `Enforce` reports).
pub(super) fn failures(input: &Input) -> Vec<ApiError> {
    let current_in_catalog = find_module(input.catalog, &input.current.module_id);
    [
        downgrade(input, current_in_catalog),
        redis_incompatible(input),
        pack_incompatible(input),
        capabilities(input, current_in_catalog),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Integer `version`s when the catalog has both; else semantic versions, the current one as the
/// database reports it.
fn downgrade(input: &Input, current_cat: Option<&Module>) -> Option<ApiError> {
    let (new, current) = (input.new, input.current);
    let older = match (new.version, current_cat.and_then(|c| c.version)) {
        (Some(n), Some(c)) => n < c,
        _ => {
            let from = match (current.semantic_version.as_str(), current_cat) {
                ("", Some(c)) => c.semantic_version.as_str(),
                (from, _) => from,
            };
            is_lower(&new.semantic_version, from)
        }
    };
    older.then(|| {
        not_acceptable(
            "module_downgrade_unsupported",
            format!(
                "module {} {} ({}) is older than {} enabled on database {}; \
                 module downgrade is not allowed",
                new.module_name,
                new.semantic_version,
                new.uid,
                current.semantic_version,
                input.bdb.uid
            ),
        )
    })
}

fn redis_incompatible(input: &Input) -> Option<ApiError> {
    let (new, bdb) = (input.new, input.bdb);
    let db_full = non_empty(bdb.version.as_deref()).or(non_empty(bdb.redis_version.as_deref()))?;
    if let Some(min) = non_empty(new.min_redis_version.as_deref()) {
        if is_lower(db_full, MIN_REDIS_VERSION_CHECK_BELOW) && is_lower(db_full, min) {
            return Some(not_acceptable(
                "redis_incompatible_version",
                format!(
                    "module {} {} needs Redis {min} or later, but database {} runs {db_full}",
                    new.module_name, new.semantic_version, bdb.uid
                ),
            ));
        }
    }
    let compatible = non_empty(new.compatible_redis_version.as_deref())?;
    let pinned = non_empty(bdb.redis_version.as_deref())?;
    let same = compare_versions(compatible, pinned).map_or(compatible == pinned, Ordering::is_eq);
    (!same).then(|| {
        not_acceptable(
            "redis_incompatible_version",
            format!(
                "module {} {} is built for Redis {compatible}, but database {} runs Redis \
                 {pinned} and the upgrade keeps it there",
                new.module_name, new.semantic_version, bdb.uid
            ),
        )
    })
}

/// Compared with the lowest node, since the shards may land on any node.
fn pack_incompatible(input: &Input) -> Option<ApiError> {
    let min = non_empty(input.new.min_redis_pack_version.as_deref())?;
    let lowest = input
        .nodes?
        .iter()
        .filter_map(|n| n.software_version.as_deref())
        .filter(|v| compare_versions(v, v).is_some())
        .min_by(|a, b| compare_versions(a, b).unwrap_or(Ordering::Equal))?;
    is_lower(lowest, min).then(|| {
        not_acceptable(
            "redis_pack_incompatible_version",
            format!(
                "module {} {} needs Redis Software {min} or later, but the lowest node runs \
                 {lowest}",
                input.new.module_name, input.new.semantic_version
            ),
        )
    })
}

/// Needs the current module's catalog entry: `module_list` does not carry capabilities.
fn capabilities(input: &Input, current_cat: Option<&Module>) -> Option<ApiError> {
    let current_cat = current_cat?;
    let lacking: Vec<&str> = current_cat
        .capabilities
        .iter()
        .filter(|c| !input.new.capabilities.contains(c))
        .map(String::as_str)
        .collect();
    (!lacking.is_empty()).then(|| {
        not_acceptable(
            "unsupported_module_capabilities",
            format!(
                "module {} {} lacks capabilities the current module {} offers: {}",
                input.new.module_name,
                input.new.semantic_version,
                current_cat.semantic_version,
                lacking.join(", ")
            ),
        )
    })
}

fn not_acceptable(code: &str, text: String) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, code, text)
}
