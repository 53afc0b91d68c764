//! Request and reply bodies for tests: a deterministic pattern generated on the fly (so 256 MiB
//! never sits in memory), a body fed from a channel (chunked uploads, frame-by-frame gating),
//! and a streaming SHA-256 to check what arrived.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The one body type the test clients and the test upstream send.
pub type TestBody = BoxBody<Bytes, BoxError>;

pub fn full(bytes: impl Into<Bytes>) -> TestBody {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

pub fn empty() -> TestBody {
    Empty::<Bytes>::new().map_err(|e| match e {}).boxed()
}

/// Size of one generated frame.
pub const CHUNK: usize = 64 * 1024;

/// 64 KiB of xorshift noise, made once per process.
fn noise() -> &'static [u8] {
    static NOISE: OnceLock<Vec<u8>> = OnceLock::new();
    NOISE.get_or_init(|| {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut out = Vec::with_capacity(CHUNK);
        while out.len() < CHUNK {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    })
}

/// Frame `index` of the pattern: the noise with the frame number stamped in front, so a lost,
/// repeated or reordered frame changes the checksum.
fn pattern_chunk(index: u64, len: usize) -> Bytes {
    let mut chunk = noise()[..len].to_vec();
    let stamp = index.to_le_bytes();
    let n = stamp.len().min(len);
    chunk[..n].copy_from_slice(&stamp[..n]);
    Bytes::from(chunk)
}

/// `len` bytes of the pattern, produced frame by frame as hyper asks for them.
pub struct PatternBody {
    remaining: u64,
    index: u64,
    exact_length: bool,
}

impl PatternBody {
    /// `exact_length`: announce the size (Content-Length) or not (chunked on HTTP/1.1).
    pub fn new(len: u64, exact_length: bool) -> Self {
        PatternBody {
            remaining: len,
            index: 0,
            exact_length,
        }
    }

    pub fn boxed(self) -> TestBody {
        BodyExt::map_err(self, |e: Infallible| match e {}).boxed()
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let len = (CHUNK as u64).min(self.remaining) as usize;
        let chunk = pattern_chunk(self.index, len);
        self.index += 1;
        self.remaining -= len as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact_length {
            SizeHint::with_exact(self.remaining)
        } else {
            SizeHint::default()
        }
    }
}

/// Length and SHA-256 (hex) of `len` bytes of the pattern, computed without holding them.
pub fn pattern_digest(len: u64) -> (u64, String) {
    let mut digest = Digest::new();
    let mut index = 0;
    let mut remaining = len;
    while remaining > 0 {
        let n = (CHUNK as u64).min(remaining) as usize;
        digest.update(&pattern_chunk(index, n));
        index += 1;
        remaining -= n as u64;
    }
    digest.finish()
}

/// A streaming length + SHA-256.
pub struct Digest {
    ctx: ring::digest::Context,
    len: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Self::new()
    }
}

impl Digest {
    pub fn new() -> Self {
        Digest {
            ctx: ring::digest::Context::new(&ring::digest::SHA256),
            len: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
        self.len += data.len() as u64;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// (length, lowercase hex SHA-256)
    pub fn finish(self) -> (u64, String) {
        let hex = self
            .ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (self.len, hex)
    }
}

/// A body whose frames the test sends one at a time; no size is announced, so HTTP/1.1 uses
/// chunked transfer coding. Dropping the sender ends the body.
pub fn channel_body() -> (mpsc::Sender<Bytes>, TestBody) {
    let (tx, rx) = mpsc::channel(4);
    let body = ChannelBody { rx };
    (
        tx,
        BodyExt::map_err(body, |e: Infallible| match e {}).boxed(),
    )
}

struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}
