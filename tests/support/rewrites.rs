//! The rewrite rules' deprecated calls as an old client sends them (API-RULES §2, §3): R1's
//! `POST /v1/users/authorize` with the credentials in the body, and R3's
//! `PUT /v1/cluster/update_cert` as the demo admin. The body is sent as its text, as given.
//! Also the member names of the debuginfo rules' (R7–R10) `.tar.gz` packages.
#![allow(dead_code)]

use super::legacy::admin;
use super::{send, Reply};
use http::Method;
use std::fmt::Display;
use std::net::SocketAddr;

/// R1: `POST /v1/users/authorize` with `body` (JSON credentials) and no `Authorization`.
pub async fn authorize(addr: SocketAddr, body: impl Display) -> Reply {
    send(
        addr,
        Method::POST,
        "/v1/users/authorize",
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await
}

/// R3: `PUT /v1/cluster/update_cert` with `body` (one certificate), as the demo admin.
pub async fn update_cert(addr: SocketAddr, body: impl Display) -> Reply {
    let auth = admin();
    send(
        addr,
        Method::PUT,
        "/v1/cluster/update_cert",
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await
}

/// The tar member names of a gzip package, in order.
pub fn tar_names(gz: &[u8]) -> Vec<String> {
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut raw).expect("gzip");
    let mut names = Vec::new();
    let mut at = 0;
    while at + 512 <= raw.len() && raw[at] != 0 {
        let field = &raw[at..at + 100];
        let end = field.iter().position(|&b| b == 0).unwrap_or(100);
        names.push(String::from_utf8_lossy(&field[..end]).into_owned());
        let size = String::from_utf8_lossy(&raw[at + 124..at + 135]).into_owned();
        let size = u64::from_str_radix(size.trim_matches(char::from(0)).trim(), 8).expect("size");
        at += 512 + usize::try_from(size.div_ceil(512) * 512).expect("size");
    }
    names
}
