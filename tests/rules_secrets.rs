//! API-RULES §1.3 through the binary at `RUST_LOG=trace`: the secrets the rewrite rules carry
//! (R1's password and `access_token`, R3's private key, R7's package bytes) appear in no log
//! line, audit record or metric. Also: the shim's memory stays far below a large package it
//! streams (R7).

mod support;

use deprecation_shim::sim::{FaultSet, SimVersion, DEMO_ADMIN};
use serde_json::json;
use std::time::Duration;
use support::harness::Sim;
use support::rewrites::{authorize, update_cert};
use support::shim::{free_port, spawn_shim_logging};
use support::{basic, get};

const KEY_MARK: &str = "PRIVATEKEYSECRETMATERIAL";
/// Large enough that buffering it would show in the shim's peak RSS.
const PACKAGE: u64 = 48 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_private_key_or_package_byte_reaches_logs_audit_or_metrics() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim_addr = sim.addr;
    sim.faults().set(FaultSet {
        debuginfo_bytes: PACKAGE,
        ..FaultSet::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let cfg = dir.path().join("shim.toml");
    let admin_addr = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        &cfg,
        format!(
            "[upstream]\nurl = \"http://{sim_addr}\"\n[audit]\npath = {:?}\n\
             [admin]\nlisten = \"{admin_addr}\"\n",
            audit.display().to_string()
        ),
    )
    .expect("config");
    let proc = spawn_shim_logging(&["--config", cfg.to_str().expect("utf8")], "trace");
    let auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);

    // R1: body credentials, then the token.
    let creds = json!({"username": DEMO_ADMIN.0, "password": DEMO_ADMIN.1, "ttl": 60});
    let reply = authorize(proc.addr, &creds).await;
    assert_eq!(reply.status, 200);
    let token = reply.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let jwt = format!("JWT {token}");
    assert_eq!(get(proc.addr, "/v1/bdbs", &jwt).await.status, 200);

    // R3: a private key.
    let key = format!("-----BEGIN PRIVATE KEY-----\n{KEY_MARK}\n-----END PRIVATE KEY-----\n");
    let cert = json!({"name": "proxy", "certificate":
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "key": key});
    let reply = update_cert(proc.addr, &cert).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        sim.requests().last().expect("sent").path,
        "/v1/cluster/certificates"
    );

    // R7: a large package, streamed: the peak grows by far less than the package (the base
    // is the binary's own, larger for a debug build and with the allocator's arenas).
    let rss_before = proc.peak_rss_kib();
    let package = get(proc.addr, "/v1/debuginfo/all", &auth).await;
    assert_eq!(package.status, 200);
    assert!(package.body.len() as u64 > PACKAGE);
    let window = &package.body[package.body.len() / 2..package.body.len() / 2 + 24];
    let rss_kib = proc.peak_rss_kib();
    let grown_kib = rss_kib.saturating_sub(rss_before);
    eprintln!("shim peak RSS {rss_before} -> {rss_kib} KiB streaming {PACKAGE} bytes");
    assert!(
        grown_kib < PACKAGE / 1024 / 4,
        "peak RSS grew by {grown_kib} KiB for a {PACKAGE}-byte package"
    );

    let metrics = get(admin_addr.parse().expect("addr"), "/metrics", "").await;
    let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
    let audit_text = std::fs::read_to_string(&audit).expect("audit");
    assert!(audit_text.contains("\"rule\":\"authorize\""));
    assert!(audit_text.contains("\"rule\":\"debuginfo_all\""));
    let stderr = proc.stderr();
    assert!(stderr.contains("TRACE"), "trace logging is on");
    let auth_b64 = auth.trim_start_matches("Basic ").to_owned();
    let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
    let secrets = [
        DEMO_ADMIN.1.to_owned(),
        auth_b64,
        token.clone(),
        KEY_MARK.to_owned(),
        hex,
        format!("{window:?}").trim_matches(['[', ']']).to_owned(),
        String::from_utf8_lossy(window).into_owned(),
    ];
    for (place, text) in [
        ("stderr", &stderr),
        ("audit", &audit_text),
        ("metrics", &metrics),
    ] {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{place} holds a secret ({} chars)",
                secret.len()
            );
        }
    }
    proc.terminate();
}
