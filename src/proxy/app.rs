//! What every request sees: the [`App`] built once from a validated configuration (the
//! upstream client, forwarding rules, metrics, audit log, admin state and the deprecated-route
//! budget), rebuilt on reload.

use super::budget;
use crate::admin::AdminState;
use crate::audit::AuditLog;
use crate::config::Config;
use crate::lifecycle::{Clock, SystemClock};
use crate::metrics::Metrics;
use crate::upstream::Upstream;
use std::sync::Arc;

/// Everything a request needs, built once from a validated [`Config`]. A reload builds a new
/// one; the metrics, the audit log and the admin state are shared across reloads.
pub struct App {
    pub config: Config,
    pub upstream: Upstream,
    pub metrics: Arc<Metrics>,
    pub audit: Arc<AuditLog>,
    pub admin: Arc<AdminState>,
    /// The deprecated route's budget and detached tasks (process-wide, kept across reloads).
    pub work: Arc<budget::Work>,
    /// Which credentials the cluster accepted, and the per-address bound of the others
    /// (process-wide, kept across reloads).
    pub callers: Arc<super::callers::Callers>,
    /// When each caller of the v1 statistics routes was last said (R18; kept across reloads).
    pub stats_log: Arc<super::deprecated::stats::StatsLog>,
    /// The cluster's version as last learned (R11), per upstream: emptied by a reload.
    pub versions: super::versions::VersionCache,
    /// "Now" for the lifecycles (kept across reloads): the system clock, or a fixed or
    /// started one in tests and under `--now`.
    pub clock: Arc<dyn Clock>,
    /// The callers R18's quiet lane knows (per configuration: a reload starts it empty).
    pub quiet: super::deprecated::quiet::Quiet,
    /// F1's role look-ups, per caller's credentials (per configuration: a reload empties it).
    pub roles: super::deprecated::fields_role::RoleCache,
}

/// Why an [`App`] could not be built from a valid configuration.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("audit.path: {0}")]
    Audit(#[from] crate::audit::AuditError),
}

impl App {
    /// A first App: fresh metrics, the audit log opened from `config`, the system clock.
    pub fn new(config: Config) -> Result<App, AppError> {
        App::with_clock(config, Arc::new(SystemClock))
    }

    /// [`App::new`] with the lifecycles' "now" taken from `clock`.
    pub fn with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<App, AppError> {
        let metrics = Arc::new(Metrics::with_workers(crate::workers::slots(&config)));
        let audit = Arc::new(AuditLog::open(&config.audit, metrics.clone())?);
        let admin = Arc::new(AdminState::new(metrics.clone(), audit.clone()));
        let work = budget::Work::new(
            config.shim.max_buffered_bodies,
            config.shim.max_concurrent_calls,
            metrics.clone(),
        );
        let callers = super::callers::Callers::new(config.shim.max_unverified_calls_per_ip);
        let stats_log = Arc::default();
        App::build(
            config,
            (metrics, audit, admin),
            work,
            (callers, stats_log),
            clock,
        )
    }

    /// The App after a reload: same metrics, audit log (re-pointed to `config`'s `[audit]`)
    /// and admin state. The audit log is changed last, so a failure before leaves all as it was.
    ///
    /// `workers` and `threading` stay as running (the threads exist; changing them needs a
    /// restart, which the reload logs): the per-worker pools and shards match the threads.
    pub fn reloaded(mut config: Config, previous: &App) -> Result<App, AppError> {
        config.workers = previous.config.workers;
        config.threading = previous.config.threading;
        let app = App::build(
            config,
            (
                previous.metrics.clone(),
                previous.audit.clone(),
                previous.admin.clone(),
            ),
            previous.work.clone(),
            (previous.callers.clone(), previous.stats_log.clone()),
            previous.clock.clone(),
        )?;
        app.callers
            .set_limit(app.config.shim.max_unverified_calls_per_ip);
        app.audit.reconfigure(&app.config.audit)?;
        app.work.set_limits(
            app.config.shim.max_buffered_bodies,
            app.config.shim.max_concurrent_calls,
        );
        Ok(app)
    }

    fn build(
        config: Config,
        (metrics, audit, admin): (Arc<Metrics>, Arc<AuditLog>, Arc<AdminState>),
        work: Arc<budget::Work>,
        (callers, stats_log): (
            Arc<super::callers::Callers>,
            Arc<super::deprecated::stats::StatsLog>,
        ),
        clock: Arc<dyn Clock>,
    ) -> Result<App, AppError> {
        let upstream = Upstream::new(&config.upstream, crate::workers::slots(&config))?;
        admin.set_requires_cluster(config.readiness.requires_cluster);
        metrics.set_nodes(upstream.nodes());
        admin.set_nodes(upstream.nodes());
        let versions = super::versions::VersionCache::new(
            config.rules.version_source,
            config.rules.version_cache_ttl,
        );
        // At start and on reload: what `/deprecations` and the days-to-Sunset gauge show,
        // and the schedule's warnings (RFC 9745 §5), logged once per configuration.
        admin.set_lifecycles(&config.lifecycle, clock.clone());
        admin.set_token(config.admin_token.clone());
        metrics
            .lifecycle()
            .set_lifecycles(&config.lifecycle.rules, clock.clone());
        for w in &config.lifecycle.warnings {
            tracing::warn!(target: "lifecycle", "{}", crate::escape::Escaped(w));
        }
        warn_if_insecure(&config);
        use super::deprecated::fields_role::{RoleCache, MAX_ENTRIES, ROLE_TTL};
        let roles = RoleCache::counted(ROLE_TTL, MAX_ENTRIES, metrics.role_counters());
        Ok(App {
            versions,
            clock,
            upstream,
            config,
            metrics,
            audit,
            admin,
            work,
            callers,
            stats_log,
            quiet: Default::default(),
            roles,
        })
    }
}

/// Said at start and after each reload: an unverified upstream must not go unnoticed.
fn warn_if_insecure(cfg: &Config) {
    if cfg.upstream.insecure {
        tracing::warn!(
            upstream = %cfg.upstream.url,
            "upstream TLS verification is OFF (insecure): any certificate is accepted; use upstream.ca_file in production"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        let raw = crate::config::parse_raw(toml).expect("toml");
        Config::from_raw(raw).expect("valid")
    }

    #[test]
    fn a_reload_keeps_the_running_workers_and_threading() {
        let first = App::new(config(
            "workers = 2\nthreading = \"workers\"\n[upstream]\nurl = \"http://127.0.0.1:9\"\n",
        ))
        .expect("app");
        let next = config(
            "workers = 5\nthreading = \"shared\"\n[upstream]\nurl = \"http://127.0.0.1:9\"\n",
        );
        let reloaded = App::reloaded(next, &first).expect("reloaded");
        assert_eq!(reloaded.config.workers, 2);
        assert_eq!(reloaded.config.threading, crate::config::Threading::Workers);
    }
}
