//! Field rules (API-CATALOGUE §9, issue 23): a rule on a JSON field, found by pointer
//! ([`pointer`]), in the request body of named routes and methods that are otherwise passed
//! through. Pure: the table ([`FieldTable`]), what a rule does to one body ([`engine`]), the
//! built-in F-rules as data ([`builtin`]) and what a rule means on a target version
//! ([`verdict`], for readiness). The request path is `proxy/deprecated/fields.rs`.
//!
//! Decisions:
//! - Actions: observe, rename (with an optional value map), strip, refuse (§9; issue 23).
//!   F4's strip has a condition (a sibling `module_name`), F7's rename a nested target: both
//!   are the general actions with a parameter, not special cases in the engine.
//! - A rule acts only where its site allows it (`Site::apply`: F7 rewrites create bodies
//!   only, §9.5) and where its gate passes on a **known** version (§1.1, §1.2: `translate`
//!   still honours the gate); otherwise it observes, and the record says why. Below the gate
//!   a hit is still recorded (§13), so readiness sees it.
//! - Every field rule is also a [`Rule`] of the rule table (`RuleId::Field`), after the route
//!   rules and never classified as one: its name, mode, dates, marks and lifecycle are the
//!   envelope's, like any rule's. A route rule on the same route wins: its call never reaches
//!   the field rules.
//! - `headers = false` (default): a hit adds no `Deprecation` header (§1.3).

pub mod aliases;
pub mod builtin;
pub mod engine;
pub mod listing;
pub mod pointer;
pub mod predefined;
pub mod role;
pub mod verdict;

pub use engine::{inspect, Hit, Inspection, Refusal};
pub use pointer::Pointer;

use super::{Gate, Kind, Marks, Matcher, Meta, Mode, OnBadParam, Rule, RuleId, Template, Version};
use http::Method;
use serde_json::Value;
use std::time::SystemTime;

/// Field names whose values are never recorded anywhere (API-CATALOGUE §1.4).
pub const SECRET_NAMES: [&str; 5] = [
    "password",
    "old_password",
    "new_password",
    "authentication_redis_pass",
    "smtp_password",
];

/// Where a rule looks: one route and method, and the pointers of the field in its body.
#[derive(Debug, Clone)]
pub struct Site {
    pub method: Method,
    pub route: Template,
    pub pointers: Vec<Pointer>,
    /// Whether the rule's action may run here (else it only observes: F7 on `PUT`).
    pub apply: bool,
}

/// What a rule does to a field it finds, once it applies.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldAction {
    /// Recorded only.
    Observe,
    /// Moved to `to` (a path of keys from the field's parent object), its value mapped by
    /// `values` when given (`None` as a mapped value: the key is dropped). A value outside the
    /// map, or a target already set to another value, leaves the body untouched (§9.4).
    Rename {
        to: Vec<String>,
        values: Option<Vec<(Value, Option<Value>)>>,
    },
    /// Removed; with `when_sibling`, only where that sibling key holds a non-empty string (F4).
    Strip { when_sibling: Option<String> },
    /// Answered `400` naming the field and its successor; nothing is sent.
    Refuse,
    /// F1's look-up rewrite (§9.1, [`role`]): the engine marks the hit pending, the request
    /// path makes the look-up and settles it.
    LookUp,
}

impl FieldAction {
    /// Whether the action changes or refuses anything (an observe rule never needs a version).
    pub fn acts(&self) -> bool {
        !matches!(self, FieldAction::Observe)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            FieldAction::Observe => "observe",
            FieldAction::Rename { .. } => "rename",
            FieldAction::Strip { .. } => "strip",
            FieldAction::Refuse => "refuse",
            FieldAction::LookUp => "lookup",
        }
    }
}

/// One field rule, built-in (F1, F3–F7) or an operator's (`[[rules.fields]]`).
#[derive(Debug, Clone)]
pub struct FieldRule {
    /// The contract's number (`F5`), or `custom`.
    pub id: String,
    /// `[rules.<name>]`, audit records, metrics.
    pub name: String,
    /// The field as people name it (`use_ipv6`).
    pub field: String,
    /// Its successor as people name it (`use_external_ipv6`), for the refusal and `rules list`.
    pub successor: Option<String>,
    pub sites: Vec<Site>,
    pub action: FieldAction,
    /// Acts from this version (known); `None`: every known version.
    pub gate: Option<Version>,
    /// `auto` acts inside the gate (F5, F6); else `auto` observes and `translate` acts.
    pub auto_acts: bool,
    /// The value is never recorded (besides [`SECRET_NAMES`], which always are secret).
    pub secret: bool,
    /// A hit marks the reply with the rule's `Deprecation`/`Link`/`Sunset` headers.
    pub headers: bool,
    pub mode: Mode,
    pub deprecated_in: Option<Version>,
    /// From this version the old field is accepted and ignored (F5 8.2.0, F6 7.4.2).
    pub ignored_from: Option<Version>,
    /// From this version the old field still works but means something else (F4 8.0.0).
    pub changes_from: Option<Version>,
    pub deprecation: SystemTime,
    pub sunset: Option<SystemTime>,
    pub docs: String,
    pub source: String,
    /// Only a value failing this check is a hit, recorded with the reason (F2: a
    /// `roles_permissions` uid that is not a positive integer); `None`: every value is.
    pub only_invalid: Option<Invalid>,
}

/// A value check of an observe-only rule ([`FieldRule::only_invalid`]).
#[derive(Debug, Clone, Copy)]
pub struct Invalid {
    /// Whether the value is valid (and so not a hit).
    pub valid: fn(&Value) -> bool,
    /// The hit's `why`.
    pub why: &'static str,
}

/// F2's check: a positive integer.
pub fn positive_integer(v: &Value) -> bool {
    v.as_u64().is_some_and(|n| n > 0)
}

/// What a rule does with one hit at a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Acts (renames, strips, refuses).
    Act,
    /// Records only; with the reason when the rule would act elsewhere (`below_gate`,
    /// `version_unknown`, `not_on_this_route`).
    Observe(Option<&'static str>),
}

impl FieldRule {
    /// The site of this call, if the rule looks at it.
    pub fn site(&self, method: &Method, path: &str) -> Option<&Site> {
        self.sites.iter().find(|s| {
            s.method == *method
                && matches!(s.route.matches(path), super::matcher::Outcome::Match(_))
        })
    }

    /// Whether the field's value may be recorded.
    pub fn records_value(&self, key: &str) -> bool {
        !self.secret && !SECRET_NAMES.contains(&key)
    }

    /// Whether the configured mode wants the action (before the gate and the site).
    pub fn wants_action(&self) -> bool {
        self.action.acts()
            && match self.mode {
                Mode::Off | Mode::Observe => false,
                Mode::Translate => true,
                Mode::Auto => self.auto_acts,
            }
    }

    /// What the rule does at `site` when the cluster runs `version` (§13: below the gate,
    /// observed; unknown version, no action).
    pub fn effect(&self, site: &Site, version: Option<Version>) -> Effect {
        if !self.wants_action() {
            return Effect::Observe(None);
        }
        if !site.apply {
            return Effect::Observe(Some("not_on_this_route"));
        }
        match (self.gate, version) {
            (None, _) => Effect::Act,
            (Some(g), Some(v)) if v.at_least(g) => Effect::Act,
            (Some(_), Some(_)) => Effect::Observe(Some("below_gate")),
            (Some(_), None) => Effect::Observe(Some("version_unknown")),
        }
    }

    /// The rule as the rule table holds it (`RuleId::Field(index)`): its name, mode, dates and
    /// marks for the envelope, its routes for the envelope's match.
    pub fn to_rule(&self, index: usize) -> Result<Rule, String> {
        let mut routes = self
            .sites
            .iter()
            .map(|s| (s.method.clone(), s.route.clone()));
        let Some((method, path)) = routes.next() else {
            return Err(format!("field rule {}: no route", self.name));
        };
        Ok(Rule {
            id: RuleId::Field(index),
            name: self.name.clone(),
            matcher: Matcher {
                method,
                path,
                on_bad_param: OnBadParam::PassThrough,
                also: routes.collect(),
            },
            marks: Marks::new(self.deprecation, self.sunset, &self.docs)?,
            meta: Meta {
                deprecated_in: self.deprecated_in,
                removed_in: None,
                successor: None,
                docs_url: self.docs.clone(),
                deprecation: self.deprecation,
                sunset: self.sunset,
            },
            kind: if self.action.acts() {
                Kind::Rewrite
            } else {
                Kind::Observe
            },
            gate: Gate {
                from: self.gate,
                apply_when_unknown: false,
                look_up: true,
                builds: &[],
            },
            gone_band: None,
            mode: self.mode,
            auto_observes: !self.auto_acts,
        })
    }
}

/// Every field rule, built-in first, then the operator's, in the order they are tried.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    rules: Vec<FieldRule>,
}

impl FieldTable {
    pub fn new(rules: Vec<FieldRule>) -> FieldTable {
        FieldTable { rules }
    }

    pub fn rules(&self) -> &[FieldRule] {
        &self.rules
    }

    /// Whether some rule (not `off`) looks at this route and method: the only calls whose
    /// bodies are read. A method compare and a literal-prefix compare per site when none does.
    pub fn inspects(&self, method: &Method, path: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.mode != Mode::Off && r.site(method, path).is_some())
    }

    /// Whether some rule that looks at this call would act given a version (so that learning
    /// the version is worth a look-up).
    pub fn may_act(&self, method: &Method, path: &str) -> bool {
        self.rules.iter().any(|r| {
            r.mode != Mode::Off
                && r.wants_action()
                && r.gate.is_some()
                && r.site(method, path).is_some_and(|s| s.apply)
        })
    }
}

#[cfg(test)]
mod tests;
