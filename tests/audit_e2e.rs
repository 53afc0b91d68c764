//! The audit trail end to end, through the real binary: exactly one record per deprecated call
//! whatever its outcome, none for pass-through, each on disk before the reply arrives, and no
//! credential anywhere — audit file, process logs, metrics, error bodies.

mod support;

use deprecation_shim::sim::seed::{REJSON_2_4_7, REJSON_2_6_17, UNKNOWN_MODULE_UID};
use deprecation_shim::sim::{SimVersion, DEMO_ADMIN, DEMO_VIEWER};
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::harness::{admin_bearer, admin_token_line, Sim};
use support::shim::{free_port, spawn_shim};
use support::{basic, get, send, Reply};

/// (path, auth, body, expected status, expected error_code)
type Case<'a> = (&'a str, &'a str, Vec<u8>, u16, Option<&'a str>);

const WRONG_PASSWORD: &str = "Wr0ng-pa55word-for-audit-test";

/// One deprecated call; returns the reply after checking that its audit record is already on
/// disk (the shim writes it before sending the reply).
async fn legacy_call(
    shim: SocketAddr,
    audit: &std::path::Path,
    path: &str,
    auth: &str,
    body: &[u8],
) -> Reply {
    let reply = send(
        shim,
        Method::POST,
        path,
        &[
            ("authorization", auth),
            ("content-type", "application/json"),
            ("user-agent", "legacy-upgrader/1.2"),
        ],
        body.to_vec(),
    )
    .await;
    let id = reply
        .header("x-request-id")
        .expect("x-request-id")
        .to_owned();
    let on_disk = std::fs::read_to_string(audit).unwrap_or_default();
    assert!(
        on_disk.contains(&format!("\"request_id\":\"{id}\"")),
        "record {id} not on disk when the reply arrived"
    );
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_deprecated_call_is_audited_once_and_no_credential_leaks() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(100)).await;
    let upstream = sim.addr;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cfg = dir.path().join("shim.toml");
    std::fs::write(
        &cfg,
        format!(
            "[upstream]\nurl = \"http://{upstream}\"\n\
             [shim]\npoll_interval = \"20ms\"\nmax_body_size = \"1KiB\"\n\
             [audit]\npath = \"{}\"\n[admin]\nlisten = \"{admin}\"\n{}",
            audit.display(),
            admin_token_line(dir.path())
        ),
    )
    .unwrap();
    let shim = spawn_shim(&["--config", cfg.to_str().unwrap()]);
    let listen = shim.addr;

    let admin_auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let viewer_auth = basic(DEMO_VIEWER.0, DEMO_VIEWER.1);
    let wrong_auth = basic(DEMO_ADMIN.0, WRONG_PASSWORD);
    let upgrade = |uid: &str| {
        serde_json::to_vec(&json!({"modules": [{"module_name": "ReJSON", "new_module": uid}]}))
            .unwrap()
    };
    let big = vec![b' '; 4096];
    let path = "/v1/modules/upgrade/bdb/1";
    let cases: Vec<Case> = vec![
        (path, &admin_auth, upgrade(REJSON_2_6_17), 200, None),
        (
            path,
            &admin_auth,
            b"{not json".to_vec(),
            400,
            Some("invalid_json"),
        ),
        (path, &admin_auth, big, 413, Some("request_too_large")),
        (
            "/v1/modules/upgrade/bdb/x1",
            &admin_auth,
            upgrade(REJSON_2_6_17),
            404,
            Some("bdb_not_found"),
        ),
        (path, &wrong_auth, upgrade(REJSON_2_6_17), 401, None),
        (path, &viewer_auth, upgrade(REJSON_2_6_17), 200, None),
        (
            path,
            &admin_auth,
            upgrade(UNKNOWN_MODULE_UID),
            400,
            Some("missing_module"),
        ),
        (
            path,
            &admin_auth,
            upgrade(REJSON_2_4_7),
            406,
            Some("module_downgrade_unsupported"),
        ),
    ];
    let mut seen = Vec::new();
    for (p, auth, body, status, code) in &cases {
        let reply = legacy_call(listen, &audit, p, auth, body).await;
        // The viewer may read (look-ups pass) but not upgrade: the cluster's 403 comes back.
        let expected = if *auth == viewer_auth { 403 } else { *status };
        assert_eq!(reply.status.as_u16(), expected, "{p} {:?}", reply.body);
        if let Some(code) = code {
            assert_eq!(reply.json()["error_code"], *code);
        }
        seen.push((reply.header("x-request-id").unwrap().to_owned(), expected));
    }
    sim.faults()
        .fail_next_action("sim_upgrade_failed", "disk full on node 2");
    let failed = legacy_call(listen, &audit, path, &admin_auth, &upgrade(REJSON_2_6_17)).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.json()["error_code"], "sim_upgrade_failed");
    seen.push((failed.header("x-request-id").unwrap().to_owned(), 500));

    // Pass-through calls leave no record.
    assert_eq!(get(listen, "/v1/bdbs/1", &admin_auth).await.status, 200);
    assert_eq!(get(listen, "/v1/modules", &admin_auth).await.status, 200);
    let new_route = send(
        listen,
        Method::POST,
        "/v1/bdbs/2/upgrade",
        &[("authorization", &admin_auth)],
        "{}",
    )
    .await;
    assert!(new_route.header("deprecation").is_none());

    let text = std::fs::read_to_string(&audit).unwrap();
    // One outcome record per call; the intents of state-changing calls are not calls.
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r.get("record").is_none())
        .collect();
    assert_eq!(
        records.len(),
        seen.len(),
        "one record per deprecated call:\n{text}"
    );
    for ((id, status), rec) in seen.iter().zip(&records) {
        assert_eq!(rec["request_id"], *id);
        assert_eq!(rec["status"], *status);
        assert_eq!(rec["user_agent"], "legacy-upgrader/1.2");
        assert_eq!(
            rec["user"],
            if rec["status"] == 403 {
                DEMO_VIEWER.0
            } else {
                DEMO_ADMIN.0
            }
        );
        assert_eq!(rec["route"], "/v1/modules/upgrade/bdb/{uid}");
    }
    assert_eq!(records[0]["outcome"], "ok");
    assert_eq!(records[0]["modules"][0]["to_module_id"], REJSON_2_6_17);
    assert!(records[0]["action_uid"].is_string());
    assert_eq!(records[1]["outcome"], "client_error");

    // Admin endpoints: live usage and metrics see the same calls.
    let deprecations = get(admin, "/deprecations", &admin_bearer()).await.json();
    let calls: u64 = deprecations["callers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, seen.len() as u64);
    let metrics = String::from_utf8(get(admin, "/metrics", "").await.body.to_vec()).unwrap();
    assert!(metrics.contains("legacy-upgrader/1.2"), "{metrics}");
    assert_eq!(get(admin, "/readyz", "").await.status, 200);
    // The data port forwards /metrics to the cluster like any other path: the cluster's 404.
    let on_data_port = send(listen, Method::GET, "/metrics", &[], "").await;
    assert_eq!(on_data_port.status, 404, "admin not on the data port");
    assert!(!String::from_utf8_lossy(&on_data_port.body).contains("# EOF"));

    let logs = shim.stderr();
    for secret in [
        DEMO_ADMIN.1,
        DEMO_VIEWER.1,
        WRONG_PASSWORD,
        admin_auth.trim_start_matches("Basic "),
        viewer_auth.trim_start_matches("Basic "),
        wrong_auth.trim_start_matches("Basic "),
    ] {
        assert!(!text.contains(secret), "audit leaks {secret}");
        assert!(!logs.contains(secret), "logs leak {secret}");
        assert!(!metrics.contains(secret), "metrics leak {secret}");
        assert!(!String::from_utf8_lossy(&failed.body).contains(secret));
    }
    assert!(
        logs.contains("deprecated route"),
        "deprecation warnings logged"
    );
}
