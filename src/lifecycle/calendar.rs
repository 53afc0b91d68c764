//! UTC calendar arithmetic the schedule needs: days since the epoch, weekdays, and the
//! `YYYY-MM-DD` / RFC 3339 renderings. DST-free on purpose: every schedule is in UTC, so a
//! recurring window is always exactly seven days after the previous one.
//!
//! Decisions:
//! - Own arithmetic (Howard Hinnant's `days_from_civil` / `civil_from_days`) instead of a date
//!   crate: a dozen lines, total over every `i64`, and it never panics on an instant before the
//!   epoch (`humantime`'s formatter does).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SECS_PER_DAY: i64 = 86_400;

/// Seconds since the epoch, rounded down; negative before 1970.
pub fn epoch_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let back = e.duration();
            let whole = i64::try_from(back.as_secs()).unwrap_or(i64::MAX);
            if back.subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    }
}

/// The instant `secs` seconds after (or before) the epoch.
pub fn from_epoch_secs(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// A UTC calendar day, counted from 1970-01-01 (day 0). Renders as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// The UTC day `t` falls on.
    pub fn of(t: SystemTime) -> Day {
        Day(epoch_secs(t).div_euclid(SECS_PER_DAY))
    }

    pub fn from_ymd(year: i64, month: u32, day: u32) -> Day {
        Day(days_from_civil(year, month, day))
    }

    /// Midnight UTC at the start of this day.
    pub fn start(self) -> SystemTime {
        from_epoch_secs(self.0.saturating_mul(SECS_PER_DAY))
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        Weekday::ALL[(self.0 + 3).rem_euclid(7) as usize]
    }

    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// English name or its three-letter abbreviation, any case: `"Tuesday"`, `"tue"`.
    pub fn parse(s: &str) -> Option<Weekday> {
        let lower = s.to_ascii_lowercase();
        Weekday::ALL
            .into_iter()
            .find(|w| lower == w.name() || (lower.len() == 3 && w.name().starts_with(&lower)))
    }

    pub fn name(self) -> &'static str {
        match self {
            Weekday::Monday => "monday",
            Weekday::Tuesday => "tuesday",
            Weekday::Wednesday => "wednesday",
            Weekday::Thursday => "thursday",
            Weekday::Friday => "friday",
            Weekday::Saturday => "saturday",
            Weekday::Sunday => "sunday",
        }
    }

    /// Monday = 0 … Sunday = 6.
    pub fn index(self) -> i64 {
        Weekday::ALL.iter().position(|w| *w == self).unwrap_or(0) as i64
    }
}

/// `2027-03-01T14:05:00Z` (whole seconds, UTC).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = epoch_secs(t);
    let day = Day(secs.div_euclid(SECS_PER_DAY));
    let rest = secs.rem_euclid(SECS_PER_DAY);
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since the epoch of a proleptic Gregorian date (Hinnant, "chrono-compatible
/// low-level date algorithms").
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_across_leap_years_and_the_epoch() {
        for z in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(Day::from_ymd(1970, 1, 1), Day(0));
        assert_eq!(Day::from_ymd(2024, 2, 29).to_string(), "2024-02-29");
        assert_eq!(
            Day::from_ymd(2024, 11, 1).start(),
            UNIX_EPOCH + Duration::from_secs(1_730_419_200)
        );
    }

    #[test]
    fn weekdays_follow_the_calendar() {
        assert_eq!(Day(0).weekday(), Weekday::Thursday);
        assert_eq!(Day::from_ymd(2027, 3, 2).weekday(), Weekday::Tuesday);
        assert_eq!(Day::from_ymd(2026, 12, 29).weekday(), Weekday::Tuesday);
        assert_eq!(Weekday::parse("TUE"), Some(Weekday::Tuesday));
        assert_eq!(Weekday::parse("Sunday"), Some(Weekday::Sunday));
        assert_eq!(Weekday::parse("tues"), None);
    }

    #[test]
    fn instants_render_in_utc_even_before_the_epoch() {
        assert_eq!(
            rfc3339(from_epoch_secs(1_730_419_200 + 3_723)),
            "2024-11-01T01:02:03Z"
        );
        assert_eq!(rfc3339(from_epoch_secs(-1)), "1969-12-31T23:59:59Z");
        assert_eq!(epoch_secs(UNIX_EPOCH - Duration::from_millis(1)), -1);
        assert_eq!(Day::of(UNIX_EPOCH - Duration::from_millis(1)), Day(-1));
    }
}
