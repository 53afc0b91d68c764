//! F1's look-up rewrite (API-CATALOGUE §9.1), pure: what the two replies (`GET /v1/roles`,
//! `GET /v1/bdbs?fields=uid,roles_permissions`) say about an old `role` string, and the body
//! settled with that answer. The GETs, their cache and single-flight are the request path's
//! (`proxy/deprecated/fields_role.rs`).
//!
//! Decisions:
//! - Only a string `role` other than `none`, in a body without `role_uids`, is looked up
//!   ([`wanted`]); anything else is left untouched with the reason (`not_a_string`,
//!   `role_none`, `has_role_uids`).
//! - Candidates: roles whose `management` equals the old string, **never** by `name`, whose
//!   `resources` is absent, `null`, `[]` or `{}` (8.2 scopes). A role appearing as a
//!   `roles_permissions[].role_uid` of any database is bound to a Redis ACL and dropped: it
//!   would grant data access the old `role` never gave.
//! - Exactly one left → `role` is replaced by `"role_uids": [uid]`. None at all → `none`; all
//!   candidates bound → `bound`; more than one left → `ambiguous`; a failed look-up →
//!   `failed`. In all those cases the body is sent as it came (the server still honours
//!   `role` until its 2027-12-31 sunset), and the audit says which.
//! - A reply that is not a JSON array is a failed look-up, never "no roles".

use super::{Hit, Inspection};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The `action` of a hit whose look-up the request path still has to make.
pub const PENDING: &str = "lookup";

/// What the cluster's roles and databases say, as far as F1 needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleFacts {
    /// `(uid, management)` of every role without `resources`.
    unscoped: Vec<(u64, String)>,
    /// Role uids named by some database's `roles_permissions`.
    bound: BTreeSet<u64>,
}

/// The look-up's answer for one old `role` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Found(u64),
    None,
    Ambiguous,
    Bound,
    Failed,
}

impl Lookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Found(_) => "found",
            Lookup::None => "none",
            Lookup::Ambiguous => "ambiguous",
            Lookup::Bound => "bound",
            Lookup::Failed => "failed",
        }
    }
}

fn empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

impl RoleFacts {
    /// The facts from the two replies' JSON; `None` when either is not an array.
    pub fn read(roles: &Value, bdbs: &Value) -> Option<RoleFacts> {
        let unscoped = roles
            .as_array()?
            .iter()
            .filter(|r| empty(r.get("resources")))
            .filter_map(|r| {
                let uid = r.get("uid")?.as_u64()?;
                let management = r.get("management")?.as_str()?;
                Some((uid, management.to_owned()))
            })
            .collect();
        let bound = bdbs
            .as_array()?
            .iter()
            .filter_map(|b| b.get("roles_permissions")?.as_array())
            .flatten()
            .filter_map(|p| p.get("role_uid")?.as_u64())
            .collect();
        Some(RoleFacts { unscoped, bound })
    }

    /// The answer for `old` (see the module's decisions).
    pub fn decide(&self, old: &str) -> Lookup {
        let candidates: Vec<u64> = self
            .unscoped
            .iter()
            .filter(|(_, m)| m == old)
            .map(|(uid, _)| *uid)
            .collect();
        let free: Vec<u64> = candidates
            .iter()
            .copied()
            .filter(|uid| !self.bound.contains(uid))
            .collect();
        match (candidates.len(), free.as_slice()) {
            (0, _) => Lookup::None,
            (_, [one]) => Lookup::Found(*one),
            (_, []) => Lookup::Bound,
            _ => Lookup::Ambiguous,
        }
    }
}

/// The old role string when the body asks for a look-up, else why not.
pub fn wanted(parent: &Map<String, Value>, key: &str) -> Result<String, &'static str> {
    let Some(Value::String(old)) = parent.get(key) else {
        return Err("not_a_string");
    };
    if old == "none" {
        return Err("role_none");
    }
    if parent.contains_key("role_uids") {
        return Err("has_role_uids");
    }
    Ok(old.clone())
}

/// Whether some hit still waits for its look-up.
pub fn pending(found: &Inspection) -> bool {
    found.hits.iter().any(|h| h.action == PENDING)
}

/// Settles every pending hit of `found` with `facts` (`None`: the look-up failed): a found
/// uid replaces `role` by `role_uids` in `body`; anything else leaves the body untouched.
pub fn settle(found: &mut Inspection, body: &mut Value, facts: Option<&RoleFacts>) {
    for hit in found.hits.iter_mut().filter(|h| h.action == PENDING) {
        let outcome = settle_one(hit, body, facts);
        hit.lookup = Some(outcome.as_str());
        found.changed |= matches!(outcome, Lookup::Found(_));
    }
}

fn settle_one(hit: &mut Hit, body: &mut Value, facts: Option<&RoleFacts>) -> Lookup {
    hit.action = "untouched";
    let (parent, key) = hit.pointer.rsplit_once('/').unwrap_or(("", ""));
    let Some(map) = body.pointer_mut(parent).and_then(Value::as_object_mut) else {
        hit.why = Some("absent");
        return Lookup::Failed;
    };
    let old = match wanted(map, key) {
        Ok(old) => old,
        Err(why) => {
            hit.why = Some(why);
            return Lookup::Failed;
        }
    };
    let outcome = facts.map_or(Lookup::Failed, |f| f.decide(&old));
    if let Lookup::Found(uid) = outcome {
        map.remove(key);
        map.insert("role_uids".into(), Value::from(vec![uid]));
        hit.action = "renamed";
        hit.to = Some(format!("{parent}/role_uids"));
    }
    outcome
}

#[cfg(test)]
#[path = "role_tests.rs"]
mod tests;
