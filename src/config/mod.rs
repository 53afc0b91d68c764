//! Configuration: the raw TOML ([`raw`]) merged with command-line overrides, then validated once
//! at start-up into the types below. Durations, sizes and dates are parsed here and nowhere
//! else; every error names the key it is about and what would fix it.

pub mod raw;
pub mod rules;

use raw::RawConfig;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// 2024-11-01T00:00:00Z, the month of RS 7.8.2-34, which deprecated the old route.
pub const DEFAULT_DEPRECATION_EPOCH: u64 = 1_730_419_200;
pub const DEFAULT_DOCS_URL: &str =
    "https://redis.io/docs/latest/operate/rs/references/rest-api/requests/bdbs/upgrade/";

/// A configuration error: which key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(key: &str, problem: impl Into<String>) -> Self {
        ConfigError {
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Whether the deprecated call waits for the upgrade action to finish (the old synchronous
/// meaning) or replies as soon as the cluster accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShimMode {
    Wait,
    Accept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFailure {
    /// Refuse the call with 503 when its audit record cannot be written.
    Fail,
    /// Log loudly, count, and answer anyway.
    Continue,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub workers: usize,
    pub listen: Listen,
    pub upstream: Upstream,
    pub forwarding: Forwarding,
    pub shim: Shim,
    pub audit: Audit,
    pub admin_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub rules: rules::Rules,
}

#[derive(Debug, Clone)]
pub struct Listen {
    pub address: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub limits: crate::server::Limits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub url: http::Uri,
    pub https: bool,
    /// `host[:port]` of the cluster, used as Host unless `preserve_host`.
    pub authority: http::uri::Authority,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub client_identity: Option<TlsFiles>,
    pub server_name: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct Forwarding {
    pub x_forwarded_for: bool,
    pub x_forwarded_proto: bool,
    pub x_forwarded_host: bool,
    pub preserve_host: bool,
}

#[derive(Debug, Clone)]
pub struct Shim {
    pub mode: ShimMode,
    pub prevalidate: crate::shim::translate::Prevalidate,
    pub poll_interval: Duration,
    pub wait_deadline: Duration,
    pub max_body_size: usize,
    pub translate_sibling: bool,
    /// Rendered once from `deprecation_date`, `sunset_date` and `docs_url`.
    pub headers: crate::shim::headers::DeprecationHeaders,
}

#[derive(Debug, Clone)]
pub struct Audit {
    /// `None`: no audit file; `Some("-")`: standard output.
    pub path: Option<PathBuf>,
    pub fsync: bool,
    pub on_write_failure: AuditFailure,
    pub trust_forwarded_for: bool,
}

/// Reads and parses a TOML file; unknown keys are errors naming the key.
pub fn load_raw(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new("--config", format!("cannot read {}: {e}", path.display()))
    })?;
    parse_raw(&text)
        .map_err(|e| ConfigError::new(&e.key, format!("{} (in {})", e.problem, path.display())))
}

pub fn parse_raw(text: &str) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        ConfigError::new(
            "config",
            e.message().to_owned() + &span_hint(text, e.span()),
        )
    })
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
            format!(" at line {line}")
        }
        None => String::new(),
    }
}

impl Config {
    /// Validates everything before anything binds or connects.
    pub fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let v = validate::Validator;
        v.config(raw)
    }
}

mod validate;
pub use validate::{parse_date, parse_duration, parse_size};
