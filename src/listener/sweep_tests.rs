//! The sweep's decisions, with made-up times and counts.

use super::*;

const T: Duration = Duration::from_secs(10);
const IDLE: Duration = Duration::from_secs(60);
const LIMITS: Deadlines = Deadlines {
    header_read_timeout: T,
    idle_timeout: IDLE,
};

fn counts(opened: usize, closed: usize, http2: bool) -> Counts {
    Counts {
        opened,
        closed,
        http2,
    }
}

fn at(start: Instant, ms: u64) -> Instant {
    start + Duration::from_millis(ms)
}

#[test]
fn a_connection_without_a_request_head_is_dropped_at_the_header_timeout_and_not_before() {
    let start = Instant::now();
    let mut seen = Seen::new(start);
    let quiet = counts(0, 0, false);
    let run =
        |seen: &mut Seen, ms| decide(seen, quiet, false, at(start, ms), Phase::Serving, LIMITS);
    assert_eq!(run(&mut seen, 9_999), Order::Run);
    assert_eq!(run(&mut seen, 10_000), Order::DropNoHead);
}

#[test]
fn an_idle_http1_connection_is_dropped_one_timeout_after_the_sweep_that_saw_it_change() {
    let start = Instant::now();
    let mut seen = Seen::new(start);
    // A request opened and closed between the sweeps at 0 and 250 ms.
    assert_eq!(
        decide(
            &mut seen,
            counts(1, 1, false),
            false,
            at(start, 250),
            Phase::Serving,
            LIMITS
        ),
        Order::Run
    );
    // Idle since some time before 250 ms: counted from 250 ms (late, never early).
    let idle = |seen: &mut Seen, ms| {
        decide(
            seen,
            counts(1, 1, false),
            false,
            at(start, ms),
            Phase::Serving,
            LIMITS,
        )
    };
    assert_eq!(idle(&mut seen, 10_000), Order::Run);
    assert_eq!(idle(&mut seen, 10_249), Order::Run);
    assert_eq!(idle(&mut seen, 10_250), Order::DropIdle);
}

#[test]
fn a_connection_with_a_request_open_is_never_timed_out_however_long_it_runs() {
    let start = Instant::now();
    let mut seen = Seen::new(start);
    for ms in [250, 10_000, 60_000, 600_000] {
        for http2 in [false, true] {
            let order = decide(
                &mut seen,
                counts(3, 2, http2),
                false,
                at(start, ms),
                Phase::Serving,
                LIMITS,
            );
            assert_eq!(order, Order::Run, "at {ms} ms, http2 {http2}");
        }
    }
}

#[test]
fn an_idle_http2_connection_is_closed_gracefully_after_the_idle_timeout() {
    let start = Instant::now();
    let mut seen = Seen::new(start);
    let h2 = |seen: &mut Seen, ms| {
        decide(
            seen,
            counts(5, 5, true),
            false,
            at(start, ms),
            Phase::Serving,
            LIMITS,
        )
    };
    assert_eq!(h2(&mut seen, 250), Order::Run);
    // Not the HTTP/1 header timeout: pings alone do not count, streams do.
    assert_eq!(h2(&mut seen, 10_250), Order::Run);
    assert_eq!(h2(&mut seen, 60_249), Order::Run);
    assert_eq!(h2(&mut seen, 60_250), Order::Close);
}

#[test]
fn stopping_closes_every_connection_gracefully_busy_or_not() {
    let start = Instant::now();
    for c in [counts(0, 0, false), counts(2, 1, false), counts(4, 4, true)] {
        let mut seen = Seen::new(start);
        assert_eq!(
            decide(&mut seen, c, false, at(start, 1), Phase::Stopping, LIMITS),
            Order::Close
        );
    }
}

#[test]
fn at_the_cut_a_connection_without_a_running_call_is_dropped_at_once() {
    let start = Instant::now();
    let mut seen = Seen::new(start);
    assert_eq!(
        decide(
            &mut seen,
            counts(2, 1, false),
            false,
            at(start, 1),
            Phase::Cut,
            LIMITS
        ),
        Order::DropCut
    );
}

#[test]
fn at_the_cut_a_connection_waiting_on_a_call_stays_until_the_call_ends_and_its_reply_had_the_flush_time(
) {
    let start = Instant::now();
    let mut seen = Seen::new(start);
    let busy = counts(1, 0, false);
    let cut =
        |seen: &mut Seen, held, ms| decide(seen, busy, held, at(start, ms), Phase::Cut, LIMITS);
    assert_eq!(cut(&mut seen, true, 0), Order::Close);
    assert_eq!(cut(&mut seen, true, 120_000), Order::Close);
    // The call ended at the sweep at 120.25 s: its reply gets FLUSH from there.
    assert_eq!(cut(&mut seen, false, 120_250), Order::Close);
    assert_eq!(cut(&mut seen, false, 121_249), Order::Close);
    assert_eq!(cut(&mut seen, false, 121_250), Order::DropFlushed);
}

#[test]
fn the_sweep_period_is_a_quarter_of_the_shortest_timeout_within_bounds() {
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    assert_eq!(period(s(10), s(60)), ms(250));
    assert_eq!(period(ms(400), s(60)), ms(100));
    assert_eq!(period(s(10), ms(200)), ms(50));
    assert_eq!(period(ms(8), ms(8)), ms(10));
}

#[test]
fn orders_only_escalate_and_wake_the_driver_once_per_escalation() {
    let activity = Activity::new();
    activity.order(Order::DropCut);
    activity.order(Order::Close);
    let waker = futures_util::task::noop_waker();
    let cx = std::task::Context::from_waker(&waker);
    assert_eq!(activity.order_for(&cx), Order::DropCut);
}
