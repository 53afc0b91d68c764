use super::*;
use http::{HeaderMap, Method, StatusCode};
use std::net::IpAddr;
use std::time::SystemTime;

fn failed(id: &str, client: &str, ua: &str) -> AuditRecord {
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", ua.parse().expect("ua"));
    let ip: IpAddr = client.parse().expect("ip");
    let mut r = AuditRecord::begin(
        SystemTime::now(),
        id,
        ip,
        &Method::POST,
        "/v1/modules/upgrade/bdb/{uid}",
        &headers,
        false,
    );
    r.rule = Some("module_upgrade".into());
    r.finish(
        StatusCode::UNAUTHORIZED,
        Some("401"),
        Some(crate::error::Blame::Client),
        Duration::ZERO,
    );
    r
}

#[test]
fn only_unverified_failures_without_an_intent_coalesce() {
    let junk = failed("a", "192.0.2.1", "x");
    assert!(Coalescer::applies(&junk, false));
    assert!(!Coalescer::applies(&junk, true), "an intent was written");
    let mut ok = junk.clone();
    ok.outcome = Outcome::Ok;
    assert!(!Coalescer::applies(&ok, false), "a success");
    let mut verified = junk.clone();
    verified.verified = true;
    assert!(!Coalescer::applies(&verified, false), "a verified caller");
}

#[test]
fn the_first_call_is_written_and_the_repeats_become_one_record_with_exact_counts() {
    let mut c = Coalescer::default();
    let t0 = Instant::now();
    assert!(
        c.offer(&failed("r0", "192.0.2.1", "x"), t0),
        "the first is written"
    );
    for i in 1..=99 {
        assert!(!c.offer(&failed(&format!("r{i}"), "192.0.2.1", "x"), t0));
    }
    assert!(
        c.offer(&failed("o", "192.0.2.2", "x"), t0),
        "another caller"
    );
    assert!(
        c.due(t0 + INTERVAL / 2).is_empty(),
        "the interval is still open"
    );
    let due = c.due(t0 + INTERVAL);
    assert_eq!(due.len(), 1, "only the key with repeats has a record");
    let rec = &due[0];
    assert_eq!(rec.record.as_deref(), Some(COALESCED));
    assert_eq!(rec.count, Some(99));
    assert_eq!(rec.first_request_id.as_deref(), Some("r1"));
    assert_eq!(rec.last_request_id.as_deref(), Some("r99"));
    assert_eq!(rec.request_id, "r1");
    assert!(rec.first_seen.is_some() && rec.last_seen.is_some());
    assert_eq!(c.open_keys(), 0);
    assert!(
        c.offer(&failed("n", "192.0.2.1", "x"), t0 + INTERVAL),
        "a new interval"
    );
}

#[test]
fn past_the_open_bound_new_callers_fold_into_other_callers() {
    let mut c = Coalescer::default();
    let t0 = Instant::now();
    for i in 0..MAX_OPEN {
        assert!(c.offer(
            &failed(&format!("a{i}"), "192.0.2.1", &format!("ua{i}")),
            t0
        ));
    }
    // Every further User-Agent is a new caller: one overflow key takes them all.
    assert!(c.offer(&failed("b0", "192.0.2.1", "new-0"), t0));
    for i in 1..1000 {
        assert!(!c.offer(
            &failed(&format!("b{i}"), "192.0.2.1", &format!("new-{i}")),
            t0
        ));
    }
    assert_eq!(c.open_keys(), MAX_OPEN + 1);
    let open = c.drain();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].count, Some(999));
    assert_eq!(open[0].client, OTHER_CALLERS);
    assert_eq!(open[0].user_agent.as_deref(), Some(OTHER_CALLERS));
    assert_eq!(c.open_keys(), 0, "drained");
}
