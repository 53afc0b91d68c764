//! [`Readiness`] as text (the summary line, then one block per caller) and as JSON for scripts
//! (`docs/READINESS.md` documents the keys; they are stable).
//!
//! Decisions:
//! - The summary line comes first, so `head -1` in a pipeline is the answer.
//! - A caller is named by user (and whether the cluster verified it), User-Agent and client;
//!   never a secret, the records hold none.

use super::{CallerVerdict, Readiness, Row};
use crate::audit::record::format_ts;
use serde_json::{json, Value};

/// `NO-GO for 8.2.0-25: 2 callers break (a, b)` or `GO for 8.2.0-25: no caller breaks (...)`.
pub fn summary_line(r: &Readiness) -> String {
    let counts: Vec<String> = r
        .counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        // "1 changed", not "1 changes": a count of callers, not the verdict's own word.
        .map(|(v, n)| match v {
            crate::rules::fields::verdict::Verdict::Changes => format!("{n} changed"),
            v => format!("{n} {}", v.as_str()),
        })
        .collect();
    let counts = if counts.is_empty() {
        "no caller seen".to_owned()
    } else {
        counts.join(", ")
    };
    let breaking: Vec<String> = r.breaking().map(caller_name).collect();
    match breaking.len() {
        0 => format!("GO for {}: no caller breaks ({counts})", r.target),
        1 => format!(
            "NO-GO for {}: 1 caller breaks ({})",
            r.target,
            breaking.join("; ")
        ),
        n => format!(
            "NO-GO for {}: {n} callers break ({})",
            r.target,
            breaking.join("; ")
        ),
    }
}

/// The caller in words: `provisioner (verified) "terraform/1.6" 10.0.0.7`.
pub fn caller_name(c: &CallerVerdict) -> String {
    let who = &c.caller;
    let user = match (&who.user, who.verified) {
        (Some(u), true) => format!("{u} (verified)"),
        (Some(u), false) => format!("{u} (unverified)"),
        (None, _) => "(no user)".to_owned(),
    };
    let ua = who.user_agent.as_deref().unwrap_or("-");
    format!("{user} \"{ua}\" {}", who.client)
}

/// The cells of one row, as the text and the HTML page show them.
pub fn cells(r: &Row) -> [String; 8] {
    let e = &r.evidence;
    [
        r.verdict.as_str().to_owned(),
        format!("{} {}", r.id, r.rule),
        match &e.field {
            Some(f) => format!("{} {f}", r.call),
            None => r.call.clone(),
        },
        e.count.to_string(),
        format_ts(e.first),
        format_ts(e.last),
        e.request_id.clone(),
        r.why.clone(),
    ]
}

/// The column names of [`cells`].
pub const HEADER: [&str; 8] = [
    "VERDICT",
    "RULE",
    "ROUTE / FIELD",
    "CALLS",
    "FIRST SEEN",
    "LAST SEEN",
    "REQUEST ID",
    "WHY",
];

/// The summary line, then each caller (worst first) with its rows.
pub fn text(r: &Readiness) -> String {
    let mut out = summary_line(r);
    out.push('\n');
    out.push_str(&format!(
        "Lifecycles decided at {}; {} calls read, {} lines skipped.\n",
        format_ts(r.at),
        r.records,
        r.skipped_lines
    ));
    for c in &r.callers {
        out.push_str(&format!("\n{}: {}\n", caller_name(c), c.verdict.as_str()));
        let mut table = vec![HEADER.map(str::to_owned).to_vec()];
        table.extend(c.rows.iter().map(|row| cells(row).to_vec()));
        for line in crate::rules::catalogue::listing::aligned(&table).lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The JSON document (pretty, with a final newline).
pub fn json(r: &Readiness) -> Result<String, String> {
    let callers: Vec<Value> = r
        .callers
        .iter()
        .map(|c| {
            json!({
                "user": c.caller.user,
                "verified": c.caller.verified,
                "client": c.caller.client,
                "user_agent": c.caller.user_agent,
                "verdict": c.verdict.as_str(),
                "rows": c.rows.iter().map(row_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let counts: serde_json::Map<String, Value> = r
        .counts()
        .iter()
        .map(|(v, n)| (v.as_str().to_owned(), json!(n)))
        .collect();
    let doc = json!({
        "target": r.target.to_string(),
        "at": format_ts(r.at),
        "go": r.go(),
        "summary": summary_line(r),
        "callers": callers,
        "totals": {
            "callers": r.callers.len(),
            "by_verdict": counts,
            "calls": r.records,
            "skipped_lines": r.skipped_lines,
        },
    });
    serde_json::to_string_pretty(&doc)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| format!("cannot render readiness as JSON: {e}"))
}

fn row_json(r: &Row) -> Value {
    let (method, route) = r.call.split_once(' ').unwrap_or(("", r.call.as_str()));
    json!({
        "kind": r.subject.as_str(),
        "id": r.id,
        "rule": r.rule,
        "method": method,
        "route": route,
        "field": r.evidence.field,
        "verdict": r.verdict.as_str(),
        "why": r.why,
        "count": r.evidence.count,
        "first_seen": format_ts(r.evidence.first),
        "last_seen": format_ts(r.evidence.last),
        "request_id": r.evidence.request_id,
    })
}

/// The section of `report --format html --target V`: the same rows as [`text`].
pub fn html_view(r: &Readiness) -> crate::lifecycle::html::ReadinessView {
    use crate::lifecycle::html::{ReadinessCaller, ReadinessView};
    ReadinessView {
        target: r.target.to_string(),
        go: r.go(),
        summary: summary_line(r),
        header: HEADER.map(str::to_owned).to_vec(),
        callers: r
            .callers
            .iter()
            .map(|c| ReadinessCaller {
                name: caller_name(c),
                verdict: c.verdict.as_str().to_owned(),
                rows: c.rows.iter().map(|row| cells(row).to_vec()).collect(),
            })
            .collect(),
    }
}

/// Callers listed by [`brief`]; the rest are counted.
pub const BRIEF_CALLERS: usize = 8;

/// A few lines for the demo: the summary line, then one line per caller (worst first) with
/// the rules it touched.
pub fn brief(r: &Readiness) -> String {
    let mut out = summary_line(r);
    out.push('\n');
    for c in r.callers.iter().take(BRIEF_CALLERS) {
        let rules: Vec<String> = c
            .rows
            .iter()
            .map(|row| format!("{} {}", row.id, row.rule))
            .collect();
        out.push_str(&format!(
            "  {:<10} {}: {}\n",
            c.verdict.as_str(),
            caller_name(c),
            rules.join(", ")
        ));
    }
    if r.callers.len() > BRIEF_CALLERS {
        out.push_str(&format!(
            "  … and {} more callers\n",
            r.callers.len() - BRIEF_CALLERS
        ));
    }
    out
}
