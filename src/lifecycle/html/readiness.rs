//! The "Readiness for <target>" section of `report --format html --target V` (issue 23 item 4):
//! the same rows as `deprecation-shim readiness` prints, one table, callers worst first. Built
//! from plain strings ([`crate::readiness::render::html_view`]), escaped here like every other
//! caller-controlled string of the page.

use super::esc;
use std::fmt::Write as _;

/// The section's data: the summary line and, per caller, its verdict and rows' cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessView {
    pub target: String,
    pub go: bool,
    pub summary: String,
    pub header: Vec<String>,
    pub callers: Vec<ReadinessCaller>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessCaller {
    pub name: String,
    /// `carried`, `breaks`, `changes` or `unaffected`: also the row's CSS class.
    pub verdict: String,
    /// Each row's cells, the verdict first.
    pub rows: Vec<Vec<String>>,
}

pub(super) fn section(out: &mut String, view: &ReadinessView) {
    let _ = write!(
        out,
        "<section id=\"readiness\"><h2>Readiness for {}</h2>\n<p class=\"ph {}\">{}</p>\n\
         <table><thead><tr><th>caller</th>",
        esc(&view.target),
        if view.go { "carried" } else { "breaks" },
        esc(&view.summary)
    );
    for h in &view.header {
        let _ = write!(out, "<th>{}</th>", esc(&h.to_lowercase()));
    }
    out.push_str("</tr></thead><tbody>\n");
    if view.callers.is_empty() {
        let _ = writeln!(
            out,
            "<tr><td colspan=\"{}\" class=\"muted\">no calls recorded</td></tr>",
            view.header.len() + 1
        );
    }
    for c in view.callers.iter().take(super::MAX_ROWS) {
        for row in &c.rows {
            let verdict = row.first().map_or("", String::as_str);
            let _ = write!(
                out,
                "<tr class=\"readiness\" data-verdict=\"{}\"><td class=\"s ua\">{} <span class=\"ph {}\">({})</span></td>",
                esc(verdict),
                esc(&c.name),
                esc(&c.verdict),
                esc(&c.verdict)
            );
            for (i, cell) in row.iter().enumerate() {
                let class = if i == 0 {
                    format!("ph {}", esc(cell))
                } else {
                    "s".to_owned()
                };
                let _ = write!(out, "<td class=\"{class}\">{}</td>", esc(cell));
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</tbody></table></section>\n");
}
