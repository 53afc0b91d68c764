//! The 15 v1 statistics routes (API-CATALOGUE §8.1, rule R18 `stats_v1`): `GET
//! /v1/{cluster,nodes,bdbs,shards}/stats[/last][/{uid}]` and `GET /v1/endpoints/stats`,
//! deprecated in 7.22 and served by every simulated release, to any authenticated user.
//!
//! Shapes (as the docs' examples): `/v1/cluster/stats` → `{"intervals": [I…]}`;
//! `/v1/<kind>/stats` → `[{"uid": "1", "intervals": [I…]}…]`, `/v1/<kind>/stats/{uid}` → one
//! such item; `/v1/cluster/stats/last` → one `I`; `/v1/<kind>/stats/last[/{uid}]` →
//! `{"1": I, …}`. An `I` is `{"interval", "stime", "etime", <metric>: <float>…}`.
//!
//! Decisions:
//! - Numbers are deterministic: a hash of (kind, object uid, metric, interval start) scaled
//!   into a plausible range; no randomness and no wall clock (the clock is
//!   [`super::query::SIM_NOW`]), so two identical requests get byte-identical replies.
//! - `interval`: one of `1sec`, `10sec`, `5min`, `15min`, `1hour`, `12hour`, `1week`, else
//!   400 `invalid_interval` (our code); default `1hour`, and `1sec` on the `last` routes.
//! - `etime` (default: now) is rounded down to the interval; the intervals end there. Without
//!   `stime` the last [`DEFAULT_INTERVALS`]; with it, every interval from the one holding
//!   `stime`, at most [`MAX_INTERVALS`] (the latest); `stime` at or after `etime`: none.
//!   `last` routes: the one interval ending at `etime` (`stime` ignored).
//! - `metrics=a,b` keeps only those metrics (every route); `parent_uid` filters shards.
//! - Shards are not in the state: they are derived from the databases, in uid order, each
//!   database having `shards_count` (default 1, at most 64) masters and as many replicas when
//!   `replication` is true, numbered from 1, placed round-robin over the nodes. Endpoints:
//!   one per database, uid `"<bdb>:1"`. Object uids are strings, as in the docs' examples.
//! - An unknown uid is 404 `node_not_found` / `bdb_not_found` / `shard_not_found`.

use serde_json::{json, Map, Value};

use super::query::{self, SIM_NOW};
use super::routes::{bdb_not_found, node_not_found, Route};
use super::state::SimState;
use crate::error::ApiError;

/// Intervals returned without `stime`.
pub const DEFAULT_INTERVALS: u64 = 5;
/// Most intervals returned per object.
pub const MAX_INTERVALS: u64 = 100;
/// Most master shards derived per database.
const MAX_SHARDS_PER_BDB: u64 = 64;

const INTERVALS: [(&str, u64); 7] = [
    ("1sec", 1),
    ("10sec", 10),
    ("5min", 300),
    ("15min", 900),
    ("1hour", 3_600),
    ("12hour", 43_200),
    ("1week", 604_800),
];

/// Which objects a statistics route is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsKind {
    Cluster,
    Nodes,
    Bdbs,
    Shards,
    Endpoints,
}

/// One of the 15 routes: the kind, `…/last`, and `…/{uid}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsRoute {
    pub kind: StatsKind,
    pub last: bool,
    pub uid: Option<u64>,
}

/// `/v1/<kind>/stats/<rest…>` → the route; `None` when it is not one of the 15 paths.
pub fn classify(kind: &str, rest: &[&str]) -> Option<Result<Route, ApiError>> {
    use StatsKind as K;
    let kind = match kind {
        "cluster" => K::Cluster,
        "nodes" => K::Nodes,
        "bdbs" => K::Bdbs,
        "shards" => K::Shards,
        "endpoints" => K::Endpoints,
        _ => return None,
    };
    let route = |last, uid| Route::Stats(StatsRoute { kind, last, uid });
    let per_object = matches!(kind, K::Nodes | K::Bdbs | K::Shards);
    match rest {
        [] => Some(Ok(route(false, None))),
        ["last"] if kind != K::Endpoints => Some(Ok(route(true, None))),
        [uid] if per_object => Some(object_uid(kind, uid).map(|u| route(false, Some(u)))),
        ["last", uid] if per_object => Some(object_uid(kind, uid).map(|u| route(true, Some(u)))),
        _ => None,
    }
}

/// Decimal digits only, else the kind's 404.
fn object_uid(kind: StatsKind, raw: &str) -> Result<u64, ApiError> {
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| raw.parse().ok())
        .flatten()
        .ok_or_else(|| not_found(kind, raw))
}

fn not_found(kind: StatsKind, uid: &str) -> ApiError {
    match kind {
        StatsKind::Nodes => node_not_found(uid),
        StatsKind::Shards => {
            ApiError::not_found("shard_not_found", format!("Shard {uid} does not exist"))
        }
        _ => bdb_not_found(uid),
    }
}

/// Answers a statistics route.
pub fn read(state: &SimState, route: &StatsRoute, q: Option<&str>) -> Result<Value, ApiError> {
    let window = Window::from_query(q, route.last)?;
    let wanted = query::param(q, "metrics").map(|m| {
        m.split(',')
            .map(|s| s.trim().to_owned())
            .collect::<Vec<_>>()
    });
    let mut objects = objects(state, route.kind, q);
    if let Some(uid) = route.uid {
        objects.retain(|o| o.num == uid);
        if objects.is_empty() {
            return Err(not_found(route.kind, &uid.to_string()));
        }
    }
    let render = |o: &Object, start: u64| {
        let mut i = Map::new();
        i.insert("interval".into(), json!(window.name));
        i.insert("stime".into(), json!(query::format_time(start)));
        i.insert(
            "etime".into(),
            json!(query::format_time(start + window.secs)),
        );
        for (n, (name, unit)) in metrics(route.kind).iter().enumerate() {
            if wanted.as_ref().is_none_or(|w| w.iter().any(|m| m == name)) {
                let seed = mix(&[route.kind as u64, o.num, n as u64, start]);
                i.insert((*name).into(), json!(unit.value(seed)));
            }
        }
        Value::Object(i)
    };
    let history =
        |o: &Object| -> Vec<Value> { window.starts.iter().map(|s| render(o, *s)).collect() };
    let last = |o: &Object| render(o, window.starts.last().copied().unwrap_or(window.end));
    let item = |o: &Object| {
        let mut m = Map::new();
        m.insert("uid".into(), json!(o.id));
        m.extend(o.extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        m.insert("intervals".into(), Value::Array(history(o)));
        Value::Object(m)
    };
    Ok(match (route.kind, route.last, route.uid) {
        (StatsKind::Cluster, false, _) => {
            json!({ "intervals": objects.first().map(history).unwrap_or_default() })
        }
        (StatsKind::Cluster, true, _) => objects.first().map(last).unwrap_or(Value::Null),
        (_, true, _) => Value::Object(objects.iter().map(|o| (o.id.clone(), last(o))).collect()),
        (_, false, Some(_)) => objects.first().map(item).unwrap_or(Value::Null),
        (_, false, None) => Value::Array(objects.iter().map(item).collect()),
    })
}

/// The time window of a request.
struct Window {
    name: &'static str,
    secs: u64,
    /// Where the last interval ends: `etime` rounded down.
    end: u64,
    /// Interval starts, oldest first.
    starts: Vec<u64>,
}

impl Window {
    fn from_query(q: Option<&str>, last: bool) -> Result<Window, ApiError> {
        let asked = query::param(q, "interval");
        let asked = asked
            .as_deref()
            .unwrap_or(if last { "1sec" } else { "1hour" });
        let (name, secs) = INTERVALS
            .iter()
            .copied()
            .find(|(n, _)| *n == asked)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_interval",
                    "interval must be one of 1sec, 10sec, 5min, 15min, 1hour, 12hour, 1week",
                )
            })?;
        let etime = query::time(q, "etime")?.unwrap_or(SIM_NOW);
        let stime = query::time(q, "stime")?;
        let end = etime / secs * secs;
        let count = match (last, stime) {
            (true, _) => 1,
            (false, None) => DEFAULT_INTERVALS,
            (false, Some(s)) => end.saturating_sub(s).div_ceil(secs).min(MAX_INTERVALS),
        };
        let starts = (1..=count)
            .rev()
            .filter_map(|k| end.checked_sub(k * secs))
            .collect();
        Ok(Window {
            name,
            secs,
            end,
            starts,
        })
    }
}

/// An object whose statistics are shown.
struct Object {
    /// The uid as shown (`"1"`, `"1:1"`).
    id: String,
    /// The number the values and `/{uid}` go by.
    num: u64,
    /// Fields beside `uid` in a list item (shards only).
    extra: Vec<(&'static str, Value)>,
}

fn objects(state: &SimState, kind: StatsKind, q: Option<&str>) -> Vec<Object> {
    let plain = |num: u64| Object {
        id: num.to_string(),
        num,
        extra: Vec::new(),
    };
    let mut bdbs: Vec<u64> = state.bdbs.iter().map(|b| b.uid).collect();
    bdbs.sort_unstable();
    match kind {
        StatsKind::Cluster => vec![plain(0)],
        StatsKind::Nodes => {
            let mut nodes: Vec<u64> = state.nodes.iter().map(|n| n.uid).collect();
            nodes.sort_unstable();
            nodes.into_iter().map(plain).collect()
        }
        StatsKind::Bdbs => bdbs.into_iter().map(plain).collect(),
        StatsKind::Endpoints => bdbs
            .into_iter()
            .map(|b| Object {
                id: format!("{b}:1"),
                ..plain(b)
            })
            .collect(),
        StatsKind::Shards => {
            let parent = query::param(q, "parent_uid").and_then(|p| p.parse::<u64>().ok());
            shards(state)
                .into_iter()
                .filter(|s| parent.is_none_or(|p| p == s.bdb_uid))
                .map(|s| Object {
                    extra: vec![
                        ("status", json!("active")),
                        ("bdb_uid", json!(s.bdb_uid.to_string())),
                        ("node_uid", json!(s.node_uid.to_string())),
                        ("role", json!(s.role)),
                        ("assigned_slots", json!(s.slots)),
                    ],
                    ..plain(s.uid)
                })
                .collect()
        }
    }
}

/// A shard derived from a database (see the module's decisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub uid: u64,
    pub bdb_uid: u64,
    pub node_uid: u64,
    /// `master` or `slave`, as RS names them.
    pub role: &'static str,
    pub slots: String,
}

/// Every shard of the cluster, derived from its databases.
pub fn shards(state: &SimState) -> Vec<Shard> {
    let mut nodes: Vec<u64> = state.nodes.iter().map(|n| n.uid).collect();
    nodes.sort_unstable();
    let mut bdbs: Vec<_> = state.bdbs.iter().collect();
    bdbs.sort_by_key(|b| b.uid);
    let mut out = Vec::new();
    for bdb in bdbs {
        let count = bdb.extra.get("shards_count").and_then(Value::as_u64);
        let count = count.unwrap_or(1).clamp(1, MAX_SHARDS_PER_BDB);
        let replicated = bdb.extra.get("replication") == Some(&Value::Bool(true));
        for i in 0..count {
            let slots = format!("{}-{}", i * 16_384 / count, (i + 1) * 16_384 / count - 1);
            for role in ["master", "slave"]
                .into_iter()
                .take(1 + usize::from(replicated))
            {
                let uid = out.len() as u64 + 1;
                let node = nodes.get((uid as usize - 1) % nodes.len().max(1));
                out.push(Shard {
                    uid,
                    bdb_uid: bdb.uid,
                    node_uid: node.copied().unwrap_or(1),
                    role,
                    slots: slots.clone(),
                });
            }
        }
    }
    out
}

/// How a metric's value is scaled from a hash.
#[derive(Debug, Clone, Copy)]
enum Unit {
    /// 0 to n−1, whole.
    Count(u64),
    /// 0.000 to 0.999.
    Ratio,
    /// 100 to 999 microseconds.
    Micros,
}

impl Unit {
    fn value(self, h: u64) -> f64 {
        match self {
            Unit::Count(n) => (h % n.max(1)) as f64,
            Unit::Ratio => (h % 1_000) as f64 / 1_000.0,
            Unit::Micros => (100 + h % 900) as f64,
        }
    }
}

const GIB: u64 = 1 << 30;

fn metrics(kind: StatsKind) -> &'static [(&'static str, Unit)] {
    use Unit::{Count, Micros, Ratio};
    match kind {
        StatsKind::Cluster | StatsKind::Nodes => &[
            ("conns", Count(500)),
            ("cpu_idle", Ratio),
            ("cpu_system", Ratio),
            ("cpu_user", Ratio),
            ("egress_bytes", Count(10_000_000)),
            ("ephemeral_storage_avail", Count(100 * GIB)),
            ("ephemeral_storage_free", Count(100 * GIB)),
            ("free_memory", Count(16 * GIB)),
            ("ingress_bytes", Count(10_000_000)),
            ("persistent_storage_avail", Count(200 * GIB)),
            ("persistent_storage_free", Count(200 * GIB)),
            ("total_req", Count(100_000)),
        ],
        StatsKind::Bdbs => &[
            ("avg_latency", Micros),
            ("conns", Count(200)),
            ("egress_bytes", Count(10_000_000)),
            ("evicted_objects", Count(100)),
            ("expired_objects", Count(100)),
            ("ingress_bytes", Count(10_000_000)),
            ("instantaneous_ops_per_sec", Count(50_000)),
            ("no_of_keys", Count(1_000_000)),
            ("read_hits", Count(10_000)),
            ("read_misses", Count(1_000)),
            ("total_req", Count(50_000)),
            ("used_memory", Count(GIB)),
            ("write_hits", Count(10_000)),
            ("write_misses", Count(1_000)),
        ],
        StatsKind::Shards => &[
            ("conns", Count(100)),
            ("evicted_objects", Count(100)),
            ("expired_objects", Count(100)),
            ("no_of_keys", Count(500_000)),
            ("read_hits", Count(5_000)),
            ("read_misses", Count(500)),
            ("total_req", Count(25_000)),
            ("used_memory", Count(GIB)),
            ("used_memory_peak", Count(GIB)),
            ("used_memory_rss", Count(GIB)),
            ("write_hits", Count(5_000)),
            ("write_misses", Count(500)),
        ],
        StatsKind::Endpoints => &[
            ("conns", Count(200)),
            ("egress_bytes", Count(10_000_000)),
            ("ingress_bytes", Count(10_000_000)),
            ("other_req", Count(1_000)),
            ("read_req", Count(30_000)),
            ("total_req", Count(50_000)),
            ("write_req", Count(20_000)),
        ],
    }
}

/// A 64-bit mix of some numbers (SplitMix64's finaliser over each in turn): deterministic
/// and well spread, which is all the values need.
fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9E37_79B9_7F4A_7C15, |acc, p| {
        let mut z = (acc ^ p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

#[cfg(test)]
mod tests;
