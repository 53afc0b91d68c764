//! Redirects from the cluster's nodes (issue 21, API-CATALOGUE §10 T1–T3), the pure part: which
//! replies are redirects, which may be followed for which method, where a `Location` points
//! among the configured nodes, and what `GET /v1/nodes` says of each node's addresses. No I/O:
//! the sending loop is `route.rs`.
//!
//! Decisions:
//! - A redirect is `301`, `302`, `303`, `307` or `308`. `307`/`308` keep the method and body
//!   (RFC 9110 §15.4.8–9) and, from a known node, prove the request was not applied (T3), so
//!   any method may be re-sent. `301`/`302`/`303` are followed for GET/HEAD only: for another
//!   method they prove nothing and a client would change the method, so they are refused.
//! - The `Location`'s host is only ever a *key*: it is mapped to a configured node, and the
//!   shim connects to that node's configured URL, never to the host the `Location` names (no
//!   SSRF). The Location's scheme and path are not used: the request keeps its own path.
//! - Mapping order: `upstream.node_map` (the operator's word), then a configured node's own
//!   `host:port`, then what `GET /v1/nodes` said. A key with a port matches only that port; a
//!   bare host matches any port (RS nodes all serve :9443, and `addr` carries no port).
//! - A relative `Location` names the node that sent it.
//! - From `GET /v1/nodes`, a node record belongs to the configured node whose `host:port`
//!   equals one of its `external_addr` / `addr` entries, or whose host equals an entry without
//!   a port when no other configured node has that host. Then every address of the record maps
//!   to that node. A record matching no configured node adds nothing: it stays unmappable.

use http::uri::Authority;
use http::{Method, StatusCode};
use serde_json::Value;

/// Redirects followed for one request before the shim gives up (a loop, or a node
/// redirecting to itself).
pub const MAX_HOPS: usize = 3;

/// Whether `status` is a redirect the shim must handle (never relayed with its `Location`).
pub fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Whether a redirect with `status` may be followed by re-sending `method` unchanged.
pub fn may_follow(status: StatusCode, method: &Method) -> bool {
    match status.as_u16() {
        307 | 308 => true,
        301..=303 => *method == Method::GET || *method == Method::HEAD,
        _ => false,
    }
}

/// Where a `Location` points: another address (lowercase `host[:port]`, the port as written),
/// or the node that sent it (a relative reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Points {
    Address { host: String, port: Option<u16> },
    SameNode,
}

impl Points {
    /// The address as the error message and logs show it.
    pub fn shown(&self) -> String {
        match self {
            Points::Address {
                host,
                port: Some(p),
            } => format!("{host}:{p}"),
            Points::Address { host, port: None } => host.clone(),
            Points::SameNode => "(a relative Location: the same node)".into(),
        }
    }
}

/// Reads a `Location` value; `Err` when it is not a URI reference the shim can judge.
pub fn points(location: &str) -> Result<Points, String> {
    let uri: http::Uri = location
        .parse()
        .map_err(|_| "a Location that is not a URI".to_owned())?;
    match uri.authority() {
        None if location.starts_with('/') => Ok(Points::SameNode),
        None => Err("a Location without a host that is not an absolute path".into()),
        Some(a) if a.as_str().contains('@') => Err("a Location carrying credentials".into()),
        Some(a) => Ok(Points::Address {
            host: a.host().to_ascii_lowercase(),
            port: a.port_u16(),
        }),
    }
}

/// What the audit record says of a node's redirect met by a call (API-CATALOGUE §10 T5): the
/// node that answered it (its configured `host:port`), its status, where it led (the configured
/// node and, once `GET /v1/nodes` said it, that node's uid) and whether the shim followed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Redirected {
    pub from: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default)]
    pub to_node_uid: Option<u64>,
    /// `followed` (re-sent to `to`), `relative` (the caller got a 307 back to the shim) or
    /// `refused` (`502 upstream_redirect`).
    pub outcome: String,
}

/// The addresses that name configured nodes: `host` or `host:port` (lowercase) → node index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressBook {
    entries: Vec<(String, usize)>,
    /// Configured node index → the cluster's uid for it (from `GET /v1/nodes`).
    uids: Vec<(usize, u64)>,
}

impl AddressBook {
    pub fn new(entries: Vec<(String, usize)>) -> AddressBook {
        AddressBook {
            entries,
            uids: Vec::new(),
        }
    }

    /// The cluster's uid of configured node `node`, when `GET /v1/nodes` said it.
    pub fn uid_of(&self, node: usize) -> Option<u64> {
        self.uids.iter().find(|(i, _)| *i == node).map(|(_, u)| *u)
    }

    /// The configured nodes' own `host:port`s.
    pub fn of_nodes(nodes: &[Authority]) -> AddressBook {
        let entries = nodes
            .iter()
            .enumerate()
            .map(|(i, a)| (a.as_str().to_ascii_lowercase(), i))
            .collect();
        AddressBook::new(entries)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The node `host[:port]` names: an exact `host:port` entry first, then a bare host.
    pub fn find(&self, host: &str, port: Option<u16>) -> Option<usize> {
        if let Some(p) = port {
            let full = format!("{host}:{p}");
            if let Some((_, i)) = self.entries.iter().find(|(k, _)| *k == full) {
                return Some(*i);
            }
        }
        self.entries
            .iter()
            .find(|(k, _)| k == host)
            .map(|(_, i)| *i)
    }
}

/// The configured node a redirect to `to` means, from `books` in order (see the decisions);
/// `from` is the node that answered.
pub fn map(to: &Points, from: usize, books: &[&AddressBook]) -> Option<usize> {
    match to {
        Points::SameNode => Some(from),
        Points::Address { host, port } => books.iter().find_map(|b| b.find(host, *port)),
    }
}

/// What a `GET /v1/nodes` reply says of the configured nodes' addresses (see the decisions).
pub fn learn_from_nodes(body: &[u8], nodes: &[Authority]) -> AddressBook {
    let Ok(Value::Array(records)) = serde_json::from_slice::<Value>(body) else {
        return AddressBook::default();
    };
    let mut entries = Vec::new();
    let mut uids = Vec::new();
    for record in &records {
        let addresses: Vec<String> = record
            .get("external_addr")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(record.get("addr"))
            .filter_map(Value::as_str)
            .filter(|a| !a.is_empty() && a.len() <= 255)
            .map(str::to_ascii_lowercase)
            .collect();
        if let Some(node) = addresses.iter().find_map(|a| configured(a, nodes)) {
            entries.extend(addresses.into_iter().map(|a| (a, node)));
            if let Some(uid) = record.get("uid").and_then(Value::as_u64) {
                uids.push((node, uid));
            }
        }
    }
    AddressBook { entries, uids }
}

/// The configured node `address` (`host` or `host:port`) is, if exactly one.
fn configured(address: &str, nodes: &[Authority]) -> Option<usize> {
    if let Some(i) = nodes
        .iter()
        .position(|n| n.as_str().eq_ignore_ascii_case(address))
    {
        return Some(i);
    }
    if address.contains(':') {
        return None;
    }
    let mut same_host = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.host().eq_ignore_ascii_case(address));
    match (same_host.next(), same_host.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn auth(list: &[&str]) -> Vec<Authority> {
        list.iter().map(|a| a.parse().expect("authority")).collect()
    }

    #[test]
    fn only_307_and_308_are_followed_for_every_method() {
        for (status, method, follow) in [
            (307, Method::POST, true),
            (308, Method::PUT, true),
            (302, Method::GET, true),
            (303, Method::HEAD, true),
            (302, Method::POST, false),
            (301, Method::DELETE, false),
            (304, Method::GET, false),
        ] {
            let s = StatusCode::from_u16(status).expect("status");
            assert_eq!(may_follow(s, &method), follow, "{status} {method}");
        }
        assert!(!is_redirect(StatusCode::NOT_MODIFIED));
        assert!(is_redirect(StatusCode::TEMPORARY_REDIRECT));
    }

    #[test]
    fn a_location_is_read_as_an_address_or_the_same_node() {
        assert_eq!(
            points("https://10.0.0.1:9443/v1/bdbs?x=1"),
            Ok(Points::Address {
                host: "10.0.0.1".into(),
                port: Some(9443)
            })
        );
        assert_eq!(points("/v1/cluster"), Ok(Points::SameNode));
        assert!(points("v1/cluster").is_err());
        assert!(points("https://u:p@evil.example/").is_err());
        assert!(points("not a uri").is_err());
    }

    #[test]
    fn the_map_comes_first_then_the_nodes_then_what_the_cluster_said() {
        let nodes = auth(&["127.0.0.1:7001", "127.0.0.1:7002"]);
        let configured = AddressBook::of_nodes(&nodes);
        let explicit = AddressBook::new(vec![("10.0.0.9".into(), 1)]);
        let to = |l: &str| points(l).expect("location");
        let books = [&explicit, &configured];
        assert_eq!(map(&to("https://10.0.0.9:9443/x"), 0, &books), Some(1));
        assert_eq!(map(&to("http://127.0.0.1:7002/x"), 0, &books), Some(1));
        assert_eq!(map(&to("http://127.0.0.1:7003/x"), 0, &books), None);
        assert_eq!(map(&to("https://evil.example/x"), 0, &books), None);
        assert_eq!(map(&to("/x"), 1, &books), Some(1));
    }

    #[test]
    fn v1_nodes_maps_internal_addresses_through_external_ones() {
        let nodes = auth(&["127.0.0.1:7001", "127.0.0.1:7002"]);
        let body = json!([
            {"uid": 1, "addr": "10.0.0.1", "external_addr": ["127.0.0.1:7001"]},
            {"uid": 2, "addr": "10.0.0.2", "external_addr": ["127.0.0.1:7002"]},
            {"uid": 3, "addr": "10.0.0.3", "external_addr": ["127.0.0.1:7003"]},
            {"uid": 4, "addr": "127.0.0.1"}
        ])
        .to_string();
        let book = learn_from_nodes(body.as_bytes(), &nodes);
        assert_eq!(book.find("10.0.0.1", Some(9443)), Some(0));
        assert_eq!(book.find("10.0.0.2", None), Some(1));
        // Not configured, and a bare host two configured nodes share: nothing.
        assert_eq!(book.find("10.0.0.3", Some(9443)), None);
        assert_eq!(book.find("127.0.0.1", None), None);
        assert!(learn_from_nodes(b"{}", &nodes).is_empty());
    }

    #[test]
    fn a_bare_external_address_maps_when_one_node_has_that_host() {
        let nodes = auth(&["node-a.example:9443", "node-b.example:9443"]);
        let body = json!([{"uid": 1, "addr": "10.0.0.1", "external_addr": ["NODE-A.example"]}]);
        let book = learn_from_nodes(body.to_string().as_bytes(), &nodes);
        assert_eq!(book.find("10.0.0.1", Some(9443)), Some(0));
    }
}
