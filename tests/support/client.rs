//! A test client over one connection: HTTP/1.1 or HTTP/2 (prior knowledge on plain TCP, ALPN
//! on TLS), built from hyper's own connection API so nothing pools, retries or rewrites.

use super::bodies::TestBody;
use super::tls::{TestCa, MODERN};
use super::Reply;
use http::{Method, Request, Response, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Http1,
    Http2,
}

/// Any byte stream a test connection runs over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Connects to `addr`, over TLS when `tls` is given (trusting only that CA).
pub async fn connect_io(addr: SocketAddr, tls: Option<Arc<rustls::ClientConfig>>) -> Box<dyn Io> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    match tls {
        None => Box::new(tcp),
        Some(cfg) => {
            let name = ServerName::from(addr.ip());
            let stream = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await
                .expect("TLS handshake");
            Box::new(stream)
        }
    }
}

enum Sender {
    H1(http1::SendRequest<TestBody>),
    H2(http2::SendRequest<TestBody>),
}

/// One client connection.
pub struct Client {
    sender: Sender,
    addr: SocketAddr,
    tls: bool,
}

impl Client {
    /// Plain or TLS (`ca` given) connection speaking `proto`; on TLS the protocol is agreed by
    /// ALPN, and the test fails if the server picks another.
    pub async fn connect(addr: SocketAddr, proto: Proto, ca: Option<&TestCa>) -> Client {
        let tls = ca.map(|ca| {
            let alpn: &[u8] = match proto {
                Proto::Http1 => b"http/1.1",
                Proto::Http2 => b"h2",
            };
            ca.client_config(&[alpn], MODERN)
        });
        let io = connect_io(addr, tls.clone()).await;
        Self::handshake(io, addr, proto, tls.is_some()).await
    }

    /// Runs the HTTP handshake on an already connected stream.
    pub async fn handshake(io: Box<dyn Io>, addr: SocketAddr, proto: Proto, tls: bool) -> Client {
        let io = TokioIo::new(io);
        let sender = match proto {
            Proto::Http1 => {
                let (sender, conn) = http1::handshake(io).await.expect("h1 handshake");
                tokio::spawn(conn);
                Sender::H1(sender)
            }
            Proto::Http2 => {
                let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                    .await
                    .expect("h2 handshake");
                tokio::spawn(conn);
                Sender::H2(sender)
            }
        };
        Client { sender, addr, tls }
    }

    /// A request builder for `path_and_query`: origin-form with Host on HTTP/1.1, absolute
    /// (`:scheme`/`:authority`) on HTTP/2.
    pub fn request(&self, method: Method, path_and_query: &str) -> http::request::Builder {
        match self.sender {
            Sender::H1(_) => Request::builder()
                .method(method)
                .uri(path_and_query)
                .header("host", self.addr.to_string()),
            Sender::H2(_) => {
                let scheme = if self.tls { "https" } else { "http" };
                Request::builder()
                    .method(method)
                    .version(Version::HTTP_2)
                    .uri(format!("{scheme}://{}{path_and_query}", self.addr))
            }
        }
    }

    /// Sends and returns the reply head; the body stays a stream.
    pub async fn send_streaming(&mut self, req: Request<TestBody>) -> Response<Incoming> {
        match &mut self.sender {
            Sender::H1(s) => {
                s.ready().await.expect("h1 ready");
                s.send_request(req).await.expect("h1 send")
            }
            Sender::H2(s) => {
                s.ready().await.expect("h2 ready");
                s.send_request(req).await.expect("h2 send")
            }
        }
    }

    /// Sends and reads the whole reply.
    pub async fn send(&mut self, req: Request<TestBody>) -> Reply {
        let resp = self.send_streaming(req).await;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("reply body").to_bytes();
        Reply {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body,
        }
    }
}

/// Every value of header `name` in an echo, in the order the upstream received them.
pub fn echoed_header(echo: &Value, name: &str) -> Vec<String> {
    echo["headers"]
        .as_array()
        .expect("echo headers")
        .iter()
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap_or_default().to_owned())
        .collect()
}
