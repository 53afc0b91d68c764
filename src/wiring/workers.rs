//! The `workers` threading model (issue 15): one thread per worker, each running a
//! single-thread tokio runtime that accepts on its own `SO_REUSEPORT` listener and owns its
//! connections, its upstream pool and its metric shard (see [`crate::workers`]). Nothing on the
//! pass-through path crosses threads.
//!
//! Process-wide on purpose: the connection slots (`listen.max_connections` bounds the port),
//! the deprecated-route budgets and their task tracker, the audit writer, reload, and the stop:
//! the control runtime (the caller's) waits for the stop signal, tells every worker, drains the
//! deprecated-route work, then releases the workers.
//!
//! A worker keeps driving its runtime after its listener has stopped, until released: work it
//! spawned (a deprecated-route call whose client hung up) only runs while that runtime runs.

use super::reload::Live;
use super::{serve_port, stop_and_drain};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// After the release, how long the control waits for worker threads to end (their runtimes
/// finish blocking writes, e.g. an audit append, before they drop).
const JOIN_WAIT: Duration = Duration::from_secs(2);

/// Serves the data port with one worker per listener until `shutdown`, then stops and drains
/// as [`super::run_live`] does.
pub(super) async fn run(
    live: Arc<Live>,
    listeners: Vec<std::net::TcpListener>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = crate::listener::connection_slots(&live.app.load().config.listen.limits);
    let stopping = CancellationToken::new();
    let release = CancellationToken::new();
    let mut ended = FuturesUnordered::new();
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let (tx, rx) = oneshot::channel();
        ended.push(rx);
        let worker = Worker {
            index: i + 1,
            live: live.clone(),
            tls: tls.clone(),
            slots: slots.clone(),
            stopping: stopping.clone(),
            release: release.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("shim-worker-{}", i + 1))
            .spawn(move || worker.run(listener, tx));
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                stopping.cancel();
                release.cancel();
                return Err(e);
            }
        }
    }
    let serving = async {
        let mut result = Ok(());
        while let Some(done) = ended.next().await {
            let failed = match done {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(io::Error::other("a worker thread ended without a result")),
            };
            if let Some(e) = failed {
                // One worker down would silently leave its share of new connections queued on
                // a listener nobody accepts from: stop them all.
                tracing::error!(error = %e, "worker failed: stopping");
                stopping.cancel();
                result = Err(e);
            }
        }
        result
    };
    let served = stop_and_drain(&live, shutdown, serving, &stopping).await;
    release.cancel();
    let joined = tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    });
    if tokio::time::timeout(JOIN_WAIT, joined).await.is_err() {
        tracing::warn!("worker threads still running at exit");
    }
    served
}

/// What one worker thread needs.
struct Worker {
    index: usize,
    live: Arc<Live>,
    tls: Option<TlsAcceptor>,
    slots: Arc<Semaphore>,
    stopping: CancellationToken,
    release: CancellationToken,
}

impl Worker {
    fn run(self, listener: std::net::TcpListener, ended: oneshot::Sender<io::Result<()>>) {
        crate::workers::enter(self.index);
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ended.send(Err(e));
                return;
            }
        };
        let Worker {
            live,
            tls,
            slots,
            stopping,
            release,
            ..
        } = self;
        runtime.block_on(async move {
            let served = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => serve_port(live, l, tls, slots, stopping.cancelled_owned()).await,
                Err(e) => Err(e),
            };
            let _ = ended.send(served);
            release.cancelled().await;
        });
    }
}
