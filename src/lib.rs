//! deprecation-shim: a reverse proxy in front of the Redis Software REST API that keeps the
//! deprecated `POST /v1/modules/upgrade/bdb/{uid}` working by translating it to
//! `POST /v1/bdbs/{uid}/upgrade`, and streams every other route through untouched.
//!
//! Map of the crate (where a request goes, in order):
//! - [`server`]: listeners, TLS accept, connection limits, graceful stop.
//! - [`proxy`]: classify the route, forward pass-through requests, header rules.
//! - [`shim`]: the old ↔ new translation (pure) and the look-ups/polling around it.
//! - [`upstream`]: the pooled HTTPS client towards the cluster.
//! - [`error`]: the cluster's error shape and blame.
//! - [`audit`]: the audit trail of deprecated calls, and the per-caller report over it.
//! - [`metrics`], [`admin`]: Prometheus metrics and the admin port (health, readiness, usage).
//! - [`sim`]: a simulated cluster for tests and the demo.

pub mod admin;
pub mod audit;
pub mod cli;
pub mod config;
pub mod error;
pub mod metrics;
pub mod proxy;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod upstream;

pub use proxy::App;

use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves the data port on an already-bound listener until `shutdown` resolves, then drains.
/// `main` and the tests share this path.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = app.config.listen.limits.clone();
    server::serve(
        listener,
        tls,
        limits,
        move |conn| {
            let app = app.clone();
            hyper::service::service_fn(move |req| proxy::handle(app.clone(), conn, req))
        },
        shutdown,
    )
    .await
}

/// Everything `deprecation-shim --config ...` does after parsing: load TLS material, bind, serve.
pub async fn serve_from_config(
    cfg: config::Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    if cfg.upstream.insecure {
        tracing::warn!(
            upstream = %cfg.upstream.url,
            "upstream TLS verification is OFF (insecure): any certificate is accepted; use upstream.ca_file in production"
        );
    }
    let tls = match &cfg.listen.tls {
        Some(files) => Some(tls::acceptor(&files.cert, &files.key).map_err(|e| e.to_string())?),
        None => None,
    };
    let address = cfg.listen.address;
    let app = Arc::new(App::new(cfg).map_err(|e| e.to_string())?);
    let listener = server::bind(address).map_err(|e| format!("cannot listen on {address}: {e}"))?;
    tracing::info!(%address, tls = tls.is_some(), upstream = %app.config.upstream.url, "deprecation-shim listening");
    run(app, listener, tls, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stop signal received: draining in-flight requests");
}
