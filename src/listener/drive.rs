//! Drives one connection until it ends or its listener's sweep orders it closed or dropped
//! (see [`super::sweep`]). No timer of its own: one atomic read of its order per wake-up.

use super::activity::{Activity, Order};
use hyper_util::server::graceful::GracefulConnection;
use std::pin::Pin;
use std::task::Poll;

/// Drives `http` and says why it ended.
pub(super) async fn drive<C>(mut http: Pin<Box<C>>, activity: &Activity) -> &'static str
where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    let mut closing = false;
    std::future::poll_fn(|cx| loop {
        if let Poll::Ready(done) = http.as_mut().poll(cx) {
            if let Err(e) = done {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return Poll::Ready(Order::Run.reason());
        }
        match activity.order_for(cx) {
            Order::Run => return Poll::Pending,
            Order::Close if closing => return Poll::Pending,
            Order::Close => {
                // GOAWAY / `Connection: close`; polled again at once, as hyper asks.
                http.as_mut().graceful_shutdown();
                closing = true;
            }
            drop => return Poll::Ready(drop.reason()),
        }
    })
    .await
}
