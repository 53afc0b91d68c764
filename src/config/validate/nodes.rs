//! `upstream.url` / `upstream.nodes` and `upstream.node_map` validated (issue 21): the nodes the
//! shim may send to, and the internal addresses their redirects may name.
//!
//! Decisions:
//! - `upstream.url` is the one-node shorthand of `upstream.nodes`; both set is an error naming
//!   both keys (which one wins would be a guess).
//! - A node URL is scheme, host and port only (the shim forwards paths as received); the same
//!   node twice is an error, so a node's health and metrics have one name.
//! - A `node_map` key is a bare host or `host:port`, compared without case; its value must be
//!   one of the configured node URLs: the map can only ever send to a configured node (T2).

use super::super::{ConfigError, NodeUrl};

const URL_KEY: &str = "upstream.url";
const NODES_KEY: &str = "upstream.nodes";
const MAP_KEY: &str = "upstream.node_map";
/// Nodes one shim may list: a cluster has a handful; the bound keeps metrics and probes small.
pub const MAX_NODES: usize = 64;

/// The node list from `upstream.url` or `upstream.nodes` (exactly one of them).
pub(super) fn node_urls(
    url: Option<String>,
    nodes: Option<Vec<String>>,
) -> Result<Vec<NodeUrl>, ConfigError> {
    match (url, nodes) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            URL_KEY,
            "cannot be combined with upstream.nodes: set upstream.nodes to every node, or upstream.url to one",
        )),
        (None, None) => Err(ConfigError::new(
            URL_KEY,
            "is required: the cluster API, e.g. https://cluster.example.com:9443 (or pass --upstream), or upstream.nodes listing every node",
        )),
        (Some(url), None) => Ok(vec![node_url(URL_KEY, &url)?]),
        (None, Some(list)) => {
            if list.is_empty() {
                return Err(ConfigError::new(NODES_KEY, "lists no node: name at least one URL"));
            }
            if list.len() > MAX_NODES {
                return Err(ConfigError::new(
                    NODES_KEY,
                    format!("lists {} nodes; at most {MAX_NODES}", list.len()),
                ));
            }
            let mut out: Vec<NodeUrl> = Vec::with_capacity(list.len());
            for text in &list {
                let node = node_url(NODES_KEY, text)?;
                if out.iter().any(|n| same_node(n, &node)) {
                    return Err(ConfigError::new(
                        NODES_KEY,
                        format!("lists \"{text}\" twice"),
                    ));
                }
                out.push(node);
            }
            Ok(out)
        }
    }
}

fn same_node(a: &NodeUrl, b: &NodeUrl) -> bool {
    a.https == b.https
        && a.authority
            .as_str()
            .eq_ignore_ascii_case(b.authority.as_str())
}

/// One node URL: `http(s)://host[:port]`, nothing after.
fn node_url(key: &str, text: &str) -> Result<NodeUrl, ConfigError> {
    let url: http::Uri = text
        .parse()
        .map_err(|_| ConfigError::new(key, format!("\"{text}\" is not a URL")))?;
    let https = match url.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(ConfigError::new(
                key,
                format!("\"{text}\" must start with http:// or https://"),
            ))
        }
    };
    let authority = url
        .authority()
        .cloned()
        .ok_or_else(|| ConfigError::new(key, format!("\"{text}\" has no host")))?;
    if authority.as_str().contains('@') {
        return Err(ConfigError::new(
            key,
            format!("\"{}\" must not carry credentials", authority.host()),
        ));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err(ConfigError::new(
            key,
            "must not carry a path or query: the shim forwards paths as received",
        ));
    }
    Ok(NodeUrl {
        url,
        https,
        authority,
    })
}

/// `upstream.node_map`: internal address → index of the configured node it names.
pub(super) fn node_map(
    raw: std::collections::BTreeMap<String, String>,
    nodes: &[NodeUrl],
) -> Result<Vec<(String, usize)>, ConfigError> {
    let mut out = Vec::with_capacity(raw.len());
    for (address, target) in raw {
        let key = format!("{MAP_KEY}.\"{address}\"");
        let parsed: http::uri::Authority = address.parse().map_err(|_| {
            ConfigError::new(
                &key,
                "is not an address: write a host or host:port, as a redirect's Location names it",
            )
        })?;
        if parsed.as_str().contains('@') {
            return Err(ConfigError::new(&key, "must be a host or host:port"));
        }
        let wanted = node_url(&key, &target)?;
        let index = nodes
            .iter()
            .position(|n| same_node(n, &wanted))
            .ok_or_else(|| {
                ConfigError::new(
                    &key,
                    format!("\"{target}\" is not one of the configured nodes (upstream.url / upstream.nodes)"),
                )
            })?;
        out.push((parsed.as_str().to_ascii_lowercase(), index));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn list(urls: &[&str]) -> Option<Vec<String>> {
        Some(urls.iter().map(|u| (*u).to_owned()).collect())
    }

    #[test]
    fn url_and_nodes_together_are_refused_naming_both_keys() {
        let e = node_urls(Some("http://a:1".into()), list(&["http://b:2"])).unwrap_err();
        assert_eq!(e.key, URL_KEY);
        assert!(e.to_string().contains("upstream.nodes"), "{e}");
    }

    #[test]
    fn nodes_are_checked_one_by_one() {
        let nodes = node_urls(None, list(&["http://a:1", "https://b:2/"])).expect("valid");
        assert_eq!(nodes.len(), 2);
        assert!(nodes[1].https);
        for bad in [
            list(&[]),
            list(&["ftp://a"]),
            list(&["http://a:1/x"]),
            list(&["http://a:1", "http://A:1"]),
            list(&["http://u:p@a:1"]),
        ] {
            let e = node_urls(None, bad.clone()).unwrap_err();
            assert_eq!(e.key, NODES_KEY, "{bad:?}: {e}");
        }
    }

    #[test]
    fn the_map_names_configured_nodes_only() {
        let nodes =
            node_urls(None, list(&["http://127.0.0.1:1", "http://127.0.0.1:2"])).expect("valid");
        let raw = BTreeMap::from([("10.0.0.2".to_owned(), "http://127.0.0.1:2".to_owned())]);
        assert_eq!(
            node_map(raw, &nodes).expect("valid"),
            [("10.0.0.2".to_owned(), 1)]
        );
        let raw = BTreeMap::from([("10.0.0.2".to_owned(), "http://127.0.0.1:3".to_owned())]);
        let e = node_map(raw, &nodes).unwrap_err();
        assert!(e.key.starts_with(MAP_KEY), "{e}");
        assert!(
            e.to_string().contains("not one of the configured nodes"),
            "{e}"
        );
        let raw = BTreeMap::from([("a b".to_owned(), "http://127.0.0.1:1".to_owned())]);
        assert!(node_map(raw, &nodes).is_err());
    }
}
