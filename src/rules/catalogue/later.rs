//! The catalogue's entries for R13–R18 (API-CATALOGUE §3–§8, §13), one per rule, placed after
//! R0–R10 in [`super::ENTRIES`]: none of their routes overlaps an earlier rule's.
//!
//! Decisions:
//! - Every rule here defaults to `mode = auto` (§13). R14 and R15 observe in `auto`
//!   (`auto_observes`): their translations have traps the contract names (§4.4, §5.3) and run
//!   only with `mode = "translate"`.
//! - R13 applies on an unknown version (its unknown-version form adds the header and keeps the
//!   body, §3.4 step 2, safe on every release) and carries the RS161290 build ranges
//!   ([`crate::rules::build_range::RS161290`]) for its guard.
//! - R18 never sends a version look-up (monitoring traffic is heavy, §8.2): the cached version
//!   decides its marks (≥ 7.22.0), and it is observed on every version, unknown included.
//! - `Deprecation` dates are §1.5's table.

use super::{gated, Entry};
use crate::rules::build_range::RS161290;
use crate::rules::version::{V7_22_0, V7_2_4, V7_4_2, V7_8_2};
use crate::rules::{Gate, Kind, Mode, OnBadParam, RuleId};
use http::Method;

/// 2025-05-01, RS 7.22.0-95 (§1.5).
pub const EPOCH_7_22_0: u64 = 1_746_057_600;

/// Where R18's callers should go: the metrics stream engine (§8.1).
pub const METRICS_DOCS: &str =
    "https://redis.io/docs/latest/operate/rs/monitoring/metrics_stream_engine/";

pub(super) const R13: Entry = Entry {
    id: "R13",
    rule: RuleId::UsersPassword,
    name: "users_password",
    method: Method::PUT,
    path: "/v1/users/password",
    also: &[
        ("POST", "/v1/users/password"),
        ("DELETE", "/v1/users/password"),
    ],
    on_bad_param: OnBadParam::PassThrough,
    successor: None,
    kind: Kind::Rewrite,
    gate: Gate {
        from: Some(V7_8_2),
        apply_when_unknown: true,
        look_up: true,
        builds: &RS161290,
    },
    gone: None,
    mode: Mode::Auto,
    auto_observes: false,
    deprecated_in: Some(V7_8_2),
    removed_in: None,
    deprecation: super::EPOCH_7_8_2,
    sunset: None,
    docs: docs!("users/password/"),
    source: "API-CATALOGUE §3",
};

pub(super) const R14: Entry = Entry {
    id: "R14",
    rule: RuleId::ModuleConfig,
    name: "module_config",
    method: Method::POST,
    path: "/v1/modules/config/bdb/{uid:int}",
    also: &[("POST", "/v1/bdbs/{uid:int}/modules/config")],
    on_bad_param: OnBadParam::PassThrough,
    successor: Some("/v1/bdbs/{uid:int}"),
    kind: Kind::Translate,
    gate: gated(V7_4_2),
    gone: None,
    mode: Mode::Auto,
    auto_observes: true,
    deprecated_in: Some(V7_4_2),
    removed_in: None,
    deprecation: super::EPOCH_7_4_2,
    sunset: None,
    docs: docs!("bdbs/#put-bdbs"),
    source: "API-CATALOGUE §4",
};

pub(super) const R15: Entry = Entry {
    id: "R15",
    rule: RuleId::OptimizeShardsPlacement,
    name: "optimize_shards_placement",
    method: Method::GET,
    path: "/v1/bdbs/{uid:int}/actions/optimize_shards_placement",
    also: &[],
    on_bad_param: OnBadParam::PassThrough,
    successor: Some("/v1/bdbs/{uid:int}/actions/revamp"),
    kind: Kind::Translate,
    gate: gated(V7_22_0),
    gone: None,
    mode: Mode::Auto,
    auto_observes: true,
    deprecated_in: Some(V7_22_0),
    removed_in: None,
    deprecation: EPOCH_7_22_0,
    sunset: None,
    docs: docs!("bdbs/actions/revamp/"),
    source: "API-CATALOGUE §5",
};

pub(super) const R16: Entry = Entry {
    id: "R16",
    rule: RuleId::SyncerState,
    name: "syncer_state",
    method: Method::GET,
    path: "/v1/bdbs/{uid:int}/syncer_state",
    also: &[],
    on_bad_param: OnBadParam::PassThrough,
    successor: Some("/v1/bdbs/{uid:int}/syncer_state/crdt"),
    kind: Kind::Rewrite,
    gate: gated(V7_2_4),
    gone: None,
    mode: Mode::Auto,
    auto_observes: false,
    deprecated_in: Some(V7_2_4),
    removed_in: None,
    deprecation: super::EPOCH_7_2_4,
    sunset: None,
    docs: docs!("bdbs/syncer_state/crdt/"),
    source: "API-CATALOGUE §6",
};

pub(super) const R17: Entry = Entry {
    id: "R17",
    rule: RuleId::MaintenanceKeepSlaveShards,
    name: "maintenance_keep_slave_shards",
    method: Method::POST,
    path: "/v1/nodes/{uid:int}/actions/maintenance_on",
    also: &[],
    on_bad_param: OnBadParam::PassThrough,
    successor: None,
    kind: Kind::Rewrite,
    gate: gated(V7_4_2),
    gone: None,
    mode: Mode::Auto,
    auto_observes: false,
    deprecated_in: Some(V7_4_2),
    removed_in: None,
    deprecation: super::EPOCH_7_4_2,
    sunset: None,
    docs: docs!("nodes/actions/"),
    source: "API-CATALOGUE §7",
};

pub(super) const R18: Entry = Entry {
    id: "R18",
    rule: RuleId::StatsV1,
    name: "stats_v1",
    method: Method::GET,
    path: "/v1/cluster/stats",
    also: &[
        ("GET", "/v1/cluster/stats/last"),
        ("GET", "/v1/nodes/stats"),
        ("GET", "/v1/nodes/stats/last"),
        ("GET", "/v1/nodes/stats/last/{uid:int}"),
        ("GET", "/v1/nodes/stats/{uid:int}"),
        ("GET", "/v1/bdbs/stats"),
        ("GET", "/v1/bdbs/stats/last"),
        ("GET", "/v1/bdbs/stats/last/{uid:int}"),
        ("GET", "/v1/bdbs/stats/{uid:int}"),
        ("GET", "/v1/shards/stats"),
        ("GET", "/v1/shards/stats/last"),
        ("GET", "/v1/shards/stats/last/{uid:int}"),
        ("GET", "/v1/shards/stats/{uid:int}"),
        ("GET", "/v1/endpoints/stats"),
    ],
    on_bad_param: OnBadParam::PassThrough,
    successor: None,
    kind: Kind::Observe,
    // Observed on every version; marked from 7.22.0 on the cached version only (§8.2).
    gate: Gate {
        from: None,
        apply_when_unknown: true,
        look_up: false,
        builds: &[],
    },
    gone: None,
    mode: Mode::Auto,
    auto_observes: false,
    deprecated_in: Some(V7_22_0),
    removed_in: None,
    deprecation: EPOCH_7_22_0,
    sunset: None,
    docs: METRICS_DOCS,
    source: "API-CATALOGUE §8",
};
