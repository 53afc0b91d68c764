//! Connections entering and leaving the idle stack: [`Shared::connect`] opens one (HTTP/2 by
//! ALPN, then shared), [`Shared::put`] takes one back when its exchange is complete, and the
//! reaper closes those idle past the timeout even when no request comes to find them.

use super::{Idle, SendError, Sender, Shared};
use crate::upstream::UpBody;
use hyper::client::conn::{http1, http2};
use hyper_util::client::legacy::connect::Connection;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tower_service::Service;

impl Shared {
    /// Opens a connection; HTTP/2 (ALPN) becomes the shared one when `share` is set.
    pub(super) async fn connect(self: &Arc<Self>, share: bool) -> Result<Sender, SendError> {
        let io = self
            .connector
            .clone()
            .call(self.dial.clone())
            .await
            .map_err(SendError::Connect)?;
        if io.connected().is_negotiated_h2() {
            let (tx, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "upstream HTTP/2 connection ended");
                }
            });
            if share {
                *self.shared_h2() = Some(tx.clone());
            }
            Ok(Sender::H2(tx))
        } else {
            let (tx, conn) = http1::Builder::new()
                // One flattened write per request (heads and small bodies): ~250 fewer
                // instructions per proxied request than a queue of buffers for `writev`.
                .writev(false)
                .handshake(io)
                .await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "upstream connection ended");
                }
            });
            Ok(Sender::H1(tx))
        }
    }

    /// Takes back a connection whose exchange is complete.
    pub(super) fn put(self: &Arc<Self>, tx: http1::SendRequest<UpBody>) {
        if self.max_idle == 0 || tx.is_closed() {
            return;
        }
        {
            let mut idle = self.idle();
            if idle.len() >= self.max_idle {
                // The oldest goes: the stack's bottom.
                idle.remove(0);
            }
            idle.push(Idle {
                tx,
                since: Instant::now(),
            });
        }
        if !self.reaper_started.swap(true, Ordering::Relaxed) {
            tokio::spawn(reap(Arc::downgrade(self), self.idle_timeout));
        }
    }
}

/// Closes connections idle for longer than the timeout even when no request comes to find
/// them; ends with the pool.
async fn reap(pool: Weak<Shared>, idle_timeout: Duration) {
    let period = (idle_timeout / 2).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        pool.idle()
            .retain(|c| c.since.elapsed() < idle_timeout && !c.tx.is_closed());
    }
}
