//! R15: `GET /v1/bdbs/{uid}/actions/optimize_shards_placement` → `PUT
//! /v1/bdbs/{uid}/actions/revamp?dry_run=true` (deprecated 7.22, API-CATALOGUE §5). The old
//! query becomes the new JSON body; `auto` observes, so the translation runs only in `translate`.
//! Pure: the executor sends, falls back to the old GET and relays (§5.3).
//!
//! Contract (§5.2): `shards_count` (decimal, 1–512), `memory_size` and `bigstore_ram_size`
//! (decimal) → integers; `shards_placement` (`dense` | `sparse`) copied; `replication`
//! (`enabled` | `disabled`) → boolean; `avoid_nodes` (`1,2`) → `["1","2"]`; `dry_run=true`
//! always, in the query ([`REVAMP_QUERY`]), never from the caller. No query → `{}`. Any other key,
//! a repeated key, an empty or unparsable value → no translation (the old GET passes through;
//! the shim never refuses here).
//!
//! Decisions:
//! - Keys and values are percent-decoded as a form would encode them (`%XX` → byte, `+` →
//!   space, then UTF-8), before the table applies: generated clients encode `,` as `%2C`
//!   (`avoid_nodes=1%2C2`). A malformed escape or invalid UTF-8 is unparsable: no translation.
//! - An empty segment (`a=1&&b=2`, a trailing `&`) or a segment without `=` is unparsable too;
//!   `?` with nothing after it is no query (`{}`).
//! - Integers are ASCII digits only (no sign, no spaces, leading zeros allowed) and must fit
//!   `u64`; `avoid_nodes` items are trimmed, must be digits, and are sent in canonical decimal
//!   (`01` → `"1"`: the old parameter was a list of integers).
//! - `dry_run` or `pause_persistence` in the old query are unknown keys of the old route: no
//!   translation, so a caller can never turn the dry run off through the shim.
//! - The audit keeps every query pair, decoded where it decodes (none is a secret), and whether
//!   it translated.

use serde_json::{Map, Value};
use std::fmt;

/// The new route's query: without it, revamp changes the database.
pub const REVAMP_QUERY: &str = "dry_run=true";
/// The old `shards_count` range.
pub const MAX_SHARDS: u64 = 512;

/// `/v1/bdbs/{uid}/actions/revamp` (method `PUT`).
pub fn successor_path(uid: impl fmt::Display) -> String {
    format!("/v1/bdbs/{uid}/actions/revamp")
}

/// The full request target to send: [`successor_path`] with [`REVAMP_QUERY`].
pub fn successor_target(uid: impl fmt::Display) -> String {
    format!("{}?{REVAMP_QUERY}", successor_path(uid))
}

/// The revamp body for the old query, or `None` when it must not be translated.
pub fn map_query(query: Option<&str>) -> Option<Value> {
    let mut body = Map::new();
    let query = query.unwrap_or_default();
    if query.is_empty() {
        return Some(Value::Object(body));
    }
    for segment in query.split('&') {
        let (key, value) = segment.split_once('=')?;
        let (key, value) = (decode(key)?, decode(value)?);
        if value.is_empty() || body.contains_key(&key) {
            return None;
        }
        let mapped = match key.as_str() {
            "shards_count" => {
                Value::from(integer(&value).filter(|n| (1..=MAX_SHARDS).contains(n))?)
            }
            "memory_size" | "bigstore_ram_size" => Value::from(integer(&value)?),
            "shards_placement" => match value.as_str() {
                "dense" | "sparse" => Value::String(value.clone()),
                _ => return None,
            },
            "replication" => match value.as_str() {
                "enabled" => Value::Bool(true),
                "disabled" => Value::Bool(false),
                _ => return None,
            },
            "avoid_nodes" => Value::Array(avoid_nodes(&value)?),
            _ => return None,
        };
        body.insert(key, mapped);
    }
    Some(Value::Object(body))
}

/// What goes into the audit record from the query (§5.3; the executor adds the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Every pair in order, decoded when it decodes, else as sent; a segment without `=` has an
    /// empty value.
    pub query: Vec<(String, String)>,
    /// [`map_query`] translated it.
    pub translatable: bool,
}

/// The audit part for a query.
pub fn audit(query: Option<&str>) -> Audit {
    let pairs = query
        .unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|segment| {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            let readable = |s: &str| decode(s).unwrap_or_else(|| s.to_owned());
            (readable(key), readable(value))
        })
        .collect();
    Audit {
        query: pairs,
        translatable: map_query(query).is_some(),
    }
}

fn integer(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn avoid_nodes(text: &str) -> Option<Vec<Value>> {
    text.split(',')
        .map(|item| integer(item.trim()).map(|n| Value::String(n.to_string())))
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one key or value.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapped(query: &str) -> Value {
        map_query(Some(query)).unwrap_or_else(|| panic!("not translated: {query}"))
    }

    #[test]
    fn every_row_of_the_table_maps_as_written() {
        assert_eq!(
            mapped(
                "shards_count=4&memory_size=1073741824&bigstore_ram_size=0\
                 &shards_placement=sparse&replication=enabled&avoid_nodes=1,2"
            ),
            json!({
                "shards_count": 4, "memory_size": 1_073_741_824_u64, "bigstore_ram_size": 0,
                "shards_placement": "sparse", "replication": true, "avoid_nodes": ["1", "2"]
            })
        );
        assert_eq!(
            mapped("replication=disabled&shards_placement=dense"),
            json!({"replication": false, "shards_placement": "dense"})
        );
        assert_eq!(mapped("shards_count=1"), json!({"shards_count": 1}));
        assert_eq!(mapped("shards_count=512"), json!({"shards_count": 512}));
        assert_eq!(mapped("shards_count=0007"), json!({"shards_count": 7}));
        assert_eq!(
            mapped("memory_size=18446744073709551615"),
            json!({"memory_size": u64::MAX})
        );
    }

    #[test]
    fn no_query_is_an_empty_body() {
        assert_eq!(map_query(None), Some(json!({})));
        assert_eq!(map_query(Some("")), Some(json!({})));
    }

    #[test]
    fn avoid_nodes_items_are_trimmed_and_canonical_decimal_strings() {
        assert_eq!(mapped("avoid_nodes=3"), json!({"avoid_nodes": ["3"]}));
        assert_eq!(
            mapped("avoid_nodes=1,%202%20,01"),
            json!({"avoid_nodes": ["1", "2", "1"]})
        );
        assert_eq!(
            mapped("avoid_nodes=1%2C2"),
            json!({"avoid_nodes": ["1", "2"]})
        );
        assert_eq!(
            mapped("avoid_nodes=1,+2"),
            json!({"avoid_nodes": ["1", "2"]})
        );
        for bad in ["1,,2", "1,", ",1", "a", "1;2", "-1", "1.0", "1,2x"] {
            assert_eq!(
                map_query(Some(&format!("avoid_nodes={bad}"))),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_and_values_are_percent_decoded() {
        assert_eq!(
            mapped("shards%5Fcount=2&replication=%65nabled"),
            json!({"shards_count": 2, "replication": true})
        );
    }

    #[test]
    fn anything_unknown_repeated_empty_or_unparsable_is_not_translated() {
        for query in [
            "dry_run=false",
            "dry_run=true",
            "pause_persistence=true",
            "shards_count=2&foo=1",
            "shards_count=2&shards_count=2",
            "shards_count=2&shards%5Fcount=3",
            "shards_count=",
            "shards_count",
            "shards_count=2&",
            "&shards_count=2",
            "shards_count=2&&replication=enabled",
            "shards_count=0",
            "shards_count=513",
            "shards_count=-1",
            "shards_count=+2",
            "shards_count=2.0",
            "shards_count= 2",
            "shards_count=99999999999999999999999",
            "memory_size=1GB",
            "memory_size=18446744073709551616",
            "bigstore_ram_size=-5",
            "shards_placement=Dense",
            "shards_placement=packed",
            "replication=true",
            "replication=1",
            "replication=Enabled",
            "shards_count=%",
            "shards_count=%2",
            "shards_count=%zz",
            "shards_count=%FF",
            "=2",
        ] {
            assert_eq!(map_query(Some(query)), None, "{query}");
        }
    }

    #[test]
    fn the_translated_target_always_has_dry_run_true() {
        assert_eq!(REVAMP_QUERY, "dry_run=true");
        assert_eq!(successor_path(3), "/v1/bdbs/3/actions/revamp");
        assert_eq!(
            successor_target("12"),
            "/v1/bdbs/12/actions/revamp?dry_run=true"
        );
        // Whatever the caller sends, the body never carries dry_run and the query is fixed.
        for query in [
            None,
            Some("shards_count=2"),
            Some("dry_run=false"),
            Some("shards_count=2&dry_run=false"),
        ] {
            if let Some(body) = map_query(query) {
                assert!(body.get("dry_run").is_none(), "{query:?}");
            }
            let target = successor_target(1);
            let (_, q) = target.split_once('?').unwrap();
            assert_eq!(q, "dry_run=true");
        }
    }

    #[test]
    fn the_audit_keeps_every_pair_decoded_and_says_whether_it_translated() {
        let a = audit(Some("avoid_nodes=1%2C2&replication=enabled"));
        assert_eq!(
            a.query,
            [
                ("avoid_nodes".to_owned(), "1,2".to_owned()),
                ("replication".to_owned(), "enabled".to_owned())
            ]
        );
        assert!(a.translatable);
        let a = audit(Some("foo=%zz&flag&&shards_count=2"));
        assert_eq!(
            a.query,
            [
                ("foo".to_owned(), "%zz".to_owned()),
                ("flag".to_owned(), String::new()),
                ("shards_count".to_owned(), "2".to_owned())
            ]
        );
        assert!(!a.translatable);
        assert_eq!(
            audit(None),
            Audit {
                query: vec![],
                translatable: true
            }
        );
    }
}
