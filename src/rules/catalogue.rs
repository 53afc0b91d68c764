//! The catalogue: every built-in rule's facts in one table (issue 22 item 4). [`super::builtin`]
//! builds the rule table from it, `deprecation-shim rules list` prints it ([`listing`]), and the
//! table in `docs/RULES.md` is that command's output, checked by `tests/rules_list.rs`. Pure data.
//!
//! Decisions:
//! - One [`Entry`] per built-in rule, in classification order (the first match wins, so the order
//!   is part of the table). The facts the code acts on (route, gate, kind, mode, dates, successor,
//!   docs) live here only; the switches of `[rules]` (`modules_on_8x`, `node_debuginfo`,
//!   `node_bdb_debuginfo`) change a rule's kind or gone band when the table is built, and the
//!   entries hold their defaults.
//! - R2, R6 and R11 are [`Note`]s, not entries: R2 (non-Basic `Authorization` forwarded
//!   untouched) is no route, R6 is the gone band of R4/R5 from 8.0.0 (`Entry::gone`), R11 is the
//!   version look-up the gates use.
//! - R12–R18 (API-CATALOGUE §2–§8, §13) live in [`later`]; every one defaults to `auto`, the
//!   sibling route R12 included (it was `off` before issue 22). R14 and R15 observe in `auto`;
//!   their translation is opt-in (`mode = "translate"`).
//! - `Deprecation` dates are API-RULES §1.5's (the first day of the deprecating release's month);
//!   no contract gives a built-in rule a `Sunset` (it is configured: `[lifecycle.<rule>]`).

pub mod listing;

use super::version::{V7_22_2, V7_2_0, V7_2_4, V7_4_2, V7_8_2, V8_0_0};
use super::{Gate, Kind, Mode, OnBadParam, RuleId, Version};
use http::Method;
use later::{R13, R14, R15, R16, R17, R18};

macro_rules! docs {
    ($page:literal) => {
        concat!(
            "https://redis.io/docs/latest/operate/rs/references/rest-api/requests/",
            $page
        )
    };
}

mod later;

/// One built-in rule.
#[derive(Debug)]
pub struct Entry {
    /// The contract's number: `R0`, `R1`, …
    pub id: &'static str,
    pub rule: RuleId,
    /// `[rules.<name>]`, audit records, metrics, `report --rule`.
    pub name: &'static str,
    pub method: Method,
    /// The old route's template ([`super::Template`]).
    pub path: &'static str,
    /// The rule's further routes, `(METHOD, path)`, tried after the first.
    pub also: &'static [(&'static str, &'static str)],
    pub on_bad_param: OnBadParam,
    /// Where callers should go instead (`Link: rel="successor-version"`).
    pub successor: Option<&'static str>,
    /// The default kind; `node_debuginfo` / `node_bdb_debuginfo` may change R9's and R10's.
    pub kind: Kind,
    pub gate: Gate,
    /// From this version `auto` answers 410 naming the user-defined module API (R6), unless
    /// `modules_on_8x = "forward_v2"`.
    pub gone: Option<GoneFrom>,
    pub mode: Mode,
    /// `auto` observes inside the gate too; `translate` applies the rule (R14, R15).
    pub auto_observes: bool,
    /// The RS release that deprecated the route.
    pub deprecated_in: Option<Version>,
    /// The RS release whose docs no longer list it.
    pub removed_in: Option<Version>,
    /// The default `Deprecation` date, seconds since the epoch.
    pub deprecation: u64,
    /// A `Sunset` date the contract gives (seconds since the epoch); none does for R0–R10.
    pub sunset: Option<u64>,
    /// The RS docs page of the route's successor (`Link: rel="deprecation"`).
    pub docs: &'static str,
    /// Where the facts come from: the contract's section.
    pub source: &'static str,
}

/// R4/R5's gone band (R6).
#[derive(Debug, Clone, Copy)]
pub struct GoneFrom {
    pub from: Version,
    pub successor: &'static str,
    pub docs: &'static str,
}

/// A numbered rule that is not a route of its own.
#[derive(Debug)]
pub struct Note {
    pub id: &'static str,
    pub name: &'static str,
    pub says: &'static str,
    pub source: &'static str,
}

/// 2024-11-01, RS 7.8.2-34 (API-RULES §1.5; API.md §5.9).
pub const EPOCH_7_8_2: u64 = 1_730_419_200;
/// 2025-09-01, RS 7.22.2-14.
pub const EPOCH_7_22_2: u64 = 1_756_684_800;
/// 2023-08-01, RS 7.2.4-52.
pub const EPOCH_7_2_4: u64 = 1_690_848_000;
/// 2024-02-01, RS 7.4.2-54.
pub const EPOCH_7_4_2: u64 = 1_706_745_600;

/// Every known version, the unknown one included; never looks the version up (R0).
const ALWAYS: Gate = Gate {
    from: None,
    apply_when_unknown: true,
    look_up: false,
    builds: &[],
};

/// From `from`, looked up when not cached; an unknown version does not apply the rule.
pub(crate) const fn gated(from: Version) -> Gate {
    Gate {
        from: Some(from),
        apply_when_unknown: false,
        look_up: true,
        builds: &[],
    }
}

pub(crate) const UPGRADE_DOCS: &str = docs!("bdbs/upgrade/");
const MODULE_DOCS: &str = docs!("modules/");
const USER_DEFINED_DOCS: &str = docs!("modules/user-defined/");
const DEBUG_DOCS: &str = docs!("debuginfo/");

const fn debuginfo(
    id: &'static str,
    rule: RuleId,
    name: &'static str,
    path: &'static str,
    successor: &'static str,
) -> Entry {
    Entry {
        id,
        rule,
        name,
        method: Method::GET,
        path,
        also: &[],
        on_bad_param: OnBadParam::PassThrough,
        successor: Some(successor),
        kind: Kind::Rewrite,
        gate: gated(V7_4_2),
        gone: None,
        mode: Mode::Auto,
        auto_observes: false,
        deprecated_in: Some(V7_4_2),
        removed_in: None,
        deprecation: EPOCH_7_4_2,
        sunset: None,
        docs: DEBUG_DOCS,
        source: "API-RULES §5",
    }
}

/// The built-in rules, in classification order.
pub static ENTRIES: [Entry; 16] = [
    Entry {
        id: "R0",
        rule: RuleId::ModuleUpgrade,
        name: "module_upgrade",
        method: Method::POST,
        path: "/v1/modules/upgrade/bdb/{uid:int}",
        also: &[],
        on_bad_param: OnBadParam::NotFound,
        successor: Some("/v1/bdbs/{uid:int}/upgrade"),
        kind: Kind::Translate,
        gate: ALWAYS,
        gone: None,
        mode: Mode::Auto,
        auto_observes: false,
        deprecated_in: Some(V7_8_2),
        removed_in: Some(V8_0_0),
        deprecation: EPOCH_7_8_2,
        sunset: None,
        docs: UPGRADE_DOCS,
        source: "API.md §2, §5",
    },
    Entry {
        id: "R12",
        rule: RuleId::ModuleUpgradeSibling,
        name: "module_upgrade_sibling",
        method: Method::POST,
        path: "/v1/bdbs/{uid:int}/modules/upgrade",
        also: &[],
        on_bad_param: OnBadParam::NotFound,
        successor: Some("/v1/bdbs/{uid:int}/upgrade"),
        kind: Kind::Translate,
        // Translated on ≥ 8.0.0 (`shim.translate_sibling = true`: on every version).
        gate: gated(V8_0_0),
        gone: None,
        mode: Mode::Auto,
        auto_observes: false,
        // 7.8.2 deprecated `current_module`/`new_module` on every upgrade route (§2.1).
        deprecated_in: Some(V7_8_2),
        removed_in: None,
        deprecation: EPOCH_7_8_2,
        sunset: None,
        docs: UPGRADE_DOCS,
        source: "API.md §2; API-CATALOGUE §2",
    },
    Entry {
        id: "R1",
        rule: RuleId::Authorize,
        name: "authorize",
        method: Method::POST,
        path: "/v1/users/authorize",
        also: &[],
        on_bad_param: OnBadParam::PassThrough,
        successor: None,
        kind: Kind::Rewrite,
        // Applies on an unknown version, from the cache only (§2.7 step 5).
        gate: Gate {
            from: Some(V7_8_2),
            apply_when_unknown: true,
            look_up: false,
            builds: &[],
        },
        gone: None,
        mode: Mode::Auto,
        auto_observes: false,
        deprecated_in: Some(V7_8_2),
        removed_in: None,
        deprecation: EPOCH_7_8_2,
        sunset: None,
        docs: docs!("users/authorize/"),
        source: "API-RULES §2",
    },
    Entry {
        id: "R3",
        rule: RuleId::UpdateCert,
        name: "update_cert",
        method: Method::PUT,
        path: "/v1/cluster/update_cert",
        also: &[],
        on_bad_param: OnBadParam::PassThrough,
        successor: Some("/v1/cluster/certificates"),
        kind: Kind::Rewrite,
        gate: gated(V7_22_2),
        gone: None,
        mode: Mode::Auto,
        auto_observes: false,
        deprecated_in: Some(V7_22_2),
        removed_in: None,
        deprecation: EPOCH_7_22_2,
        sunset: None,
        docs: docs!("cluster/certificates/"),
        source: "API-RULES §3",
    },
    Entry {
        id: "R4",
        rule: RuleId::ModuleUpload,
        name: "module_upload",
        method: Method::POST,
        path: "/v1/modules",
        also: &[],
        on_bad_param: OnBadParam::PassThrough,
        successor: Some("/v2/modules"),
        kind: Kind::Translate,
        gate: gated(V7_2_0),
        gone: Some(GoneFrom {
            from: V8_0_0,
            successor: "/v2/modules/user-defined",
            docs: USER_DEFINED_DOCS,
        }),
        mode: Mode::Auto,
        auto_observes: false,
        deprecated_in: Some(V7_2_4),
        removed_in: Some(V8_0_0),
        deprecation: EPOCH_7_2_4,
        sunset: None,
        docs: MODULE_DOCS,
        source: "API-RULES §4",
    },
    Entry {
        id: "R5",
        rule: RuleId::ModuleDelete,
        name: "module_delete",
        method: Method::DELETE,
        path: "/v1/modules/{uid}",
        also: &[],
        on_bad_param: OnBadParam::PassThrough,
        successor: Some("/v2/modules/{uid}"),
        kind: Kind::Translate,
        gate: gated(V7_2_0),
        gone: Some(GoneFrom {
            from: V8_0_0,
            successor: "/v2/modules/user-defined/{uid}",
            docs: USER_DEFINED_DOCS,
        }),
        mode: Mode::Auto,
        auto_observes: false,
        deprecated_in: Some(V7_2_4),
        removed_in: Some(V8_0_0),
        deprecation: EPOCH_7_2_4,
        sunset: None,
        docs: MODULE_DOCS,
        source: "API-RULES §4",
    },
    debuginfo(
        "R7",
        RuleId::DebuginfoAll,
        "debuginfo_all",
        "/v1/debuginfo/all",
        "/v1/cluster/debuginfo",
    ),
    debuginfo(
        "R8",
        RuleId::DebuginfoAllBdb,
        "debuginfo_all_bdb",
        "/v1/debuginfo/all/bdb/{bdb_uid:int}",
        "/v1/bdbs/{bdb_uid:int}/debuginfo",
    ),
    debuginfo(
        "R9",
        RuleId::DebuginfoNode,
        "debuginfo_node",
        "/v1/debuginfo/node",
        "/v1/nodes/{node_uid:int}/debuginfo",
    ),
    debuginfo(
        "R10",
        RuleId::DebuginfoNodeBdb,
        "debuginfo_node_bdb",
        "/v1/debuginfo/node/bdb/{bdb_uid:int}",
        "/v1/bdbs/{bdb_uid:int}/debuginfo",
    ),
    R13,
    R14,
    R15,
    R16,
    R17,
    R18,
];

/// R2, R6, R11.
pub static NOTES: [Note; 3] = [
    Note {
        id: "R2",
        name: "non_basic_auth",
        says: "a JWT or any non-Basic Authorization is forwarded untouched, on every route and look-up",
        source: "API-RULES §8",
    },
    Note {
        id: "R6",
        name: "modules_gone_on_8x",
        says: "module_upload and module_delete answer 410 from 8.0.0 (modules_on_8x = \"forward_v2\": translate)",
        source: "API-RULES §4.8",
    },
    Note {
        id: "R11",
        name: "version_discovery",
        says: "the gates read GET /v1/bootstrap (version_source = \"nodes-min\": GET /v1/nodes, lowest), cached 60 s",
        source: "API-RULES §6",
    },
];

/// The entry of a built-in rule.
pub fn entry(rule: RuleId) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.rule == rule)
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
