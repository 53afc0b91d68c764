//! The configuration file as written: TOML, every key optional, unknown keys rejected.
//! Nothing here is interpreted; [`super::Config::from_raw`] turns it into validated types.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub workers: Option<usize>,
    pub threading: Option<String>,
    pub instance: Option<String>,
    #[serde(default)]
    pub listen: RawListen,
    #[serde(default)]
    pub upstream: RawUpstream,
    #[serde(default)]
    pub forwarding: RawForwarding,
    #[serde(default)]
    pub shim: RawShim,
    #[serde(default)]
    pub audit: RawAudit,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub telemetry: super::telemetry::RawTelemetry,
    #[serde(default)]
    pub lifecycle: std::collections::BTreeMap<String, super::lifecycle::RawLifecycle>,
    #[serde(default)]
    pub rules: super::rules::RawRules,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    pub address: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub header_read_timeout: Option<String>,
    pub max_header_size: Option<String>,
    pub max_connections: Option<usize>,
    pub idle_timeout: Option<String>,
    pub shutdown_grace: Option<String>,
    pub drain_delay: Option<String>,
    pub body_idle_timeout: Option<String>,
    pub max_concurrent_streams: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub url: Option<String>,
    pub nodes: Option<Vec<String>>,
    pub node_map: Option<std::collections::BTreeMap<String, String>>,
    pub max_replay_body: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub insecure: Option<bool>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub server_name: Option<String>,
    pub pin_sha256: Option<Vec<String>>,
    pub connect_timeout: Option<String>,
    pub request_timeout: Option<String>,
    pub pool_idle_timeout: Option<String>,
    pub pool_max_idle_per_host: Option<usize>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForwarding {
    pub x_forwarded_for: Option<bool>,
    pub x_forwarded_proto: Option<bool>,
    pub x_forwarded_host: Option<bool>,
    pub preserve_host: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShim {
    pub mode: Option<String>,
    pub prevalidate: Option<String>,
    pub poll_interval: Option<String>,
    pub wait_deadline: Option<String>,
    pub max_body_size: Option<String>,
    pub translate_sibling: Option<bool>,
    pub deprecation_date: Option<String>,
    pub sunset_date: Option<String>,
    pub docs_url: Option<String>,
    pub max_buffered_bodies: Option<String>,
    pub max_concurrent_calls: Option<usize>,
    pub max_unverified_calls_per_ip: Option<usize>,
    pub shutdown_grace: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    pub path: Option<String>,
    pub fsync: Option<bool>,
    pub on_write_failure: Option<String>,
    pub trust_forwarded_for: Option<bool>,
    pub trusted_proxies: Option<Vec<String>>,
    pub file_mode: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub listen: Option<String>,
    pub token_file: Option<std::path::PathBuf>,
    pub cluster_probe_interval: Option<String>,
    pub ready_requires_cluster: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub format: Option<String>,
}
