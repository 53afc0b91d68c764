//! What a field rule means for a caller who sends the field, on a target version: the pure
//! half of `deprecation-shim readiness` (issue 23 item 4) for field rules.
//!
//! Decisions (issue 23's four verdicts):
//! - below the rule's gate nothing differs: `unaffected`;
//! - the shim acts there (its mode wants the action, some site may act): a refusal `breaks`,
//!   a rename or strip is `carried`;
//! - else, where the target accepts and ignores the old field (F5 from 8.2.0, F6 from
//!   7.4.2) or gives it another meaning (F4 from 8.0.0): `changes`;
//! - else `unaffected` (still served: F1 until its sunset, F3, F7).
//! - F2 (an invalid `roles_permissions` reference, recorded only when invalid) `breaks` from
//!   its gate: it cannot be translated.
//! - The lifecycle (a configured refusal by the target's date) is not read here: readiness
//!   combines it.

use super::FieldRule;
use crate::rules::Version;

/// One verdict of readiness (issue 23 item 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The shim translates it there.
    Carried,
    /// Gone there and not translatable (or refused).
    Breaks,
    /// Still answered, with another meaning or shape.
    Changes,
    Unaffected,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Carried => "carried",
            Verdict::Breaks => "breaks",
            Verdict::Changes => "changes",
            Verdict::Unaffected => "unaffected",
        }
    }
}

/// The verdict of `rule` (as configured) for a caller sending its field to a `target` cluster.
pub fn verdict(rule: &FieldRule, target: Version) -> Verdict {
    if rule.gate.is_some_and(|g| !target.at_least(g)) {
        return Verdict::Unaffected;
    }
    // F2: a reference that is not a role's or ACL's uid (a name looked up where the predefined
    // ones are gone) is not translatable (§9.2).
    if rule.only_invalid.is_some() {
        return Verdict::Breaks;
    }
    let acts = rule.wants_action() && rule.sites.iter().any(|s| s.apply);
    if acts {
        return match rule.action {
            super::FieldAction::Refuse => Verdict::Breaks,
            _ => Verdict::Carried,
        };
    }
    let from = |v: Option<Version>| v.is_some_and(|v| target.at_least(v));
    if from(rule.ignored_from) || from(rule.changes_from) {
        Verdict::Changes
    } else {
        Verdict::Unaffected
    }
}
