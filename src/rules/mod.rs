//! The rule table: each deprecated Redis Software route the shim knows is a [`Rule`], and
//! [`decide`] says, from the rule's [`Mode`] and the cluster's version, what happens to a call.
//! Pure: plain values in, plain values out; no I/O, no async, nothing from the request path. The
//! executor on the request path runs whatever [`decide`] and the family modules return.
//!
//! Decisions:
//! - Modes (issue 12 item 2): `auto` applies the rule (translate, rewrite or gone) inside its
//!   version gate (API-RULES §8), observes where the cluster is older than the gate, and passes
//!   through untouched when the version is unknown (§1.1), except where the gate says otherwise:
//!   R1 applies on an unknown version (§2.7) and the module-upgrade route always applies, as it
//!   always has (API.md §5). `observe` passes through, audited, and marks the reply only when the
//!   version is known to be at or past the route's deprecation. `translate` applies the rule
//!   whatever the version (an operator's override: on 8.x it sends module uploads to
//!   `/v2/modules`, like `modules_on_8x = "forward_v2"`). `off` is untouched and unaudited.
//! - R6 is not a rule of its own: it is the gone band of R4 and R5 (known ≥ 8.0.0, §4.8), so the
//!   same route is observed below 7.2, translated in [7.2, 8.0) and gone from 8.0.
//! - A rule whose switch asks for pass-through (`node_debuginfo`, `node_bdb_debuginfo`) becomes
//!   an observe rule: the call is still found and audited, never changed.
//! - The first rule whose template matches wins; built-in rules come before operator rules
//!   ([`custom`]), so an operator cannot shadow a built-in translation by accident.
//!
//! Families, each a pure core the executor calls: [`authorize`] (R1), [`certs`] (R3),
//! [`modules`] (R4–R6), [`debuginfo`] (R7–R10), [`custom`] (operator rules). [`version`] is R11's
//! pure half and [`build_range`] its build-range gates (API-CATALOGUE §11); [`catalogue`] holds
//! every built-in rule's facts, the one source [`builtin`] builds from; [`marks`] renders the
//! `Deprecation`/`Link`/`Sunset` headers; [`matcher`] the paths; [`target`] puts the request
//! target in the one spelling they are matched in.

pub mod authorize;
pub mod build_range;
pub mod catalogue;
pub mod certs;
pub mod custom;
pub mod debuginfo;
pub mod deprecation_headers;
pub mod fields;
pub mod maintenance;
pub mod marks;
pub mod matcher;
pub mod module_config;
pub mod module_upgrade;
pub mod modules;
pub mod recover;
pub mod shards_placement;
mod table;
pub mod target;
pub mod users_password;
pub mod version;

pub use build_range::{BuildRange, Membership};
pub use marks::Marks;
pub use matcher::{Params, Template};
pub use table::{builtin, Matched, Options, RuleTable};
pub use version::Version;

use http::Method;
use std::time::SystemTime;

/// How an operator wants a rule run (`[rules.<name>] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Auto,
    Observe,
    Translate,
    Off,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "auto" => Mode::Auto,
            "observe" => Mode::Observe,
            "translate" => Mode::Translate,
            "off" => Mode::Off,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Observe => "observe",
            Mode::Translate => "translate",
            Mode::Off => "off",
        }
    }
}

/// What the executor does with one matched call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stream it through untouched; no audit record, no marks.
    PassThrough,
    /// Stream it through untouched, audited; add the rule's marks to the reply when `mark`.
    Observe { mark: bool },
    /// Run the rule's translation or rewrite (its family module), and mark the reply.
    Translate,
    /// Answer `410 route_removed` with the successor `Link`, without calling the cluster.
    Gone,
    /// The decision depends on the cluster's version and it is not known for this call: the
    /// executor neither translates blindly nor lets the call pass unaudited (issue 20; what it
    /// does depends on why the version is unknown, [`version::Unknown`]).
    VersionUnknown,
}

/// What a rule does when it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Async → sync: the executor posts, polls and shapes the old reply (R0, R4, R5).
    Translate,
    /// Path, body and/or header rewrite, streamed (R1, R3, R7–R10, operator rewrites).
    Rewrite,
    /// Pass through, audited and marked.
    Observe,
    /// `410` naming the successor.
    Gone,
}

/// Which pure core runs a rule: the executor dispatches on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleId {
    /// R0, `POST /v1/modules/upgrade/bdb/{uid}` (API.md; `crate::rules::module_upgrade::translate`).
    ModuleUpgrade,
    /// `POST /v1/bdbs/{uid}/modules/upgrade`, not deprecated: off unless configured (API.md §2).
    ModuleUpgradeSibling,
    /// R1 ([`authorize`]).
    Authorize,
    /// R3 ([`certs`]).
    UpdateCert,
    /// R4, and R6 for uploads ([`modules`]).
    ModuleUpload,
    /// R5, and R6 for deletes ([`modules`]).
    ModuleDelete,
    /// R7 ([`debuginfo`]).
    DebuginfoAll,
    /// R8.
    DebuginfoAllBdb,
    /// R9 (needs the answering node's uid).
    DebuginfoNode,
    /// R10.
    DebuginfoNodeBdb,
    /// R13, `PUT|POST|DELETE /v1/users/password` (API-CATALOGUE §3).
    UsersPassword,
    /// R14, the two module configuration routes (§4).
    ModuleConfig,
    /// R15, `GET …/actions/optimize_shards_placement` (§5).
    OptimizeShardsPlacement,
    /// R16, `GET /v1/bdbs/{uid}/syncer_state` (§6).
    SyncerState,
    /// R17, `keep_slave_shards` on `maintenance_on` (§7).
    MaintenanceKeepSlaveShards,
    /// R18, the v1 statistics routes (§8): observed only.
    StatsV1,
    /// An operator rule, by its position in `[[rules.custom]]` ([`custom`]).
    Custom(usize),
    /// A field rule (API-CATALOGUE §9), by its position in the [`fields::FieldTable`]: never
    /// classified as a route, run by the request path's field inspection.
    Field(usize),
}

/// What a template mismatch in a typed parameter means for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBadParam {
    /// Not this rule: the call streams through (debuginfo §5.2, modules §4.4).
    PassThrough,
    /// The rule answers `404 bdb_not_found` without calling the cluster (API.md §5.1).
    NotFound,
}

/// Method and path of the old route, and the rule's other routes (R13's three methods, R14's
/// two paths, R18's fifteen).
#[derive(Debug, Clone)]
pub struct Matcher {
    pub method: Method,
    pub path: Template,
    pub on_bad_param: OnBadParam,
    /// Further routes of the same rule, tried after the first in this order.
    pub also: Vec<(Method, Template)>,
}

impl Matcher {
    /// Every route of the rule, the first one first.
    pub fn routes(&self) -> impl Iterator<Item = (&Method, &Template)> {
        std::iter::once((&self.method, &self.path)).chain(self.also.iter().map(|(m, t)| (m, t)))
    }
}

/// What the docs say about the old route, and how its replies are marked.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The RS release that deprecated the route (`None`: not tied to a release).
    pub deprecated_in: Option<Version>,
    /// The RS release from which the route is gone from the docs, when it is.
    pub removed_in: Option<Version>,
    /// Where callers should go instead, filled from the matched parameters.
    pub successor: Option<Template>,
    pub docs_url: String,
    /// The `Deprecation` date (RFC 9745), by default API-RULES §1.5's.
    pub deprecation: SystemTime,
    /// The `Sunset` date (RFC 8594), only when configured.
    pub sunset: Option<SystemTime>,
}

/// When a rule applies (API-RULES §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// The lowest RS version the rule applies to (`None`: every known version).
    pub from: Option<Version>,
    /// Whether an unknown version applies the rule (R0, R1, operator rules) or passes through.
    pub apply_when_unknown: bool,
    /// Whether the executor may send a version look-up for this rule (never for R1, §2.7 step 5).
    pub look_up: bool,
    /// Build ranges the rule's guard fires on (API-CATALOGUE §11; [`build_range`]). Empty for
    /// every rule today: the first user is the R13 guard ([`build_range::RS161290`]), not built
    /// yet. [`decide`] does not read it.
    pub builds: &'static [build_range::BuildRange],
}

/// R4/R5's band from 8.0: `410` naming the user-defined module APIs (R6, §4.8).
#[derive(Debug, Clone)]
pub struct GoneBand {
    pub from: Version,
    pub successor: Template,
    pub docs_url: String,
    pub marks: Marks,
}

/// One deprecated route and what the shim does about it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: RuleId,
    /// Stable label: `[rules.<name>]`, audit records, metrics, `report --rule`.
    pub name: String,
    pub matcher: Matcher,
    pub meta: Meta,
    pub kind: Kind,
    pub gate: Gate,
    pub gone_band: Option<GoneBand>,
    /// The configured mode (default [`Mode::Auto`]).
    pub mode: Mode,
    /// `auto` only observes inside the gate; `translate` applies the rule (R14, R15: the
    /// translation is opt-in, API-CATALOGUE §13).
    pub auto_observes: bool,
    /// `meta` rendered once into header values.
    pub marks: Marks,
}

impl Rule {
    /// The successor path for a matched call (`None` when the rule names none, or when it needs
    /// a value the path does not hold, like R9's node uid).
    pub fn successor_path(&self, params: &Params<'_>) -> Option<String> {
        self.meta.successor.as_ref()?.render(params)
    }

    /// Replaces the dates and re-renders the marks. Errors name `deprecation_date` or
    /// `sunset_date` first, for the config key.
    pub fn set_dates(
        &mut self,
        deprecation: SystemTime,
        sunset: Option<SystemTime>,
    ) -> Result<(), String> {
        self.marks = Marks::new(deprecation, sunset, &self.meta.docs_url)?;
        if let Some(band) = &mut self.gone_band {
            band.marks = Marks::new(deprecation, sunset, &band.docs_url)?;
        }
        self.meta.deprecation = deprecation;
        self.meta.sunset = sunset;
        Ok(())
    }
}

/// Whether the executor needs the cluster's version before it can [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionNeed {
    /// The decision does not depend on it.
    None,
    /// Use the cached version if there is one; never send a look-up (R1).
    CachedOnly,
    /// Send the look-up (R11) when nothing is cached.
    LookUp,
}

/// See [`VersionNeed`].
pub fn version_need(rule: &Rule, mode: Mode) -> VersionNeed {
    let depends = match mode {
        Mode::Off => false,
        // Forced translate ignores the gate; R1's body still depends on the version (§2.7).
        Mode::Translate => rule.id == RuleId::Authorize,
        Mode::Observe => rule.meta.deprecated_in.is_some(),
        Mode::Auto => {
            rule.gate.from.is_some()
                || rule.gone_band.is_some()
                || (rule.kind == Kind::Observe && rule.meta.deprecated_in.is_some())
        }
    };
    match (depends, rule.gate.look_up) {
        (false, _) => VersionNeed::None,
        (true, false) => VersionNeed::CachedOnly,
        (true, true) => VersionNeed::LookUp,
    }
}

/// Whether a call of `rule` uses the rule's deprecated form, the only form its lifecycle
/// applies to (issue 20); `body_form`: the call's body has the deprecated form (read before the
/// gate for the rules whose form is in the body, [`form_in_body`]). R1's and R13's deprecated
/// form is credentials in the body: a header-only call is the successor's and is never refused
/// by their lifecycle; R17's is a body with `keep_slave_shards`. For every other rule the route
/// itself is the deprecated form ([`deprecated_form_text`]).
pub fn deprecated_form(rule: &Rule, body_form: bool) -> bool {
    !form_in_body(rule.id) || body_form
}

/// Whether the deprecated form of rule `id` is in the body, so that its body is read before the
/// lifecycle gate (R1, R13, R17).
pub fn form_in_body(id: RuleId) -> bool {
    matches!(
        id,
        RuleId::Authorize | RuleId::UsersPassword | RuleId::MaintenanceKeepSlaveShards
    )
}

/// What "the deprecated form" of `rule` means, for `check`.
pub fn deprecated_form_text(rule: &Rule) -> &'static str {
    match rule.id {
        RuleId::Authorize => "credentials in the body (a header-only login is the successor)",
        RuleId::UsersPassword => {
            "credentials in the body, no header (a header-authenticated call is the successor)"
        }
        RuleId::MaintenanceKeepSlaveShards => "a body with keep_slave_shards",
        _ => "every call of the route",
    }
}

/// The decision for one call (issue 12 item 2; API-RULES §8 for the gates).
pub fn decide(rule: &Rule, mode: Mode, cluster_version: Option<Version>) -> Action {
    let mark = match (cluster_version, rule.meta.deprecated_in) {
        (_, None) => true,
        (Some(v), Some(since)) => v.at_least(since),
        (None, Some(_)) => false,
    };
    let apply = match rule.kind {
        Kind::Translate | Kind::Rewrite => Action::Translate,
        Kind::Observe => Action::Observe { mark },
        Kind::Gone => Action::Gone,
    };
    match mode {
        Mode::Off => Action::PassThrough,
        Mode::Observe => Action::Observe { mark },
        Mode::Translate => apply,
        Mode::Auto => match cluster_version {
            // An observe-only `auto` needs no version to observe (R14, R15).
            None if rule.auto_observes => Action::Observe { mark: false },
            None if rule.gate.apply_when_unknown => apply,
            None => Action::VersionUnknown,
            Some(v) => {
                if rule.gone_band.as_ref().is_some_and(|g| v.at_least(g.from)) {
                    Action::Gone
                } else if rule.gate.from.is_some_and(|from| !v.at_least(from)) {
                    // Below the gate: observed, not marked (API-CATALOGUE §13).
                    Action::Observe { mark: false }
                } else if rule.auto_observes {
                    Action::Observe { mark }
                } else {
                    apply
                }
            }
        },
    }
}

#[cfg(test)]
mod tests;
