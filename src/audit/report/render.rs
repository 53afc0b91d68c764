//! Rendering a [`Report`] as an aligned table (for people), JSON (the `/deprecations` document)
//! or CSV (for spreadsheets). Caller-supplied text is made safe for its destination: control
//! characters and bidi/format controls never reach a terminal (escaped, [`crate::escape`]),
//! unverified users are marked, and CSV cells that a spreadsheet would run as a formula
//! are prefixed with `'` (OWASP "CSV injection").

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

pub fn render(report: &Report, format: Format, since: Option<SystemTime>) -> String {
    match format {
        Format::Table => table(report, since),
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

const HEADERS: [&str; 11] = [
    "LAST SEEN",
    "FIRST SEEN",
    "USER",
    "CLIENT",
    "USER AGENT",
    "CALLS",
    "OK",
    "CLIENT ERR",
    "UPSTREAM ERR",
    "DATABASES",
    "INSTANCES",
];
/// Columns aligned right (numbers).
const RIGHT: [bool; 11] = [
    false, false, false, false, false, true, true, true, true, false, false,
];

fn table(report: &Report, since: Option<SystemTime>) -> String {
    let mut out = String::new();
    if report.callers.is_empty() {
        out.push_str("No calls of the deprecated route found.\n");
    } else {
        let cells: Vec<[String; 11]> = report.callers.iter().map(table_cells).collect();
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
        "{} caller{}, {} call{} (ok {}, client errors {}, upstream errors {}); {} corrupt line{} skipped",
        t.callers,
        plural(t.callers),
        t.calls,
        plural(t.calls),
        t.outcomes.ok,
        t.outcomes.client_error,
        t.outcomes.upstream_error,
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

fn table_cells(r: &Row) -> [String; 11] {
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
        seconds(&r.last_seen),
        seconds(&r.first_seen),
        user_cell(r),
        printable(&r.client, usize::MAX),
        printable(r.user_agent.as_deref().unwrap_or("-"), TABLE_UA_CHARS),
        r.calls.to_string(),
        r.outcomes.ok.to_string(),
        r.outcomes.client_error.to_string(),
        r.outcomes.upstream_error.to_string(),
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

fn write_row(out: &mut String, cells: &[String; 11], widths: &[usize; 11]) {
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
        "user,client,user_agent,calls,first_seen,last_seen,databases,ok,client_error,upstream_error,verified,instances\n",
    );
    for r in &report.callers {
        let dbs: Vec<String> = r.databases.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::report::{Outcomes, Totals};

    fn report() -> Report {
        Report {
            callers: vec![Row {
                user: Some("ops".into()),
                verified: true,
                client: "10.0.0.1".into(),
                user_agent: Some("=cmd|' /C calc'!A0, \"x\"\u{1b}[31m".into()),
                calls: 12,
                first_seen: "2025-01-01T00:00:00.000Z".into(),
                last_seen: "2025-01-02T03:04:05.678Z".into(),
                databases: (1..=10).collect(),
                instances: vec!["shim-a".into(), "shim-b".into()],
                outcomes: Outcomes {
                    ok: 10,
                    client_error: 1,
                    upstream_error: 1,
                },
            }],
            totals: Totals {
                callers: 1,
                calls: 12,
                outcomes: Outcomes {
                    ok: 10,
                    client_error: 1,
                    upstream_error: 1,
                },
                skipped_lines: 3,
            },
        }
    }

    #[test]
    fn table_is_aligned_and_safe_for_terminals() {
        let t = render(&report(), Format::Table, None);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("LAST SEEN             FIRST SEEN"),
            "{t}"
        );
        assert!(lines[1].starts_with("2025-01-02T03:04:05Z  2025-01-01T00:00:00Z  ops "));
        assert_eq!(
            lines[0].find("CALLS").map(|i| i + 5),
            lines[1].find("12").map(|i| i + 2)
        );
        assert!(
            lines[1].ends_with("1,2,3,4,5,6,7,8,+2  shim-a,shim-b"),
            "{t}"
        );
        assert!(!t.contains('\u{1b}'));
        assert!(t.contains("1 caller, 12 calls (ok 10, client errors 1, upstream errors 1); 3 corrupt lines skipped"), "{t}");
    }

    #[test]
    fn table_neutralises_bidi_and_format_controls() {
        let mut r = report();
        r.callers[0].user = Some("admin\u{202e}gpj.exe\u{2066}x\u{2069}\u{200b}".into());
        let t = render(&r, Format::Table, None);
        for c in ['\u{202e}', '\u{2066}', '\u{2069}', '\u{200b}'] {
            assert!(!t.contains(c), "{c:?} in {t}");
        }
        assert!(
            t.contains("admin\\u{202e}gpj.exe\\u{2066}x\\u{2069}\\u{200b}"),
            "{t}"
        );
    }

    #[test]
    fn unverified_users_are_marked_in_every_format() {
        let mut r = report();
        r.callers[0].verified = false;
        assert!(render(&r, Format::Table, None).contains("  ops (unverified)  "));
        let csv = render(&r, Format::Csv, None);
        let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        // ..., upstream_error, verified, instances
        assert_eq!(row[row.len() - 2], "false");
        assert!(render(&r, Format::Json, None).contains("\"verified\": false"));
    }

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        let c = render(&report(), Format::Csv, None);
        let row = c.lines().nth(1).unwrap();
        assert!(
            row.starts_with("ops,10.0.0.1,\"'=cmd|' /C calc'!A0, \"\"x\"\""),
            "{row}"
        );
        assert!(
            row.ends_with(
                ",12,2025-01-01T00:00:00.000Z,2025-01-02T03:04:05.678Z,1 2 3 4 5 6 7 8 9 10,10,1,1,true,shim-a shim-b"
            ),
            "{row}"
        );
    }

    #[test]
    fn json_round_trips() {
        let j = render(&report(), Format::Json, None);
        let back: Report = serde_json::from_str(&j).unwrap();
        assert_eq!(back, report());
    }
}
