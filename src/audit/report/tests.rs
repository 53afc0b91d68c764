use super::*;

fn call<'a>(user: Option<&'a str>, client: &'a str, secs: u64, o: Outcome) -> Call<'a> {
    Call {
        user,
        verified: true,
        client,
        forwarded_client: None,
        user_agent: Some("ua"),
        ts: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        bdb_uid: Some(secs % 3),
        outcome: o,
        instance: Some(if secs.is_multiple_of(2) {
            "shim-a"
        } else {
            "shim-b"
        }),
    }
}

#[test]
fn rows_count_calls_and_sort_newest_first() {
    let mut s = Summary::new();
    s.add(call(Some("a"), "10.0.0.1", 10, Outcome::Ok));
    s.add(call(Some("a"), "10.0.0.1", 5, Outcome::ClientError));
    s.add(call(Some("b"), "10.0.0.2", 20, Outcome::UpstreamError));
    s.add(call(None, "10.0.0.1", 1, Outcome::Ok));
    let r = s.report();
    assert_eq!(r.callers.len(), 3);
    assert_eq!(r.callers[0].user.as_deref(), Some("b"));
    let a = &r.callers[1];
    assert_eq!((a.calls, a.databases.clone()), (2, vec![1, 2]));
    assert_eq!(a.first_seen, "1970-01-01T00:00:05.000Z");
    assert_eq!(a.last_seen, "1970-01-01T00:00:10.000Z");
    assert_eq!((a.outcomes.ok, a.outcomes.client_error), (1, 1));
    assert_eq!(r.totals.calls, 4);
    assert_eq!(r.totals.outcomes.upstream_error, 1);
}

#[test]
fn a_forged_name_is_its_own_unverified_row() {
    let mut s = Summary::new();
    s.add(call(Some("admin"), "10.0.0.1", 1, Outcome::Ok));
    let mut forged = call(Some("admin"), "10.0.0.1", 2, Outcome::ClientError);
    forged.verified = false;
    s.add(forged);
    let r = s.report();
    assert_eq!(r.callers.len(), 2);
    assert!(!r.callers[0].verified && r.callers[1].verified);
}

#[test]
fn keys_cannot_be_forged_by_separators() {
    let mut s = Summary::new();
    s.add(call(Some("a+1:b"), "c", 1, Outcome::Ok));
    s.add(call(Some("a"), "b+1:c", 1, Outcome::Ok));
    assert_eq!(s.callers(), 2);
}

#[test]
fn caller_address_drops_port_and_prefers_the_forwarded_client() {
    assert_eq!(caller_address("10.0.0.1:5555", None), "10.0.0.1");
    assert_eq!(caller_address("[::1]:80", None), "::1");
    assert_eq!(caller_address("::1", None), "::1");
    assert_eq!(
        caller_address("10.0.0.1", Some("203.0.113.9")),
        "203.0.113.9"
    );
    assert_eq!(caller_address("10.0.0.1", Some("")), "10.0.0.1");
}

#[test]
fn live_summary_folds_callers_past_the_cap() {
    let mut s = Summary::live();
    for i in 0..(LIVE_MAX_CALLERS + 5) {
        let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
        s.add(call(Some("u"), &ip, 1, Outcome::Ok));
    }
    assert_eq!(s.callers(), LIVE_MAX_CALLERS + 1);
    let r = s.report();
    let other = r.callers.iter().find(|r| r.client == OVERFLOW).unwrap();
    assert_eq!(other.calls, 5);
}
