//! The `[rules]` section as read (serde, unknown keys rejected): one table per built-in rule,
//! R18's own keys, and the operator's `[[rules.custom]]`. The parent validates it and re-exports
//! these types, so `crate::config::rules::RawRules` paths are unchanged.

use crate::config::rules_fields::{RawFieldRule, RawOperatorField, RawReplyAliases};
use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    pub rs_version: Option<String>,
    pub version_source: Option<String>,
    pub version_cache_ttl: Option<String>,
    pub modules_on_8x: Option<String>,
    pub node_debuginfo: Option<String>,
    pub node_bdb_debuginfo: Option<String>,
    pub module_upload_max_size: Option<String>,
    pub debuginfo_read_timeout: Option<String>,
    pub certificates_timeout: Option<String>,
    pub module_upgrade: Option<RawModeOnly>,
    pub module_upgrade_sibling: Option<RawModeOnly>,
    pub authorize: Option<RawRule>,
    pub update_cert: Option<RawRule>,
    pub module_upload: Option<RawRule>,
    pub module_delete: Option<RawRule>,
    pub debuginfo_all: Option<RawRule>,
    pub debuginfo_all_bdb: Option<RawRule>,
    pub debuginfo_node: Option<RawRule>,
    pub debuginfo_node_bdb: Option<RawRule>,
    pub users_password: Option<RawRule>,
    pub module_config: Option<RawRule>,
    pub optimize_shards_placement: Option<RawRule>,
    pub syncer_state: Option<RawRule>,
    pub maintenance_keep_slave_shards: Option<RawRule>,
    pub stats_v1: Option<RawStatsRule>,
    pub field_user_role: Option<RawFieldRule>,
    pub field_predefined_roles: Option<RawFieldRule>,
    pub field_redis_pass: Option<RawFieldRule>,
    pub field_module_id: Option<RawFieldRule>,
    pub field_use_ipv6: Option<RawFieldRule>,
    pub field_sentinel_policy: Option<RawFieldRule>,
    pub field_db_conns_auditing: Option<RawFieldRule>,
    /// `[rules.field_reply_aliases]` (F14, [`crate::config::rules_fields::reply_aliases`]).
    pub field_reply_aliases: Option<RawReplyAliases>,
    #[serde(default)]
    pub custom: Vec<RawCustomRule>,
    /// `[[rules.fields]]` ([`crate::config::rules_fields`]).
    #[serde(default)]
    pub fields: Vec<RawOperatorField>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModeOnly {
    pub mode: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub mode: Option<String>,
    pub deprecation_date: Option<String>,
    pub sunset_date: Option<String>,
}

/// `[rules.stats_v1]`: a rule's keys plus R18's own (API-CATALOGUE §8.2).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatsRule {
    pub mode: Option<String>,
    pub deprecation_date: Option<String>,
    pub sunset_date: Option<String>,
    pub metrics_v2_url: Option<String>,
    pub audit_window: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomRule {
    pub name: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub kind: Option<String>,
    pub successor: Option<String>,
    pub docs_url: Option<String>,
    pub deprecated_in: Option<String>,
    pub deprecation_date: Option<String>,
    pub sunset_date: Option<String>,
    pub mode: Option<String>,
}
