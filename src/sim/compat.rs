//! Module compatibility rules of the simulated cluster: downgrade, Redis version, cluster
//! (pack) version and capabilities, plus "the latest module version that fits" which the 7.8.2
//! upgrade trap uses. Pure functions over catalog entries.
//!
//! Written for the simulator only; the shim's pre-validation is a separate implementation on
//! purpose, so a differential test can compare the two.

use std::cmp::Ordering;

use super::state::{BdbModule, Module};
use super::version::{compare_versions, version_number};

/// Why a module version does not fit, with the old route's `error_code`.
#[derive(Debug, Clone, PartialEq)]
pub struct Misfit {
    pub error_code: &'static str,
    pub text: String,
}

impl Misfit {
    fn new(error_code: &'static str, text: String) -> Self {
        Misfit { error_code, text }
    }
}

/// The current module's integer version; taken from its semantic version so a database whose
/// module has left the catalog can still be compared.
pub fn current_version(current: &BdbModule) -> u64 {
    version_number(&current.semantic_version)
}

pub fn check_downgrade(current: &BdbModule, new: &Module) -> Result<(), Misfit> {
    if new.version < current_version(current) {
        return Err(Misfit::new(
            "module_downgrade_unsupported",
            format!(
                "Module downgrade is not allowed: {} {} is older than the enabled {}",
                new.module_name, new.semantic_version, current.semantic_version
            ),
        ));
    }
    Ok(())
}

/// Redis fit for a database running `redis_version` / full `version`.
///
/// `min_redis_version` is only enforced below Redis 7.4 when `min_only_below_7_4` is set (the
/// old route's rule, API.md §5.4: from 7.4 on, modules are tied to Redis through
/// `compatible_redis_version` instead).
pub fn check_redis(
    new: &Module,
    redis_version: &str,
    version: &str,
    min_only_below_7_4: bool,
) -> Result<(), Misfit> {
    let min_applies = !min_only_below_7_4 || compare_versions(version, "7.4") == Ordering::Less;
    if min_applies
        && !new.min_redis_version.is_empty()
        && compare_versions(&new.min_redis_version, version) == Ordering::Greater
    {
        return Err(Misfit::new(
            "redis_incompatible_version",
            format!(
                "Module min_redis_version {} is bigger than the current Redis version {version}",
                new.min_redis_version
            ),
        ));
    }
    if !new.compatible_redis_version.is_empty() && new.compatible_redis_version != redis_version {
        return Err(Misfit::new(
            "redis_incompatible_version",
            format!(
                "Module {} {} works only with Redis {}, the database runs {redis_version}",
                new.module_name, new.semantic_version, new.compatible_redis_version
            ),
        ));
    }
    Ok(())
}

/// Cluster fit: the module's `min_redis_pack_version` against the lowest node version.
pub fn check_pack(new: &Module, lowest_node: Option<&str>) -> Result<(), Misfit> {
    let Some(node) = lowest_node else {
        return Ok(());
    };
    if !new.min_redis_pack_version.is_empty()
        && compare_versions(&new.min_redis_pack_version, node) == Ordering::Greater
    {
        return Err(Misfit::new(
            "redis_pack_incompatible_version",
            format!(
                "Module min_redis_pack_version {} is bigger than the current Redis Enterprise version {node}",
                new.min_redis_pack_version
            ),
        ));
    }
    Ok(())
}

/// The capabilities of `current` that `new` lacks, in `current`'s order.
pub fn missing_capabilities(current: &[String], new: &Module) -> Vec<String> {
    current
        .iter()
        .filter(|c| !new.capabilities.contains(c))
        .cloned()
        .collect()
}

pub fn check_capabilities(current: &[String], new: &Module) -> Result<(), Misfit> {
    let missing = missing_capabilities(current, new);
    if missing.is_empty() {
        return Ok(());
    }
    Err(Misfit::new(
        "unsupported_module_capabilities",
        format!(
            "New version of module does not support all the capabilities needed for the database configuration: {}",
            missing.join(", ")
        ),
    ))
}

/// What the 7.8.2 trap moves an enabled module to: the newest catalog entry of the same
/// module name that fits the target Redis and every node, keeps every capability, and is not
/// older than the enabled one. `None` when nothing newer fits (the module stays).
pub fn latest_fitting<'a>(
    catalog: &'a [Module],
    current: &BdbModule,
    current_caps: &[String],
    target: (&str, &str),
    lowest_node: Option<&str>,
) -> Option<&'a Module> {
    catalog
        .iter()
        .filter(|m| m.module_name.eq_ignore_ascii_case(&current.module_name))
        .filter(|m| m.version > current_version(current))
        .filter(|m| check_redis(m, target.0, target.1, false).is_ok())
        .filter(|m| check_pack(m, lowest_node).is_ok())
        .filter(|m| missing_capabilities(current_caps, m).is_empty())
        .max_by_key(|m| m.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::{self, seed};
    use crate::sim::version::SimVersion;

    fn enabled(uid: &str) -> BdbModule {
        let s = seed(SimVersion::V8_0);
        let m = s.module(uid).expect("catalog");
        BdbModule {
            module_id: m.uid.clone(),
            module_name: m.module_name.clone(),
            module_args: String::new(),
            semantic_version: m.semantic_version.clone(),
        }
    }

    #[test]
    fn min_redis_is_ignored_from_7_4_on_for_the_old_route() {
        let s = seed(SimVersion::V8_0);
        let m = s.module(seed::TIMESERIES_1_10_11).expect("catalog");
        assert!(check_redis(m, "6.2", "6.2.14", true).is_err());
        let mut newer = m.clone();
        newer.min_redis_version = "7.9.0".into();
        assert!(check_redis(&newer, "7.4", "7.4.2", true).is_ok());
        assert!(check_redis(&newer, "7.4", "7.4.2", false).is_err());
    }

    #[test]
    fn latest_fitting_follows_target_redis_and_nodes() {
        let s = seed(SimVersion::V8_0);
        let cur = enabled(seed::SEARCH_2_8_4);
        let caps = s
            .module(seed::SEARCH_2_8_4)
            .expect("c")
            .capabilities
            .clone();
        let pick = |target, node| {
            latest_fitting(&s.modules, &cur, &caps, target, Some(node)).map(|m| m.uid.as_str())
        };
        assert_eq!(pick(("8.0", "8.0.2"), "8.0.2-17"), Some(seed::SEARCH_8_0_1));
        assert_eq!(
            pick(("7.4", "7.4.2"), "7.8.2-34"),
            Some(seed::SEARCH_2_10_5)
        );
        assert_eq!(pick(("7.2", "7.2.4"), "7.4.6-77"), Some(seed::SEARCH_2_8_9));
        assert_eq!(
            pick(("7.2", "7.2.4"), "8.0.2-17"),
            Some(seed::SEARCH_2_8_21_NEEDS_7_8_6)
        );
    }
}
