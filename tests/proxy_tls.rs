//! TLS on both sides. Upstream: a test CA made here signs the test upstream's certificate; the
//! shim trusts it only through `upstream.ca_file` or the insecure switch. Downstream: the shim
//! serves its own certificate, negotiates HTTP/2 by ALPN, speaks TLS 1.2 and 1.3, and refuses
//! TLS 1.1 (proved with a hand-built ClientHello, since rustls cannot speak 1.1), and serves a
//! client offering only ALPN http/1.0. The cluster's own self-signed certificate: see
//! `tests/hardening_edges.rs`.

mod support;

use http::{Method, StatusCode, Version};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::bodies;
use support::client::{Client, Proto};
use support::harness::Shim;
use support::shim::{spawn_shim, toml_path};
use support::tls::{TestCa, MODERN};
use support::upstream::{start_upstream, start_upstream_tls};
use support::wire;
use support::Reply;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn get_through(shim: &Shim, path: &str) -> Reply {
    let mut io = support::client::connect_io(shim.addr, None).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", shim.addr);
    wire::exchange_on(&mut io, &request).await
}

#[tokio::test]
async fn upstream_signed_by_the_configured_ca_is_trusted() {
    let ca = TestCa::new();
    let upstream = start_upstream_tls(ca.server_config()).await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\nca_file = {}\n",
        upstream.url(),
        toml_path(&ca.ca_file)
    ))
    .await;
    let reply = get_through(&shim, "/v1/bdbs").await;
    assert_eq!(reply.status, 200, "{}", reply.head());
    assert_eq!(reply.json()["server"], upstream.name());
}

#[tokio::test]
async fn untrusted_upstream_certificate_is_502_upstream_unavailable() {
    let ca = TestCa::new();
    let upstream = start_upstream_tls(ca.server_config()).await;
    // Default trust: the system store (or Mozilla's roots), which never heard of this CA.
    let shim = Shim::from_toml(&format!("[upstream]\nurl = \"{}\"\n", upstream.url())).await;
    let reply = get_through(&shim, "/v1/bdbs").await;
    assert_eq!(reply.status, 502, "{}", reply.head());
    let body = reply.json();
    assert_eq!(body["error_code"], "upstream_unavailable", "{body}");
    assert_eq!(body["message"], body["description"], "{body}");
    assert_eq!(
        upstream.requests(),
        0,
        "a request crossed an unverified TLS session"
    );
}

#[tokio::test]
async fn insecure_switch_accepts_an_untrusted_upstream() {
    let ca = TestCa::new();
    let upstream = start_upstream_tls(ca.server_config()).await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\ninsecure = true\n",
        upstream.url()
    ))
    .await;
    let reply = get_through(&shim, "/v1/bdbs").await;
    assert_eq!(reply.status, 200, "{}", reply.head());
    assert_eq!(reply.json()["server"], upstream.name());
}

/// A shim serving TLS with a certificate from `ca`, in front of a plain test upstream.
async fn tls_shim(ca: &TestCa, upstream_url: &str) -> Shim {
    Shim::from_toml(&format!(
        "[upstream]\nurl = \"{upstream_url}\"\n[listen]\ntls_cert = {}\ntls_key = {}\n",
        toml_path(&ca.cert_file),
        toml_path(&ca.key_file)
    ))
    .await
}

/// Connects with `config`, returns the negotiated protocol version and ALPN, and a client on
/// the connection speaking what ALPN chose.
async fn handshake(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> (rustls::ProtocolVersion, Option<Vec<u8>>, Client) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(rustls::pki_types::ServerName::from(addr.ip()), tcp)
        .await
        .expect("TLS handshake");
    let (_, session) = stream.get_ref();
    let version = session.protocol_version().expect("version");
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let proto = if alpn.as_deref() == Some(b"h2") {
        Proto::Http2
    } else {
        Proto::Http1
    };
    let client = Client::handshake(Box::new(stream), addr, proto, true).await;
    (version, alpn, client)
}

#[tokio::test]
async fn downstream_http2_is_chosen_by_alpn() {
    let ca = TestCa::new();
    let upstream = start_upstream().await;
    let shim = tls_shim(&ca, &upstream.url()).await;
    for (offered, expected) in [
        (&[&b"h2"[..], b"http/1.1"][..], Version::HTTP_2),
        (&[&b"http/1.1"[..]][..], Version::HTTP_11),
    ] {
        let (_, alpn, mut client) = handshake(shim.addr, ca.client_config(offered, MODERN)).await;
        assert_eq!(alpn.as_deref(), Some(offered[0]));
        let req = client
            .request(Method::GET, "/v1/bdbs")
            .body(bodies::empty())
            .expect("request");
        let answer = client.send(req).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.version, expected);
        let echo = answer.json();
        assert_eq!(echo["server"], upstream.name());
        assert_eq!(
            support::client::echoed_header(&echo, "x-forwarded-proto"),
            ["https"]
        );
    }
}

#[tokio::test]
async fn downstream_client_limited_to_tls12_is_served() {
    let ca = TestCa::new();
    let upstream = start_upstream().await;
    let shim = tls_shim(&ca, &upstream.url()).await;
    let config = ca.client_config(&[b"http/1.1"], &[&rustls::version::TLS12]);
    let (version, _, mut client) = handshake(shim.addr, config).await;
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_2);
    let req = client
        .request(Method::GET, "/v1/bdbs")
        .body(bodies::empty())
        .expect("request");
    assert_eq!(client.send(req).await.status, StatusCode::OK);

    let (version, _, _) = handshake(shim.addr, ca.client_config(&[b"h2"], MODERN)).await;
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_3);
}

/// A ClientHello offering at most `version` (0x0302 = TLS 1.1, 0x0303 = TLS 1.2) and no
/// `supported_versions` extension, so that is the highest version the client can speak.
/// Suites, groups and signature schemes are ones the shim supports with an ECDSA P-256
/// certificate, so the version is the only thing that can make it refuse.
fn client_hello(version: u16) -> Vec<u8> {
    let mut hello = Vec::new();
    hello.extend(version.to_be_bytes());
    hello.extend([0x42; 32]); // random
    hello.push(0); // no session id
    let suites: [u16; 6] = [0xc02b, 0xc02f, 0xc009, 0xc013, 0x002f, 0x0035];
    hello.extend(((suites.len() * 2) as u16).to_be_bytes());
    suites.iter().for_each(|s| hello.extend(s.to_be_bytes()));
    hello.extend([1, 0]); // compression: null only
    let extensions: &[u8] = &[
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // groups: x25519, P-256
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // EC point formats: uncompressed
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, // sig algs
    ];
    hello.extend((extensions.len() as u16).to_be_bytes());
    hello.extend(extensions);
    let mut handshake = vec![0x01]; // ClientHello
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16]; // handshake record
    record.extend(version.to_be_bytes());
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// Sends a raw ClientHello; returns the first record's header (5 bytes) and first two payload
/// bytes (handshake type, or alert level + description), or `None` if the server just closed.
async fn first_record(addr: SocketAddr, hello: &[u8]) -> Option<[u8; 7]> {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(hello).await.expect("write hello");
    let mut head = [0u8; 7];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_exact(&mut head))
        .await
        .expect("server neither answered nor closed");
    read.ok().map(|_| head)
}

#[tokio::test]
async fn downstream_tls11_client_hello_is_refused() {
    let ca = TestCa::new();
    let upstream = start_upstream().await;
    let shim = tls_shim(&ca, &upstream.url()).await;

    // Control: the same hello at TLS 1.2 gets a ServerHello, so the bytes are well formed.
    let answer = first_record(shim.addr, &client_hello(0x0303)).await;
    let answer = answer.expect("TLS 1.2 hello: connection closed");
    assert_eq!(answer[0], 0x16, "TLS 1.2 hello: not a handshake record");
    assert_eq!(answer[5], 0x02, "TLS 1.2 hello: not a ServerHello");

    // Refused: a fatal protocol_version alert (RFC 5246 §7.2.2), or at least a close; never
    // a ServerHello.
    let refused = first_record(shim.addr, &client_hello(0x0302)).await;
    eprintln!("TLS 1.1 hello answered with: {refused:02x?}");
    if let Some(record) = refused {
        assert_eq!(
            record[0], 0x15,
            "TLS 1.1 hello answered with {record:02x?}, not an alert"
        );
        assert_eq!(record[5], 2, "alert is not fatal: {record:02x?}");
        assert_eq!(
            record[6], 70,
            "alert is not protocol_version: {record:02x?}"
        );
    }
    assert_eq!(upstream.requests(), 0);
}

#[test]
fn insecure_upstream_flag_logs_a_warning_at_start() {
    let mut shim = spawn_shim(&["--upstream", "https://127.0.0.1:9", "--upstream-insecure"]);
    let log = shim.stderr();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("insecure"))
        .unwrap_or_else(|| panic!("no WARN line mentioning insecure:\n{log}"));
    assert!(warning.contains("https://127.0.0.1:9"), "{warning}");
    shim.terminate();
    assert!(shim.wait_exit(Duration::from_secs(10)).success());
}

#[tokio::test]
async fn a_tls_client_offering_only_http10_by_alpn_is_served() {
    let ca = TestCa::new();
    let upstream = start_upstream().await;
    let shim = tokio::task::spawn_blocking({
        let (url, cert, key) = (
            upstream.url(),
            ca.cert_file.display().to_string(),
            ca.key_file.display().to_string(),
        );
        move || spawn_shim(&["--upstream", &url, "--tls-cert", &cert, "--tls-key", &key])
    })
    .await
    .expect("spawn shim");
    // What `curl -0 -k` offers: ALPN http/1.0 only.
    let tcp = TcpStream::connect(shim.addr).await.expect("connect");
    let mut tls = tokio_rustls::TlsConnector::from(ca.client_config(&[b"http/1.0"], MODERN))
        .connect(rustls::pki_types::ServerName::from(shim.addr.ip()), tcp)
        .await
        .expect("TLS handshake with ALPN http/1.0 only");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.0"[..]));
    tls.write_all(b"GET /v1/bdbs HTTP/1.0\r\nHost: shim.example\r\n\r\n")
        .await
        .expect("write");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut reply)).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    assert!(reply.contains(upstream.name()), "{reply}");
}
