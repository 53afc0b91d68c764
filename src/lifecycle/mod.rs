//! The migration lifecycle of a deprecated route (issue 13), as pure functions of an instant:
//! the schedule (Deprecation, brownout windows, Sunset), exemptions, the decision for one call,
//! the `check` table and the HTML usage report. No I/O, no async, nothing from the request path:
//! the request path asks [`decide`] and renders its answer.
//!
//! - [`calendar`]: UTC days, weekdays, RFC 3339 rendering.
//! - [`window`]: brownout windows, `[start, end)`, expanded and merged.
//! - [`schedule`]: a rule's [`Lifecycle`], its [`Phase`] at an instant, days to Sunset, escalation.
//! - [`exempt`]: exemptions by verified user, User-Agent glob, client CIDR, with expiry.
//! - [`decide`](mod@decide): serve / exempt / would-refuse / refuse, and the refusal's error body.
//! - [`check`]: what every rule would do at a given instant, as a text table.
//! - [`html`]: the self-contained HTML report.
//!
//! Time comes in as an argument (or through a [`Clock`]), so tests never sleep through a window.

pub mod calendar;
pub mod check;
pub mod decide;
pub mod exempt;
pub mod html;
pub mod schedule;
pub mod window;

pub use calendar::{Day, Weekday};
pub use decide::{decide, Decision, Refusal, ROUTE_BROWNOUT, ROUTE_SUNSET};
pub use exempt::{Caller, Exemption, Glob, Grant};
pub use schedule::{AfterSunset, Answer, Escalation, Lifecycle, Phase, Plan};
pub use window::{Brownout, Window};

use std::time::{Instant, SystemTime};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Always the same instant: for tests and `check --at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// Starts at a given instant and runs from there: the proxy's `--now` (rehearsals and tests of
/// the running binary), so time still passes between calls but a window can be reached at once.
#[derive(Debug, Clone, Copy)]
pub struct StartedClock {
    start: SystemTime,
    began: Instant,
}

impl StartedClock {
    pub fn starting_at(start: SystemTime) -> StartedClock {
        StartedClock {
            start,
            began: Instant::now(),
        }
    }
}

impl Clock for StartedClock {
    fn now(&self) -> SystemTime {
        self.start + self.began.elapsed()
    }
}
