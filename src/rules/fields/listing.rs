//! The field rules' part of `deprecation-shim rules list` (their defaults, as shipped): one row
//! per F-rule, and what it does in front of a version ([`FieldRule::effect`], the code the
//! request path runs). Pure: [`crate::rules::catalogue::listing`] prints it after the routes.

use super::builtin::builtin;
use super::{Effect, FieldRule};
use crate::lifecycle::Day;
use crate::rules::Version;
use serde_json::{json, Value};

/// The table's rows (header first), `AT v` when `at` is given.
pub fn table(at: Option<Version>) -> Result<Vec<Vec<String>>, String> {
    let rules = builtin()?;
    let mut header: Vec<String> = [
        "ID",
        "NAME",
        "FIELD",
        "ROUTES",
        "ACTION",
        "MODE",
        "GATE",
        "DEPRECATED",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(at.map(|v| format!("AT {v}")));
    let mut rows = vec![header];
    for r in &rules {
        let mut row = vec![
            r.id.clone(),
            r.name.clone(),
            field_words(r),
            routes_words(r),
            action_words(r),
            r.mode.as_str().to_owned(),
            gate_words(r),
            deprecated_words(r),
        ];
        row.extend(at.map(|v| does(r, v).to_owned()));
        rows.push(row);
    }
    Ok(rows)
}

/// Every F-rule's facts as JSON values (`rules list --format json`, key `fields`).
pub fn json(at: Option<Version>) -> Result<Vec<Value>, String> {
    Ok(builtin()?
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "field": r.field,
                "successor": r.successor,
                "sites": r.sites.iter().map(|s| json!({
                    "method": s.method.as_str(),
                    "path": s.route.as_str(),
                    "pointers": s.pointers.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "acts": s.apply,
                })).collect::<Vec<_>>(),
                "action": r.action.as_str(),
                "default_mode": r.mode.as_str(),
                "auto_acts": r.auto_acts,
                "secret": r.secret,
                "headers": r.headers,
                "gate": r.gate.map(|v| v.to_string()),
                "deprecated_in": r.deprecated_in.map(|v| v.to_string()),
                "deprecation_header": format!("@{}", unix(r.deprecation)),
                "sunset": r.sunset.map(|s| Day::of(s).to_string()),
                "docs": r.docs,
                "source": r.source,
                "does": at.map(|v| does(r, v)),
            })
        })
        .collect())
}

fn unix(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn field_words(r: &FieldRule) -> String {
    match &r.successor {
        Some(s) => format!("{} → {s}", r.field),
        None => r.field.clone(),
    }
}

fn routes_words(r: &FieldRule) -> String {
    let mut sites = r.sites.iter();
    let Some(first) = sites.next() else {
        return "-".to_owned();
    };
    let more = sites.count();
    let head = format!("{} {}", first.method, first.route.as_str());
    if more == 0 {
        head
    } else {
        format!("{head} (+{more} more)")
    }
}

fn action_words(r: &FieldRule) -> String {
    let mut words = r.action.as_str().to_owned();
    if r.secret {
        words.push_str(" (name only)");
    }
    if r.sites.iter().any(|s| !s.apply) && r.action.acts() {
        words.push_str(" (creates only)");
    }
    words
}

fn gate_words(r: &FieldRule) -> String {
    let mut words = match r.gate {
        Some(v) => format!("≥ {v}; below: observe"),
        None => "every version".to_owned(),
    };
    if r.action.acts() && !r.auto_acts {
        words.push_str("; auto observes (translate: opt-in)");
    }
    words
}

fn deprecated_words(r: &FieldRule) -> String {
    let day = Day::of(r.deprecation);
    match (r.deprecated_in, r.sunset) {
        (Some(v), _) => format!("{v} ({day})"),
        (None, Some(s)) => format!("sunset {}", Day::of(s)),
        (None, None) => "-".to_owned(),
    }
}

/// What the rule does with a hit in front of `at`, in its default mode.
fn does(r: &FieldRule, at: Version) -> &'static str {
    let site = r.sites.iter().find(|s| s.apply).or(r.sites.first());
    match site.map(|s| r.effect(s, Some(at))) {
        Some(Effect::Act) => r.action.as_str(),
        _ => "observe",
    }
}
