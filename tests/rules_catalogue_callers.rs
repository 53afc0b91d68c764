//! Issue 22, the catalogue rules whose callers carry credentials or poll: R13
//! `/v1/users/password` (API-CATALOGUE §3) and R18 the v1 statistics routes (§8). Differential
//! rows as in `tests/rules_catalogue.rs`: the old call natively on the old release vs through
//! the shim on the new one, same reply, same final state; R18 is observe-only, so its row
//! asserts the call is untouched and marked.

mod support;

use deprecation_shim::sim::{SimConfig, SimVersion, DEMO_VIEWER};
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use support::audit_file::{calls, lines, settled, AuditFile};
use support::harness::{pair, Shim, Sim};
use support::legacy::{admin, viewer};
use support::{basic, get, send, Reply};

const PASSWORD: &str = "/v1/users/password";

async fn password(addr: SocketAddr, method: Method, auth: Option<&str>, body: &Value) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    send(addr, method, PASSWORD, &headers, body.to_string()).await
}

fn password_counts(sim: &Sim) -> Value {
    sim.snapshot()["users"].clone()
}

/// R13 (§3.4 step 2): a 7.4 script rotating passwords with body credentials only (add, then
/// delete the old one, then replace) gets the same answers natively on 7.4 and through the
/// shim on 8.0, where each call went with a Basic header built from the body; the users end with
/// the same password lists (counts), and the new password logs in on both.
#[tokio::test]
async fn r13_body_credentials_7_4_native_equals_shim_in_front_of_8_0() {
    let (old, old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_0, "").await;
    let (user, first) = DEMO_VIEWER;
    let steps = [
        (
            Method::POST,
            json!({"username": user, "old_password": first, "new_password": "second-pass-1"}),
        ),
        (
            Method::DELETE,
            json!({"username": user, "old_password": first}),
        ),
        (
            Method::PUT,
            json!({"username": user, "old_password": "second-pass-1", "new_password": "third-pass-1"}),
        ),
        (
            Method::PUT,
            json!({"username": user, "old_password": "wrong", "new_password": "x-pass-1"}),
        ),
    ];
    for (method, body) in &steps {
        let a = password(old, method.clone(), None, body).await;
        let b = password(shim.addr, method.clone(), None, body).await;
        assert_eq!(a.status, b.status, "{method} {body}");
        assert_eq!(
            password_counts(&old_sim),
            password_counts(&new_sim),
            "{method}"
        );
    }
    for addr in [old, shim.addr] {
        let r = get(addr, "/v1/bdbs", &basic(user, "third-pass-1")).await;
        assert_eq!(r.status.as_u16(), 200, "the new password logs in");
    }
    // Every call reached the 8.0 cluster with a header, never a body credential it ignores.
    for r in support::topology::served(&new_sim)
        .iter()
        .filter(|r| r.path == PASSWORD)
    {
        assert!(r
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic ")));
    }
}

/// R13 (§3.4 step 5, §11): on an RS161290 build an admin resetting another user's password
/// would change the admin's own list; the shim refuses it with 406 and sends nothing. On the
/// fixed build the same call goes through and changes the target's list.
#[tokio::test]
async fn r13_guard_refuses_on_rs161290_builds_only() {
    for (version, build, refused) in [
        (SimVersion::V7_8, "7.8.2-34", true),
        (SimVersion::V7_22, "7.22.0-95", true),
        (SimVersion::V7_8, "7.8.6-119", false),
        (SimVersion::V7_22, "7.22.0-216", false),
    ] {
        let cfg = SimConfig {
            version,
            ..SimConfig::default()
        }
        .with_build(build)
        .expect("build");
        let sim = Sim::with(cfg).await;
        let shim = Shim::in_front_of(sim.addr, "").await;
        let before = password_counts(&sim);
        let body = json!({"username": DEMO_VIEWER.0, "new_password": "reset-by-admin-1"});
        let r = password(shim.addr, Method::POST, Some(&admin()), &body).await;
        let sent = sim.requests().iter().filter(|r| r.path == PASSWORD).count();
        if refused {
            assert_eq!(r.status.as_u16(), 406, "{build}");
            assert_eq!(r.json()["error_code"], "unsafe_on_cluster_build");
            let text = r.json()["description"].as_str().unwrap_or("").to_owned()
                + r.json()["message"].as_str().unwrap_or("");
            assert!(
                text.contains("RS161290") && text.contains(DEMO_VIEWER.0),
                "{text}"
            );
            assert!(
                !text.contains("reset-by-admin-1"),
                "no password in the error"
            );
            assert_eq!(sent, 0, "{build}: nothing sent");
            assert_eq!(password_counts(&sim), before);
        } else {
            assert_eq!(r.status.as_u16(), 200, "{build}");
            assert_eq!(sent, 1);
            let viewer_count = |s: &Value| {
                s.as_array().and_then(|u| {
                    u.iter()
                        .find(|u| u["username"] == DEMO_VIEWER.0)
                        .map(|u| u["password_count"].clone())
                })
            };
            assert_eq!(
                viewer_count(&password_counts(&sim)),
                Some(json!(2)),
                "{build}: the target's list"
            );
        }
        // The admin's own password change is never guarded.
        let own = json!({"new_password": "admin-second-1"});
        let r = password(shim.addr, Method::POST, Some(&admin()), &own).await;
        assert_eq!(r.status.as_u16(), 200, "{build}");
    }
}

/// The 15 v1 statistics paths of §8.1.
const STATS: [&str; 15] = [
    "/v1/cluster/stats",
    "/v1/cluster/stats/last",
    "/v1/nodes/stats",
    "/v1/nodes/stats/1",
    "/v1/nodes/stats/last",
    "/v1/nodes/stats/last/1",
    "/v1/bdbs/stats",
    "/v1/bdbs/stats/1",
    "/v1/bdbs/stats/last",
    "/v1/bdbs/stats/last/1",
    "/v1/shards/stats",
    "/v1/shards/stats/1",
    "/v1/shards/stats/last",
    "/v1/shards/stats/last/1",
    "/v1/endpoints/stats",
];

/// R18 (§8.2): every stats call streams through untouched (status and body byte for byte as the
/// cluster answers it directly); never triggers a version look-up; once a version ≥ 7.22 is
/// cached it is marked with the metrics-stream-engine docs and the configured v2 URL.
#[tokio::test]
async fn r18_stats_untouched_marked_from_7_22_and_never_looking_the_version_up() {
    let sim = Sim::start(SimVersion::V7_22).await;
    let v2 = "https://cluster.example:8070/v2";
    let shim = Shim::in_front_of(
        sim.addr,
        &format!("[rules.stats_v1]\nmetrics_v2_url = \"{v2}\""),
    )
    .await;
    let cold = get(shim.addr, "/v1/cluster/stats", &viewer()).await;
    assert_eq!(cold.status.as_u16(), 200);
    assert_eq!(
        cold.header("deprecation"),
        None,
        "no version known yet: unmarked"
    );
    assert!(
        sim.requests().iter().all(|r| r.path != "/v1/bootstrap"),
        "R18 never looks up"
    );
    // Another rule learns the version (R16 looks it up).
    let _ = get(shim.addr, "/v1/bdbs/4/syncer_state", &viewer()).await;
    for path in STATS {
        let path = format!("{path}?interval=1hour");
        let (direct, through) = (
            get(sim.addr, &path, &viewer()).await,
            get(shim.addr, &path, &viewer()).await,
        );
        assert_eq!(direct.status, through.status, "{path}");
        assert_eq!(direct.body, through.body, "{path}: untouched");
        assert_eq!(through.header("deprecation"), Some("@1746057600"), "{path}");
        let link = through.header("link").unwrap_or_default();
        assert!(
            link.contains("metrics_stream_engine/>; rel=\"deprecation\""),
            "{link}"
        );
        assert!(
            link.contains(&format!("<{v2}>; rel=\"successor-version\"")),
            "{link}"
        );
    }
}

/// R18's audit stays bounded (§8.2): one record per caller, path template and status per
/// window, with a count; the calls it stands for are exact. Written at a graceful stop.
#[tokio::test]
async fn r18_audit_is_one_record_per_caller_and_template_per_window_with_exact_counts() {
    let sim = Sim::start(SimVersion::V8_0).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    let polls = 4;
    for _ in 0..polls {
        for path in STATS {
            assert_eq!(get(shim.addr, path, &viewer()).await.status.as_u16(), 200);
        }
        // Another caller, on one path.
        let _ = get(shim.addr, "/v1/bdbs/stats/last", &admin()).await;
    }
    drop(shim);
    let total = (polls * (STATS.len() + 1)) as u64;
    settled(&audit, total).await;
    assert_eq!(calls(&audit), total, "every call counted");
    let written = lines(&audit);
    // Per (caller, template): the first call in full, then one coalesced record for the rest.
    assert_eq!(written.len(), 2 * (STATS.len() + 1), "{written:#?}");
    let coalesced: Vec<&Value> = written
        .iter()
        .filter(|r| r["record"] == "coalesced")
        .collect();
    assert!(coalesced
        .iter()
        .all(|r| r["count"] == json!(polls - 1) && r["rule"] == "stats_v1"));
    let templates: std::collections::BTreeSet<&str> =
        written.iter().filter_map(|r| r["route"].as_str()).collect();
    assert_eq!(
        templates.len(),
        STATS.len(),
        "one template per path: {templates:?}"
    );
}

/// R18's quiet lane (issue 22's cost target): a caller's repeats skip the record building but
/// nothing else. Every reply keeps its marks and its own request id; a status the caller has
/// not had yet gets its own record; the counts stay exact.
#[tokio::test]
async fn r18_repeats_keep_their_marks_request_ids_and_statuses_and_exact_counts() {
    let sim = Sim::start(SimVersion::V8_0).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    // Another rule learns the version (R16 looks it up): R18 marks from then on.
    let _ = get(shim.addr, "/v1/bdbs/4/syncer_state", &viewer()).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut statuses = Vec::new();
    for path in ["/v1/bdbs/stats/last/1"; 5]
        .into_iter()
        .chain(["/v1/bdbs/stats/last/999"; 3])
        .chain(["/v1/bdbs/stats/last/1"; 2])
    {
        let r = get(shim.addr, path, &admin()).await;
        assert_eq!(r.header("deprecation"), Some("@1746057600"), "{path}");
        assert!(ids.insert(r.header("x-request-id").unwrap_or_default().to_owned()));
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 404, 404, 404, 200, 200]);
    drop(shim);
    settled(&audit, 11).await;
    assert_eq!(calls(&audit), 11, "R16's call and the ten R18 calls");
    let written = lines(&audit);
    let of = |status: u64, record: Option<&str>| {
        written
            .iter()
            .filter(|r| {
                r["rule"] == "stats_v1"
                    && r["status"] == json!(status)
                    && r["record"].as_str() == record
            })
            .map(|r| r["count"].as_u64().unwrap_or(1))
            .collect::<Vec<_>>()
    };
    assert_eq!(of(200, None), [1], "{written:#?}");
    assert_eq!(of(200, Some("coalesced")), [6], "{written:#?}");
    assert_eq!(of(404, None), [1], "{written:#?}");
    assert_eq!(of(404, Some("coalesced")), [2], "{written:#?}");
}

/// Issue 21: R13's differential again with the shim in front of three nodes, a follower first
/// in `upstream.nodes` (see `support::topology`).
#[test]
fn r13_differential_holds_with_a_follower_first() {
    support::topology::with_follower_first(
        r13_body_credentials_7_4_native_equals_shim_in_front_of_8_0,
    );
}
