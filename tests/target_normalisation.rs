//! Issue 20 item 8: the request target is normalised once, before the rule table reads it,
//! and forwarded in that form, so a rule is met by every spelling of its path (`//`, `/./`,
//! `/../`, `%61`, `%2e`) and the cluster reads the path the shim matched. Spellings the shim
//! cannot normalise safely and that would still spell a rule's path (`;` parameters, another
//! letter case, an encoded slash, a lower-case method, an escape that decoding would create)
//! are refused `400 invalid_request` in the RS shape before anything is sent. A target that
//! spells no rule passes through, in its normal form.
//!
//! Every request here is written on the wire by hand ([`support::wire`]): a client library
//! would clean up `//v1` or refuse a lower-case method.

mod support;

use deprecation_shim::sim::seed::REJSON_2_6_17;
use deprecation_shim::sim::SimVersion;
use serde_json::json;
use std::net::SocketAddr;
use support::audit_file::{records, settled, AuditFile};
use support::harness::{audited, Shim, Sim};
use support::legacy::{assert_rs_error, upgrade_posts};
use support::wire::{exchange, parse_replies, request};
use support::Reply;

/// `debuginfo_all` retired: its Sunset is past and the lifecycle enforced.
const RETIRED: &str = "[lifecycle.debuginfo_all]\nenforce = true\nsunset_date = \"2025-01-01\"\n";

/// An operator's `gone` rule.
const GONE_RULE: &str = "[[rules.custom]]\nname = \"legacy_thing\"\nmethod = \"GET\"\n\
    path = \"/v1/nodes/{uid:int}/legacy_thing\"\nkind = \"gone\"\n\
    deprecation_date = \"2024-01-01\"\ndocs_url = \"https://example.com/d\"\n";

/// A simulated 8.0 cluster and a shim in front of it with `toml` ([`audited`]).
async fn start(toml: &str) -> (Sim, AuditFile, Shim) {
    audited(SimVersion::V8_0, toml).await
}

/// `method target` written as is (admin credentials, `Connection: close`), with `body`.
async fn send(shim: SocketAddr, method: &str, target: &str, body: &str) -> Reply {
    let (bytes, _) = exchange(shim, &request(method, target, body).into()).await;
    let mut replies = parse_replies(&bytes);
    assert_eq!(
        replies.len(),
        1,
        "{method} {target}: {}",
        String::from_utf8_lossy(&bytes)
    );
    replies.remove(0)
}

/// The paths (with queries) the cluster received, in order.
fn cluster_paths(sim: &Sim) -> Vec<String> {
    sim.requests().into_iter().map(|r| r.path).collect()
}

/// The debuginfo spellings of the finding, and more of the same kind.
const DEBUGINFO_SPELLINGS: [&str; 9] = [
    "/v1//debuginfo/all",
    "//v1/debuginfo/all",
    "/v1/debuginfo/./all",
    "/v1/x/../debuginfo/all",
    "/v1/debuginfo/%61ll",
    "/v1/debuginfo/%2e/all",
    "/v1/debuginfo/all/%2E%2e/all",
    "/v1/%64ebuginfo/all//",
    "/v1/./debuginfo//x/.%2e/all?x=1",
];

/// `GET` of each of `spellings` through a shim with `toml`: each must be `410 code`. Returns
/// the cluster and the records once they stand for every call (unverified refusals coalesce
/// after the first, written at the stop).
async fn refused_in_every_spelling(
    toml: &str,
    spellings: &[&str],
    code: &str,
) -> (Sim, Vec<serde_json::Value>) {
    let (sim, audit, shim) = start(toml).await;
    for target in spellings {
        let reply = send(shim.addr, "GET", target, "").await;
        assert_rs_error(&reply, 410, code);
    }
    drop(shim);
    let recs = settled(&audit, spellings.len() as u64).await;
    (sim, recs)
}

#[tokio::test]
async fn every_spelling_of_a_retired_route_meets_its_retirement_and_is_audited() {
    let (sim, recs) =
        refused_in_every_spelling(RETIRED, &DEBUGINFO_SPELLINGS, "route_sunset").await;
    for r in &recs {
        assert_eq!(
            (&r["rule"], &r["phase"]),
            (&json!("debuginfo_all"), &json!("refused"))
        );
    }
    let leaked: Vec<String> = cluster_paths(&sim)
        .into_iter()
        .filter(|p| p.contains("debuginfo"))
        .collect();
    assert!(leaked.is_empty(), "reached the cluster: {leaked:?}");
}

#[tokio::test]
async fn an_operators_gone_rule_is_met_by_every_spelling_of_its_path() {
    let spellings = [
        "/v1/nodes/%31/legacy_thing",
        "/v1//nodes/1/legacy_thing/",
        "/v1/nodes/1/./%6Cegacy%5Fthing",
        "/v1/nodes/2/../1/legacy_thing",
        "/v1/nodes/1/%2E/legacy_thing",
    ];
    let (sim, recs) = refused_in_every_spelling(GONE_RULE, &spellings, "route_removed").await;
    for r in &recs {
        assert_eq!(
            (&r["rule"], &r["rule_action"]),
            (&json!("legacy_thing"), &json!("gone"))
        );
    }
    assert_eq!(cluster_paths(&sim), Vec::<String>::new(), "nothing sent");
}

#[tokio::test]
async fn the_cluster_and_the_audit_read_the_normal_form_of_a_rules_path() {
    let (sim, audit, shim) = start("[rules]\nnode_debuginfo = \"passthrough\"\n").await;
    // Observed (passed through, audited): the cluster gets the path the rule matched.
    let reply = send(shim.addr, "GET", "/v1//debuginfo/./n%6Fde?x=%61//.", "").await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let debuginfo = |sim: &Sim| -> Vec<String> {
        let paths = cluster_paths(sim).into_iter();
        paths.filter(|p| p.contains("debuginfo")).collect()
    };
    assert_eq!(debuginfo(&sim), ["/v1/debuginfo/node?x=%61//."]);
    // Rewritten: the audit names the old path in its normal form.
    sim.clear_requests();
    let reply = send(shim.addr, "GET", "/v1/debuginfo/%61ll", "").await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(debuginfo(&sim), ["/v1/cluster/debuginfo"]);
    // Translated: the old module-upgrade route, spelled oddly, still upgrades once.
    let body = json!({ "new_module": REJSON_2_6_17 }).to_string();
    let reply = send(shim.addr, "POST", "//v1/modules/./upgrade/bdb/%31", &body).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["uid"], 1);
    assert_eq!(upgrade_posts(&sim).len(), 1);
    let recs = records(&audit);
    let fields = |r: &serde_json::Value| (r["rule"].clone(), r["rule_action"].clone());
    assert_eq!(
        recs.iter().map(fields).collect::<Vec<_>>(),
        [
            (json!("debuginfo_node"), json!("observed")),
            (json!("debuginfo_all"), json!("translated")),
            (json!("module_upgrade"), json!("translated")),
        ]
    );
    assert_eq!(recs[1]["detail"]["old_path"], "/v1/debuginfo/all");
    assert_eq!(recs[2]["bdb_uid"], 1);
}

#[tokio::test]
async fn spellings_that_cannot_be_normalised_safely_are_refused_before_the_cluster() {
    let (sim, audit, shim) = start(GONE_RULE).await;
    let upgrade = json!({ "new_module": REJSON_2_6_17 }).to_string();
    let refused = [
        ("GET", "/v1/debuginfo/all;x", ""),
        ("GET", "/v1/debuginfo;v=1/all", ""),
        ("GET", "/V1/debuginfo/all", ""),
        ("GET", "/v1/DebugInfo/ALL?x=1", ""),
        ("get", "/v1/debuginfo/all", ""),
        ("GET", "/v1/debuginfo%2Fall", ""),
        ("GET", "/v1/debuginfo%5Call", ""),
        ("GET", "/v1/nodes/1;x/legacy_thing", ""),
        ("GET", "/V1/Nodes/1/Legacy_Thing", ""),
        ("post", "/v1/modules/upgrade/bdb/1", upgrade.as_str()),
        ("POST", "/v1/modules/upgrade/bdb/1;x=y", upgrade.as_str()),
        ("POST", "/v1/MODULES/upgrade/bdb/1", upgrade.as_str()),
        // Decoding %36%31 next to a bare `%` would create `%61`.
        ("GET", "/v1/debuginfo/%%36%31ll", ""),
    ];
    for (method, target, body) in refused {
        let reply = send(shim.addr, method, target, body).await;
        let rs = assert_rs_error(&reply, 400, "invalid_request");
        assert!(
            reply.header("deprecation").is_none(),
            "{method} {target}: {rs}"
        );
    }
    assert_eq!(cluster_paths(&sim), Vec::<String>::new(), "nothing sent");
    assert!(upgrade_posts(&sim).is_empty());
    assert!(records(&audit).is_empty(), "refused before any route");
}

#[tokio::test]
async fn targets_that_spell_no_rule_pass_through_in_their_normal_form() {
    let (sim, audit, shim) = start(GONE_RULE).await;
    let reply = send(shim.addr, "GET", "/v1//bdbs/./x/../%31?x=a//b/./", "").await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["uid"], 1);
    // Odd, but no rule's path in any reading: passed through as sent, the cluster decides.
    for (method, target) in [
        ("GET", "/v1/bdbs/1;x=y"),
        ("GET", "/V1/BDBS/1"),
        ("GET", "/v1/users/%C3%A9t%c3%a9/x%2Fy"),
        ("get", "/v1/bdbs"),
        ("GET", "/v1/debuginfo/all/bdb/x;y"),
    ] {
        send(shim.addr, method, target, "").await;
    }
    assert_eq!(
        cluster_paths(&sim),
        [
            "/v1/bdbs/1?x=a//b/./",
            "/v1/bdbs/1;x=y",
            "/V1/BDBS/1",
            "/v1/users/%C3%A9t%c3%a9/x%2Fy",
            "/v1/bdbs",
            "/v1/debuginfo/all/bdb/x;y",
        ]
    );
    assert_eq!(sim.requests()[4].method.as_str(), "get");
    assert!(records(&audit).is_empty(), "no rule, no record");
}
