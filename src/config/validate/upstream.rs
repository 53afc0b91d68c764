//! `[upstream]` validated: the cluster's URL, its TLS trust (CA file, `insecure`, pins, client
//! certificate), the timeouts and the pool's bounds. Each check names its key.

use super::*;

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

pub(super) fn upstream(raw: RawUpstream) -> Result<Upstream, ConfigError> {
    let text = raw.url.ok_or_else(|| {
        ConfigError::new("upstream.url", "is required: the cluster API, e.g. https://cluster.example.com:9443 (or pass --upstream)")
    })?;
    let url: http::Uri = text
        .parse()
        .map_err(|_| ConfigError::new("upstream.url", format!("\"{text}\" is not a URL")))?;
    let https = match url.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(ConfigError::new(
                "upstream.url",
                format!("\"{text}\" must start with http:// or https://"),
            ))
        }
    };
    let authority = url
        .authority()
        .cloned()
        .ok_or_else(|| ConfigError::new("upstream.url", format!("\"{text}\" has no host")))?;
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err(ConfigError::new(
            "upstream.url",
            "must not carry a path or query: the shim forwards paths as received",
        ));
    }
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
        url,
        https,
        authority,
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
