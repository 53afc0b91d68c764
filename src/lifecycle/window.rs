//! Brownout windows: the explicit and weekly forms an operator writes, their expansion into
//! concrete time ranges, and the merge of overlapping ones.
//!
//! Decisions:
//! - A window is half-open, `[start, end)`: the call at `start` is refused, the call at `end` is
//!   served. Back-to-back windows (`end == next.start`) therefore leave no served instant
//!   between them, and are merged into one, so `Retry-After` names the real end.
//! - A weekly window is in UTC (no DST: always exactly 7 days apart). It occurs on each
//!   `weekday` at `time_of_day` whose start lies in `[from, until)`; a window that starts before
//!   `until` runs its full length.
//! - Windows are expanded once, when the lifecycle is built, and capped at [`MAX_WINDOWS`] per
//!   rule (weekly for 50 years is 2 600), so a query is a binary search, never a calendar walk.

use super::calendar::{epoch_secs, from_epoch_secs, Day, Weekday, SECS_PER_DAY};
use std::time::{Duration, SystemTime};

/// Most concrete windows one rule may expand to.
pub const MAX_WINDOWS: usize = 10_000;

/// A concrete brownout, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub start: SystemTime,
    pub end: SystemTime,
}

impl Window {
    pub fn new(start: SystemTime, duration: Duration) -> Window {
        Window {
            start,
            end: start + duration,
        }
    }

    /// Start inclusive, end exclusive.
    pub fn contains(&self, t: SystemTime) -> bool {
        self.start <= t && t < self.end
    }

    pub fn duration(&self) -> Duration {
        self.end.duration_since(self.start).unwrap_or_default()
    }
}

/// A brownout as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Brownout {
    /// One window: `start` for `duration`.
    Once {
        start: SystemTime,
        duration: Duration,
    },
    /// Every `weekday` at `time_of_day` (UTC, since midnight) for `duration`, for starts in
    /// `[from, until)`.
    Weekly {
        weekday: Weekday,
        time_of_day: Duration,
        duration: Duration,
        from: SystemTime,
        until: SystemTime,
    },
}

/// More than [`MAX_WINDOWS`] windows; `index` is the brownout that crossed the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyWindows {
    pub index: usize,
}

impl Brownout {
    /// The first window of this brownout (`None` for a weekly one with no occurrence).
    pub fn first(&self) -> Option<Window> {
        let mut out = Vec::new();
        self.expand_into(&mut out, 1);
        out.first().copied()
    }

    /// Appends this brownout's windows to `out`; returns false when `out` would exceed `cap`.
    fn expand_into(&self, out: &mut Vec<Window>, cap: usize) -> bool {
        match *self {
            Brownout::Once { start, duration } => {
                if out.len() >= cap {
                    return false;
                }
                out.push(Window::new(start, duration));
            }
            Brownout::Weekly {
                weekday,
                time_of_day,
                duration,
                from,
                until,
            } => {
                let tod = i64::try_from(time_of_day.as_secs()).unwrap_or(i64::MAX);
                let from_s = epoch_secs(from);
                let until_s = epoch_secs(until);
                let mut day = Day::of(from).0;
                let shift = (weekday.index() - Day(day).weekday().index()).rem_euclid(7);
                day += shift;
                loop {
                    let start = day.saturating_mul(SECS_PER_DAY).saturating_add(tod);
                    if start >= until_s {
                        break;
                    }
                    if start >= from_s {
                        if out.len() >= cap {
                            return false;
                        }
                        out.push(Window::new(from_epoch_secs(start), duration));
                    }
                    day += 7;
                }
            }
        }
        true
    }
}

/// Every window of `brownouts`, sorted and merged (overlapping or touching windows become one).
pub fn expand(brownouts: &[Brownout]) -> Result<Vec<Window>, TooManyWindows> {
    let mut all = Vec::new();
    for (index, b) in brownouts.iter().enumerate() {
        if !b.expand_into(&mut all, MAX_WINDOWS) {
            return Err(TooManyWindows { index });
        }
    }
    Ok(merge(all))
}

/// Sorts and merges: `[a, b)` and `[c, d)` with `c <= b` become `[a, max(b, d))`.
pub fn merge(mut windows: Vec<Window>) -> Vec<Window> {
    windows.retain(|w| w.start < w.end);
    windows.sort();
    let mut out: Vec<Window> = Vec::with_capacity(windows.len());
    for w in windows {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// The window of sorted, merged `windows` that contains `t`.
pub fn window_at(windows: &[Window], t: SystemTime) -> Option<Window> {
    // The last window starting at or before t is the only candidate.
    let i = windows.partition_point(|w| w.start <= t);
    i.checked_sub(1)
        .map(|i| windows[i])
        .filter(|w| w.contains(t))
}

/// The window containing `t`, else the first one starting after `t`.
pub fn next_window(windows: &[Window], t: SystemTime) -> Option<Window> {
    let i = windows.partition_point(|w| w.end <= t);
    windows.get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::calendar::Day;

    const MIN: Duration = Duration::from_secs(60);

    fn at(y: i64, mo: u32, d: u32, h: u64, mi: u64) -> SystemTime {
        Day::from_ymd(y, mo, d).start() + Duration::from_secs(h * 3600 + mi * 60)
    }

    fn tuesdays_14h(from: SystemTime, until: SystemTime) -> Brownout {
        Brownout::Weekly {
            weekday: Weekday::Tuesday,
            time_of_day: Duration::from_secs(14 * 3600),
            duration: 15 * MIN,
            from,
            until,
        }
    }

    #[test]
    fn a_window_includes_its_start_and_excludes_its_end() {
        let w = Window::new(at(2027, 3, 2, 14, 0), 15 * MIN);
        assert!(!w.contains(w.start - Duration::from_nanos(1)));
        assert!(w.contains(w.start));
        assert!(w.contains(w.end - Duration::from_nanos(1)));
        assert!(!w.contains(w.end));
        let ws = [w];
        assert_eq!(window_at(&ws, w.start), Some(w));
        assert_eq!(window_at(&ws, w.end), None);
        assert_eq!(next_window(&ws, w.end - Duration::from_nanos(1)), Some(w));
        assert_eq!(next_window(&ws, w.end), None);
        assert_eq!(next_window(&ws, w.start - MIN), Some(w));
    }

    #[test]
    fn weekly_windows_fall_on_the_weekday_across_a_month_and_a_year_boundary() {
        let b = tuesdays_14h(at(2026, 12, 20, 0, 0), at(2027, 2, 10, 0, 0));
        let ws = expand(&[b]).unwrap();
        let days: Vec<String> = ws.iter().map(|w| Day::of(w.start).to_string()).collect();
        assert_eq!(
            days,
            [
                "2026-12-22",
                "2026-12-29",
                "2027-01-05",
                "2027-01-12",
                "2027-01-19",
                "2027-01-26",
                "2027-02-02",
                "2027-02-09"
            ]
        );
        for w in &ws {
            assert_eq!(Day::of(w.start).weekday(), Weekday::Tuesday);
            assert_eq!(
                crate::lifecycle::calendar::rfc3339(w.start)[11..],
                *"14:00:00Z"
            );
            assert_eq!(w.duration(), 15 * MIN);
        }
        // Exactly seven days apart: no DST in UTC.
        for pair in ws.windows(2) {
            assert_eq!(
                pair[1].start.duration_since(pair[0].start).unwrap(),
                Duration::from_secs(7 * 86_400)
            );
        }
    }

    #[test]
    fn weekly_windows_start_in_from_inclusive_until_exclusive() {
        // from is exactly an occurrence: included; until exactly an occurrence: excluded.
        let b = tuesdays_14h(at(2027, 3, 2, 14, 0), at(2027, 3, 16, 14, 0));
        let ws = expand(&[b]).unwrap();
        assert_eq!(ws.len(), 2);
        assert_eq!(ws[0].start, at(2027, 3, 2, 14, 0));
        assert_eq!(ws[1].start, at(2027, 3, 9, 14, 0));
        // from one minute after the Tuesday occurrence: that week is skipped.
        let late = tuesdays_14h(at(2027, 3, 2, 14, 1), at(2027, 3, 16, 14, 1));
        let ws = expand(&[late]).unwrap();
        assert_eq!(
            ws.iter().map(|w| w.start).collect::<Vec<_>>(),
            [at(2027, 3, 9, 14, 0), at(2027, 3, 16, 14, 0)]
        );
    }

    #[test]
    fn overlapping_and_touching_windows_are_merged() {
        let once = |h, m, dur| Brownout::Once {
            start: at(2027, 3, 2, h, m),
            duration: dur * MIN,
        };
        let ws = expand(&[
            once(14, 10, 20), // 14:10-14:30 overlaps the weekly 14:00-14:15
            tuesdays_14h(at(2027, 3, 1, 0, 0), at(2027, 3, 3, 0, 0)),
            once(14, 30, 5), // touches: 14:30-14:35
            once(15, 0, 5),  // apart
        ])
        .unwrap();
        assert_eq!(
            ws,
            [
                Window {
                    start: at(2027, 3, 2, 14, 0),
                    end: at(2027, 3, 2, 14, 35)
                },
                Window {
                    start: at(2027, 3, 2, 15, 0),
                    end: at(2027, 3, 2, 15, 5)
                },
            ]
        );
        assert_eq!(
            window_at(&ws, at(2027, 3, 2, 14, 20)).map(|w| w.end),
            Some(at(2027, 3, 2, 14, 35))
        );
    }

    #[test]
    fn expansion_stops_at_the_cap_and_names_the_brownout() {
        let b = Brownout::Weekly {
            weekday: Weekday::Monday,
            time_of_day: Duration::ZERO,
            duration: MIN,
            from: at(2000, 1, 1, 0, 0),
            until: at(2400, 1, 1, 0, 0),
        };
        let once = Brownout::Once {
            start: at(2027, 1, 1, 0, 0),
            duration: MIN,
        };
        assert_eq!(expand(&[once, b]), Err(TooManyWindows { index: 1 }));
    }
}
