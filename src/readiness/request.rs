//! Readiness rows of the request-side rules: a route rule's verdict is what
//! [`crate::rules::decide`] does at the target under the configured mode (then the route's
//! `removed_in`); a field rule's is [`crate::rules::fields::verdict::verdict`]. A lifecycle's
//! refusal is applied over both afterwards, in [`super::assess`].

use super::Against;
use crate::rules::fields::verdict::{verdict as field_verdict, Verdict};
use crate::rules::{catalogue, decide, Action, RuleId};

/// The id, verdict and reason of a route rule's row.
pub(super) fn route(name: &str, a: &Against<'_>) -> (String, Verdict, String) {
    let Some(rule) = a
        .table
        .get(name)
        .filter(|r| !matches!(r.id, RuleId::Field(_)))
    else {
        return (
            "?".into(),
            Verdict::Unaffected,
            "not a route rule of this configuration".into(),
        );
    };
    let id = catalogue::entry(rule.id)
        .map_or("custom", |e| e.id)
        .to_owned();
    let mode = rule.mode.as_str();
    let (verdict, why) = match decide(rule, rule.mode, Some(a.target)) {
        Action::Gone => (
            Verdict::Breaks,
            format!("answered 410 by the shim there (mode {mode})"),
        ),
        Action::Translate => (
            Verdict::Carried,
            format!("the shim translates it there (mode {mode})"),
        ),
        _ => match rule.meta.removed_in {
            Some(gone) if a.target.at_least(gone) => (
                Verdict::Breaks,
                format!("removed in {gone}, not translated (mode {mode})"),
            ),
            _ => (Verdict::Unaffected, "still served there".to_owned()),
        },
    };
    (id, verdict, why)
}

/// The id, verdict and reason of a field rule's row.
pub(super) fn field(name: &str, a: &Against<'_>) -> (String, Verdict, String) {
    let Some(rule) = a.table.fields().rules().iter().find(|r| r.name == name) else {
        return (
            "?".into(),
            Verdict::Unaffected,
            "not a field rule of this configuration".into(),
        );
    };
    let v = field_verdict(rule, a.target);
    let why = match v {
        Verdict::Carried => format!(
            "the shim {}s it there (mode {})",
            rule.action.as_str(),
            rule.mode.as_str()
        ),
        Verdict::Breaks if rule.only_invalid.is_some() => {
            "a reference that is no role's or ACL's uid: not translatable there (§9.2)".to_owned()
        }
        Verdict::Breaks => format!("refused by the shim there (mode {})", rule.mode.as_str()),
        Verdict::Changes => match (rule.ignored_from, rule.changes_from) {
            (Some(from), _) if a.target.at_least(from) => {
                format!("accepted and ignored from {from}")
            }
            (_, Some(from)) => format!("means something else from {from}"),
            _ => "answered with another meaning".to_owned(),
        },
        Verdict::Unaffected => match rule.gate {
            Some(g) if !a.target.at_least(g) => format!("below the rule's gate {g}"),
            _ => "still accepted there".to_owned(),
        },
    };
    (rule.id.clone(), v, why)
}
