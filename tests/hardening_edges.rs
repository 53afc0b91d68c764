//! Issue 11, the edges of the request path, through the real binary with raw sockets: a broken
//! request body is the client's fault, an HTTP/1.1 request needs exactly one valid `Host`
//! (RFC 9112 §3.2), userinfo in an absolute-form target never travels upstream, and the
//! cluster's own certificate (self-signed, `CA:TRUE`, as Redis Software ships it) is trusted
//! through `upstream.ca_file` or `upstream.pin_sha256`, every refusal saying which key to set.

mod support;

use std::time::Duration;
use support::client::echoed_header;
use support::shim::{spawn_shim, spawn_shim_logging, toml_path, ShimProcess};
use support::tls::ClusterCert;
use support::upstream::{start_upstream, start_upstream_tls};
use support::wire;
use support::wire::{exchange, parse_replies, request, Framing, Wire};
use support::Reply;

/// The binary with `args`, logging at `debug` (so client faults are visible too).
async fn shim_binary(args: &[&str]) -> ShimProcess {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spawn_shim_logging(&args, "debug")
    })
    .await
    .expect("spawn shim")
}

/// Sends `bytes` on a new connection, expects exactly one reply and returns it.
async fn one_reply(shim: &ShimProcess, bytes: impl Into<Vec<u8>>) -> Reply {
    let (bytes, _) = exchange(shim.addr, &Wire::Bytes(bytes.into())).await;
    let mut replies = parse_replies(&bytes);
    assert_eq!(
        replies.len(),
        1,
        "{:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(800)])
    );
    replies.remove(0)
}

/// Asserts an RS-shaped 400 `invalid_request` whose text contains `words`.
fn assert_invalid_request(reply: &Reply, words: &str) {
    assert_eq!(reply.status, 400, "{}", reply.head());
    let body = reply.json();
    assert_eq!(body["error_code"], "invalid_request", "{body}");
    assert_eq!(body["message"], body["description"], "{body}");
    let text = body["message"].as_str().unwrap_or_default();
    assert!(text.contains(words), "{body}");
}

#[tokio::test]
async fn a_malformed_chunked_body_on_pass_through_is_400_blamed_on_the_client() {
    let upstream = start_upstream().await;
    let mut shim = shim_binary(&["--upstream", &upstream.url()]).await;
    let req = request("POST", "/v1/bdbs/1/anything", "").framing(Framing::Chunked);
    let reply = one_reply(&shim, req.then(b"5\r\nhello\r\nzz\r\nbroken\r\n")).await;
    assert_invalid_request(&reply, "chunk");

    // Blamed on the client: the access record says 400, the refusal is logged at DEBUG, and
    // nothing is logged as an upstream failure.
    let access = "path=/v1/bdbs/1/anything status=400";
    let logged = shim.wait_for_log(access, Duration::from_secs(10));
    let log = shim.stderr();
    assert!(logged.is_ok(), "no access record with {access}:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("DEBUG") && l.contains("request refused")),
        "{log}"
    );
    assert!(!log.contains("upstream failure"), "{log}");
    assert!(!log.contains("WARN"), "{log}");
}

#[tokio::test]
async fn http11_without_exactly_one_valid_host_is_400_and_reaches_nothing() {
    let upstream = start_upstream().await;
    let shim = shim_binary(&["--upstream", &upstream.url()]).await;
    let cases = [
        ("no Host", "GET /v1/bdbs HTTP/1.1\r\nConnection: close\r\n\r\n", "must carry a Host"),
        (
            "no Host, the old route",
            "POST /v1/modules/upgrade/bdb/1 HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
            "must carry a Host",
        ),
        (
            "no Host, absolute form",
            "GET http://c.example/v1/bdbs HTTP/1.1\r\nConnection: close\r\n\r\n",
            "must carry a Host",
        ),
        (
            "two Hosts",
            "GET /v1/bdbs HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n",
            "only one Host",
        ),
        (
            "userinfo in Host",
            "GET /v1/bdbs HTTP/1.1\r\nHost: admin:pw@c.example\r\nConnection: close\r\n\r\n",
            "without userinfo",
        ),
        (
            "a port that is not a number",
            "GET /v1/bdbs HTTP/1.1\r\nHost: c.example:https\r\nConnection: close\r\n\r\n",
            "host[:port]",
        ),
    ];
    for (name, bytes, words) in cases {
        let reply = one_reply(&shim, bytes).await;
        assert_eq!(reply.status, 400, "{name}: {}", reply.head());
        assert_invalid_request(&reply, words);
        assert!(
            reply.header("deprecation").is_none(),
            "{name}: {}",
            reply.head()
        );
    }
    assert_eq!(
        upstream.requests(),
        0,
        "a refused request reached the cluster"
    );

    // HTTP/1.0 may omit Host (RFC 9112 §3.2 binds HTTP/1.1), and an empty Host is valid.
    let reply = one_reply(&shim, "GET /v1/bdbs HTTP/1.0\r\n\r\n").await;
    assert_eq!(reply.status, 200, "{}", reply.head());
    let reply = one_reply(
        &shim,
        "GET /v1/bdbs HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.head());
}

#[tokio::test]
async fn userinfo_in_an_absolute_form_target_never_reaches_the_cluster() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("shim.toml");
    // preserve_host: the Host sent upstream is the one the client addressed, so both Host and
    // X-Forwarded-Host are built from the target.
    std::fs::write(
        &cfg,
        format!(
            "[upstream]\nurl = \"{}\"\n[forwarding]\npreserve_host = true\n",
            upstream.url()
        ),
    )
    .expect("write config");
    let cfg = cfg.display().to_string();
    let shim = shim_binary(&["--config", &cfg]).await;
    // HTTP/1.0 without Host: the authority comes from the target alone.
    let reply = one_reply(
        &shim,
        "GET http://admin:pw@c.example:9443/v1/bdbs?x=1 HTTP/1.0\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.head());
    let echo = reply.json();
    assert_eq!(echo["target"], "/v1/bdbs?x=1", "{echo}");
    assert_eq!(echoed_header(&echo, "x-forwarded-host"), ["c.example:9443"]);
    assert_eq!(echoed_header(&echo, "host"), ["c.example:9443"]);
    // HTTP/1.1 with Host: the target's userinfo goes nowhere either.
    let reply = one_reply(
        &shim,
        "GET http://admin:pw@c.example/v1/bdbs HTTP/1.1\r\nHost: c.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.head());
    for echo in [echo, reply.json()] {
        let text = echo["headers"].to_string();
        assert!(!text.contains("admin"), "userinfo went upstream: {text}");
        assert!(!text.contains("pw@"), "userinfo went upstream: {text}");
    }
}

/// The binary in front of a TLS upstream, configured by `upstream_toml` (the `[upstream]`
/// keys); the config file lives in `dir`.
async fn binary_with(dir: &std::path::Path, upstream_toml: &str) -> ShimProcess {
    let cfg = dir.join("shim.toml");
    std::fs::write(&cfg, format!("[upstream]\n{upstream_toml}")).expect("write config");
    let cfg = cfg.display().to_string();
    tokio::task::spawn_blocking(move || spawn_shim(&["--config", &cfg]))
        .await
        .expect("spawn shim")
}

async fn get_through_binary(shim: &ShimProcess) -> Reply {
    let mut io = support::client::connect_io(shim.addr, None).await;
    let request = format!(
        "GET /v1/bdbs HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        shim.addr
    );
    wire::exchange_on(&mut io, &request).await
}

/// The 502 a refused cluster certificate gets: RS-shaped, in words, naming `words`, never
/// rustls' debug dump.
fn assert_refused_in_words(reply: &Reply, words: &[&str]) {
    assert_eq!(reply.status, 502, "{}", reply.head());
    let body = reply.json();
    assert_eq!(body["error_code"], "upstream_unavailable", "{body}");
    assert_eq!(body["message"], body["description"], "{body}");
    let text = body["message"].as_str().unwrap_or_default();
    for w in words {
        assert!(text.contains(w), "{w:?} missing: {text}");
    }
    for dump in ["OtherError", "Other(", "CaUsedAsEndEntity", "UnknownIssuer"] {
        assert!(!text.contains(dump), "debug dump {dump:?}: {text}");
    }
}

const CLUSTER: &str = "cluster.example";

#[tokio::test]
async fn a_self_signed_ca_true_cluster_certificate_in_ca_file_is_trusted() {
    let cert = ClusterCert::new(CLUSTER);
    let upstream = start_upstream_tls(cert.server_config()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = binary_with(
        dir.path(),
        &format!(
            "url = \"{}\"\nca_file = {}\nserver_name = \"{CLUSTER}\"\n",
            upstream.url(),
            toml_path(&cert.pem_file)
        ),
    )
    .await;
    let reply = get_through_binary(&shim).await;
    assert_eq!(reply.status, 200, "{}", reply.head());
    assert_eq!(reply.json()["server"], upstream.name());

    // Without server_name the shim checks the URL's host, 127.0.0.1, which the certificate
    // does not name: refused, and the message says which key to set.
    let dir = tempfile::tempdir().expect("tempdir");
    let shim = binary_with(
        dir.path(),
        &format!(
            "url = \"{}\"\nca_file = {}\n",
            upstream.url(),
            toml_path(&cert.pem_file)
        ),
    )
    .await;
    let reply = get_through_binary(&shim).await;
    assert_refused_in_words(&reply, &["upstream.server_name", CLUSTER]);
    assert_eq!(upstream.requests(), 1, "only the trusted request arrived");
}

#[tokio::test]
async fn a_cluster_certificate_pinned_by_sha256_is_trusted_in_hex_or_base64() {
    let cert = ClusterCert::new(CLUSTER);
    let upstream = start_upstream_tls(cert.server_config()).await;
    for pin in [cert.sha256_hex(), cert.sha256_base64()] {
        let dir = tempfile::tempdir().expect("tempdir");
        let shim = binary_with(
            dir.path(),
            &format!(
                "url = \"{}\"\npin_sha256 = [\"{pin}\"]\nserver_name = \"{CLUSTER}\"\n",
                upstream.url()
            ),
        )
        .await;
        let reply = get_through_binary(&shim).await;
        assert_eq!(reply.status, 200, "{pin}: {}", reply.head());
    }
}

#[tokio::test]
async fn a_wrong_pin_or_an_untrusted_cluster_certificate_is_refused_with_the_fix() {
    let cert = ClusterCert::new(CLUSTER);
    let other = ClusterCert::new(CLUSTER);
    let upstream = start_upstream_tls(cert.server_config()).await;
    let fingerprint = cert.sha256_hex();
    let cases = [
        // A pin of another certificate: the message gives the presented one's fingerprint.
        (
            format!("pin_sha256 = [\"{}\"]\n", other.sha256_hex()),
            vec!["upstream.pin_sha256", fingerprint.as_str()],
        ),
        // The case: default trust, a CA:TRUE self-signed certificate.
        (
            String::new(),
            vec![
                "upstream.ca_file",
                "upstream.pin_sha256",
                fingerprint.as_str(),
            ],
        ),
        // Another cluster's certificate in ca_file.
        (
            format!("ca_file = {}\n", toml_path(&other.pem_file)),
            vec![
                "upstream.ca_file",
                "upstream.pin_sha256",
                fingerprint.as_str(),
            ],
        ),
    ];
    for (keys, words) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "url = \"{}\"\nserver_name = \"{CLUSTER}\"\n{keys}",
            upstream.url()
        );
        let shim = binary_with(dir.path(), &toml).await;
        let reply = get_through_binary(&shim).await;
        eprintln!("{toml}-> {}", String::from_utf8_lossy(&reply.body));
        assert_refused_in_words(&reply, &words);
    }
    assert_eq!(
        upstream.requests(),
        0,
        "a request crossed an untrusted session"
    );
}

#[tokio::test]
async fn an_expired_pinned_cluster_certificate_is_refused_with_the_fix() {
    let now = std::time::SystemTime::now();
    let year = Duration::from_secs(365 * 86_400);
    let cert = ClusterCert::valid(CLUSTER, now - 2 * year, now - year);
    let upstream = start_upstream_tls(cert.server_config()).await;
    for keys in [
        format!("pin_sha256 = [\"{}\"]\n", cert.sha256_hex()),
        format!("ca_file = {}\n", toml_path(&cert.pem_file)),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "url = \"{}\"\nserver_name = \"{CLUSTER}\"\n{keys}",
            upstream.url()
        );
        let shim = binary_with(dir.path(), &toml).await;
        let reply = get_through_binary(&shim).await;
        eprintln!("{toml}-> {}", String::from_utf8_lossy(&reply.body));
        assert_refused_in_words(&reply, &["expired", "renew", "upstream."]);
    }
    assert_eq!(upstream.requests(), 0);
}
