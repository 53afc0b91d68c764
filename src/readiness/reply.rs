//! Readiness rows of the reply-side rules (F14's reply aliases, F2's predefined names): what a
//! caller seen *reading* an old key or a predefined name meets on the target. The verdicts are
//! [`crate::rules::fields::verdict::reply_alias`] and
//! [`crate::rules::fields::verdict::predefined_read`]; their reasons are written there.

use super::Against;
use crate::rules::fields::aliases::{self, Alias};
use crate::rules::fields::predefined;
use crate::rules::fields::verdict::{predefined_read, reply_alias, Verdict};

/// The rows one reply-side record counts for: `(key, evidence)`. F14: one per old key added
/// (keyed by it); F2 (and any other): one, its evidence the names seen absent.
pub(super) fn keys(rule: &str, seen: &[&str]) -> Vec<(Option<String>, String)> {
    if rule == aliases::RULE {
        return seen
            .iter()
            .map(|k| (Some((*k).to_owned()), (*k).to_owned()))
            .collect();
    }
    let names = if seen.is_empty() {
        "none".to_owned()
    } else {
        seen.join(", ")
    };
    vec![(None, format!("predefined_absent: {names}"))]
}

/// The id, verdict and reason of one reply row.
pub(super) fn judge(name: &str, key: Option<&str>, a: &Against<'_>) -> (String, Verdict, String) {
    if name == aliases::RULE {
        let Some(alias) = key.and_then(|k| Alias::parse(k).ok()) else {
            let why = "not an alias this version synthesizes".to_owned();
            return ("F14".into(), Verdict::Unaffected, why);
        };
        let v = reply_alias(a.aliases, alias, a.target);
        let why = match v {
            Verdict::Carried => format!("the shim adds `{}` there (mode translate)", alias.key()),
            Verdict::Unaffected => format!("still returned by {} itself", a.target),
            _ => format!(
                "no longer returned there and not added ([rules.field_reply_aliases] mode {}{})",
                a.aliases.mode.as_str(),
                if a.aliases.aliases.contains(&alias) {
                    ""
                } else {
                    ", alias not enabled"
                }
            ),
        };
        return ("F14".into(), v, why);
    }
    if name == predefined::RULE {
        let v = predefined_read(a.target);
        let why = match v {
            Verdict::Changes => "the predefined roles/ACLs are gone from 7.2.4 unless in use and \
                                 cannot be translated; a caller selecting them by name finds none \
                                 (§9.2)"
                .to_owned(),
            _ => "below 7.2.4 the predefined roles/ACLs are still there".to_owned(),
        };
        return ("F2".into(), v, why);
    }
    let why = "not a reply-side rule of this configuration".to_owned();
    ("?".into(), Verdict::Unaffected, why)
}
