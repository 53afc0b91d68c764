//! The running proxy: binds the listeners, serves the data port with graceful stop, starts the
//! admin port, audit-log reopen, SIGHUP reload and the readiness probe, and stops them all.
//! Takes a validated [`config::Config`] alone; `main` and the tests share [`run`].

use crate::proxy::{self, App};
use crate::{admin, audit, config, listener, tls};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub mod probe;
pub mod reload;
mod workers;

/// Serves the data port on an already-bound listener until `shutdown` resolves, then drains.
/// `main` and the tests share this path.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let live = Arc::new(reload::Live {
        app: arc_swap::ArcSwap::new(app),
        cert: None,
        source: None,
    });
    run_live(live, listener, tls, shutdown).await
}

/// [`run`] with a swappable configuration: each request uses the [`App`] current when it
/// arrives.
///
/// Stop: from the moment `shutdown` resolves, the listener drains its connections (up to
/// `listen.shutdown_grace`) and, at the same time, the deprecated-route calls still running —
/// those whose clients hung up included — get `shim.shutdown_grace` before they are interrupted
/// and audited as such. Returns when both are done.
pub async fn run_live(
    live: Arc<reload::Live>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let stopping = CancellationToken::new();
    let slots = listener::connection_slots(&live.app.load().config.listen.limits);
    let serving = serve_port(
        live.clone(),
        listener,
        tls,
        slots,
        stopping.clone().cancelled_owned(),
    );
    stop_and_drain(&live, shutdown, serving, &stopping).await
}

/// Serves the data port on one listener (of one worker, or the only one) until `stop`.
/// Connection limits are read once: they shape the accept loop itself.
async fn serve_port(
    live: Arc<reload::Live>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    slots: Arc<tokio::sync::Semaphore>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = live.app.load().config.listen.limits.clone();
    listener::serve_sharing(
        listener,
        tls,
        limits,
        slots,
        move |conn| {
            let live = live.clone();
            hyper::service::service_fn(move |req| {
                proxy::handle(live.app.load_full(), conn.clone(), req)
            })
        },
        stop,
    )
    .await
}

/// Waits for `shutdown`, tells the listeners to stop (`stopping`), and drains the
/// deprecated-route work alongside `serving` (the listeners' future, which ends when they have
/// all stopped, or earlier on an error).
async fn stop_and_drain(
    live: &reload::Live,
    shutdown: impl Future<Output = ()>,
    serving: impl Future<Output = std::io::Result<()>>,
    stopping: &CancellationToken,
) -> std::io::Result<()> {
    let work = live.app.load().work.clone();
    let serving = async {
        tokio::pin!(serving);
        tokio::select! {
            served = &mut serving => served,
            () = shutdown => {
                stopping.cancel();
                serving.await
            }
        }
    };
    let draining = async {
        stopping.cancelled().await;
        work.drain(live.app.load().config.shim.shutdown_grace).await
    };
    tokio::pin!(serving, draining);
    let served = tokio::select! {
        served = &mut serving => {
            stopping.cancel();
            draining.await;
            served
        }
        all_ended = &mut draining => {
            if all_ended {
                // The listener's own grace bounds the rest.
                serving.await
            } else {
                // Calls stuck even after the interruption still hold their connections' slots:
                // the listener would wait for them, so it gets a moment more and no longer.
                tokio::time::timeout(STUCK_FLUSH, serving).await.unwrap_or(Ok(()))
            }
        }
    };
    // Issue 20: the coalesced audit records still counting are written at a graceful stop.
    live.app.load().audit.write_open().await;
    served
}

/// Writes the coalesced audit records whose interval is over, in quiet times too (a write
/// also does it), until `shutdown`.
async fn audit_ticks(live: Arc<reload::Live>, shutdown: impl Future<Output = ()>) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(5));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => live.app.load().audit.write_due().await,
            () = &mut shutdown => return,
        }
    }
}

/// The data port as bound for the threading model.
enum Port {
    One(TcpListener),
    Workers(Vec<std::net::TcpListener>),
}

impl Port {
    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        match self {
            Port::One(l) => l.local_addr(),
            Port::Workers(ls) => ls
                .first()
                .ok_or_else(|| std::io::Error::other("no listener"))?
                .local_addr(),
        }
    }
}

/// After a stop, how long connections may go on once interrupted calls failed to end.
const STUCK_FLUSH: std::time::Duration = std::time::Duration::from_secs(2);

/// Everything `deprecation-shim --config ...` does after parsing (the command line is already
/// folded into `cfg`; its [`config::Source`] is kept to read it again on SIGHUP): load TLS material, bind,
/// serve, reload on SIGHUP.
pub async fn serve_from_config(
    cfg: config::Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    serve_from_config_at(cfg, Arc::new(crate::lifecycle::SystemClock), shutdown).await
}

/// [`serve_from_config`] with the lifecycles' "now" from `clock` (`--now`).
pub async fn serve_from_config_at(
    cfg: config::Config,
    clock: Arc<dyn crate::lifecycle::Clock>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let cfg_source = cfg.source.clone().filter(|s| s.file.is_some());
    let cert = match &cfg.listen.tls {
        Some(files) => {
            Some(tls::LiveCert::load(&files.cert, &files.key).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let tls = match &cert {
        Some(c) => Some(tokio_rustls::TlsAcceptor::from(
            tls::server_config(c.clone()).map_err(|e| e.to_string())?,
        )),
        None => None,
    };
    let address = cfg.listen.address;
    let admin_address = cfg.admin_listen;
    let app = App::with_clock(cfg, clock).map_err(|e| e.to_string())?;
    let threading = app.config.threading;
    let port = match threading {
        config::Threading::Workers => {
            listener::bind_workers(address, app.config.workers).map(Port::Workers)
        }
        config::Threading::Shared => listener::bind(address).map(Port::One),
    }
    .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let admin_listener = match admin_address {
        Some(a) => Some(
            listener::bind(a).map_err(|e| format!("cannot listen on {a} (admin.listen): {e}"))?,
        ),
        None => None,
    };
    let bound = port.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %bound, tls = tls.is_some(), upstream = %app.config.upstream.url, workers = app.config.workers, threading = ?threading, "deprecation-shim listening");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let stopped = |mut rx: tokio::sync::watch::Receiver<()>| async move {
        let _ = rx.changed().await;
    };
    let mut background = Vec::new();
    let probing = admin_listener.is_some();
    if let Some(l) = admin_listener {
        tracing::info!(address = %l.local_addr().map_err(|e| e.to_string())?, "admin endpoints listening");
        let state = app.admin.clone();
        let stop = stopped(stop_rx.clone());
        background.push(tokio::spawn(async move {
            if let Err(e) = admin::serve(l, state, stop).await {
                tracing::error!(error = %e, "admin listener failed");
            }
        }));
    }
    #[cfg(unix)]
    {
        let audit = app.audit.clone();
        let stop = stopped(stop_rx.clone());
        background.push(tokio::spawn(async move {
            if let Err(e) = audit::reopen_on_signals(audit, stop).await {
                tracing::warn!(error = %e, "cannot listen for SIGHUP/SIGUSR1: audit log reopen disabled");
            }
        }));
    }
    let live = Arc::new(reload::Live {
        app: arc_swap::ArcSwap::from_pointee(app),
        cert,
        source: cfg_source,
    });
    background.push(tokio::spawn(reload::on_sighup(
        live.clone(),
        stopped(stop_rx.clone()),
    )));
    background.push(tokio::spawn(audit_ticks(
        live.clone(),
        stopped(stop_rx.clone()),
    )));
    // The probe's result is read on the admin port only (`/readyz`, `/metrics`): without one,
    // nobody could see it, and its requests would only add to the cluster's load and logs.
    if probing {
        background.push(tokio::spawn(probe::run(
            live.clone(),
            stopped(stop_rx.clone()),
        )));
    }
    let shutdown = drain_then(live.clone(), shutdown);
    let served = match port {
        Port::One(listener) => run_live(live, listener, tls, shutdown).await,
        Port::Workers(listeners) => workers::run(live, listeners, tls, shutdown).await,
    };
    let _ = stop_tx.send(());
    for task in background {
        let _ = task.await;
    }
    served.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

/// `shutdown`, then `/readyz` turns 503 and the listener stays open for `listen.drain_delay`
/// more, so a load balancer health-checking `/readyz` stops sending before connections are
/// refused.
async fn drain_then(live: Arc<reload::Live>, shutdown: impl Future<Output = ()>) {
    shutdown.await;
    let app = live.app.load_full();
    app.admin.set_draining();
    let delay = app.config.listen.drain_delay;
    if !delay.is_zero() {
        tracing::info!(
            ?delay,
            "draining: /readyz answers 503; the listener closes after listen.drain_delay"
        );
        tokio::time::sleep(delay).await;
    }
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
