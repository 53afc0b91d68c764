//! `report --format html`: one self-contained page an ops lead can mail to the teams concerned.
//! Pure: plain structs in, a `String` out.
//!
//! Decisions:
//! - No external assets and no JavaScript: inline CSS and inline SVG only, and a
//!   Content-Security-Policy `<meta>` that forbids scripts and every fetch, so even a string
//!   that escaped escaping could not run or phone home when the page is opened from a mailbox.
//! - Every caller-controlled string (user, client, User-Agent, rule names) is escaped for HTML
//!   text and attributes (`& < > " '`), and invisible or reordering characters (controls,
//!   bidi overrides and isolates, zero-width marks) are shown as `[U+202E]` instead of being
//!   interpreted: a User-Agent must not be able to make a row read as something else.
//! - Bounded output: strings are cut at [`MAX_STRING`] characters, the chart at the last
//!   [`svg::MAX_DAYS`] days, the caller table at [`MAX_ROWS`] rows; what was cut is said.
//! - The chart draws one `<rect class="bar">` per day with calls, per rule (with `data-rule`,
//!   `data-day`, `data-calls`), so a test can count bars; a `<title>` gives the number on hover.

mod readiness;
mod svg;

pub use readiness::{ReadinessCaller, ReadinessView};

use super::calendar::{rfc3339, Day};
use super::schedule::{Lifecycle, Phase};
use super::window::Window;
use std::fmt::Write as _;
use std::time::SystemTime;

/// Longest caller string shown, in characters.
pub const MAX_STRING: usize = 160;
/// Most caller rows shown.
pub const MAX_ROWS: usize = 5_000;

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub title: String,
    pub today: SystemTime,
    pub rules: Vec<RuleView>,
    pub daily: Vec<DailyCalls>,
    pub callers: Vec<CallerRow>,
}

/// One rule's schedule, as the timeline draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleView {
    pub name: String,
    pub deprecation: SystemTime,
    pub sunset: Option<SystemTime>,
    pub windows: Vec<Window>,
    /// The phase today.
    pub phase: Phase,
    /// The window in force today, else the next one.
    pub next_window: Option<Window>,
}

impl RuleView {
    pub fn from_lifecycle(name: &str, lifecycle: &Lifecycle, today: SystemTime) -> RuleView {
        let plan = lifecycle.plan();
        RuleView {
            name: name.to_owned(),
            deprecation: plan.deprecation,
            sunset: plan.sunset,
            windows: lifecycle.windows().to_vec(),
            phase: lifecycle.phase(today),
            next_window: lifecycle.next_window(today),
        }
    }
}

/// Calls of one rule on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCalls {
    pub rule: String,
    pub day: Day,
    pub calls: u64,
}

/// One caller of one rule, with what its calls met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerRow {
    pub rule: String,
    pub user: Option<String>,
    pub verified: bool,
    pub client: String,
    pub user_agent: Option<String>,
    pub served: u64,
    pub exempt: u64,
    pub would_refuse: u64,
    pub refused: u64,
    pub last_seen: SystemTime,
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2433;\
margin:24px auto;max-width:1120px;padding:0 16px}h1{font-size:22px;margin:0 0 4px}\
h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #d8dce4;padding-bottom:4px}\
.muted{color:#5d6678}table{border-collapse:collapse;width:100%;margin:8px 0}\
th,td{border-bottom:1px solid #e3e6ec;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#f3f5f8;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}\
td.s{unicode-bidi:isolate}td.nw{white-space:nowrap}td.ua{overflow-wrap:anywhere;max-width:340px}.ph{font-weight:600}\
.announced{color:#5d6678}.deprecated{color:#9a6700}.brownout{color:#b42318}.sunset{color:#7a1d12}\
.z{color:#b8bfcc}svg{display:block;margin:6px 0;max-width:100%;height:auto}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:6px 0}dt{color:#5d6678}\
.breaks{color:#b42318}.carried{color:#1a7f37}.changes{color:#9a6700}.unaffected{color:#5d6678}";

/// The whole page.
pub fn render(report: &Report) -> String {
    render_with(report, None)
}

/// The whole page, with the readiness section (`report --target V`) before the rules.
pub fn render_with(report: &Report, readiness: Option<&ReadinessView>) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = esc(&report.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n\
         <p class=\"muted\">As of {} (UTC). Phases: served, exempt (let through by an exemption), \
         would refuse (dry run), refused.</p>\n",
        rfc3339(report.today)
    );
    if let Some(view) = readiness {
        readiness::section(&mut out, view);
    }
    let range = svg::day_range(&report.daily);
    for rule in &report.rules {
        rule_section(&mut out, report, rule, range);
    }
    callers_table(&mut out, &report.callers);
    out.push_str("</body></html>\n");
    out
}

fn rule_section(out: &mut String, report: &Report, rule: &RuleView, range: Option<(Day, Day)>) {
    let name = esc(&rule.name);
    let phase = match rule.phase {
        Phase::Brownout { until } => format!("brownout until {}", rfc3339(until)),
        p => p.name().to_owned(),
    };
    let _ = writeln!(
        out,
        "<section><h2>{name}</h2><dl><dt>Phase today</dt><dd class=\"ph {}\">{phase}</dd>\
         <dt>Deprecation</dt><dd>{}</dd><dt>Sunset</dt><dd>{}</dd><dt>Next brownout</dt><dd>{}</dd>\
         <dt>Brownout windows</dt><dd>{}</dd><dt>Calls</dt><dd>{}</dd></dl>",
        rule.phase.name(),
        Day::of(rule.deprecation),
        rule.sunset.map_or_else(
            || "none set".to_owned(),
            |s| {
                let days = (Day::of(s).0 - Day::of(report.today).0).max(0);
                format!("{} ({days} days from today)", Day::of(s))
            }
        ),
        rule.next_window.map_or_else(
            || "none scheduled".to_owned(),
            |w| format!("{} to {}", rfc3339(w.start), rfc3339(w.end))
        ),
        rule.windows.len(),
        report
            .daily
            .iter()
            .filter(|d| d.rule == rule.name)
            .map(|d| d.calls)
            .sum::<u64>(),
    );
    out.push_str(&svg::timeline(rule, report.today));
    out.push_str(&svg::chart(&rule.name, &report.daily, range));
    out.push_str("</section>\n");
}

fn callers_table(out: &mut String, callers: &[CallerRow]) {
    let _ = write!(
        out,
        "<h2>Callers</h2>\n<table><thead><tr><th>rule</th><th>user</th><th>client</th>\
         <th>user agent</th><th>served</th><th>exempt</th><th>would refuse</th><th>refused</th>\
         <th>last seen</th></tr></thead><tbody>\n"
    );
    if callers.is_empty() {
        out.push_str("<tr><td colspan=\"9\" class=\"muted\">no calls recorded</td></tr>\n");
    }
    for c in callers.iter().take(MAX_ROWS) {
        let user = match &c.user {
            Some(u) if c.verified => format!("{} <span class=\"muted\">(verified)</span>", esc(u)),
            Some(u) => format!("{} <span class=\"muted\">(unverified)</span>", esc(u)),
            None => "<span class=\"muted\">none</span>".to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr class=\"caller\"><td class=\"s nw\">{}</td><td class=\"s ua\">{user}</td><td class=\"s nw\">{}</td>\
             <td class=\"s ua\">{}</td>{}{}{}{}<td class=\"nw\">{}</td></tr>",
            esc(&c.rule),
            esc(&c.client),
            c.user_agent.as_deref().map_or_else(|| "<span class=\"muted\">none</span>".to_owned(), esc),
            count(c.served),
            count(c.exempt),
            count(c.would_refuse),
            count(c.refused),
            rfc3339(c.last_seen),
        );
    }
    out.push_str("</tbody></table>\n");
    if callers.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} more callers not shown.</p>",
            callers.len() - MAX_ROWS
        );
    }
}

fn count(n: u64) -> String {
    if n == 0 {
        "<td class=\"n z\">0</td>".to_owned()
    } else {
        format!("<td class=\"n\">{n}</td>")
    }
}

/// Escapes for HTML text and quoted attributes; shows invisible and reordering characters as
/// `[U+XXXX]`; cuts at [`MAX_STRING`] characters.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_STRING * 2));
    for (i, c) in s.chars().enumerate() {
        if i == MAX_STRING {
            let _ = write!(out, "… (+{} characters)", s.chars().count() - MAX_STRING);
            break;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if hidden(c) => {
                let _ = write!(out, "[U+{:04X}]", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Controls, bidi embeddings/overrides/isolates/marks, zero-width characters, BOM.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests;
