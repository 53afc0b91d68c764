//! The field rules' configuration (issue 23): the built-in F-rules' sections
//! (`[rules.field_use_ipv6]`: `mode`, `headers`, dates) and the operators' `[[rules.fields]]`
//! (observe / rename / strip / refuse), validated at start and on reload into a
//! [`FieldTable`], errors naming the key (`rules.fields[1].pointer: ...`).
//!
//! Decisions:
//! - An operator rule names its routes as `"METHOD /path/{param}"` strings and its field by one
//!   or more JSON pointers (`*` for every array element); `rename` takes `to`, a pointer
//!   relative to the field's parent object (`/use_external_ipv6`, `/audit_settings/audit_mode`),
//!   and optionally `values`, a table of old string value → new value.
//! - `from` is the gate (a version like `8.2.0`): the rule acts from it on a known version and
//!   observes below it and on an unknown version; without `from` it acts on every version.
//! - `deprecation_date` is required only with `headers = true` (it is only ever sent then).
//! - A field named like a known secret (`password`, `authentication_redis_pass`, …) is secret
//!   whatever `secret` says.

use super::{parse_date, ConfigError};
use crate::rules::fields::aliases::{Alias, ReplyAliases};
use crate::rules::fields::builtin::builtin;
use crate::rules::fields::{FieldAction, FieldRule, FieldTable, Pointer, Site};
use crate::rules::{Mode, Template, Version};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::time::UNIX_EPOCH;

/// `[rules.field_*]`: a built-in field rule's keys.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFieldRule {
    pub mode: Option<String>,
    pub headers: Option<bool>,
    pub deprecation_date: Option<String>,
    pub sunset_date: Option<String>,
}

/// `[rules.field_reply_aliases]` (F14, API-CATALOGUE §9.6): `mode` (`off`/`auto`, the
/// default, add nothing; `observe` reports; `translate` adds) and `aliases`, the old keys
/// enabled (all six safe ones when absent).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReplyAliases {
    pub mode: Option<String>,
    pub aliases: Option<Vec<String>>,
}

/// One `[[rules.fields]]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOperatorField {
    pub name: Option<String>,
    #[serde(default)]
    pub routes: Vec<String>,
    #[serde(default)]
    pub pointers: Vec<String>,
    pub action: Option<String>,
    pub to: Option<String>,
    pub values: Option<BTreeMap<String, serde_json::Value>>,
    pub successor: Option<String>,
    pub docs_url: Option<String>,
    pub from: Option<String>,
    pub secret: Option<bool>,
    pub headers: Option<bool>,
    pub mode: Option<String>,
    pub deprecation_date: Option<String>,
    pub sunset_date: Option<String>,
}

/// The built-in field rules with their sections applied, then the operator's, into a table.
/// `names`: the route rules' names (a field rule may not reuse one).
pub fn validate(
    sections: Vec<(&str, Option<RawFieldRule>)>,
    operators: Vec<RawOperatorField>,
    names: &mut HashSet<String>,
) -> Result<FieldTable, ConfigError> {
    let mut rules = builtin().map_err(|e| ConfigError::new("rules", e))?;
    for (name, section) in sections {
        if let (Some(section), Some(rule)) = (section, rules.iter_mut().find(|r| r.name == name)) {
            configure(rule, section)?;
        }
    }
    for r in &rules {
        names.insert(r.name.clone());
    }
    for (i, raw) in operators.into_iter().enumerate() {
        let rule = operator(i, raw)?;
        if !names.insert(rule.name.clone()) {
            return Err(ConfigError::new(
                &format!("rules.fields[{i}].name"),
                format!("\"{}\" is already the name of another rule", rule.name),
            ));
        }
        rules.push(rule);
    }
    Ok(FieldTable::new(rules))
}

/// F14's section, validated (errors name `rules.field_reply_aliases.aliases[1]`).
pub fn reply_aliases(raw: Option<RawReplyAliases>) -> Result<ReplyAliases, ConfigError> {
    let mut out = ReplyAliases::default();
    let Some(raw) = raw else {
        return Ok(out);
    };
    let key = "rules.field_reply_aliases";
    if let Some(m) = raw.mode {
        out.mode = mode(&format!("{key}.mode"), &m)?;
    }
    if let Some(names) = raw.aliases {
        out.aliases = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let alias = Alias::parse(name)
                .map_err(|e| ConfigError::new(&format!("{key}.aliases[{i}]"), e))?;
            if !out.aliases.contains(&alias) {
                out.aliases.push(alias);
            }
        }
    }
    Ok(out)
}

fn mode(key: &str, raw: &str) -> Result<Mode, ConfigError> {
    Mode::parse(raw).ok_or_else(|| {
        ConfigError::new(
            key,
            format!("\"{raw}\" is not one of \"auto\", \"observe\", \"translate\", \"off\""),
        )
    })
}

fn configure(rule: &mut FieldRule, raw: RawFieldRule) -> Result<(), ConfigError> {
    let key = |field: &str| format!("rules.{}.{field}", rule.name);
    if let Some(m) = raw.mode {
        rule.mode = mode(&key("mode"), &m)?;
    }
    if let Some(h) = raw.headers {
        rule.headers = h;
    }
    if let Some(d) = raw.deprecation_date {
        rule.deprecation = parse_date(&key("deprecation_date"), &d)?;
    }
    if let Some(s) = raw.sunset_date.filter(|s| !s.is_empty()) {
        rule.sunset = Some(parse_date(&key("sunset_date"), &s)?);
    }
    check_marks(rule, &key("sunset_date"))
}

/// The dates must render (a sunset before the deprecation is refused).
fn check_marks(rule: &FieldRule, key: &str) -> Result<(), ConfigError> {
    crate::rules::Marks::new(rule.deprecation, rule.sunset, &rule.docs)
        .map(|_| ())
        .map_err(|e| ConfigError::new(key, e))
}

fn operator(i: usize, raw: RawOperatorField) -> Result<FieldRule, ConfigError> {
    let key = |field: &str| format!("rules.fields[{i}].{field}");
    let required = |field: &str, v: Option<String>| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError::new(&key(field), "is required"))
    };
    let name = required("name", raw.name)?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(ConfigError::new(
            &key("name"),
            format!("\"{name}\" must be lower-case letters, digits, '_' and '-'"),
        ));
    }
    let docs_url = required("docs_url", raw.docs_url)?;
    let action_name = required("action", raw.action)?;
    if raw.pointers.is_empty() {
        return Err(ConfigError::new(
            &key("pointers"),
            "is required: at least one JSON pointer such as \"/use_ipv6\"",
        ));
    }
    let pointers = raw
        .pointers
        .iter()
        .map(|p| Pointer::parse(p).map_err(|e| ConfigError::new(&key("pointers"), e)))
        .collect::<Result<Vec<_>, _>>()?;
    if raw.routes.is_empty() {
        return Err(ConfigError::new(
            &key("routes"),
            "is required: at least one \"METHOD /path\" such as \"PUT /v1/cluster\"",
        ));
    }
    let sites = raw
        .routes
        .iter()
        .map(|r| site(r, &pointers).map_err(|e| ConfigError::new(&key("routes"), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let action = action(&key, &action_name, raw.to, raw.values)?;
    let gate = raw
        .from
        .filter(|s| !s.is_empty())
        .map(|s| {
            Version::parse(&s).ok_or_else(|| {
                ConfigError::new(
                    &key("from"),
                    format!("\"{s}\" is not a Redis Software version like \"8.2.0\""),
                )
            })
        })
        .transpose()?;
    let headers = raw.headers.unwrap_or(false);
    let deprecation = match raw.deprecation_date.filter(|s| !s.is_empty()) {
        Some(d) => parse_date(&key("deprecation_date"), &d)?,
        None if headers => {
            return Err(ConfigError::new(
                &key("deprecation_date"),
                "is required with headers = true (it is the Deprecation header's date)",
            ))
        }
        None => UNIX_EPOCH,
    };
    let sunset = raw
        .sunset_date
        .filter(|s| !s.is_empty())
        .map(|s| parse_date(&key("sunset_date"), &s))
        .transpose()?;
    let rule = FieldRule {
        id: "custom".into(),
        field: pointers
            .first()
            .map_or(String::new(), |p| p.key().to_owned()),
        name,
        successor: raw.successor.filter(|s| !s.is_empty()),
        sites,
        action,
        gate,
        auto_acts: true,
        secret: raw.secret.unwrap_or(false),
        headers,
        mode: match raw.mode {
            Some(m) => mode(&key("mode"), &m)?,
            None => Mode::Auto,
        },
        deprecated_in: gate,
        ignored_from: None,
        changes_from: None,
        deprecation,
        sunset,
        docs: docs_url,
        source: "[[rules.fields]]".into(),
        only_invalid: None,
    };
    check_marks(&rule, &key("docs_url"))?;
    Ok(rule)
}

fn site(route: &str, pointers: &[Pointer]) -> Result<Site, String> {
    let (method, path) = route
        .split_once(' ')
        .ok_or_else(|| format!("\"{route}\" is not \"METHOD /path\""))?;
    let method = match method {
        "POST" | "PUT" | "PATCH" | "DELETE" => {
            http::Method::from_bytes(method.as_bytes()).map_err(|e| format!("\"{route}\": {e}"))?
        }
        other => {
            return Err(format!(
                "\"{route}\": {other} is not POST, PUT, PATCH or DELETE (a method with a body)"
            ))
        }
    };
    Ok(Site {
        method,
        route: Template::parse(path.trim())?,
        pointers: pointers.to_vec(),
        apply: true,
    })
}

fn action(
    key: &dyn Fn(&str) -> String,
    name: &str,
    to: Option<String>,
    values: Option<BTreeMap<String, serde_json::Value>>,
) -> Result<FieldAction, ConfigError> {
    if name != "rename" && (to.is_some() || values.is_some()) {
        return Err(ConfigError::new(
            &key(if to.is_some() { "to" } else { "values" }),
            format!("is only for action = \"rename\", not \"{name}\""),
        ));
    }
    Ok(match name {
        "observe" => FieldAction::Observe,
        "strip" => FieldAction::Strip { when_sibling: None },
        "refuse" => FieldAction::Refuse,
        "rename" => {
            let to = to.filter(|s| !s.is_empty()).ok_or_else(|| {
                ConfigError::new(&key("to"), "is required with action = \"rename\"")
            })?;
            let target = Pointer::parse(&to).map_err(|e| ConfigError::new(&key("to"), e))?;
            if target.as_str().contains("/*") {
                return Err(ConfigError::new(&key("to"), "may not contain '*'"));
            }
            let mut path: Vec<String> = target
                .as_str()
                .trim_start_matches('/')
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect();
            path.retain(|t| !t.is_empty());
            let values = values.map(|m| {
                m.into_iter()
                    .map(|(old, new)| (serde_json::Value::String(old), Some(new)))
                    .collect()
            });
            FieldAction::Rename { to: path, values }
        }
        other => {
            return Err(ConfigError::new(
                &key("action"),
                format!("\"{other}\" is not one of \"observe\", \"rename\", \"strip\", \"refuse\""),
            ))
        }
    })
}

#[cfg(test)]
#[path = "rules_fields_tests.rs"]
mod tests;
