//! What the field rules do to one request body: [`inspect`] finds every rule's field, applies
//! the actions the rules' effects allow, and returns the hits for the audit record.
//!
//! Decisions:
//! - Rules run in table order on the same body; a rename's target becomes visible to later
//!   rules. The first refusal wins, and the body is then not sent at all.
//! - A value is recorded only when the rule may record it ([`FieldRule::records_value`]), and
//!   then only a scalar, strings cut at [`MAX_VALUE_CHARS`]; an object or array is recorded as
//!   its type. A secret is recorded as `present: true` and nothing else (§9.3).
//! - Rename (§9.4): only the old key → moved, value mapped; the target already holding the
//!   same value → the old key dropped; another value → untouched, `conflict`; a value outside
//!   the map → untouched, `value_unmapped`; a mapped `None` → the old key dropped (F7's
//!   `false`). Any part of a nested target that exists but is not an object, or exists
//!   without the final key, is a `conflict` too: a partial object is never merged (§9.5).

use super::pointer::Place;
use super::{Effect, FieldAction, FieldRule, FieldTable};
use crate::rules::Version;
use http::Method;
use serde_json::{json, Map, Value};

/// Longest string value recorded, in characters.
pub const MAX_VALUE_CHARS: usize = 128;

/// One field found in a body, and what was done with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The rule's index in its [`FieldTable`].
    pub rule: usize,
    /// The concrete pointer (`/instances/0/db_config/authentication_redis_pass`).
    pub pointer: String,
    /// `observed`, `renamed`, `dropped`, `stripped`, `refused`, `untouched`.
    pub action: &'static str,
    /// Why it was only observed or left untouched.
    pub why: Option<&'static str>,
    /// Where a rename put it.
    pub to: Option<String>,
    /// The value, only when not secret ([`MAX_VALUE_CHARS`]).
    pub value: Option<Value>,
    /// F1: how its look-up ended (`found`, `none`, `ambiguous`, `bound`, `failed`).
    pub lookup: Option<&'static str>,
}

impl Hit {
    /// The hit as the audit record's `detail` lists it (names the rule by `name`).
    pub fn detail(&self, name: &str) -> Value {
        let mut v = json!({"rule": name, "field": self.pointer, "action": self.action});
        if let Some(o) = v.as_object_mut() {
            match &self.value {
                Some(value) => o.insert("value".into(), value.clone()),
                None => o.insert("present".into(), Value::Bool(true)),
            };
            if let Some(why) = self.why {
                o.insert("why".into(), why.into());
            }
            if let Some(to) = &self.to {
                o.insert("to".into(), to.clone().into());
            }
            if let Some(lookup) = self.lookup {
                o.insert("lookup".into(), lookup.into());
            }
        }
        v
    }
}

/// A refusal: the pure facts of the `400` the request path answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: usize,
    pub error_code: &'static str,
    pub description: String,
}

/// The `error_code` of a field a rule refuses.
pub const REFUSED_CODE: &str = "field_not_supported";

/// What [`inspect`] found and did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    pub hits: Vec<Hit>,
    /// The body was changed: send the rewritten one.
    pub changed: bool,
    pub refusal: Option<Refusal>,
}

/// Runs every field rule of `table` that looks at `method` + `path` on `body`, at the
/// cluster's `version` (when known).
pub fn inspect(
    table: &FieldTable,
    method: &Method,
    path: &str,
    body: &mut Value,
    version: Option<Version>,
) -> Inspection {
    let mut out = Inspection::default();
    for (i, rule) in table.rules().iter().enumerate() {
        if rule.mode == crate::rules::Mode::Off {
            continue;
        }
        let Some(site) = rule.site(method, path) else {
            continue;
        };
        let effect = rule.effect(site, version);
        for pointer in &site.pointers {
            for place in pointer.find(body) {
                let invalid = rule.only_invalid.map(|check| {
                    let value = body.pointer(&place.pointer()).unwrap_or(&Value::Null);
                    ((check.valid)(value), check.why)
                });
                if matches!(invalid, Some((true, _))) {
                    continue;
                }
                let mut hit = one(i, rule, effect, &place, body);
                if let Some((_, why)) = invalid {
                    hit.why = Some(why);
                }
                out.changed |= matches!(hit.action, "renamed" | "dropped" | "stripped");
                if hit.action == "refused" && out.refusal.is_none() {
                    out.refusal = Some(refusal(i, rule, &hit.pointer, method, path));
                }
                out.hits.push(hit);
            }
        }
    }
    out
}

fn refusal(i: usize, rule: &FieldRule, pointer: &str, method: &Method, path: &str) -> Refusal {
    let instead = match &rule.successor {
        Some(s) => format!("; use {s} instead"),
        None => String::new(),
    };
    Refusal {
        rule: i,
        error_code: REFUSED_CODE,
        description: format!(
            "the field {pointer} of {method} {path} is no longer supported (rule {}){instead}; see {}",
            rule.name, rule.docs
        ),
    }
}

fn one(i: usize, rule: &FieldRule, effect: Effect, place: &Place, body: &mut Value) -> Hit {
    let pointer = place.pointer();
    let mut hit = Hit {
        rule: i,
        pointer,
        action: "observed",
        why: None,
        to: None,
        value: None,
        lookup: None,
    };
    let Some(parent) = body
        .pointer_mut(&place.parent)
        .and_then(Value::as_object_mut)
    else {
        return hit;
    };
    if rule.records_value(&place.key) {
        hit.value = parent.get(&place.key).map(recordable);
    }
    if let Effect::Observe(why) = effect {
        hit.why = why;
        return hit;
    }
    match &rule.action {
        FieldAction::Observe => {}
        FieldAction::Refuse => hit.action = "refused",
        FieldAction::LookUp => match super::role::wanted(parent, &place.key) {
            Ok(_) => hit.action = super::role::PENDING,
            Err(why) => {
                hit.action = "untouched";
                hit.why = Some(why);
            }
        },
        FieldAction::Strip { when_sibling } => {
            let allowed = when_sibling.as_ref().is_none_or(|s| {
                parent
                    .get(s)
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty())
            });
            if allowed {
                parent.remove(&place.key);
                hit.action = "stripped";
            } else {
                hit.action = "untouched";
                hit.why = Some("no_sibling");
            }
        }
        FieldAction::Rename { to, values } => {
            let (action, why) = rename(parent, &place.key, to, values.as_deref());
            hit.action = action;
            hit.why = why;
            if action == "renamed" {
                hit.to = Some(format!("{}/{}", place.parent, to.join("/")));
            }
        }
    }
    hit
}

type ValueMap = [(Value, Option<Value>)];

fn rename(
    parent: &mut Map<String, Value>,
    key: &str,
    to: &[String],
    values: Option<&ValueMap>,
) -> (&'static str, Option<&'static str>) {
    let Some(old) = parent.get(key) else {
        return ("untouched", Some("absent"));
    };
    let mapped = match values {
        None => Some(old.clone()),
        Some(map) => match map.iter().find(|(from, _)| from == old) {
            Some((_, to)) => to.clone(),
            None => return ("untouched", Some("value_unmapped")),
        },
    };
    let Some(mapped) = mapped else {
        parent.remove(key);
        return ("dropped", None);
    };
    let Some(first) = to.first() else {
        return ("untouched", Some("no_target"));
    };
    if parent.contains_key(first) {
        // The target, or an object on its way, is already there: equal → the old key is
        // dropped; anything else (another value, a partial object) → untouched.
        let same = match to.split_last() {
            Some((last, dirs)) => dirs
                .iter()
                .try_fold(&*parent, |o, k| o.get(k)?.as_object())
                .and_then(|o| o.get(last))
                .is_some_and(|v| *v == mapped),
            None => false,
        };
        if same {
            parent.remove(key);
            return ("dropped", Some("same_as_successor"));
        }
        return ("untouched", Some("conflict"));
    }
    let nested = to.iter().skip(1).rev().fold(mapped, |inner, k| {
        Value::Object(Map::from_iter([(k.clone(), inner)]))
    });
    parent.remove(key);
    parent.insert(first.clone(), nested);
    ("renamed", None)
}

/// A value as it may be recorded: scalars (strings cut), or the type of a composite.
fn recordable(v: &Value) -> Value {
    match v {
        Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => {
            Value::String(s.chars().take(MAX_VALUE_CHARS).collect::<String>() + "…")
        }
        Value::Array(_) => json!({"type": "array"}),
        Value::Object(_) => json!({"type": "object"}),
        other => other.clone(),
    }
}
