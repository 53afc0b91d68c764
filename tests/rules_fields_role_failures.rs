//! F1's look-up failing end to end (API-CATALOGUE §1.6, §9.1; issue 23): a look-up the cluster
//! refuses (401: the caller's credentials are wrong) and one that outlasts
//! `upstream.request_timeout` both forward the body as it came, audited `lookup: failed`, and
//! are never cached; the caller gets the cluster's own answer, within the timeout and some
//! slack. The cache's counters on the admin port's `/metrics`.

mod support;

use deprecation_shim::sim::faults::DelayFault;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::json;
use std::time::{Duration, Instant};
use support::audit_file::AuditFile;
use support::harness::{AdminPort, Sim};
use support::legacy::{admin, assert_rs_error};
use support::roles::{
    put_role, role, role_hits, roles_look_ups, seeded_user, sent_body, user, TRANSLATE,
};
use support::shim::metric;
use support::{basic, shim_app};

/// The look-up's bound in these tests (`upstream.request_timeout`).
const TIMEOUT: Duration = Duration::from_millis(400);

/// An 8.2 cluster with a `Viewers` (db_viewer) role and a user `ops` holding an admin role;
/// the shim (F1 in translate, `TIMEOUT`, auditing) in front with its admin port. Returns the
/// user's uid and the viewers' role uid.
async fn rig() -> (Sim, AuditFile, support::harness::Shim, AdminPort, u64, u64) {
    let sim = Sim::timed(SimVersion::V8_2, Duration::from_millis(50)).await;
    let admins = role(&sim, "Admins", "admin").await;
    let viewers = role(&sim, "Viewers", "db_viewer").await;
    let uid = seeded_user(&sim, "ops", &[admins]).await;
    let audit = AuditFile::new();
    let toml = format!(
        "{TRANSLATE}\n[upstream]\nrequest_timeout = \"{}ms\"\n",
        TIMEOUT.as_millis()
    );
    let (app, shim) = shim_app(sim.addr, &audit.toml(&toml)).await;
    let admin_port = AdminPort::serve(app.admin.clone());
    sim.sim.clear_requests();
    (sim, audit, shim, admin_port, uid, viewers)
}

fn wrong_password() -> String {
    basic("admin@example.com", "not-the-password")
}

#[tokio::test]
async fn f1_a_look_up_refused_401_forwards_the_role_untouched_and_relays_the_clusters_401() {
    let (sim, audit, shim, _admin, uid, viewers) = rig().await;
    let bad = wrong_password();
    for _ in 0..2 {
        let reply = put_role(shim.addr, &bad, uid).await;
        // The cluster's own refusal of the PUT, in its error shape: nothing of ours.
        assert_rs_error(&reply, 401, "unauthorized");
        let body = sent_body(&sim, Method::PUT, &format!("/v1/users/{uid}"));
        assert_eq!(body, json!({"role": "db_viewer"}), "forwarded as it came");
        let hit = role_hits(&audit).pop().expect("audited");
        assert_eq!(
            (&hit["action"], &hit["lookup"], &hit["value"]),
            (&json!("untouched"), &json!("failed"), &json!("db_viewer"))
        );
    }
    // Looked up as the caller, once per call: the refusal was not cached.
    assert_eq!(roles_look_ups(&sim), vec![Some(bad.clone()), Some(bad)]);
    assert_eq!(user(&sim, "ops")["role"], "admin", "unchanged");
    // Another caller's look-up is its own and succeeds.
    assert_eq!(put_role(shim.addr, &admin(), uid).await.status, 200);
    assert_eq!(user(&sim, "ops")["role_uids"], json!([viewers]));
    assert_eq!(role_hits(&audit).pop().expect("audited")["lookup"], "found");
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains("not-the-password"), "no credential audited");
}

#[tokio::test]
async fn f1_a_look_up_past_the_timeout_forwards_the_role_untouched_within_the_bound() {
    let (sim, audit, shim, _admin, uid, _) = rig().await;
    let stall = DelayFault::new(Duration::from_secs(5), "GET", "/v1/roles").times(1);
    sim.sim.faults().delay(stall);
    let started = Instant::now();
    let reply = put_role(shim.addr, &admin(), uid).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert!(
        took >= TIMEOUT,
        "answered in {took:?}: before the look-up timed out?"
    );
    assert!(
        took < TIMEOUT + Duration::from_millis(1500),
        "answered in {took:?}"
    );
    let body = sent_body(&sim, Method::PUT, &format!("/v1/users/{uid}"));
    assert_eq!(body, json!({"role": "db_viewer"}), "forwarded as it came");
    // The cluster honours the old role itself (sim/users_update.rs: no uid of its own).
    let ops = user(&sim, "ops");
    assert_eq!(
        (ops["role"].clone(), ops.get("role_uids")),
        (json!("db_viewer"), None)
    );
    let hit = role_hits(&audit).pop().expect("audited");
    assert_eq!(
        (&hit["action"], &hit["lookup"]),
        (&json!("untouched"), &json!("failed"))
    );
    assert_eq!(roles_look_ups(&sim), vec![Some(admin())]);
}

#[tokio::test]
async fn f1_the_role_caches_hits_fetches_failures_and_skips_are_on_metrics() {
    let (_sim, _audit, shim, admin_port, uid, _) = rig().await;
    let series =
        |result: &str| format!("deprecation_shim_role_lookups_total{{result=\"{result}\"}}");
    for result in ["hit", "fetched", "failed", "skipped"] {
        assert_eq!(
            metric(admin_port.addr, &series(result)).await,
            0.0,
            "{result}"
        );
    }
    assert_eq!(put_role(shim.addr, &admin(), uid).await.status, 200);
    assert_eq!(put_role(shim.addr, &admin(), uid).await.status, 200);
    assert_eq!(
        put_role(shim.addr, &wrong_password(), uid).await.status,
        401
    );
    assert_eq!(put_role(shim.addr, "", uid).await.status, 401);
    let counts = [
        ("hit", 1.0),
        ("fetched", 1.0),
        ("failed", 1.0),
        ("skipped", 1.0),
    ];
    for (result, want) in counts {
        assert_eq!(
            metric(admin_port.addr, &series(result)).await,
            want,
            "{result}"
        );
    }
    let evictions = "deprecation_shim_role_cache_evictions_total";
    let scrape = support::get(admin_port.addr, "/metrics", "").await;
    let text = String::from_utf8_lossy(&scrape.body);
    assert!(text.contains(&format!("{evictions} 0")), "{text}");
    assert!(!text.contains("not-the-password") && !text.contains("pw-of-user"));
}
