//! HTTP/1.1 written and read as raw bytes, for what a well-behaved client library will not send
//! (absolute-form targets, hop-by-hop headers, `Expect: 100-continue` waits, slow heads).

use super::client::Io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A reply read off the wire: the head as text and the de-chunked body.
#[derive(Debug)]
pub struct RawReply {
    pub head: String,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {:?}", self.head))
    }

    /// Value of header `name` (case-insensitive), first occurrence.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
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
pub async fn read_reply(io: &mut Box<dyn Io>) -> RawReply {
    let head = read_head(io).await;
    let mut reply = RawReply {
        head,
        body: Vec::new(),
    };
    if let Some(len) = reply.header("content-length") {
        let len: usize = len.parse().expect("content-length");
        reply.body = vec![0; len];
        io.read_exact(&mut reply.body).await.expect("read body");
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
            reply.body.extend_from_slice(&chunk[..size]);
        }
    }
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

/// Writes `request` and reads the reply.
pub async fn exchange(io: &mut Box<dyn Io>, request: &str) -> RawReply {
    io.write_all(request.as_bytes()).await.expect("write");
    io.flush().await.expect("flush");
    read_reply(io).await
}
