//! Which HTTP a connection speaks, and the hyper connection that serves it.
//!
//! Plain connections are told apart by peeking at their first bytes (nothing is consumed): an
//! HTTP/2 client with prior knowledge opens with `PRI * HTTP/2.0`, anything else is HTTP/1.
//! TLS connections by ALPN. Each is then served by hyper's own HTTP/1 or HTTP/2 connection
//! directly. hyper-util's auto builder, which reads the first bytes itself and replays them
//! through a rewind layer, serves only what stays ambiguous (a first read of `P` or `PR`, or
//! TLS without ALPN): that layer costs a read per request, and its short first read made hyper
//! double the connection's read buffer to 16 KiB (BENCHMARKS.md, idle connections).

use super::activity::{Activity, Order};
use super::{drive, ConnService, Limits, ReplyBody};
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;
use tokio::io::ReadBuf;
use tokio::net::TcpStream;

/// What a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proto {
    Http1,
    Http2,
    /// Not known yet: hyper-util's auto builder reads and decides.
    Either,
}

/// The protocol of a plain connection from its first bytes.
pub(super) fn from_prefix(first: &[u8]) -> Proto {
    const PREFACE: &[u8] = b"PRI ";
    match first.iter().zip(PREFACE).position(|(a, b)| a != b) {
        Some(_) => Proto::Http1,
        None if first.len() >= PREFACE.len() => Proto::Http2,
        // `P`, `PR`, `PRI`: `POST`, `PROPFIND` or the preface; let the auto builder wait.
        None => Proto::Either,
    }
}

/// The protocol of a TLS connection from its ALPN.
pub(super) fn from_alpn(alpn: Option<&[u8]>) -> Proto {
    match alpn {
        Some(b"h2") => Proto::Http2,
        Some(_) => Proto::Http1,
        None => Proto::Either,
    }
}

/// Waits for a plain connection's first bytes and says what it speaks; `None` when it ended,
/// failed, or was ordered dropped (no request head in time, or the stop) before sending any.
pub(super) async fn sniff(stream: &TcpStream, activity: &Activity) -> Option<Proto> {
    let mut first = [0u8; 4];
    poll_fn(|cx| {
        if activity.order_for(cx) != Order::Run {
            return Poll::Ready(None);
        }
        let mut buf = ReadBuf::new(&mut first);
        match stream.poll_peek(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Ready(Ok(n)) => Poll::Ready(Some(from_prefix(&buf.filled()[..n]))),
        }
    })
    .await
}

/// The connection builders, configured once per listener from its [`Limits`].
pub(super) struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    either: auto::Builder<TokioExecutor>,
}

/// The same settings on hyper's builders and on the auto builder's (different types with the
/// same setter names), so the two HTTP/1 and the two HTTP/2 configurations cannot drift apart.
///
/// HTTP/1: no per-request header timer (the listener's sweep bounds heads and keep-alive
/// idling), heads up to `listen.max_header_size`, and vectored writes kept: flattening each reply
/// into one buffer saved ~360 instructions per small request but copies bodies into write
/// buffers, and raised peak RSS from 25 to 41 MB streaming 1 MiB replies over 16 connections
/// (measured; the upstream side, which sends small requests, does flatten).
macro_rules! http1_settings {
    ($b:expr, $max_buf:expr) => {
        $b.header_read_timeout(None)
            .writev(true)
            .max_buf_size($max_buf)
            .keep_alive(true)
    };
}

/// HTTP/2: streams per connection, header list size, and keep-alive pings every
/// `listen.idle_timeout` (the sweep closes a connection without streams that long).
macro_rules! http2_settings {
    ($b:expr, $limits:expr, $max_list:expr) => {
        $b.timer(TokioTimer::new())
            .max_header_list_size($max_list)
            .max_concurrent_streams($limits.max_concurrent_streams)
            .keep_alive_interval(Some($limits.idle_timeout))
            .keep_alive_timeout(Duration::from_secs(20))
    };
}

impl Builders {
    pub(super) fn new(limits: &Limits) -> Builders {
        let max_buf = limits.max_header_bytes.max(8192);
        let max_list = u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX);
        let mut http1 = http1::Builder::new();
        http1_settings!(http1, max_buf);
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2_settings!(http2, limits, max_list);
        let mut either = auto::Builder::new(TokioExecutor::new());
        http1_settings!(either.http1(), max_buf);
        http2_settings!(either.http2(), limits, max_list);
        Builders {
            http1,
            http2,
            either,
        }
    }

    /// Serves `io` as `proto` until it ends or the listener's sweep closes it; says why it
    /// ended.
    pub(super) async fn serve<I, S, B>(
        &self,
        io: I,
        proto: Proto,
        service: S,
        activity: &Activity,
    ) -> &'static str
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        S: ConnService<B>,
        B: ReplyBody,
    {
        let io = TokioIo::new(io);
        // Boxed: the connection task then holds only what its own protocol needs, which is
        // most of the memory an idle keep-alive connection costs (BENCHMARKS.md).
        match proto {
            Proto::Http1 => {
                let conn = Box::pin(self.http1.serve_connection(io, service));
                drive::drive(conn, activity).await
            }
            Proto::Http2 => {
                let conn = Box::pin(self.http2.serve_connection(io, service));
                drive::drive(conn, activity).await
            }
            Proto::Either => {
                let conn = Box::pin(self.either.serve_connection(io, service));
                drive::drive(conn, activity).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_tell_http2_prior_knowledge_from_http1() {
        assert_eq!(from_prefix(b"PRI "), Proto::Http2);
        assert_eq!(from_prefix(b"GET "), Proto::Http1);
        assert_eq!(from_prefix(b"POST"), Proto::Http1);
        assert_eq!(from_prefix(b"PROP"), Proto::Http1);
        assert_eq!(from_prefix(b"\x16\x03\x01\x02"), Proto::Http1);
        for ambiguous in [&b"P"[..], b"PR", b"PRI"] {
            assert_eq!(from_prefix(ambiguous), Proto::Either, "{ambiguous:?}");
        }
        assert_eq!(from_prefix(b"PO"), Proto::Http1);
    }

    #[test]
    fn alpn_decides_for_tls_and_its_absence_leaves_it_to_the_first_bytes() {
        assert_eq!(from_alpn(Some(b"h2")), Proto::Http2);
        assert_eq!(from_alpn(Some(b"http/1.1")), Proto::Http1);
        assert_eq!(from_alpn(Some(b"http/1.0")), Proto::Http1);
        assert_eq!(from_alpn(None), Proto::Either);
    }
}
