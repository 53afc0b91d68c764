//! Hot reload: on SIGHUP the configuration file is read again with the same command-line
//! overrides. A valid configuration replaces the live [`App`] for new requests (in-flight ones
//! finish on the one they started with) and reloads the listener's certificate; an invalid one
//! is refused with a log line naming the key, and the old configuration stays.

use crate::config::{Config, Source};
use crate::proxy::App;
use crate::tls::LiveCert;
use arc_swap::ArcSwap;
use std::future::Future;
use std::sync::Arc;

/// The configuration in force, swappable.
pub struct Live {
    pub app: ArcSwap<App>,
    /// The listener's certificate, when it serves TLS.
    pub cert: Option<Arc<LiveCert>>,
    /// Where the configuration was read from, to read it again the same way (`None`: not
    /// reloadable: tests, the demo).
    pub source: Option<Source>,
}

impl Live {
    /// Reads, validates and applies the configuration again. Nothing changes on error.
    pub fn reload(&self) -> Result<(), String> {
        let source = self
            .source
            .as_ref()
            .ok_or("this instance has no configuration file to reload")?;
        let cfg = source.load().map_err(|e| e.to_string())?;
        let old = self.app.load();
        warn_on_restart_only_changes(&old.config, &cfg);
        if let (Some(cert), Some(files)) = (&self.cert, &cfg.listen.tls) {
            // Checked before the swap so that a bad certificate leaves everything as it was.
            cert.reload(&files.cert, &files.key)
                .map_err(|e| e.to_string())?;
        }
        let app = App::reloaded(cfg, &old).map_err(|e| e.to_string())?;
        self.app.store(Arc::new(app));
        Ok(())
    }
}

/// Some settings belong to sockets bound at start; say so instead of silently ignoring them.
fn warn_on_restart_only_changes(old: &Config, new: &Config) {
    if old.listen.address != new.listen.address {
        tracing::warn!(old = %old.listen.address, new = %new.listen.address, "listen.address changes need a restart; still listening on the old address");
    }
    if old.admin_listen != new.admin_listen {
        tracing::warn!("admin.listen changes need a restart");
    }
    if old.listen.tls.is_some() != new.listen.tls.is_some() {
        tracing::warn!("switching the data port between HTTP and HTTPS needs a restart");
    }
    if old.workers != new.workers || old.threading != new.threading {
        tracing::warn!("workers and threading changes need a restart");
    }
}

/// Reloads on every SIGHUP until `shutdown` resolves.
pub async fn on_sighup(live: Arc<Live>, shutdown: impl Future<Output = ()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: reload disabled");
            return;
        };
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                // Issue 20: parsed and validated on a blocking thread, so that a large
                // configuration delays neither `/healthz` nor the stop signal.
                _ = hup.recv() => {
                    let reloading = live.clone();
                    match tokio::task::spawn_blocking(move || reloading.reload()).await {
                        Ok(Ok(())) => {
                            tracing::info!("configuration reloaded");
                            // Issue 20: open coalesced records are written at a reload.
                            live.app.load().audit.write_open().await;
                        }
                        Ok(Err(e)) => tracing::error!(error = %e, "configuration reload refused; the previous configuration stays in force"),
                        Err(e) => tracing::error!(error = %e, "configuration reload failed; the previous configuration stays in force"),
                    }
                }
                _ = &mut shutdown => return,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (live, shutdown.await);
    }
}
