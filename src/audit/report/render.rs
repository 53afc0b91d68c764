//! Rendering a [`Report`] as an aligned table (for people; one header line per rule, then a row
//! per rule and caller), JSON (the `/deprecations` document) or CSV (for spreadsheets). Caller-supplied text is made safe for its destination: control
//! characters and bidi/format controls never reach a terminal (escaped, [`crate::escape`]),
//! unverified users are marked, and CSV cells that a spreadsheet would run as a formula
//! are prefixed with `'` (OWASP "CSV injection").

use super::rules::header_line;
use super::{Report, Row};
use std::fmt::Write as _;
use std::time::SystemTime;

/// Output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Widest User-Agent shown in the table; the JSON and CSV formats keep it whole.
const TABLE_UA_CHARS: usize = 48;
/// Database uids listed per row in the table before "+N".
const TABLE_DATABASES: usize = 8;

/// `configured`: the report was made with a configuration (`--config`), so a rule without a
/// schedule has none configured, rather than none known.
pub fn render(
    report: &Report,
    format: Format,
    since: Option<SystemTime>,
    configured: bool,
) -> String {
    match format {
        Format::Table => table(report, since, configured),
        Format::Json => json(report),
        Format::Csv => csv(report),
    }
}

fn json(report: &Report) -> String {
    // A struct of strings and numbers always serialises.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
    out.push('\n');
    out
}

const COLUMNS: usize = 16;

const HEADERS: [&str; COLUMNS] = [
    "RULE",
    "LAST SEEN",
    "FIRST SEEN",
    "USER",
    "CLIENT",
    "USER AGENT",
    "CALLS",
    "OK",
    "CLIENT ERR",
    "UPSTREAM ERR",
    "SERVED",
    "EXEMPT",
    "WOULD_REFUSE",
    "REFUSED",
    "DATABASES",
    "INSTANCES",
];
/// Columns aligned right (numbers).
const RIGHT: [bool; COLUMNS] = [
    false, false, false, false, false, false, true, true, true, true, true, true, true, true,
    false, false,
];

fn table(report: &Report, since: Option<SystemTime>, configured: bool) -> String {
    let mut out = String::new();
    for rule in &report.rules {
        out.push_str(&header_line(rule, configured));
        out.push('\n');
    }
    if !report.rules.is_empty() {
        out.push('\n');
    }
    if report.callers.is_empty() {
        out.push_str("No calls of a deprecated route found.\n");
    } else {
        let cells: Vec<[String; COLUMNS]> = report.callers.iter().map(table_cells).collect();
        let mut widths = HEADERS.map(|h| h.chars().count());
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        write_row(&mut out, &HEADERS.map(str::to_owned), &widths);
        for row in &cells {
            write_row(&mut out, row, &widths);
        }
        out.push('\n');
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "{} caller{}, {} call{} (ok {}, client errors {}, upstream errors {}{}; served {}, exempt {}, would refuse {}, refused {}); {} corrupt line{} skipped",
        t.callers,
        plural(t.callers),
        t.calls,
        plural(t.calls),
        t.outcomes.ok,
        t.outcomes.client_error,
        t.outcomes.upstream_error,
        of_which(&t.outcomes),
        t.phases.served,
        t.phases.exempt,
        t.phases.would_refuse,
        t.phases.refused,
        t.skipped_lines,
        plural(t.skipped_lines),
    );
    if let Some(since) = since {
        let _ = writeln!(
            out,
            "Calls since {}.",
            humantime::format_rfc3339_seconds(since)
        );
    }
    out
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn table_cells(r: &Row) -> [String; COLUMNS] {
    let mut dbs: Vec<String> = r
        .databases
        .iter()
        .take(TABLE_DATABASES)
        .map(u64::to_string)
        .collect();
    if r.databases.len() > TABLE_DATABASES {
        dbs.push(format!("+{}", r.databases.len() - TABLE_DATABASES));
    }
    [
        printable(&r.rule, usize::MAX),
        seconds(&r.last_seen),
        seconds(&r.first_seen),
        user_cell(r),
        printable(&r.client, usize::MAX),
        printable(r.user_agent.as_deref().unwrap_or("-"), TABLE_UA_CHARS),
        r.calls.to_string(),
        r.outcomes.ok.to_string(),
        r.outcomes.client_error.to_string(),
        r.outcomes.upstream_error.to_string(),
        r.phases.served.to_string(),
        r.phases.exempt.to_string(),
        r.phases.would_refuse.to_string(),
        r.phases.refused.to_string(),
        if dbs.is_empty() {
            "-".into()
        } else {
            dbs.join(",")
        },
        if r.instances.is_empty() {
            "-".into()
        } else {
            printable(&r.instances.join(","), usize::MAX)
        },
    ]
}

/// The user, marked when the cluster never accepted its credentials on these calls.
fn user_cell(r: &Row) -> String {
    match r.user.as_deref() {
        None => "-".into(),
        Some(u) if r.verified => printable(u, usize::MAX),
        Some(u) => format!("{} (unverified)", printable(u, usize::MAX)),
    }
}

fn write_row(out: &mut String, cells: &[String; COLUMNS], widths: &[usize; COLUMNS]) {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        let pad = widths[i].saturating_sub(cell.chars().count());
        if RIGHT[i] {
            line.extend(std::iter::repeat_n(' ', pad));
            line.push_str(cell);
        } else {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// "2025-01-02T03:04:05.678Z" → "2025-01-02T03:04:05Z" (a table needs no milliseconds).
fn seconds(ts: &str) -> String {
    match (ts.get(..19), ts.ends_with('Z')) {
        (Some(head), true) => format!("{head}Z"),
        _ => printable(ts, usize::MAX),
    }
}

/// Control characters and the Unicode format characters that reorder or hide text (bidi
/// overrides and isolates, zero-width marks) shown escaped (`\u{202e}`), so a row reads as
/// it is stored; cut at `max` characters with '…'.
fn printable(s: &str, max: usize) -> String {
    crate::escape::escape_capped(s, max)
}

fn csv(report: &Report) -> String {
    let mut out = String::from(
        "user,client,user_agent,calls,first_seen,last_seen,databases,ok,client_error,upstream_error,verified,instances,rule,served,exempt,would_refuse,refused\n",
    );
    for r in &report.callers {
        let dbs: Vec<String> = r.databases.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_text(r.user.as_deref().unwrap_or("")),
            csv_text(&r.client),
            csv_text(r.user_agent.as_deref().unwrap_or("")),
            r.calls,
            r.first_seen,
            r.last_seen,
            dbs.join(" "),
            r.outcomes.ok,
            r.outcomes.client_error,
            r.outcomes.upstream_error,
            r.verified,
            csv_text(&r.instances.join(" ")),
            csv_text(&r.rule),
            r.phases.served,
            r.phases.exempt,
            r.phases.would_refuse,
            r.phases.refused,
        );
    }
    out
}

/// RFC 4180 quoting, after neutralising a leading formula character.
fn csv_text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// " of which 2 interrupted, 1 outcome unknown" (nothing when both are 0).
fn of_which(o: &super::Outcomes) -> String {
    let parts: Vec<String> = [
        (o.interrupted, "interrupted"),
        (o.unknown, "outcome unknown"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" of which {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests;
