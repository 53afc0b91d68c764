//! The `[rules]` section (issue 12 items 2 and 4): how the cluster's version is learned, each
//! rule's mode and dates, the rule switches, and the operator's `[[rules.custom]]` rules. Raw
//! types (serde, unknown keys rejected) are in `rules/raw.rs`, re-exported here; validated ones
//! live here, and the result is the [`crate::rules::RuleTable`] the executor classifies with.
//!
//! Decisions:
//! - Each built-in rule has its own table (`[rules.update_cert]`), named fields rather than a
//!   map, so a misspelt rule name is an unknown-key error, not a silently ignored section.
//! - The module-upgrade rules take only `mode`: their dates and docs link stay under `[shim]`
//!   (API.md §5.9), one place for one route.
//! - Operator rules are numbered from 0 in errors (`rules.custom[2].path`), as in the array.

use super::{parse_date, parse_duration, parse_size, ConfigError};
use crate::rules::custom::{self, Spec};
use crate::rules::debuginfo::{self, NodeBdbDebuginfo, NodeDebuginfo};
use crate::rules::modules::{self, ModulesOn8x};
use crate::rules::version::VersionSource;
use crate::rules::{builtin, Mode, Options, Rule, RuleTable, Version};
use std::time::{Duration, SystemTime};

mod raw;

pub use raw::{RawCustomRule, RawModeOnly, RawRule, RawRules, RawStatsRule};

/// The validated `[rules]` section.
#[derive(Debug, Clone)]
pub struct Rules {
    /// A static version that wins over any look-up (§6).
    pub rs_version: Option<Version>,
    pub version_source: VersionSource,
    /// How long a learned version is reused, per upstream (default 60 s).
    pub version_cache_ttl: Duration,
    /// Largest module package streamed to `/v2/modules` (default 512 MiB, §4.7).
    pub module_upload_max_size: usize,
    /// Upstream read timeout for debuginfo tarballs (default 900 s, §5.3).
    pub debuginfo_read_timeout: Duration,
    /// Upstream timeout for `update_cert` / `certificates` (default 900 s, §3.6).
    pub certificates_timeout: Duration,
    /// R18's settings (`[rules.stats_v1]`).
    pub stats: StatsSettings,
    /// The switches the table was built with.
    pub options: Options,
    /// Built-in rules then operator rules, with their modes and dates.
    pub table: RuleTable,
    /// F14's reply aliases (off by default).
    pub reply_aliases: crate::rules::fields::aliases::ReplyAliases,
}

/// R18's own settings (API-CATALOGUE §8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSettings {
    /// The v2 metrics URL of `Link: rel="successor-version"` (none by default).
    pub metrics_v2_url: Option<String>,
    /// One audit record per caller and path template per window, with a count (default 1 h).
    pub audit_window: Duration,
}

/// Raw → validated. Errors name the key (`rules.custom[2].path: ...`).
pub fn validate(raw: RawRules) -> Result<Rules, ConfigError> {
    let rs_version = raw
        .rs_version
        .filter(|s| !s.is_empty())
        .map(|s| {
            Version::parse(&s).ok_or_else(|| {
                ConfigError::new(
                    "rules.rs_version",
                    format!(
                        "\"{s}\" is not a Redis Software version like \"7.22.2\" or \"7.22.2-14\""
                    ),
                )
            })
        })
        .transpose()?;
    let version_source = choice(
        "rules.version_source",
        raw.version_source.as_deref(),
        &[
            ("bootstrap", VersionSource::Bootstrap),
            ("nodes-min", VersionSource::NodesMin),
        ],
    )?;
    let options = Options {
        modules_on_8x: choice(
            "rules.modules_on_8x",
            raw.modules_on_8x.as_deref(),
            &[
                ("gone", ModulesOn8x::Gone),
                ("forward_v2", ModulesOn8x::ForwardV2),
            ],
        )?,
        node_debuginfo: choice(
            "rules.node_debuginfo",
            raw.node_debuginfo.as_deref(),
            &[
                ("resolve", NodeDebuginfo::Resolve),
                ("passthrough", NodeDebuginfo::Passthrough),
            ],
        )?,
        node_bdb_debuginfo: choice(
            "rules.node_bdb_debuginfo",
            raw.node_bdb_debuginfo.as_deref(),
            &[
                ("superset", NodeBdbDebuginfo::Superset),
                ("passthrough", NodeBdbDebuginfo::Passthrough),
                ("gone", NodeBdbDebuginfo::Gone),
            ],
        )?,
    };
    let module_upload_max_size = match raw.module_upload_max_size {
        Some(s) => parse_size("rules.module_upload_max_size", &s)?,
        None => modules::DEFAULT_MAX_UPLOAD,
    };
    if module_upload_max_size == 0 {
        return Err(ConfigError::new(
            "rules.module_upload_max_size",
            "must be at least 1 byte",
        ));
    }
    let duration = |key: &str, raw: Option<String>, default| match raw {
        Some(s) => parse_duration(key, &s),
        None => Ok(default),
    };
    let mut rules = builtin(&options).map_err(|e| ConfigError::new("rules", e))?;
    let per_rule = [
        ("authorize", raw.authorize),
        ("update_cert", raw.update_cert),
        ("module_upload", raw.module_upload),
        ("module_delete", raw.module_delete),
        ("debuginfo_all", raw.debuginfo_all),
        ("debuginfo_all_bdb", raw.debuginfo_all_bdb),
        ("debuginfo_node", raw.debuginfo_node),
        ("debuginfo_node_bdb", raw.debuginfo_node_bdb),
        ("users_password", raw.users_password),
        ("module_config", raw.module_config),
        ("optimize_shards_placement", raw.optimize_shards_placement),
        ("syncer_state", raw.syncer_state),
        (
            "maintenance_keep_slave_shards",
            raw.maintenance_keep_slave_shards,
        ),
    ];
    for (name, section) in per_rule {
        if let (Some(section), Some(rule)) = (section, rules.iter_mut().find(|r| r.name == name)) {
            configure(rule, section)?;
        }
    }
    let raw_stats = raw.stats_v1.unwrap_or_default();
    let stats = stats_settings(&raw_stats)?;
    if let Some(rule) = rules.iter_mut().find(|r| r.name == "stats_v1") {
        let RawStatsRule {
            mode,
            deprecation_date,
            sunset_date,
            ..
        } = raw_stats;
        let section = RawRule {
            mode,
            deprecation_date,
            sunset_date,
        };
        configure(rule, section)?;
    }
    for (name, section) in [
        ("module_upgrade", raw.module_upgrade),
        ("module_upgrade_sibling", raw.module_upgrade_sibling),
    ] {
        let mode = section.and_then(|s| s.mode);
        if let (Some(mode), Some(rule)) = (mode, rules.iter_mut().find(|r| r.name == name)) {
            rule.mode = parse_mode(&format!("rules.{name}.mode"), &mode)?;
        }
    }
    // Issue 20: one set of names, so that validation stays linear in the number of rules.
    let mut names: std::collections::HashSet<String> =
        rules.iter().map(|r| r.name.clone()).collect();
    for (i, raw_rule) in raw.custom.into_iter().enumerate() {
        let rule = custom_rule(i, raw_rule)?;
        if !names.insert(rule.name.clone()) {
            return Err(ConfigError::new(
                &format!("rules.custom[{i}].name"),
                format!("\"{}\" is already the name of another rule", rule.name),
            ));
        }
        rules.push(rule);
    }
    let sections = vec![
        ("field_user_role", raw.field_user_role),
        ("field_predefined_roles", raw.field_predefined_roles),
        ("field_redis_pass", raw.field_redis_pass),
        ("field_module_id", raw.field_module_id),
        ("field_use_ipv6", raw.field_use_ipv6),
        ("field_sentinel_policy", raw.field_sentinel_policy),
        ("field_db_conns_auditing", raw.field_db_conns_auditing),
    ];
    let fields = super::rules_fields::validate(sections, raw.fields, &mut names)?;
    let reply_aliases = super::rules_fields::reply_aliases(raw.field_reply_aliases)?;
    let table = RuleTable::with_fields(rules, fields).map_err(|e| ConfigError::new("rules", e))?;
    Ok(Rules {
        rs_version,
        version_source,
        version_cache_ttl: duration(
            "rules.version_cache_ttl",
            raw.version_cache_ttl,
            Duration::from_secs(60),
        )?,
        module_upload_max_size,
        debuginfo_read_timeout: duration(
            "rules.debuginfo_read_timeout",
            raw.debuginfo_read_timeout,
            debuginfo::DEFAULT_READ_TIMEOUT,
        )?,
        certificates_timeout: duration(
            "rules.certificates_timeout",
            raw.certificates_timeout,
            Duration::from_secs(900),
        )?,
        stats,
        options,
        table,
        reply_aliases,
    })
}

fn stats_settings(raw: &RawStatsRule) -> Result<StatsSettings, ConfigError> {
    let metrics_v2_url = match raw.metrics_v2_url.as_deref().filter(|s| !s.is_empty()) {
        // Rendered into a `Link` header: an absolute http(s) URL without `<`, `>` or spaces.
        Some(url)
            if (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(['<', '>', ' ', '"'])
                && http::HeaderValue::from_str(url).is_ok() =>
        {
            Some(url.to_owned())
        }
        Some(url) => {
            return Err(ConfigError::new(
                "rules.stats_v1.metrics_v2_url",
                format!("\"{url}\" is not an absolute http(s) URL usable in a Link header"),
            ))
        }
        None => None,
    };
    let audit_window = match raw.audit_window.as_deref() {
        Some(s) => parse_duration("rules.stats_v1.audit_window", s)?,
        None => Duration::from_secs(3600),
    };
    if audit_window.is_zero() {
        return Err(ConfigError::new(
            "rules.stats_v1.audit_window",
            "must be at least 1s",
        ));
    }
    Ok(StatsSettings {
        metrics_v2_url,
        audit_window,
    })
}

fn choice<T: Copy + Default>(
    key: &str,
    raw: Option<&str>,
    options: &[(&str, T)],
) -> Result<T, ConfigError> {
    let Some(raw) = raw else {
        return Ok(T::default());
    };
    options
        .iter()
        .find(|(name, _)| *name == raw)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            ConfigError::new(key, format!("\"{raw}\" is not one of {}", names.join(", ")))
        })
}

fn parse_mode(key: &str, raw: &str) -> Result<Mode, ConfigError> {
    Mode::parse(raw).ok_or_else(|| {
        ConfigError::new(
            key,
            format!("\"{raw}\" is not one of \"auto\", \"observe\", \"translate\", \"off\""),
        )
    })
}

fn configure(rule: &mut Rule, raw: RawRule) -> Result<(), ConfigError> {
    let key = |field: &str| format!("rules.{}.{field}", rule.name);
    if let Some(mode) = raw.mode {
        rule.mode = parse_mode(&key("mode"), &mode)?;
    }
    let deprecation = match raw.deprecation_date {
        Some(s) => parse_date(&key("deprecation_date"), &s)?,
        None => rule.meta.deprecation,
    };
    let sunset = raw
        .sunset_date
        .filter(|s| !s.is_empty())
        .map(|s| parse_date(&key("sunset_date"), &s))
        .transpose()?;
    let name = rule.name.clone();
    rule.set_dates(deprecation, sunset).map_err(|e| {
        // Rendering errors start with the setting's name.
        let field = if e.starts_with("deprecation") {
            "deprecation_date"
        } else {
            "sunset_date"
        };
        ConfigError::new(&format!("rules.{name}.{field}"), e)
    })
}

fn custom_rule(i: usize, raw: RawCustomRule) -> Result<Rule, ConfigError> {
    let key = |field: &str| format!("rules.custom[{i}].{field}");
    let required = |field: &str, v: Option<String>| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError::new(&key(field), "is required"))
    };
    let name = required("name", raw.name)?;
    let method = required("method", raw.method)?;
    let path = required("path", raw.path)?;
    let kind = required("kind", raw.kind)?;
    let docs_url = required("docs_url", raw.docs_url)?;
    let deprecation_date = required("deprecation_date", raw.deprecation_date)?;
    let deprecation: SystemTime = parse_date(&key("deprecation_date"), &deprecation_date)?;
    let sunset = raw
        .sunset_date
        .filter(|s| !s.is_empty())
        .map(|s| parse_date(&key("sunset_date"), &s))
        .transpose()?;
    let mode = match raw.mode {
        Some(m) => parse_mode(&key("mode"), &m)?,
        None => Mode::Auto,
    };
    let spec = Spec {
        name: &name,
        method: &method,
        path: &path,
        kind: &kind,
        successor: raw.successor.as_deref().filter(|s| !s.is_empty()),
        docs_url: &docs_url,
        deprecated_in: raw.deprecated_in.as_deref().filter(|s| !s.is_empty()),
        deprecation,
        sunset,
        mode,
    };
    custom::build(i, &spec).map_err(|e| ConfigError::new(&key(e.field), e.problem))
}

#[cfg(test)]
#[path = "rules_tests.rs"]
pub(crate) mod tests;
