//! HTTP/1.1 requests built byte by byte for the hostile-input tests — whatever framing, header
//! or target a well-behaved client would refuse to send — written at once, trickled, or
//! stalled half-way, and the replies split back out of what the server sent before closing.
//! Requests carry the admin's credentials and `Connection: close` unless changed. Also the
//! one place a reply is read off the wire by hand ([`read_reply`], [`exchange_on`],
//! [`read_until_closed`]), for what a
//! well-behaved client library will not send (absolute-form targets, hop-by-hop headers,
//! `Expect: 100-continue` waits, slow heads). Replies are [`Reply`]s like everywhere else.

use super::client::Io;
use super::legacy::admin;
use super::Reply;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a request body is framed on the wire.
#[derive(Clone, Copy, PartialEq)]
pub enum Framing {
    Length,
    Chunked,
    /// Neither `Content-Length` nor `Transfer-Encoding`.
    Bare,
}

/// A request written by hand: admin credentials, `Connection: close`, JSON content type unless
/// changed.
#[derive(Clone)]
pub struct Req {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub framing: Framing,
}

pub fn request(method: &str, target: &str, body: impl Into<Vec<u8>>) -> Req {
    Req {
        method: method.into(),
        target: target.into(),
        headers: vec![
            ("Host".into(), "shim.example:9443".into()),
            ("Authorization".into(), admin()),
            ("Content-Type".into(), "application/json".into()),
            ("Connection".into(), "close".into()),
        ],
        body: body.into(),
        framing: Framing::Length,
    }
}

impl Req {
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn content_type(mut self, value: &str) -> Req {
        self.headers.retain(|(k, _)| k != "Content-Type");
        if !value.is_empty() {
            self.headers.push(("Content-Type".into(), value.into()));
        }
        self
    }

    pub fn framing(mut self, framing: Framing) -> Req {
        self.framing = framing;
        self
    }

    /// The request line and headers, with the framing header, up to the blank line.
    pub fn head(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match self.framing {
            Framing::Length => head.push_str(&format!("Content-Length: {}\r\n", self.body.len())),
            Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
            Framing::Bare => {}
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// The head followed by `body_bytes` verbatim, whatever the head announced.
    pub fn then(&self, body_bytes: &[u8]) -> Vec<u8> {
        [self.head(), body_bytes.to_vec()].concat()
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.head();
        match self.framing {
            Framing::Chunked => {
                for chunk in self.body.chunks(64 * 1024) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            _ => out.extend_from_slice(&self.body),
        }
        out
    }
}

/// What goes on the wire, and how.
pub enum Wire {
    /// All at once.
    Bytes(Vec<u8>),
    /// In `pieces` roughly equal writes, `pause` apart.
    Trickle(Vec<u8>, usize, Duration),
    /// Written, then the connection is held open without another byte.
    Stall(Vec<u8>),
}

impl From<Req> for Wire {
    fn from(r: Req) -> Wire {
        Wire::Bytes(r.bytes())
    }
}

/// Sends `wire` on a fresh connection and reads until the server closes it (at most 15 s);
/// returns what came back and how long it took.
pub async fn exchange(addr: std::net::SocketAddr, wire: &Wire) -> (Vec<u8>, Duration) {
    let stream = TcpStream::connect(addr).await.expect("connect shim");
    let (mut reader, mut writer) = stream.into_split();
    let (bytes, pieces, pause, hold) = match wire {
        Wire::Bytes(b) => (b.clone(), 1, Duration::ZERO, false),
        Wire::Trickle(b, n, p) => (b.clone(), *n, *p, false),
        Wire::Stall(b) => (b.clone(), 1, Duration::ZERO, true),
    };
    let started = Instant::now();
    let write = tokio::spawn(async move {
        let size = bytes.len().div_ceil(pieces).max(1);
        for (i, piece) in bytes.chunks(size).enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            // The shim may answer and close before everything is written: that is its right.
            if writer.write_all(piece).await.is_err() {
                return;
            }
        }
        // Never half-close: hyper (half_close off) takes a FIN after the request for a client
        // gone away and may drop the connection before replying.
        let _ = hold;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(writer);
    });
    let read = read_until_closed(&mut reader, Duration::from_secs(15)).await;
    write.abort();
    let got = read.expect("the shim kept the connection open for 15 s");
    (got, started.elapsed())
}

/// Reads until the peer closes the connection (or it fails); `None` if it is still open after
/// `wait`.
pub async fn read_until_closed<R>(io: &mut R, wait: Duration) -> Option<Vec<u8>>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
{
    let mut got = Vec::new();
    let closed = tokio::time::timeout(wait, async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    closed.ok().map(|_| got)
}

/// Splits what came back into replies (Content-Length or chunked bodies).
pub fn parse_replies(mut bytes: &[u8]) -> Vec<Reply> {
    let mut replies = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let mut reply = reply_head(&String::from_utf8_lossy(&bytes[..end + 4]));
        bytes = &bytes[end + 4..];
        let mut body = Vec::new();
        if let Some(len) = reply.header("content-length") {
            let len = len
                .parse::<usize>()
                .expect("content-length")
                .min(bytes.len());
            body = bytes[..len].to_vec();
            bytes = &bytes[len..];
        } else if reply.header("transfer-encoding").is_some() {
            while let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(&String::from_utf8_lossy(&bytes[..eol]), 16)
                    .expect("chunk size");
                bytes = &bytes[eol + 2..];
                let take = size.min(bytes.len());
                body.extend_from_slice(&bytes[..take]);
                bytes = &bytes[(take + 2).min(bytes.len())..];
                if size == 0 {
                    break;
                }
            }
        }
        reply.body = body.into();
        replies.push(reply);
    }
    replies
}

/// A [`Reply`] with the status and headers of a head read off the wire, and no body yet.
pub fn reply_head(head: &str) -> Reply {
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = match parts.next() {
        Some("HTTP/1.0") => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.trim().as_bytes()),
            HeaderValue::from_str(v.trim()),
        ) {
            headers.append(k, v);
        }
    }
    Reply {
        status,
        version,
        headers,
        body: Default::default(),
    }
}

/// Reads up to and including the blank line ending a head.
pub async fn read_head(io: &mut Box<dyn Io>) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = io.read(&mut byte).await.expect("read head");
        assert!(
            n > 0,
            "connection closed inside a head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("head is text")
}

/// Reads one whole reply (Content-Length or chunked), skipping nothing.
pub async fn read_reply(io: &mut Box<dyn Io>) -> Reply {
    let mut reply = reply_head(&read_head(io).await);
    let mut body = Vec::new();
    if let Some(len) = reply.header("content-length") {
        let len: usize = len.parse().expect("content-length");
        body = vec![0; len];
        io.read_exact(&mut body).await.expect("read body");
    } else if reply
        .header("transfer-encoding")
        .is_some_and(|te| te.contains("chunked"))
    {
        loop {
            let size_line = read_line(io).await;
            let size = usize::from_str_radix(size_line.trim(), 16).expect("chunk size");
            let mut chunk = vec![0; size + 2];
            io.read_exact(&mut chunk).await.expect("chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    reply.body = body.into();
    reply
}

async fn read_line(io: &mut Box<dyn Io>) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        io.read_exact(&mut byte).await.expect("read line");
        line.push(byte[0]);
    }
    String::from_utf8(line).expect("line is text")
}

/// Writes `request` on an open connection and reads the reply.
pub async fn exchange_on(io: &mut Box<dyn Io>, request: &str) -> Reply {
    io.write_all(request.as_bytes()).await.expect("write");
    io.flush().await.expect("flush");
    read_reply(io).await
}
