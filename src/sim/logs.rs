//! `GET /v1/logs`: the cluster event log, for any authenticated user, on every release.
//!
//! Decisions:
//! - The log is derived from the state, so it is deterministic: one `cluster_created` event
//!   (the cluster's `created_time`), one `cluster_node_joined` per node (a minute apart after
//!   it) and one `cluster_bdb_created` per database (its `created_time`, else the cluster's).
//!   Entries are `{time, type, severity: "INFO", …}` plus `node_uid` / `bdb_uid` (strings)
//!   and `bdb_name`; ties in time are ordered by kind, then uid.
//! - Query: `stime` / `etime` keep the entries in `[stime, etime]` (times as in
//!   [`super::query`]); `order` is `asc` (default) or `desc`; `limit` (a non-negative
//!   integer) keeps the first entries in that order. A bad `order` or `limit` is
//!   400 `invalid_request` naming the parameter (our code).

use serde_json::{json, Value};

use super::query;
use super::state::SimState;
use crate::error::ApiError;

/// `GET /v1/logs`.
pub fn logs(state: &SimState, q: Option<&str>) -> Result<Value, ApiError> {
    let bad = |field: &str, what: &str| {
        ApiError::bad_request("invalid_request", format!("{field} must be {what}"))
            .with("field", field)
    };
    let desc = match query::param(q, "order").as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(bad("order", "asc or desc")),
    };
    let limit = match query::param(q, "limit") {
        None => None,
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| bad("limit", "a non-negative integer"))?,
        ),
    };
    let stime = query::time(q, "stime")?.unwrap_or(0);
    let etime = query::time(q, "etime")?.unwrap_or(u64::MAX);
    let mut events: Vec<(u64, u8, u64, Value)> = events(state)
        .into_iter()
        .filter(|(t, ..)| (stime..=etime).contains(t))
        .collect();
    events.sort_by_key(|(t, kind, uid, _)| (*t, *kind, *uid));
    if desc {
        events.reverse();
    }
    let kept = events.into_iter().map(|(.., v)| v);
    Ok(Value::Array(match limit {
        Some(n) => kept.take(n).collect(),
        None => kept.collect(),
    }))
}

/// (time, kind rank, uid, entry) for every event of the state.
fn events(state: &SimState) -> Vec<(u64, u8, u64, Value)> {
    let created = |v: Option<&Value>| v.and_then(Value::as_str).and_then(query::parse_time);
    let cluster_time = created(state.cluster.get("created_time")).unwrap_or(0);
    let entry = |t: u64, kind: &str| json!({"time": query::format_time(t), "type": kind, "severity": "INFO"});
    let mut out = vec![(cluster_time, 0, 0, entry(cluster_time, "cluster_created"))];
    for node in &state.nodes {
        let t = cluster_time + 60 * node.uid;
        let mut e = entry(t, "cluster_node_joined");
        e["node_uid"] = json!(node.uid.to_string());
        out.push((t, 1, node.uid, e));
    }
    for bdb in &state.bdbs {
        let t = created(bdb.extra.get("created_time")).unwrap_or(cluster_time);
        let mut e = entry(t, "cluster_bdb_created");
        e["bdb_uid"] = json!(bdb.uid.to_string());
        e["bdb_name"] = json!(bdb.name);
        out.push((t, 2, bdb.uid, e));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed;
    use crate::sim::SimVersion;

    fn types(v: &Value) -> Vec<String> {
        let list = v.as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|e| format!("{}:{}", e["type"], e["time"]))
            .collect()
    }

    #[test]
    fn the_log_follows_the_state_in_time_order() {
        let s = seed(SimVersion::V8_0);
        let all = logs(&s, None).expect("ok");
        assert_eq!(all.as_array().map(Vec::len), Some(1 + 3 + 4));
        assert_eq!(all[0]["type"], "cluster_created");
        assert_eq!(all[0]["time"], "2024-03-11T09:00:00Z");
        assert_eq!(all[3]["node_uid"], "3");
        assert_eq!(all[7]["bdb_name"], "geo-replicated");
        let desc = logs(&s, Some("order=desc&limit=2")).expect("ok");
        assert_eq!(desc[0]["bdb_uid"], "4");
        assert_eq!(desc.as_array().map(Vec::len), Some(2));
        let window = logs(
            &s,
            Some("stime=2024-03-11T09:01:00Z&etime=2024-03-11T09:02:00Z"),
        );
        assert_eq!(types(&window.expect("ok")).len(), 2);
    }

    #[test]
    fn bad_parameters_are_400_naming_them() {
        let s = seed(SimVersion::V8_0);
        for (q, field) in [
            ("order=up", "order"),
            ("limit=-1", "limit"),
            ("stime=x", "stime"),
        ] {
            let e = logs(&s, Some(q)).expect_err("400");
            assert_eq!(e.status.as_u16(), 400, "{q}");
            assert_eq!(e.extra.get("field"), Some(&json!(field)), "{q}");
        }
    }
}
