//! The simulated cluster's Redis ACLs (`GET`/`POST /v1/redis_acls`), modelled as far as F2's
//! reply side needs (API-CATALOGUE §9.2, §12 row F2): `uid`, `name`, `acl`.
//!
//! Decisions:
//! - Every cluster starts with the one predefined ACL the docs name for 7.2.4 and later,
//!   **Full Access** (`uid` 1, `+@all ~*`; `L/requests/redis_acls` example,
//!   `RS/security/access-control/redis-acl-overview.md` "Predefined Redis ACLs"). "Not
//!   Dangerous" and "Read Only" are gone (RN 7.2.4-52), which every simulated release is.
//! - The F2 model switch `"predefined_roles": "seeded"` ([`super::roles::Predefined`]) lists
//!   them again, as a cluster upgraded from < 7.2.4 keeps them while they are in use: "Read
//!   Only" `uid` 2 and "Not Dangerous" `uid` 3, the docs' example uids. They are a view, not
//!   state: clearing the switch removes them, and they never reach a state file.
//! - `POST /v1/redis_acls`: `name` (free text, unique among the listed ACLs) and `acl` (a
//!   string, not parsed) required; the new `uid` is above every listed one and above 3, so a
//!   seeded uid is never reused. Any other key is kept as given.

use serde_json::{json, Value};

use super::body;
use super::state::SimState;
use crate::error::ApiError;

/// The ACLs a cluster starts with.
pub fn seed() -> Vec<Value> {
    vec![json!({"uid": 1, "name": "Full Access", "acl": "+@all ~*"})]
}

/// The predefined ACLs removed in 7.2.4 (listed only with the seeded switch).
fn removed() -> [Value; 2] {
    [
        json!({"uid": 2, "name": "Read Only", "acl": "+@read ~*"}),
        json!({"uid": 3, "name": "Not Dangerous", "acl": "+@all -@dangerous ~*"}),
    ]
}

/// `GET /v1/redis_acls`: the state's ACLs, with the removed predefined ones when seeded.
pub fn list(state: &SimState, seeded: bool) -> Value {
    let mut all: Vec<Value> = state.redis_acls.clone();
    if seeded {
        all.extend(removed());
        all.sort_by_key(|a| a["uid"].as_u64().unwrap_or(u64::MAX));
    }
    Value::Array(all)
}

/// `POST /v1/redis_acls`: the new ACL.
pub fn create(state: &mut SimState, raw: &[u8], seeded: bool) -> Result<Value, ApiError> {
    let mut map = body::object(raw, false)?;
    let name = body::req_str(&map, "name", "")?;
    body::req_str(&map, "acl", "")?;
    let listed = list(state, seeded);
    let listed = listed.as_array().map_or(&[][..], Vec::as_slice);
    if listed.iter().any(|a| a["name"] == name.as_str()) {
        return Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "redis_acl_exists",
            format!("Redis ACL {name} already exists"),
        ));
    }
    let uid = listed
        .iter()
        .filter_map(|a| a["uid"].as_u64())
        .max()
        .unwrap_or(0)
        .max(3)
        + 1;
    map.insert("uid".into(), json!(uid));
    let acl = Value::Object(map);
    state.redis_acls.push(acl.clone());
    Ok(acl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed as cluster;
    use crate::sim::version::SimVersion;

    fn names(v: &Value) -> Vec<&str> {
        v.as_array()
            .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn only_full_access_at_first_and_the_removed_two_only_when_seeded() {
        let s = cluster(SimVersion::V7_22);
        assert_eq!(names(&list(&s, false)), ["Full Access"]);
        assert_eq!(
            names(&list(&s, true)),
            ["Full Access", "Read Only", "Not Dangerous"]
        );
    }

    #[test]
    fn a_created_acl_is_listed_with_a_uid_no_seeded_one_uses() {
        let mut s = cluster(SimVersion::V8_2);
        let geo = create(&mut s, br#"{"name": "Geo", "acl": "~* +@geo"}"#, false).expect("ok");
        assert_eq!(geo["uid"], 4);
        assert_eq!(names(&list(&s, true)).last(), Some(&"Geo"));
        let dup = create(&mut s, br#"{"name": "Geo", "acl": "~*"}"#, false);
        assert_eq!(dup.expect_err("409").error_code, "redis_acl_exists");
        let seeded = create(&mut s, br#"{"name": "Read Only", "acl": "~*"}"#, true);
        assert_eq!(seeded.expect_err("409").error_code, "redis_acl_exists");
        let missing = create(&mut s, br#"{"name": "NoAcl"}"#, false);
        assert_eq!(missing.expect_err("400").status, 400);
    }
}
