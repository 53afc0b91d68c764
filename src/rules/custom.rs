//! Operator-defined rules (`[[rules.custom]]`, issue 12 item 4): cover a deprecation before the
//! shim ships a rule for it. A rule observes, rewrites the path to a successor, or answers gone.
//!
//! Decisions:
//! - An operator rule has no version gate: in `auto` it applies whatever the cluster's version
//!   (it was written for the cluster in front of it), and never causes a version look-up.
//!   `deprecated_in`, when given, only decides whether an observed reply is marked.
//! - `rewrite` changes the path only (same method, headers and streamed body, query kept); the
//!   successor template may use only the parameters of the old path, checked at start-up.
//! - `gone` answers `410 route_removed` naming the successor when there is one.
//! - A typed parameter that does not fit (`{uid:int}` and `abc`) means no match: the call
//!   streams through, as for the built-in debuginfo rules.
//! - Errors name the field; the configuration adds `rules.custom[i].` in front.

use super::matcher::{Outcome, Template};
use super::table::Matched;
use super::{Gate, Kind, Marks, Matcher, Meta, Mode, OnBadParam, Rule, RuleId, Version};
use crate::error::ApiError;
use http::{Method, StatusCode};
use std::time::SystemTime;

/// One `[[rules.custom]]` entry, its strings as written and its dates already parsed.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub name: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub kind: &'a str,
    pub successor: Option<&'a str>,
    pub docs_url: &'a str,
    pub deprecated_in: Option<&'a str>,
    pub deprecation: SystemTime,
    pub sunset: Option<SystemTime>,
    pub mode: Mode,
}

/// A field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub field: &'static str,
    pub problem: String,
}

fn err(field: &'static str, problem: impl Into<String>) -> SpecError {
    SpecError {
        field,
        problem: problem.into(),
    }
}

/// Validates one entry into a rule; `index` is its position in `[[rules.custom]]`.
pub fn build(index: usize, spec: &Spec<'_>) -> Result<Rule, SpecError> {
    let name_ok = !spec.name.is_empty()
        && spec.name.len() <= 64
        && spec
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !name_ok {
        return Err(err(
            "name",
            format!(
                "\"{}\" must be 1 to 64 lower-case letters, digits, '_' or '-' (it labels audit records and metrics)",
                spec.name
            ),
        ));
    }
    let method_ok = !spec.method.is_empty() && spec.method.bytes().all(|b| b.is_ascii_uppercase());
    let method = Method::from_bytes(spec.method.as_bytes())
        .ok()
        .filter(|_| method_ok)
        .ok_or_else(|| {
            err(
                "method",
                format!(
                    "\"{}\" is not an upper-case HTTP method like \"GET\"",
                    spec.method
                ),
            )
        })?;
    let path = Template::parse(spec.path).map_err(|e| err("path", e))?;
    let kind = match spec.kind {
        "observe" => Kind::Observe,
        "rewrite" => Kind::Rewrite,
        "gone" => Kind::Gone,
        other => {
            return Err(err(
                "kind",
                format!("\"{other}\" is not one of \"observe\", \"rewrite\", \"gone\""),
            ))
        }
    };
    let successor = spec
        .successor
        .map(|s| Template::parse(s).map_err(|e| err("successor", e)))
        .transpose()?;
    match &successor {
        None if kind == Kind::Rewrite => {
            return Err(err("successor", "is required when kind = \"rewrite\""))
        }
        Some(s) => {
            if let Some(unknown) = s
                .param_names()
                .find(|n| !path.param_names().any(|p| p == *n))
            {
                return Err(err(
                    "successor",
                    format!("uses {{{unknown}}}, which the path \"{path}\" does not have"),
                ));
            }
        }
        None => {}
    }
    let deprecated_in = spec
        .deprecated_in
        .map(|v| {
            Version::parse(v).ok_or_else(|| {
                err(
                    "deprecated_in",
                    format!("\"{v}\" is not a Redis Software version like \"7.22.2\""),
                )
            })
        })
        .transpose()?;
    let marks = Marks::new(spec.deprecation, spec.sunset, spec.docs_url).map_err(|e| {
        let field = if e.starts_with("sunset") {
            "sunset_date"
        } else if e.starts_with("deprecation") {
            "deprecation_date"
        } else {
            "docs_url"
        };
        err(field, e)
    })?;
    Ok(Rule {
        id: RuleId::Custom(index),
        name: spec.name.to_owned(),
        matcher: Matcher {
            method,
            path,
            on_bad_param: OnBadParam::PassThrough,
            also: Vec::new(),
        },
        meta: Meta {
            deprecated_in,
            removed_in: None,
            successor,
            docs_url: spec.docs_url.to_owned(),
            deprecation: spec.deprecation,
            sunset: spec.sunset,
        },
        kind,
        gate: Gate {
            from: None,
            apply_when_unknown: true,
            look_up: false,
            builds: &[],
        },
        gone_band: None,
        mode: spec.mode,
        auto_observes: false,
        marks,
    })
}

/// A `rewrite` rule's new path and query for a matched call.
pub fn rewrite_path(matched: &Matched<'_>) -> Option<String> {
    let mut path = matched.successor_path()?;
    if let Some(q) = matched.query {
        path.push('?');
        path.push_str(q);
    }
    Some(path)
}

/// A `gone` rule's reply (send with the rule's marks and successor).
pub fn gone(matched: &Matched<'_>) -> ApiError {
    let rule = matched.rule;
    let old = format!("{} {}", rule.matcher.method, rule.matcher.path);
    let text = match matched.successor_path() {
        Some(s) => format!("{old} is no longer served; use {s} instead"),
        None => format!("{old} is no longer served; see {}", rule.meta.docs_url),
    };
    ApiError::new(StatusCode::GONE, "route_removed", text)
}

#[cfg(test)]
#[path = "custom_tests.rs"]
mod tests;

/// Routes of the RS REST API that no release deprecates, one example each (the RS REST API
/// reference; the v1 statistics routes are left out: 7.22 deprecates them). An operator rule
/// that matches one of these is almost certainly too broad (issue 20: `GET /{a}/{b}/{c}` as
/// `gone` retired `GET /v1/bdbs/1`).
pub const NOT_DEPRECATED: [(&str, &str); 16] = [
    ("GET", "/v1/bdbs"),
    ("GET", "/v1/bdbs/1"),
    ("PUT", "/v1/bdbs/1"),
    ("POST", "/v1/bdbs/1/upgrade"),
    ("GET", "/v1/cluster"),
    ("PUT", "/v1/cluster/certificates"),
    ("GET", "/v1/nodes"),
    ("GET", "/v1/nodes/1"),
    ("GET", "/v1/modules"),
    ("GET", "/v1/users"),
    ("GET", "/v1/users/1"),
    ("GET", "/v1/bootstrap"),
    ("GET", "/v1/actions/1"),
    ("GET", "/v1/license"),
    ("GET", "/v1/logs"),
    ("POST", "/v2/modules"),
];

/// For each operator rule of `rules` whose pattern also matches a route the catalogue knows is
/// not deprecated, a warning naming the rule and an example (`check` prints them).
pub fn too_broad(rules: &[Rule]) -> Vec<String> {
    let mut out = Vec::new();
    for rule in rules.iter().filter(|r| matches!(r.id, RuleId::Custom(_))) {
        let hit = NOT_DEPRECATED.iter().find(|(method, path)| {
            rule.matcher.method.as_str() == *method
                && matches!(rule.matcher.path.matches(path), Outcome::Match(_))
        });
        if let Some((method, path)) = hit {
            out.push(format!(
                "rules.custom \"{}\" ({} {}) also matches {method} {path}, which no release deprecates; narrow its path",
                rule.name,
                rule.matcher.method,
                rule.matcher.path.as_str()
            ));
        }
    }
    out
}
