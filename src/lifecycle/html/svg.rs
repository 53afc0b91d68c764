//! The two inline SVG drawings of the HTML report: calls per day (bars) and a rule's timeline.
//! Coordinates are in a fixed `viewBox`, so the page scales without script.

use super::{esc, DailyCalls, RuleView};
use crate::lifecycle::calendar::{epoch_secs, Day};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// Most days one chart spans (the latest ones are kept).
pub const MAX_DAYS: i64 = 731;

const W: f64 = 1000.0;

/// First and last day with calls over every rule (so the charts line up), at most
/// [`MAX_DAYS`] long.
pub fn day_range(daily: &[DailyCalls]) -> Option<(Day, Day)> {
    let days = daily.iter().filter(|d| d.calls > 0).map(|d| d.day);
    let first = days.clone().min()?;
    let last = days.max()?;
    Some((Day(first.0.max(last.0 - (MAX_DAYS - 1))), last))
}

/// Calls per day of `rule`: one `<rect class="bar">` per day with calls.
pub fn chart(rule: &str, daily: &[DailyCalls], range: Option<(Day, Day)>) -> String {
    let Some((first, last)) = range else {
        return "<p class=\"muted\">No calls recorded.</p>\n".to_owned();
    };
    let mut per_day: BTreeMap<Day, u64> = BTreeMap::new();
    for d in daily
        .iter()
        .filter(|d| d.rule == rule && d.calls > 0 && d.day >= first && d.day <= last)
    {
        let c = per_day.entry(d.day).or_default();
        *c = c.saturating_add(d.calls);
    }
    if per_day.is_empty() {
        return format!("<p class=\"muted\">No calls from {first} to {last}.</p>\n");
    }
    let (h, left, right, top, bottom) = (190.0, 64.0, 16.0, 16.0, 36.0);
    let (plot_w, plot_h) = (W - left - right, h - top - bottom);
    let n = (last.0 - first.0 + 1) as f64;
    let slot = plot_w / n;
    let bar_w = (slot * 0.8).max(1.0);
    let max = per_day.values().copied().max().unwrap_or(1).max(1);
    let base = top + plot_h;
    let name = esc(rule);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" data-rule=\"{name}\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" \
         role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"><title>Calls per day, {name}</title>\
         <text x=\"{left}\" y=\"11\" font-size=\"12\" fill=\"#5d6678\">calls per day (UTC)</text>\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#9aa3b2\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{}\" y2=\"{top}\" stroke=\"#eef0f4\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" fill=\"#5d6678\">{max}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" fill=\"#5d6678\">0</text>",
        W - right,
        W - right,
        left - 6.0,
        top + 4.0,
        left - 6.0,
        base + 4.0,
    );
    for (day, calls) in &per_day {
        let x = left + (day.0 - first.0) as f64 * slot + (slot - bar_w) / 2.0;
        let bh = (*calls as f64 / max as f64 * plot_h).max(1.0);
        let _ = write!(
            s,
            "<rect class=\"bar\" data-rule=\"{name}\" data-day=\"{day}\" data-calls=\"{calls}\" \
             x=\"{x:.2}\" y=\"{:.2}\" width=\"{bar_w:.2}\" height=\"{bh:.2}\" fill=\"#3b6fd8\">\
             <title>{day}: {calls} calls</title></rect>",
            base - bh
        );
    }
    let label_y = base + 16.0;
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{label_y}\" font-size=\"12\" fill=\"#5d6678\">{first}</text>\
         <text x=\"{}\" y=\"{label_y}\" font-size=\"12\" text-anchor=\"end\" fill=\"#5d6678\">{last}</text></svg>",
        W - right
    );
    s
}

/// Deprecation, brownout windows, Sunset and today on one time axis.
pub fn timeline(rule: &RuleView, today: SystemTime) -> String {
    const DAY: Duration = Duration::from_secs(86_400);
    let mut t0 = rule.deprecation.min(today);
    let mut t1 = rule.sunset.unwrap_or(today + 30 * DAY).max(today);
    if let (Some(f), Some(l)) = (rule.windows.first(), rule.windows.last()) {
        t0 = t0.min(f.start);
        t1 = t1.max(l.end);
    }
    let (a, b) = (
        epoch_secs(t0) as f64,
        epoch_secs(t1).max(epoch_secs(t0) + 86_400) as f64,
    );
    let pad = (b - a) * 0.04;
    let (a, b) = (a - pad, b + pad);
    let (left, right) = (16.0, 16.0);
    let x = |t: SystemTime| left + (epoch_secs(t) as f64 - a) / (b - a) * (W - left - right);
    let name = esc(&rule.name);
    let h = 100.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"timeline\" data-rule=\"{name}\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" \
         role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"><title>Timeline, {name}</title>\
         <line x1=\"{left}\" y1=\"56\" x2=\"{}\" y2=\"56\" stroke=\"#9aa3b2\"/>",
        W - right
    );
    let dep = x(rule.deprecation);
    let end = rule.sunset.map_or(W - right, x);
    let _ = write!(
        s,
        "<rect x=\"{dep:.2}\" y=\"50\" width=\"{:.2}\" height=\"12\" fill=\"#f5d48a\"><title>deprecated</title></rect>",
        (end - dep).max(0.0)
    );
    if rule.sunset.is_some() {
        let _ = write!(
            s,
            "<rect x=\"{end:.2}\" y=\"50\" width=\"{:.2}\" height=\"12\" fill=\"#e9b4ad\"><title>after Sunset</title></rect>",
            (W - right - end).max(0.0)
        );
    }
    // Windows closer than a pixel apart are drawn as one mark, so a weekly schedule over years
    // stays a few hundred elements.
    let mut marks: Vec<(f64, f64, usize, SystemTime, SystemTime)> = Vec::new();
    for w in &rule.windows {
        let (x0, x1) = (x(w.start), x(w.end).max(x(w.start) + 2.0));
        match marks.last_mut() {
            Some(m) if x0 <= m.1 + 0.5 => {
                m.1 = m.1.max(x1);
                m.2 += 1;
                m.4 = w.end;
            }
            _ => marks.push((x0, x1, 1, w.start, w.end)),
        }
    }
    for (x0, x1, count, start, end) in marks {
        let what = if count == 1 {
            "brownout".to_owned()
        } else {
            format!("{count} brownouts")
        };
        let _ = write!(
            s,
            "<rect class=\"window\" x=\"{x0:.2}\" y=\"44\" width=\"{:.2}\" height=\"24\" fill=\"#b42318\">\
             <title>{what} {} to {}</title></rect>",
            x1 - x0,
            crate::lifecycle::calendar::rfc3339(start),
            crate::lifecycle::calendar::rfc3339(end),
        );
    }
    marker(
        &mut s,
        dep,
        &format!("Deprecation {}", Day::of(rule.deprecation)),
        20.0,
        "#9a6700",
        false,
    );
    if let Some(sunset) = rule.sunset {
        marker(
            &mut s,
            end,
            &format!("Sunset {}", Day::of(sunset)),
            34.0,
            "#7a1d12",
            false,
        );
    }
    marker(
        &mut s,
        x(today),
        &format!("today {}", Day::of(today)),
        92.0,
        "#1f5fbf",
        true,
    );
    s.push_str("</svg>\n<p class=\"muted\">Amber: deprecated; red marks: brownout windows; pink: after Sunset; blue dashed line: today.</p>\n");
    s
}

/// A vertical line at `x` with a label at height `y`, anchored so it stays inside the drawing.
fn marker(s: &mut String, x: f64, label: &str, y: f64, color: &str, dashed: bool) {
    let anchor = if x > W - 220.0 {
        "end"
    } else if x < 220.0 {
        "start"
    } else {
        "middle"
    };
    let dash = if dashed {
        " stroke-dasharray=\"4 3\""
    } else {
        ""
    };
    let (y1, y2) = if y > 56.0 {
        (40.0, y - 12.0)
    } else {
        (y + 4.0, 72.0)
    };
    let _ = write!(
        s,
        "<line x1=\"{x:.2}\" y1=\"{y1}\" x2=\"{x:.2}\" y2=\"{y2}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>\
         <text x=\"{x:.2}\" y=\"{y}\" font-size=\"12\" text-anchor=\"{anchor}\" fill=\"{color}\">{}</text>",
        esc(label)
    );
}
