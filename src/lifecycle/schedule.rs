//! One rule's lifecycle: its dates, brownouts, what happens after Sunset, and the phase a call
//! meets at a given instant.
//!
//! Decisions:
//! - Phases, in the order they are checked: `Sunset` when `now >= sunset` and
//!   `after_sunset = gone`; `Brownout` inside a window; `Sunset` when `now >= sunset` and
//!   `after_sunset = keep` (brownouts after the Sunset still apply then: the operator kept the
//!   route, and its windows); `Deprecated` from the Deprecation date; `Announced` before it.
//! - With `after_sunset = gone` a window running across the Sunset ends at the Sunset: from
//!   then on the route is gone, and `Retry-After` must not promise otherwise.
//! - Days to Sunset round towards the Sunset: any part of a day left counts as a day (one
//!   second before Sunset is "1 day left"), 0 at the Sunset, negative after it.

use super::exempt::Exemption;
use super::window::{self, Brownout, TooManyWindows, Window};
use std::time::{Duration, SystemTime};

/// What the route does once its Sunset has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSunset {
    /// `410 route_sunset`.
    Gone,
    /// Keep serving (translating) the route; only the headers say it is past Sunset.
    Keep,
}

/// The answer during a brownout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `410 Gone`, the default: the same answer the route will give after Sunset.
    Gone,
    /// `503 Service Unavailable` with `Retry-After` set to the window's end.
    Unavailable,
}

/// A lifecycle as configured (validated by `config::lifecycle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub deprecation: SystemTime,
    pub sunset: Option<SystemTime>,
    pub brownouts: Vec<Brownout>,
    pub after_sunset: AfterSunset,
    pub answer: Answer,
    /// `false`: dry run, nothing is refused, refusals are reported as would-refuse.
    pub enforce: bool,
    /// How long before Sunset the per-call log line rises from INFO to WARN.
    pub warn_before_sunset: Duration,
    pub exemptions: Vec<Exemption>,
}

/// A [`Plan`] with its brownouts expanded and merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    plan: Plan,
    windows: Vec<Window>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the Deprecation date.
    Announced,
    Deprecated,
    /// Inside a brownout window, which ends at `until`.
    Brownout {
        until: SystemTime,
    },
    Sunset,
}

impl Phase {
    /// `announced`, `deprecated`, `brownout`, `sunset`: the label of metrics and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Announced => "announced",
            Phase::Deprecated => "deprecated",
            Phase::Brownout { .. } => "brownout",
            Phase::Sunset => "sunset",
        }
    }
}

/// How loud the per-call deprecation log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    Info,
    /// Within `warn_before_sunset` of the Sunset, or past it (`days_left <= 0`).
    Warn {
        days_left: i64,
    },
}

impl Lifecycle {
    pub fn new(plan: Plan) -> Result<Lifecycle, TooManyWindows> {
        let windows = window::expand(&plan.brownouts)?;
        Ok(Lifecycle { plan, windows })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Every brownout window, sorted and merged, as configured (not clipped at the Sunset).
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    fn gone_at(&self, now: SystemTime) -> bool {
        self.plan.after_sunset == AfterSunset::Gone && self.plan.sunset.is_some_and(|s| now >= s)
    }

    /// A window as it applies: clipped at the Sunset when the route is gone after it.
    fn effective(&self, w: Window) -> Option<Window> {
        match (self.plan.after_sunset, self.plan.sunset) {
            (AfterSunset::Gone, Some(s)) if w.start >= s => None,
            (AfterSunset::Gone, Some(s)) => Some(Window {
                start: w.start,
                end: w.end.min(s),
            }),
            _ => Some(w),
        }
    }

    /// The window in force at `now`, if any.
    pub fn window_at(&self, now: SystemTime) -> Option<Window> {
        window::window_at(&self.windows, now)
            .and_then(|w| self.effective(w))
            .filter(|w| w.contains(now))
    }

    /// The window in force at `now`, else the next one that will apply.
    pub fn next_window(&self, now: SystemTime) -> Option<Window> {
        window::next_window(&self.windows, now)
            .and_then(|w| self.effective(w))
            .filter(|w| w.end > now)
    }

    pub fn phase(&self, now: SystemTime) -> Phase {
        if self.gone_at(now) {
            return Phase::Sunset;
        }
        if let Some(w) = self.window_at(now) {
            return Phase::Brownout { until: w.end };
        }
        if self.plan.sunset.is_some_and(|s| now >= s) {
            Phase::Sunset
        } else if now >= self.plan.deprecation {
            Phase::Deprecated
        } else {
            Phase::Announced
        }
    }

    /// Whole days left before the Sunset, rounded down (issue 20: 1.9 days left is 1, never
    /// more than there is; under a day is 0); from the Sunset on, negative: -1 during its first
    /// day, -2 during the next. `None` without a Sunset.
    pub fn days_to_sunset(&self, now: SystemTime) -> Option<i64> {
        let sunset = self.plan.sunset?;
        const DAY: u64 = 86_400;
        let days = |d: std::time::Duration| i64::try_from(d.as_secs() / DAY).unwrap_or(i64::MAX);
        Some(match sunset.duration_since(now) {
            Ok(left) if !left.is_zero() => days(left),
            Ok(_) => -1,
            Err(past) => -days(past.duration()) - 1,
        })
    }

    pub fn escalation(&self, now: SystemTime) -> Escalation {
        match (self.plan.sunset, self.days_to_sunset(now)) {
            (Some(sunset), Some(days_left)) if now + self.plan.warn_before_sunset >= sunset => {
                Escalation::Warn { days_left }
            }
            _ => Escalation::Info,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lifecycle::calendar::Day;

    pub(crate) const MIN: Duration = Duration::from_secs(60);
    pub(crate) const DAY: Duration = Duration::from_secs(86_400);

    pub(crate) fn at(y: i64, mo: u32, d: u32, h: u64, mi: u64) -> SystemTime {
        Day::from_ymd(y, mo, d).start() + Duration::from_secs(h * 3600 + mi * 60)
    }

    /// Deprecated 2026-01-01, Sunset 2027-06-30, brownout 2027-03-02 14:00 for 15 minutes.
    pub(crate) fn plan() -> Plan {
        Plan {
            deprecation: at(2026, 1, 1, 0, 0),
            sunset: Some(at(2027, 6, 30, 0, 0)),
            brownouts: vec![Brownout::Once {
                start: at(2027, 3, 2, 14, 0),
                duration: 15 * MIN,
            }],
            after_sunset: AfterSunset::Gone,
            answer: Answer::Gone,
            enforce: true,
            warn_before_sunset: 30 * DAY,
            exemptions: vec![],
        }
    }

    fn lc(plan: Plan) -> Lifecycle {
        Lifecycle::new(plan).unwrap()
    }

    #[test]
    fn every_phase_in_order_with_the_window_edges() {
        let l = lc(plan());
        let ns = Duration::from_nanos(1);
        assert_eq!(l.phase(at(2025, 12, 31, 23, 59)), Phase::Announced);
        assert_eq!(l.phase(at(2026, 1, 1, 0, 0)), Phase::Deprecated);
        assert_eq!(l.phase(at(2027, 3, 2, 14, 0) - ns), Phase::Deprecated);
        let until = at(2027, 3, 2, 14, 15);
        assert_eq!(l.phase(at(2027, 3, 2, 14, 0)), Phase::Brownout { until });
        assert_eq!(l.phase(until - ns), Phase::Brownout { until });
        assert_eq!(l.phase(until), Phase::Deprecated);
        assert_eq!(l.phase(at(2027, 6, 30, 0, 0) - ns), Phase::Deprecated);
        assert_eq!(l.phase(at(2027, 6, 30, 0, 0)), Phase::Sunset);
        assert_eq!(l.phase(at(2030, 1, 1, 0, 0)), Phase::Sunset);
    }

    #[test]
    fn a_gone_route_clips_a_window_at_the_sunset_and_ignores_later_ones() {
        let mut p = plan();
        p.brownouts = vec![
            Brownout::Once {
                start: at(2027, 6, 29, 23, 50),
                duration: 20 * MIN,
            },
            Brownout::Once {
                start: at(2027, 7, 1, 0, 0),
                duration: 20 * MIN,
            },
        ];
        let l = lc(p.clone());
        assert_eq!(
            l.phase(at(2027, 6, 29, 23, 55)),
            Phase::Brownout {
                until: at(2027, 6, 30, 0, 0)
            }
        );
        assert_eq!(l.next_window(at(2027, 6, 30, 0, 0)), None);
        assert_eq!(l.phase(at(2027, 7, 1, 0, 5)), Phase::Sunset);
        // Kept after Sunset: the windows apply as written.
        p.after_sunset = AfterSunset::Keep;
        let kept = lc(p);
        assert_eq!(
            kept.phase(at(2027, 6, 30, 0, 5)),
            Phase::Brownout {
                until: at(2027, 6, 30, 0, 10)
            }
        );
        assert_eq!(kept.phase(at(2027, 6, 30, 0, 10)), Phase::Sunset);
        assert_eq!(
            kept.next_window(at(2027, 6, 30, 0, 10)).map(|w| w.start),
            Some(at(2027, 7, 1, 0, 0))
        );
    }

    #[test]
    fn days_to_sunset_round_down_and_go_negative_from_the_sunset_on() {
        let l = lc(plan());
        let sunset = at(2027, 6, 30, 0, 0);
        assert_eq!(l.days_to_sunset(sunset - Duration::from_nanos(1)), Some(0));
        assert_eq!(l.days_to_sunset(sunset - DAY), Some(1));
        assert_eq!(
            l.days_to_sunset(sunset - 2 * DAY + Duration::from_secs(1)),
            Some(1),
            "1.99 days left is 1 day, not 2"
        );
        assert_eq!(l.days_to_sunset(sunset), Some(-1));
        assert_eq!(
            l.days_to_sunset(sunset + DAY - Duration::from_secs(1)),
            Some(-1)
        );
        assert_eq!(l.days_to_sunset(sunset + DAY), Some(-2));
        let mut p = plan();
        p.sunset = None;
        assert_eq!(lc(p).days_to_sunset(sunset), None);
    }

    #[test]
    fn the_log_level_rises_to_warn_within_the_configured_period_before_sunset() {
        let l = lc(plan());
        let sunset = at(2027, 6, 30, 0, 0);
        assert_eq!(
            l.escalation(sunset - 30 * DAY - Duration::from_secs(1)),
            Escalation::Info
        );
        assert_eq!(
            l.escalation(sunset - 30 * DAY),
            Escalation::Warn { days_left: 30 }
        );
        assert_eq!(
            l.escalation(sunset - 2 * MIN),
            Escalation::Warn { days_left: 0 }
        );
        assert_eq!(
            l.escalation(sunset + 3 * DAY),
            Escalation::Warn { days_left: -4 }
        );
        let mut p = plan();
        p.sunset = None;
        assert_eq!(lc(p).escalation(sunset), Escalation::Info);
    }
}
