//! Raw → validated configuration. Each check names its key, as `section.key`.

mod audit;
mod shim;
mod upstream;

use super::raw::*;
use super::*;
use audit::audit;
use shim::shim;
use upstream::upstream;

pub(super) struct Validator;

impl Validator {
    pub(super) fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let workers = match raw.workers {
            None | Some(0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            Some(n) => n,
        };
        let sibling_mode_set = raw
            .rules
            .module_upgrade_sibling
            .as_ref()
            .is_some_and(|r| r.mode.is_some());
        let mut cfg = Config {
            workers,
            threading: match raw.threading.as_deref().unwrap_or("workers") {
                "workers" => Threading::Workers,
                "shared" => Threading::Shared,
                other => {
                    return Err(ConfigError::new(
                        "threading",
                        format!("\"{other}\" is not one of \"workers\", \"shared\""),
                    ))
                }
            },
            instance: instance(raw.instance)?,
            listen: listen(raw.listen)?,
            upstream: upstream(raw.upstream)?,
            forwarding: forwarding(&raw.forwarding),
            shim: shim(raw.shim)?,
            audit: audit(raw.audit)?,
            // Filled below, once the rule table knows each rule's dates.
            lifecycle: super::lifecycle::Lifecycles::default(),
            rules: super::rules::validate(raw.rules)?,
            source: None,
            admin_listen: raw
                .admin
                .listen
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| socket_addr("admin.listen", s))
                .transpose()?,
            admin_token: raw
                .admin
                .token_file
                .as_deref()
                .map(super::read_admin_token)
                .transpose()?,
            readiness: readiness(&raw.admin)?,
            telemetry: super::telemetry::validate(raw.telemetry)?,
            log_format: match raw.log.format.as_deref().unwrap_or("text") {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::new(
                        "log.format",
                        format!("\"{other}\" is not one of \"text\", \"json\""),
                    ))
                }
            },
        };
        // `shim.translate_sibling = true` (API.md §2) translates the sibling on every version
        // (API-CATALOGUE §2.3), unless `[rules.module_upgrade_sibling] mode` says otherwise.
        if cfg.shim.translate_sibling && !sibling_mode_set {
            if let Some(rule) = cfg.rules.table.get_mut("module_upgrade_sibling") {
                rule.mode = crate::rules::Mode::Translate;
            }
        }
        cfg.lifecycle = rule_lifecycles(raw.lifecycle, &cfg)?;
        marks_follow_lifecycles(&mut cfg)?;
        Ok(cfg)
    }
}

/// `[lifecycle.<rule>]`, each inheriting its rule's dates: the module-upgrade rules' from
/// `[shim]` (API.md §5.9), every other rule's from the rule table. A key naming no rule is
/// refused, naming the key: a lifecycle that never applies would be a silent no-op.
fn rule_lifecycles(
    raw: std::collections::BTreeMap<String, super::lifecycle::RawLifecycle>,
    cfg: &Config,
) -> Result<super::lifecycle::Lifecycles, ConfigError> {
    use super::lifecycle::RuleDates;
    if let Some(name) = raw.keys().find(|n| cfg.rules.table.get(n).is_none()) {
        let known: Vec<&str> = cfg
            .rules
            .table
            .rules()
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        return Err(ConfigError::new(
            &format!("lifecycle.{name}"),
            format!("names no rule; the rules are: {}", known.join(", ")),
        ));
    }
    super::lifecycle::lifecycles(raw, |name| {
        let rule = cfg.rules.table.get(name)?;
        Some(match rule.id {
            crate::rules::RuleId::ModuleUpgrade => RuleDates {
                deprecation: cfg.shim.deprecation,
                sunset: cfg.shim.sunset,
            },
            _ => RuleDates {
                deprecation: rule.meta.deprecation,
                sunset: rule.meta.sunset,
            },
        })
    })
}

/// The dates a lifecycle sets are the ones its callers are told: the rule's `Deprecation` and
/// `Sunset` headers (on every reply, refusals included) follow `[lifecycle.<rule>]`.
fn marks_follow_lifecycles(cfg: &mut Config) -> Result<(), ConfigError> {
    for (name, lifecycle) in &cfg.lifecycle.rules {
        let plan = lifecycle.plan();
        let key = format!("lifecycle.{name}.sunset_date");
        let Some(rule) = cfg.rules.table.get_mut(name) else {
            continue;
        };
        match rule.id {
            crate::rules::RuleId::ModuleUpgrade => {
                cfg.shim.headers = crate::rules::deprecation_headers::DeprecationHeaders::new(
                    plan.deprecation,
                    plan.sunset,
                    &cfg.shim.docs_url,
                )
                .map_err(|e| ConfigError::new(&key, e))?;
            }
            _ => rule
                .set_dates(plan.deprecation, plan.sunset)
                .map_err(|e| ConfigError::new(&key, e))?,
        }
    }
    Ok(())
}

fn socket_addr(key: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse().map_err(|_| {
        ConfigError::new(
            key,
            format!("\"{s}\" is not an address like 127.0.0.1:8443"),
        )
    })
}

fn tls_pair(
    cert_key: &str,
    cert: Option<PathBuf>,
    key_key: &str,
    key: Option<PathBuf>,
) -> Result<Option<TlsFiles>, ConfigError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            for (k, p) in [(cert_key, &cert), (key_key, &key)] {
                if !p.is_file() {
                    return Err(ConfigError::new(
                        k,
                        format!("{} is not a readable file", p.display()),
                    ));
                }
            }
            Ok(Some(TlsFiles { cert, key }))
        }
        (Some(_), None) => Err(ConfigError::new(
            key_key,
            format!("is required when {cert_key} is set"),
        )),
        (None, Some(_)) => Err(ConfigError::new(
            cert_key,
            format!("is required when {key_key} is set"),
        )),
    }
}

fn listen(raw: RawListen) -> Result<Listen, ConfigError> {
    let d = crate::listener::Limits::default();
    let address = socket_addr(
        "listen.address",
        raw.address.as_deref().unwrap_or("127.0.0.1:9443"),
    )?;
    let tls = tls_pair(
        "listen.tls_cert",
        raw.tls_cert,
        "listen.tls_key",
        raw.tls_key,
    )?;
    let max_connections = raw.max_connections.unwrap_or(d.max_connections);
    if max_connections == 0 {
        return Err(ConfigError::new(
            "listen.max_connections",
            "must be at least 1",
        ));
    }
    let max_concurrent_streams = raw
        .max_concurrent_streams
        .unwrap_or(d.max_concurrent_streams);
    if max_concurrent_streams == 0 {
        return Err(ConfigError::new(
            "listen.max_concurrent_streams",
            "must be at least 1",
        ));
    }
    Ok(Listen {
        address,
        tls,
        limits: crate::listener::Limits {
            header_read_timeout: opt_duration(
                "listen.header_read_timeout",
                raw.header_read_timeout,
                d.header_read_timeout,
            )?,
            max_header_bytes: opt_size(
                "listen.max_header_size",
                raw.max_header_size,
                d.max_header_bytes,
            )?,
            max_connections,
            idle_timeout: opt_duration("listen.idle_timeout", raw.idle_timeout, d.idle_timeout)?,
            shutdown_grace: opt_duration(
                "listen.shutdown_grace",
                raw.shutdown_grace,
                d.shutdown_grace,
            )?,
            max_concurrent_streams,
        },
        drain_delay: opt_duration("listen.drain_delay", raw.drain_delay, Duration::ZERO)?,
        body_idle_timeout: positive_duration(
            "listen.body_idle_timeout",
            raw.body_idle_timeout,
            DEFAULT_BODY_IDLE_TIMEOUT,
        )?,
    })
}

/// Longest `instance` name: it is repeated in every audit record and report row.
const MAX_INSTANCE_LEN: usize = 64;

fn instance(raw: Option<String>) -> Result<String, ConfigError> {
    let name = match raw.filter(|s| !s.is_empty()) {
        Some(name) => name,
        None => return Ok(host_name()),
    };
    if name.len() > MAX_INSTANCE_LEN || !name.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ConfigError::new(
            "instance",
            format!("\"{name}\" must be 1 to {MAX_INSTANCE_LEN} printable ASCII characters without spaces"),
        ));
    }
    Ok(name)
}

/// The kernel's host name (a Kubernetes pod's name), else `$HOSTNAME`, else "unknown"; cut to
/// a valid `instance`.
fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(char::is_ascii_graphic)
        .take(MAX_INSTANCE_LEN)
        .collect();
    if name.is_empty() {
        "unknown".to_owned()
    } else {
        name
    }
}

fn readiness(raw: &RawAdmin) -> Result<Readiness, ConfigError> {
    let key = "admin.cluster_probe_interval";
    let interval = opt_duration(
        key,
        raw.cluster_probe_interval.clone(),
        Duration::from_secs(10),
    )?;
    if interval < Duration::from_millis(100) {
        return Err(ConfigError::new(key, "must be at least 100ms"));
    }
    Ok(Readiness {
        cluster_probe_interval: interval,
        requires_cluster: raw.ready_requires_cluster.unwrap_or(false),
    })
}

fn forwarding(raw: &RawForwarding) -> Forwarding {
    Forwarding {
        x_forwarded_for: raw.x_forwarded_for.unwrap_or(true),
        x_forwarded_proto: raw.x_forwarded_proto.unwrap_or(true),
        x_forwarded_host: raw.x_forwarded_host.unwrap_or(true),
        preserve_host: raw.preserve_host.unwrap_or(false),
    }
}

fn opt_duration(
    key: &str,
    raw: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    raw.map_or(Ok(default), |s| parse_duration(key, &s))
}

/// A duration that must be more than zero.
fn positive_duration(
    key: &str,
    raw: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let d = opt_duration(key, raw, default)?;
    if d.is_zero() {
        return Err(ConfigError::new(key, "must be more than 0s"));
    }
    Ok(d)
}

/// `listen.body_idle_timeout`'s default: a client that sends no body byte for this long has
/// stalled (an upload over a slow link still sends something every few seconds).
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

fn opt_size(key: &str, raw: Option<String>, default: usize) -> Result<usize, ConfigError> {
    raw.map_or(Ok(default), |s| parse_size(key, &s))
}

/// "30s", "1m 30s", "250ms".
pub fn parse_duration(key: &str, s: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(s).map_err(|e| {
        ConfigError::new(
            key,
            format!("\"{s}\" is not a duration like \"30s\" or \"250ms\" ({e})"),
        )
    })
}

/// "1MiB", "64 KiB", "1000".
pub fn parse_size(key: &str, s: &str) -> Result<usize, ConfigError> {
    let n: bytesize::ByteSize = s
        .parse()
        .map_err(|e| ConfigError::new(key, format!("\"{s}\" is not a size like \"1MiB\" ({e})")))?;
    usize::try_from(n.as_u64()).map_err(|_| ConfigError::new(key, format!("\"{s}\" is too large")))
}

/// "2024-11-01", "2024-11-01T12:00:00Z" (RFC 3339) or "@1730419200" (epoch seconds, RFC 9745 style).
pub fn parse_date(key: &str, s: &str) -> Result<SystemTime, ConfigError> {
    let bad = || {
        ConfigError::new(key, format!("\"{s}\" is not a date like \"2024-11-01\", \"2024-11-01T00:00:00Z\" or \"@1730419200\""))
    };
    if let Some(epoch) = s.strip_prefix('@') {
        let secs: u64 = epoch.parse().map_err(|_| bad())?;
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    }
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_owned()
    };
    humantime::parse_rfc3339(&full).map_err(|_| bad())
}
