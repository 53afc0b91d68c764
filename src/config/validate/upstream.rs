//! `[upstream]` validated: the cluster's URL, its TLS trust (CA file, `insecure`, pins, client
//! certificate), the timeouts and the pool's bounds; the node list and its map are in
//! `nodes.rs`. Each check names its key.

use super::*;

#[path = "nodes.rs"]
mod nodes;

/// `upstream.max_replay_body` unless set: 1 MiB (API-CATALOGUE §10 T3).
pub const DEFAULT_MAX_REPLAY_BODY: usize = 1024 * 1024;

/// `upstream.pin_sha256`: each entry a SHA-256 in hex or base64; pointless with `insecure`.
fn pins(texts: Vec<String>, insecure: bool) -> Result<Vec<[u8; 32]>, ConfigError> {
    if insecure && !texts.is_empty() {
        return Err(ConfigError::new(
            "upstream.insecure",
            "cannot be combined with upstream.pin_sha256; pick one",
        ));
    }
    texts
        .iter()
        .map(|t| crate::tls::parse_pin(t).map_err(|e| ConfigError::new("upstream.pin_sha256", e)))
        .collect()
}

pub(super) fn upstream(mut raw: RawUpstream) -> Result<Upstream, ConfigError> {
    let nodes = nodes::node_urls(raw.url.take(), raw.nodes.take())?;
    let node_map = nodes::node_map(raw.node_map.take().unwrap_or_default(), &nodes)?;
    let first = nodes[0].clone();
    if let Some(ca) = &raw.ca_file {
        if !ca.is_file() {
            return Err(ConfigError::new(
                "upstream.ca_file",
                format!("{} is not a readable file", ca.display()),
            ));
        }
    }
    let insecure = raw.insecure.unwrap_or(false);
    if insecure && raw.ca_file.is_some() {
        return Err(ConfigError::new(
            "upstream.insecure",
            "cannot be combined with upstream.ca_file; pick one",
        ));
    }
    let pin_sha256 = pins(raw.pin_sha256.unwrap_or_default(), insecure)?;
    Ok(Upstream {
        url: first.url,
        https: first.https,
        authority: first.authority,
        nodes,
        node_map,
        max_replay_body: opt_size(
            "upstream.max_replay_body",
            raw.max_replay_body,
            DEFAULT_MAX_REPLAY_BODY,
        )?,
        ca_file: raw.ca_file,
        insecure,
        client_identity: tls_pair(
            "upstream.client_cert",
            raw.client_cert,
            "upstream.client_key",
            raw.client_key,
        )?,
        server_name: raw.server_name.filter(|s| !s.is_empty()),
        pin_sha256,
        connect_timeout: opt_duration(
            "upstream.connect_timeout",
            raw.connect_timeout,
            Duration::from_secs(5),
        )?,
        request_timeout: opt_duration(
            "upstream.request_timeout",
            raw.request_timeout,
            Duration::from_secs(60),
        )?,
        pool_idle_timeout: opt_duration(
            "upstream.pool_idle_timeout",
            raw.pool_idle_timeout,
            Duration::from_secs(60),
        )?,
        pool_max_idle_per_host: raw.pool_max_idle_per_host.unwrap_or(256),
    })
}
