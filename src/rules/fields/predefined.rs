//! F2's reply side (API-CATALOGUE §9.2, §13 row F2): the predefined roles and Redis ACLs removed
//! in 7.2.4 are looked up **by name in the client** (`VLT` selects "Not Dangerous" and "DB
//! Member" with `jq`), so the shim cannot see the selection, only the list the caller read.
//! Pure: which calls are read ([`list_of`]), which of the seven names a parsed reply lacks
//! ([`absent`]) and whether that is worth a record ([`worth_recording`]). Reading the reply and
//! writing the record is `proxy/deprecated/predefined.rs`.
//!
//! Decisions:
//! - Only `GET /v1/roles` (the five roles) and `GET /v1/redis_acls` (the two ACLs) are read, a
//!   trailing slash allowed, the query ignored; a reply ≤ [`MAX_REPLY`] (1 MiB, §9.2).
//! - A name counts as present when some entry's `name` equals it exactly (RS compares names
//!   as given; `VLT`'s `jq` select does too).
//! - Never translated, never refused, never created (§9.2: creating a role or ACL would change
//!   access control for the caller); the reply goes back byte for byte.
//! - On a known version ≥ 7.2.4 a reply lacking none of its names is not recorded (nothing is
//!   gone). Below the gate, or on an unknown version, every read is recorded with `why`
//!   (`below_gate`, `version_unknown`) and the names absent, possibly none: §13 "below the gate
//!   `auto` observes … so that the readiness verdict can see it", and §1.1 keeps the audit on an
//!   unknown version. No version is looked up for this rule (it never acts).

use super::super::version::V7_2_4;
use super::super::Version;
use http::Method;
use serde_json::Value;

/// The rule name of F2's records, request side and reply side alike (`[rules.<name>]`).
pub const RULE: &str = "field_predefined_roles";

/// Largest reply read (§9.2).
pub const MAX_REPLY: usize = 1024 * 1024;

/// The custom roles removed in 7.2.4 (`RN/rs-7-2-4-releases/rs-7-2-4-52.md` l.531–541).
pub const ROLES: [&str; 5] = [
    "Cluster Member",
    "Cluster Viewer",
    "DB Member",
    "DB Viewer",
    "None",
];

/// The Redis ACLs removed in 7.2.4 (same note).
pub const ACLS: [&str; 2] = ["Not Dangerous", "Read Only"];

/// Which list a call reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Roles,
    RedisAcls,
}

impl List {
    /// The route as audit records name it.
    pub fn route(self) -> &'static str {
        match self {
            List::Roles => "/v1/roles",
            List::RedisAcls => "/v1/redis_acls",
        }
    }

    /// The removed predefined names this list held.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            List::Roles => &ROLES,
            List::RedisAcls => &ACLS,
        }
    }
}

/// The list a call reads, if it is one of F2's (a normalised path, query removed).
pub fn list_of(method: &Method, path: &str) -> Option<List> {
    if method != Method::GET {
        return None;
    }
    match path.strip_suffix('/').unwrap_or(path) {
        "/v1/roles" => Some(List::Roles),
        "/v1/redis_acls" => Some(List::RedisAcls),
        _ => None,
    }
}

/// The removed predefined names missing from a parsed reply, in [`List::names`] order; `None`
/// when the reply is not a JSON array (an error object, another shape): nothing to say.
pub fn absent(list: List, reply: &Value) -> Option<Vec<&'static str>> {
    let entries = reply.as_array()?;
    let present = |name: &str| {
        entries
            .iter()
            .any(|e| e.get("name").and_then(Value::as_str) == Some(name))
    };
    Some(
        list.names()
            .iter()
            .copied()
            .filter(|n| !present(n))
            .collect(),
    )
}

/// Whether a read is recorded, with the record's `why` (see the module's decisions): `None`
/// not recorded; `Some(None)` recorded on a known version at or above the gate.
pub fn worth_recording(absent: &[&str], version: Option<Version>) -> Option<Option<&'static str>> {
    match version {
        Some(v) if v.at_least(V7_2_4) => (!absent.is_empty()).then_some(None),
        Some(_) => Some(Some("below_gate")),
        None => Some(Some("version_unknown")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("version")
    }

    #[test]
    fn only_gets_of_the_two_lists_are_read() {
        assert_eq!(list_of(&Method::GET, "/v1/roles"), Some(List::Roles));
        assert_eq!(list_of(&Method::GET, "/v1/roles/"), Some(List::Roles));
        assert_eq!(
            list_of(&Method::GET, "/v1/redis_acls"),
            Some(List::RedisAcls)
        );
        assert_eq!(list_of(&Method::POST, "/v1/roles"), None);
        assert_eq!(list_of(&Method::GET, "/v1/roles/3"), None);
        assert_eq!(list_of(&Method::GET, "/v1/redis_acls_x"), None);
    }

    #[test]
    fn absent_names_are_the_ones_no_entry_is_named_exactly() {
        let roles = json!([{"uid": 1, "name": "DB Viewer"}, {"uid": 2, "name": "db member"},
                           {"uid": 3, "name": "DBA"}, "junk"]);
        assert_eq!(
            absent(List::Roles, &roles),
            Some(vec![
                "Cluster Member",
                "Cluster Viewer",
                "DB Member",
                "None"
            ])
        );
        let acls = json!([{"uid": 1, "name": "Full Access"}, {"uid": 3, "name": "Not Dangerous"}]);
        assert_eq!(absent(List::RedisAcls, &acls), Some(vec!["Read Only"]));
        assert_eq!(absent(List::RedisAcls, &json!([])), Some(ACLS.to_vec()));
        assert_eq!(absent(List::Roles, &json!({"error_code": "x"})), None);
    }

    #[test]
    fn recorded_at_the_gate_only_when_something_is_absent_and_below_it_or_unknown_always() {
        let gone = ["Read Only"];
        assert_eq!(worth_recording(&gone, Some(v("7.22.2-170"))), Some(None));
        assert_eq!(worth_recording(&gone, Some(v("7.2.4-52"))), Some(None));
        assert_eq!(worth_recording(&[], Some(v("8.2.0-25"))), None);
        assert_eq!(
            worth_recording(&[], Some(v("7.2.0-1"))),
            Some(Some("below_gate"))
        );
        assert_eq!(worth_recording(&gone, None), Some(Some("version_unknown")));
        assert_eq!(worth_recording(&[], None), Some(Some("version_unknown")));
    }
}
