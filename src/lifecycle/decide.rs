//! What happens to one call: served, let through by an exemption, counted as would-refuse (dry
//! run), or refused, and the error body of a refusal.
//!
//! Decisions:
//! - A refusal happens only in `Brownout` and (with `after_sunset = gone`) in `Sunset`.
//!   Exemptions are looked at only then, so `Exempt` always means "this exemption let the call
//!   through something that would have refused it"; an exempt call in a dry run is `Exempt`,
//!   not `WouldRefuse`.
//! - The answer after Sunset is always `410 route_sunset`: a `503` would invite retries of a
//!   route that is never coming back. The configured answer (`410`/`503`) is the brownout's.
//! - `Retry-After` (RFC 9110 §10.2.3) is sent with `503` only, in whole seconds rounded up, so
//!   a retry at that moment lands after the window's end (half-open), never inside it.
//! - The body is the cluster's error shape ([`ApiError`]); the caller adds the successor `Link`
//!   and the `Deprecation`/`Sunset` headers, which it owns for every reply of the route.

use super::calendar::{rfc3339, Day};
use super::exempt::{self, Caller, Exemption};
use super::schedule::{AfterSunset, Answer, Lifecycle, Phase};
use crate::error::{ApiError, Blame};
use http::StatusCode;
use std::time::{Duration, SystemTime};

pub const ROUTE_BROWNOUT: &str = "route_brownout";
pub const ROUTE_SUNSET: &str = "route_sunset";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Serve as usual.
    Serve,
    /// Served because of `exemption`; without it the call would have met `spared`.
    Exempt {
        exemption: Exemption,
        spared: Refusal,
    },
    /// Dry run (`enforce = false`): served, but `why` is what enforcement would answer.
    WouldRefuse { why: Refusal },
    /// Answer with this refusal; nothing is sent upstream.
    Refuse(Refusal),
}

impl Decision {
    /// `served`, `exempt`, `would_refuse`, `refused`: the label of audit records and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Serve => "served",
            Decision::Exempt { .. } => "exempt",
            Decision::WouldRefuse { .. } => "would_refuse",
            Decision::Refuse(_) => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 410 or 503.
    pub status: StatusCode,
    /// [`ROUTE_BROWNOUT`] or [`ROUTE_SUNSET`].
    pub error_code: &'static str,
    /// With 503 only: until the window's end, rounded up to whole seconds.
    pub retry_after: Option<Duration>,
    pub text: String,
}

impl Refusal {
    /// The RS-shaped body (`error_code`, `description`, `message`), with its `Retry-After`.
    /// Blamed on the client: the caller is using a route past its schedule, nothing failed.
    pub fn to_api_error(&self) -> ApiError {
        let e =
            ApiError::new(self.status, self.error_code, self.text.clone()).blamed_on(Blame::Client);
        match self.retry_after {
            Some(d) => e.retry_in(d.as_secs()),
            None => e,
        }
    }

    /// The `Retry-After` value (delay-seconds), when one is due.
    pub fn retry_after_header(&self) -> Option<String> {
        self.retry_after.map(|d| d.as_secs().to_string())
    }
}

/// The refusal the schedule calls for at `now`, exemptions and dry run aside.
pub fn refusal(now: SystemTime, lifecycle: &Lifecycle) -> Option<Refusal> {
    let plan = lifecycle.plan();
    let sunset = plan
        .sunset
        .map_or(String::new(), |s| format!(" Its Sunset is {}.", Day::of(s)));
    match lifecycle.phase(now) {
        Phase::Sunset if plan.after_sunset == AfterSunset::Gone => Some(Refusal {
            status: StatusCode::GONE,
            error_code: ROUTE_SUNSET,
            retry_after: None,
            text: format!(
                "this deprecated route was retired at its Sunset ({}); use its successor (see the Link header)",
                plan.sunset.map_or_else(String::new, rfc3339)
            ),
        }),
        Phase::Brownout { until } => {
            let (status, retry_after) = match plan.answer {
                Answer::Gone => (StatusCode::GONE, None),
                Answer::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, Some(ceil_secs(until, now))),
            };
            Some(Refusal {
                status,
                error_code: ROUTE_BROWNOUT,
                retry_after,
                text: format!(
                    "this deprecated route is in a scheduled brownout until {}, a rehearsal of its retirement.{sunset} Move to its successor (see the Link header)",
                    rfc3339(until)
                ),
            })
        }
        _ => None,
    }
}

/// What to do with `caller`'s call at `now`.
pub fn decide(now: SystemTime, lifecycle: &Lifecycle, caller: &Caller<'_>) -> Decision {
    let Some(refusal) = refusal(now, lifecycle) else {
        return Decision::Serve;
    };
    let plan = lifecycle.plan();
    if let Some(e) = exempt::find(&plan.exemptions, now, caller) {
        return Decision::Exempt {
            exemption: e.clone(),
            spared: refusal,
        };
    }
    if plan.enforce {
        Decision::Refuse(refusal)
    } else {
        Decision::WouldRefuse { why: refusal }
    }
}

fn ceil_secs(until: SystemTime, now: SystemTime) -> Duration {
    let left = until.duration_since(now).unwrap_or_default();
    Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::exempt::{Glob, Grant};
    use crate::lifecycle::schedule::tests::{at, plan, MIN};

    fn lc(f: impl FnOnce(&mut super::super::schedule::Plan)) -> Lifecycle {
        let mut p = plan();
        f(&mut p);
        Lifecycle::new(p).unwrap()
    }

    const NOBODY: Caller<'static> = Caller {
        verified_user: None,
        user_agent: None,
        client_ip: None,
    };

    #[test]
    fn outside_windows_and_before_sunset_every_call_is_served() {
        let l = lc(|_| {});
        assert_eq!(decide(at(2025, 6, 1, 0, 0), &l, &NOBODY), Decision::Serve);
        assert_eq!(decide(at(2027, 3, 2, 13, 59), &l, &NOBODY), Decision::Serve);
        assert_eq!(decide(at(2027, 3, 2, 14, 15), &l, &NOBODY), Decision::Serve);
    }

    #[test]
    fn a_brownout_answers_410_route_brownout_without_retry_after_by_default() {
        let l = lc(|_| {});
        let Decision::Refuse(r) = decide(at(2027, 3, 2, 14, 0), &l, &NOBODY) else {
            panic!("refused expected");
        };
        assert_eq!(
            (r.status, r.error_code, r.retry_after),
            (StatusCode::GONE, ROUTE_BROWNOUT, None)
        );
        assert!(r.text.contains("until 2027-03-02T14:15:00Z"), "{}", r.text);
        let body = r.to_api_error().body_json();
        assert_eq!(body["error_code"], "route_brownout");
        assert_eq!(body["description"], body["message"]);
        assert_eq!(r.to_api_error().blame, Blame::Client);
    }

    #[test]
    fn a_503_brownout_sets_retry_after_to_the_windows_end_rounded_up() {
        let l = lc(|p| p.answer = Answer::Unavailable);
        let now = at(2027, 3, 2, 14, 5) + Duration::from_millis(300);
        let Decision::Refuse(r) = decide(now, &l, &NOBODY) else {
            panic!("refused expected")
        };
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.retry_after, Some(Duration::from_secs(600)));
        assert_eq!(r.retry_after_header().as_deref(), Some("600"));
        assert!(now + r.retry_after.unwrap() >= at(2027, 3, 2, 14, 15));
    }

    #[test]
    fn after_a_gone_sunset_the_answer_is_410_route_sunset_even_with_503_brownouts() {
        let l = lc(|p| p.answer = Answer::Unavailable);
        let Decision::Refuse(r) = decide(at(2027, 6, 30, 0, 0), &l, &NOBODY) else {
            panic!()
        };
        assert_eq!(
            (r.status, r.error_code, r.retry_after),
            (StatusCode::GONE, ROUTE_SUNSET, None)
        );
        let kept = lc(|p| p.after_sunset = AfterSunset::Keep);
        assert_eq!(
            decide(at(2027, 6, 30, 0, 0), &kept, &NOBODY),
            Decision::Serve
        );
    }

    #[test]
    fn a_dry_run_serves_and_reports_what_would_have_been_refused() {
        let l = lc(|p| p.enforce = false);
        match decide(at(2027, 3, 2, 14, 0), &l, &NOBODY) {
            Decision::WouldRefuse { why } => assert_eq!(why.error_code, ROUTE_BROWNOUT),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide(at(2027, 7, 1, 0, 0), &l, &NOBODY).name(),
            "would_refuse"
        );
        assert_eq!(decide(at(2027, 3, 3, 0, 0), &l, &NOBODY), Decision::Serve);
    }

    #[test]
    fn an_exemption_lets_its_caller_through_until_it_expires() {
        let grant = Exemption {
            grant: Grant::UserAgent(Glob::new("rmadm/*").unwrap()),
            expires: Some(at(2027, 9, 30, 0, 0)),
        };
        let l = lc(|p| p.exemptions = vec![grant.clone()]);
        let rmadm = Caller {
            user_agent: Some("rmadm/1.4"),
            ..NOBODY
        };
        match decide(at(2027, 7, 1, 0, 0), &l, &rmadm) {
            Decision::Exempt { exemption, spared } => {
                assert_eq!(exemption, grant);
                assert_eq!(spared.error_code, ROUTE_SUNSET);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decide(at(2027, 7, 1, 0, 0), &l, &NOBODY).name(), "refused");
        assert_eq!(decide(at(2027, 9, 30, 0, 0), &l, &rmadm).name(), "refused");
        // Outside a refusal an exempt caller is simply served.
        assert_eq!(decide(at(2027, 1, 1, 0, 0), &l, &rmadm), Decision::Serve);
        // A dry run does not turn an exemption into a would-refuse.
        let dry = lc(|p| {
            p.enforce = false;
            p.exemptions = vec![grant.clone()];
        });
        assert_eq!(decide(at(2027, 7, 1, 0, 0), &dry, &rmadm).name(), "exempt");
    }

    #[test]
    fn a_reloaded_schedule_takes_effect_at_the_next_call_mid_window() {
        // Nothing is remembered between calls: the decision is a function of (now, lifecycle),
        // so a reload that shortens, removes or moves a window applies to the very next call.
        let now = at(2027, 3, 2, 14, 7);
        let before = lc(|_| {});
        assert_eq!(decide(now, &before, &NOBODY).name(), "refused");
        let shortened = lc(|p| {
            p.brownouts = vec![super::super::window::Brownout::Once {
                start: at(2027, 3, 2, 14, 0),
                duration: 5 * MIN,
            }]
        });
        assert_eq!(decide(now, &shortened, &NOBODY), Decision::Serve);
        let dry = lc(|p| p.enforce = false);
        assert_eq!(decide(now, &dry, &NOBODY).name(), "would_refuse");
    }
}
