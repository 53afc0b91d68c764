//! `deprecation-shim rules list [--version V] [--format json]`: one row per built-in rule, what
//! it does in front of a cluster version, from the catalogue and [`crate::rules::decide`] (the
//! code the executor runs, so the list cannot say one thing while the proxy does another). Pure:
//! the CLI prints the string.
//!
//! Decisions:
//! - Rules are shown with their defaults (`[rules]` switches and modes as shipped); a configured
//!   mode or switch is not read.
//! - Without a version the last column is left out: what a rule does depends on the version, and
//!   the GATE column says how.
//! - Text is an aligned table, padded by characters (the gates use `≥`, one character wide).

use super::{Entry, ENTRIES, NOTES};
use crate::lifecycle::Day;
use crate::rules::{builtin, decide, Action, Kind, Options, Rule, Version};
use serde_json::{json, Value};
use std::time::{Duration, UNIX_EPOCH};

/// One rule, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: &'static str,
    pub name: &'static str,
    /// `METHOD /path/{template}`.
    pub route: String,
    pub kind: &'static str,
    pub mode: &'static str,
    /// What the gate is, in words: `≥ 7.2.0; gone ≥ 8.0.0; below: observe`.
    pub gate: String,
    /// `7.8.2 (2024-11-01)`, or `-` when no release deprecated the route.
    pub deprecated: String,
    /// What `auto` (or the default mode) does in front of the given version.
    pub does: Option<&'static str>,
}

/// The rows, in classification order; `does` is filled when `at` is given.
pub fn rows(at: Option<Version>) -> Result<Vec<Row>, String> {
    let rules = builtin(&Options::default())?;
    ENTRIES
        .iter()
        .map(|e| {
            let rule = rules
                .iter()
                .find(|r| r.id == e.rule)
                .ok_or_else(|| format!("catalogue entry {} has no rule", e.name))?;
            Ok(row(e, rule, at))
        })
        .collect()
}

fn row(e: &Entry, rule: &Rule, at: Option<Version>) -> Row {
    Row {
        id: e.id,
        name: e.name,
        route: route_words(e),
        kind: kind_word(rule.kind),
        mode: rule.mode.as_str(),
        gate: gate_words(rule),
        deprecated: match e.deprecated_in {
            Some(v) => format!("{v} ({})", day(e.deprecation)),
            None => "-".to_owned(),
        },
        does: at.map(|v| action_words(rule, decide(rule, rule.mode, Some(v)))),
    }
}

/// `PUT|POST|DELETE /v1/users/password` when the routes differ by method only; else the first
/// route and how many more (`--format json` lists them all).
fn route_words(e: &Entry) -> String {
    if e.also.is_empty() {
        return format!("{} {}", e.method, e.path);
    }
    if e.also.iter().all(|(_, p)| *p == e.path) {
        let methods: Vec<&str> = std::iter::once(e.method.as_str())
            .chain(e.also.iter().map(|(m, _)| *m))
            .collect();
        return format!("{} {}", methods.join("|"), e.path);
    }
    format!("{} {} (+{} more)", e.method, e.path, e.also.len())
}

fn day(epoch: u64) -> Day {
    Day::of(UNIX_EPOCH + Duration::from_secs(epoch))
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Translate => "translate",
        Kind::Rewrite => "rewrite",
        Kind::Observe => "observe",
        Kind::Gone => "gone",
    }
}

fn gate_words(rule: &Rule) -> String {
    let mut words = match rule.gate.from {
        Some(from) if rule.gate.apply_when_unknown => format!("≥ {from} or unknown"),
        Some(from) => format!("≥ {from}"),
        None => "every version".to_owned(),
    };
    if let Some(band) = &rule.gone_band {
        words.push_str(&format!("; gone ≥ {}", band.from));
    }
    if rule.gate.from.is_some() {
        words.push_str("; below: observe");
    }
    if rule.auto_observes {
        words.push_str("; auto observes (translate: opt-in)");
    }
    if let (Kind::Observe, None, Some(since)) = (rule.kind, rule.gate.from, rule.meta.deprecated_in)
    {
        words.push_str(&format!("; marked ≥ {since}"));
        if !rule.gate.look_up {
            words.push_str(" (cached version only)");
        }
    }
    if !rule.gate.builds.is_empty() {
        let ranges: Vec<String> = rule.gate.builds.iter().map(|r| r.to_string()).collect();
        words.push_str(&format!("; builds {}", ranges.join(" ∪ ")));
    }
    words
}

fn action_words(rule: &Rule, action: Action) -> &'static str {
    match action {
        Action::PassThrough => "pass through (off)",
        Action::Observe { mark: true } => "observe, marked",
        Action::Observe { mark: false } => "observe",
        Action::Translate => match rule.kind {
            Kind::Rewrite => "rewrite",
            Kind::Translate | Kind::Observe | Kind::Gone => "translate",
        },
        Action::Gone => "gone (410)",
        Action::VersionUnknown => "version unknown",
    }
}

/// The aligned text table, then the notes.
pub fn text(at: Option<Version>) -> Result<String, String> {
    let rows = rows(at)?;
    let mut header = vec!["ID", "NAME", "ROUTE", "KIND", "MODE", "GATE", "DEPRECATED"];
    let at_header = at.map(|v| format!("AT {v}"));
    if let Some(h) = &at_header {
        header.push(h);
    }
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for r in &rows {
        let mut cells = vec![
            r.id.to_owned(),
            r.name.to_owned(),
            r.route.clone(),
            r.kind.to_owned(),
            r.mode.to_owned(),
            r.gate.clone(),
            r.deprecated.clone(),
        ];
        cells.extend(r.does.map(str::to_owned));
        table.push(cells);
    }
    let mut out = match at {
        Some(v) => format!("Built-in rules, default modes, in front of RS {v}:\n\n"),
        None => "Built-in rules, default modes. What each does depends on the cluster's version \
                 (GATE); --version V shows it.\n\n"
            .to_owned(),
    };
    out.push_str(&aligned(&table));
    out.push_str(
        "\nField rules: fields in bodies of routes otherwise passed through; a hit is audited, \
         no Deprecation header unless headers = true.\n\n",
    );
    out.push_str(&aligned(&crate::rules::fields::listing::table(at)?));
    out.push_str("\nNotes:\n");
    for n in &NOTES {
        out.push_str(&format!(
            "  {:<4} {}: {} ({})\n",
            n.id, n.name, n.says, n.source
        ));
    }
    Ok(out)
}

/// The rows as columns padded to the widest cell (by characters), two spaces apart.
pub fn aligned(table: &[Vec<String>]) -> String {
    let columns = table.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            table
                .iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                let pad = widths[c] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Every fact of the catalogue, and what each rule does at `at`, as pretty JSON.
pub fn json(at: Option<Version>) -> Result<String, String> {
    let rows = rows(at)?;
    let rules: Vec<Value> = ENTRIES
        .iter()
        .zip(&rows)
        .map(|(e, r)| {
            json!({
                "id": e.id,
                "name": e.name,
                "method": e.method.as_str(),
                "path": e.path,
                "also": e.also.iter().map(|(m, p)| json!({"method": m, "path": p})).collect::<Vec<_>>(),
                "successor": e.successor,
                "kind": r.kind,
                "default_mode": r.mode,
                "gate": {
                    "text": r.gate,
                    "from": e.gate.from.map(|v| v.to_string()),
                    "unknown_version_applies": e.gate.apply_when_unknown,
                    "looks_up_version": e.gate.look_up,
                    "gone_from": e.gone.map(|g| g.from.to_string()),
                    "build_ranges": e.gate.builds.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
                },
                "deprecated_in": e.deprecated_in.map(|v| v.to_string()),
                "removed_in": e.removed_in.map(|v| v.to_string()),
                "deprecation": day(e.deprecation).to_string(),
                "deprecation_header": format!("@{}", e.deprecation),
                "sunset": e.sunset.map(|s| day(s).to_string()),
                "docs": e.docs,
                "source": e.source,
                "does": r.does,
            })
        })
        .collect();
    let notes: Vec<Value> = NOTES
        .iter()
        .map(|n| json!({"id": n.id, "name": n.name, "says": n.says, "source": n.source}))
        .collect();
    let doc = json!({
        "version": at.map(|v| v.to_string()),
        "rules": rules,
        "fields": crate::rules::fields::listing::json(at)?,
        "notes": notes,
    });
    serde_json::to_string_pretty(&doc)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| format!("cannot render the rules as JSON: {e}"))
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
