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
//!
//! The reply side (a caller that *reads* a field, not one that sends it):
//! - F14, per old key the caller was seen reading ([`reply_alias`]): where the target still
//!   returns the key itself (`use_ipv6` below 8.2.0), `unaffected`; else, with the aliases on
//!   (`mode = "translate"`, the key enabled) the shim adds it there, `carried`; off or
//!   `observe`, the reply no longer carries it: `changes` (still answered, another shape).
//! - F2, a caller seen reading `GET /v1/roles` / `GET /v1/redis_acls` ([`predefined_read`]):
//!   from 7.2.4 the predefined names are gone and nothing can bring them back (§9.2: never
//!   created), yet the route still answers: `changes`, not `breaks`. What fails is the client's
//!   own selection by name, which the shim never sees (§9.2); the evidence is a read, not a
//!   failed call. A caller that then sends the missing name's (absent) uid is the request side's
//!   `roles_permissions_invalid`, and that `breaks`. Below 7.2.4 the names are there:
//!   `unaffected`.

use super::aliases::{Alias, ReplyAliases};
use super::FieldRule;
use crate::rules::version::{V7_2_4, V8_2_0};
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

/// F14: the verdict for a caller reading the old key `alias` on a `target` cluster, with the
/// aliases as configured.
pub fn reply_alias(settings: &ReplyAliases, alias: Alias, target: Version) -> Verdict {
    if alias == Alias::UseIpv6 && !target.at_least(V8_2_0) {
        return Verdict::Unaffected;
    }
    if settings.adds() && settings.aliases.contains(&alias) {
        Verdict::Carried
    } else {
        Verdict::Changes
    }
}

/// F2's reply side: the verdict for a caller reading the roles or Redis ACLs on `target`.
pub fn predefined_read(target: Version) -> Verdict {
    if target.at_least(V7_2_4) {
        Verdict::Changes
    } else {
        Verdict::Unaffected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Mode;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("version")
    }

    fn aliases(mode: Mode, enabled: &[Alias]) -> ReplyAliases {
        ReplyAliases {
            mode,
            aliases: enabled.to_vec(),
        }
    }

    #[test]
    fn f14_an_alias_read_is_carried_when_added_there_and_changes_when_not() {
        let on = aliases(Mode::Translate, &Alias::ALL);
        let observe = aliases(Mode::Observe, &Alias::ALL);
        let off = ReplyAliases::default();
        let without_ssl = aliases(Mode::Translate, &[Alias::EndpointIp]);
        let rows = [
            (&on, Alias::Ssl, "7.22.2-170", Verdict::Carried),
            (&on, Alias::UseIpv6, "8.2.0-25", Verdict::Carried),
            (&on, Alias::UseIpv6, "8.0.20-68", Verdict::Unaffected),
            (&off, Alias::UseIpv6, "8.0.20-68", Verdict::Unaffected),
            (&off, Alias::UseIpv6, "8.2.0-25", Verdict::Changes),
            (&off, Alias::DnsAddressMaster, "7.4.6-272", Verdict::Changes),
            (&observe, Alias::Ssl, "8.2.0-25", Verdict::Changes),
            (&without_ssl, Alias::Ssl, "8.2.0-25", Verdict::Changes),
            (
                &without_ssl,
                Alias::EndpointIp,
                "8.2.0-25",
                Verdict::Carried,
            ),
        ];
        for (i, (settings, alias, target, want)) in rows.into_iter().enumerate() {
            assert_eq!(
                reply_alias(settings, alias, v(target)),
                want,
                "row {i}: {alias:?} on {target}"
            );
        }
    }

    #[test]
    fn f2_a_read_of_the_lists_changes_from_7_2_4_and_is_unaffected_below() {
        let rows = [
            ("7.2.0-1", Verdict::Unaffected),
            ("7.2.4-52", Verdict::Changes),
            ("7.22.2-170", Verdict::Changes),
            ("8.2.0-25", Verdict::Changes),
        ];
        for (target, want) in rows {
            assert_eq!(predefined_read(v(target)), want, "{target}");
        }
    }
}
