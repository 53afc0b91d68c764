//! Configuration: the raw TOML ([`raw`]) merged with command-line overrides, then validated once
//! at start-up into the types below. Durations, sizes and dates are parsed here and nowhere
//! else; every error names the key it is about and what would fix it.

pub mod lifecycle;
pub mod raw;
pub mod rules;
pub mod rules_fields;
pub mod source;
pub mod telemetry;

use raw::RawConfig;
pub use source::{Overrides, Source};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// 2024-11-01T00:00:00Z, the month of RS 7.8.2-34, which deprecated the old route.
pub const DEFAULT_DEPRECATION_EPOCH: u64 = 1_730_419_200;
/// `shim.max_buffered_bodies`: 32 deprecated-route bodies of the largest default size.
pub const DEFAULT_MAX_BUFFERED_BODIES: usize = 32 * 1024 * 1024;
/// `shim.max_concurrent_calls`.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 256;
/// `shim.max_unverified_calls_per_ip`.
pub const DEFAULT_MAX_UNVERIFIED_CALLS_PER_IP: usize = 16;
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

/// How the data port's workers share the process (`threading`, issue 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threading {
    /// One single-thread runtime per worker, each with its own `SO_REUSEPORT` listener,
    /// upstream pool and metric shard (nginx's worker model). The default.
    Workers,
    /// One multi-thread (work-stealing) runtime with `workers` threads: a connection's work
    /// may move between threads (one busy connection cannot stall the others on its thread).
    Shared,
}

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
    pub threading: Threading,
    /// This replica's name in audit records and `report` (`instance`, default: the host name).
    pub instance: String,
    pub listen: Listen,
    pub upstream: Upstream,
    pub forwarding: Forwarding,
    pub shim: Shim,
    pub audit: Audit,
    pub admin_listen: Option<SocketAddr>,
    /// `admin.token_file`'s token: the bearer that may read caller identities on
    /// `/deprecations` (issue 20). `None`: only aggregate counts are shown there.
    pub admin_token: Option<AdminToken>,
    pub readiness: Readiness,
    pub log_format: LogFormat,
    /// `[telemetry]`: OTLP trace export, `None` when off (the default). Read at start-up only.
    pub telemetry: Option<telemetry::Telemetry>,
    /// `[lifecycle.<rule>]`, with the warnings the caller logs once.
    pub lifecycle: lifecycle::Lifecycles,
    /// `[rules]`: the rule table and how the cluster's version is learned.
    pub rules: rules::Rules,
    /// Where this configuration was read from, to read it again on reload (`None`: built in
    /// code, not reloadable).
    pub source: Option<source::Source>,
}

/// A secret: never printed (its `Debug` says only how long it is).
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

/// Shortest token accepted from `admin.token_file`.
pub const MIN_ADMIN_TOKEN: usize = 16;

impl AdminToken {
    /// A token from its text (surrounding whitespace dropped): at least [`MIN_ADMIN_TOKEN`]
    /// visible ASCII characters.
    pub fn parse(text: &str) -> Option<AdminToken> {
        let token = text.trim();
        (token.len() >= MIN_ADMIN_TOKEN && token.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| AdminToken(token.to_owned()))
    }

    /// Whether an `Authorization` value is `Bearer <this token>`, compared in constant time.
    pub fn admits(&self, authorization: &[u8]) -> bool {
        let Some(given) = authorization.strip_prefix(b"Bearer ") else {
            return false;
        };
        let want = self.0.as_bytes();
        given.len() == want.len()
            && given
                .iter()
                .zip(want)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminToken({} bytes)", self.0.len())
    }
}

/// Reads `admin.token_file`: one token (surrounding whitespace dropped), at least
/// [`MIN_ADMIN_TOKEN`] visible ASCII characters.
pub fn read_admin_token(path: &std::path::Path) -> Result<AdminToken, ConfigError> {
    const KEY: &str = "admin.token_file";
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(KEY, format!("cannot read {}: {e}", path.display())))?;
    AdminToken::parse(&text).ok_or_else(|| {
        ConfigError::new(
            KEY,
            format!(
                "{} must hold one token of at least {MIN_ADMIN_TOKEN} visible ASCII characters (e.g. `openssl rand -hex 32`)",
                path.display()
            ),
        )
    })
}

/// What `/readyz` and the background cluster probe do (`[admin]`).
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    /// How often the cluster is probed (without credentials); also each probe's deadline.
    pub cluster_probe_interval: Duration,
    /// Whether a cluster the probe cannot reach makes `/readyz` answer 503.
    pub requires_cluster: bool,
}

#[derive(Debug, Clone)]
pub struct Listen {
    pub address: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub limits: crate::listener::Limits,
    /// After a stop signal: `/readyz` answers 503 for this long before the listener closes,
    /// so a load balancer health-checking it stops sending first.
    pub drain_delay: Duration,
    /// A request body that sends nothing for this long is cut: `408 request_timeout`, the
    /// client's (issue 20). Uploads are bounded by it, not by their total time.
    pub body_idle_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    /// The first node's URL (`upstream.url`, or the first of `upstream.nodes`).
    pub url: http::Uri,
    pub https: bool,
    /// `host[:port]` of the first node, used as Host unless `preserve_host`.
    pub authority: http::uri::Authority,
    /// Every node the shim may send to, in the configured order (at least one; the first is
    /// `url`). `upstream.url` is the one-node shorthand of `upstream.nodes`.
    pub nodes: Vec<NodeUrl>,
    /// `upstream.node_map`: an internal address a node's redirect may name (`host` or
    /// `host:port`, lowercase) → the index in `nodes` of the node it is.
    pub node_map: Vec<(String, usize)>,
    /// Largest pass-through body kept in memory so that a redirect can be followed with it
    /// (`upstream.max_replay_body`).
    pub max_replay_body: usize,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub client_identity: Option<TlsFiles>,
    pub server_name: Option<String>,
    /// SHA-256s of cluster certificates trusted as they are (`upstream.pin_sha256`).
    pub pin_sha256: Vec<[u8; 32]>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
}

/// One node of `upstream.nodes`: where the shim connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeUrl {
    pub url: http::Uri,
    pub https: bool,
    pub authority: http::uri::Authority,
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
    pub prevalidate: crate::rules::module_upgrade::translate::Prevalidate,
    pub poll_interval: Duration,
    pub wait_deadline: Duration,
    pub max_body_size: usize,
    pub translate_sibling: bool,
    /// Bytes of deprecated-route bodies buffered at once, across the process.
    pub max_buffered_bodies: usize,
    /// Deprecated-route calls running at once (their detached tasks included).
    pub max_concurrent_calls: usize,
    /// Deprecated-route calls one client address may have running with credentials the
    /// cluster has not accepted yet (issue 20; [`crate::proxy::callers`]).
    pub max_unverified_calls_per_ip: usize,
    /// After a stop signal: how long running deprecated-route calls may go on before they are
    /// interrupted (and audited as such).
    pub shutdown_grace: Duration,
    /// Rendered once from `deprecation_date`, `sunset_date` and `docs_url`.
    pub headers: crate::rules::deprecation_headers::DeprecationHeaders,
    /// `deprecation_date` and `sunset_date` as instants: the module-upgrade rules' own dates,
    /// which their `[lifecycle.<rule>]` inherits.
    pub deprecation: SystemTime,
    pub sunset: Option<SystemTime>,
    /// The `Link rel="deprecation"` target of the module-upgrade rules.
    pub docs_url: String,
}

#[derive(Debug, Clone)]
pub struct Audit {
    /// `None`: no audit file; `Some("-")`: standard output.
    pub path: Option<PathBuf>,
    pub fsync: bool,
    pub on_write_failure: AuditFailure,
    /// Whether `X-Forwarded-For` names the caller at all (see [`crate::audit::forwarded`]);
    /// on whenever `trusted_proxies` is set.
    pub trust_forwarded_for: bool,
    /// The proxies whose `X-Forwarded-For` entries are believed; empty with
    /// `trust_forwarded_for` = the peer alone.
    pub trusted_proxies: crate::cidr::CidrList,
    /// Permission bits the audit file is created with (default 0o600).
    pub file_mode: u32,
}

/// The audit file's default permissions: owner read/write only (it names users and addresses).
pub const DEFAULT_AUDIT_FILE_MODE: u32 = 0o600;

impl Default for Audit {
    fn default() -> Audit {
        Audit {
            path: None,
            fsync: false,
            on_write_failure: AuditFailure::Fail,
            trust_forwarded_for: false,
            trusted_proxies: crate::cidr::CidrList::default(),
            file_mode: DEFAULT_AUDIT_FILE_MODE,
        }
    }
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
