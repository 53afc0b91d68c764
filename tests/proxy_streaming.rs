//! Bodies stream through the shim: a 256 MiB upload and a 256 MiB download, over HTTP/1.1 and
//! again over HTTP/2, pass through the real binary (a subprocess, so its memory is its own)
//! while its peak resident set stays under 64 MiB. Bodies are generated and hashed on the fly;
//! nothing here holds them whole either. Run with `--nocapture` to see the figures.

mod support;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use support::bodies::{pattern_digest, Digest, PatternBody};
use support::client::{Client, Proto};
use support::shim::{spawn_shim, ShimProcess};
use support::upstream::start_upstream;

const SIZE: u64 = 256 * 1024 * 1024;
const RSS_LIMIT_KIB: u64 = 64 * 1024;
/// Generous for a debug build on two shared cores; a stalled transfer fails instead of hanging.
const TRANSFER_DEADLINE: Duration = Duration::from_secs(300);

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
}

fn report(shim: &ShimProcess, what: &str, took: Duration) -> u64 {
    let peak = shim.peak_rss_kib();
    eprintln!(
        "{what}: {} MiB in {:.1} s ({:.0} MiB/s); shim peak RSS (VmHWM) so far {:.1} MiB",
        SIZE / (1024 * 1024),
        took.as_secs_f64(),
        mib_per_s(SIZE, took),
        peak as f64 / 1024.0
    );
    peak
}

/// PUTs `SIZE` bytes of the pattern (chunked on HTTP/1.1: no length announced); the upstream
/// hashes them as they arrive and echoes length and digest.
async fn upload(client: &mut Client, expected_sha: &str) {
    let req = client
        .request(Method::PUT, "/v1/upload")
        .body(PatternBody::new(SIZE, false).boxed())
        .expect("request");
    let answer = tokio::time::timeout(TRANSFER_DEADLINE, client.send(req))
        .await
        .expect("upload stalled");
    assert_eq!(answer.status, StatusCode::OK);
    let echo = answer.json();
    assert_eq!(echo["body_len"], SIZE);
    assert_eq!(echo["body_sha256"], expected_sha);
}

/// GETs `SIZE` bytes of the pattern and hashes them here as they arrive.
async fn download(client: &mut Client, expected_sha: &str) {
    let req = client
        .request(Method::GET, &format!("/download/{SIZE}"))
        .body(support::bodies::empty())
        .expect("request");
    let resp = client.send_streaming(req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(SIZE.to_string().as_str())
    );
    let mut body = resp.into_body();
    let mut digest = Digest::new();
    tokio::time::timeout(TRANSFER_DEADLINE, async {
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame.expect("download frame").data_ref() {
                digest.update(data);
            }
        }
    })
    .await
    .expect("download stalled");
    let (len, sha) = digest.finish();
    assert_eq!(len, SIZE);
    assert_eq!(sha, expected_sha);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarter_gib_up_and_down_through_the_binary_in_bounded_memory() {
    let upstream = start_upstream().await;
    let shim = spawn_shim(&["--upstream", &upstream.url()]);
    eprintln!(
        "shim started: peak RSS {:.1} MiB",
        shim.peak_rss_kib() as f64 / 1024.0
    );
    let (_, expected_sha) = pattern_digest(SIZE);
    let mut peak = 0;
    for proto in [Proto::Http1, Proto::Http2] {
        let mut client = Client::connect(shim.addr, proto, None).await;
        let started = Instant::now();
        upload(&mut client, &expected_sha).await;
        peak = peak.max(report(
            &shim,
            &format!("{proto:?} upload"),
            started.elapsed(),
        ));
        let started = Instant::now();
        download(&mut client, &expected_sha).await;
        peak = peak.max(report(
            &shim,
            &format!("{proto:?} download"),
            started.elapsed(),
        ));
    }
    assert!(
        peak < RSS_LIMIT_KIB,
        "shim peak RSS {peak} KiB is over {RSS_LIMIT_KIB} KiB"
    );
}
