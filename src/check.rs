//! `deprecation-shim check [--at INSTANT]`: besides validating the configuration (the
//! command's first job, in [`crate::cli`]), prints what each configured lifecycle would do at
//! INSTANT ([`crate::lifecycle::check_table`]), so an operator rehearses a schedule before it
//! bites, and which calls of each rule it applies to (its deprecated form, issue 20). Without `--at` the instant is now; without any `[lifecycle.<rule>]` nothing more is
//! printed, unless `--at` was given, which then says that no lifecycle is configured.

use crate::config::Config;
use crate::lifecycle::check::check_table;
use std::time::SystemTime;

/// What `check` prints after "configuration OK": a warning per operator rule broader than a
/// deprecated route ([`crate::rules::custom::too_broad`]), then the lifecycle table at `at`
/// (default now).
pub fn lifecycle_report(cfg: &Config, at: Option<SystemTime>) -> String {
    let mut out = nodes_text(&cfg.upstream);
    for w in crate::rules::custom::too_broad(cfg.rules.table.rules()) {
        out.push_str("warning: ");
        out.push_str(&w);
        out.push('\n');
    }
    out.push_str(&lifecycle_table(cfg, at));
    out
}

/// The upstream nodes and the node map (issue 21), when there is more than the one `url`.
fn nodes_text(up: &crate::config::Upstream) -> String {
    if up.nodes.len() < 2 && up.node_map.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "upstream nodes ({}):
",
        up.nodes.len()
    );
    for n in &up.nodes {
        out.push_str(&format!(
            "  {}
",
            n.url
        ));
    }
    for (address, i) in &up.node_map {
        if let Some(n) = up.nodes.get(*i) {
            out.push_str(&format!(
                "  redirects naming {address} go to {}
",
                n.url
            ));
        }
    }
    out
}

fn lifecycle_table(cfg: &Config, at: Option<SystemTime>) -> String {
    let rules = &cfg.lifecycle.rules;
    if rules.is_empty() {
        return match at {
            Some(_) => {
                "no lifecycle configured: add a [lifecycle.<rule>] section (config/example.toml)\n"
                    .to_owned()
            }
            None => String::new(),
        };
    }
    let mut out = check_table(
        at.unwrap_or_else(SystemTime::now),
        rules.iter().map(|(name, lc)| (name.as_str(), lc)),
    );
    // Issue 20: a lifecycle applies to its rule's deprecated form only; say what that is.
    for name in rules.keys() {
        if let Some(rule) = cfg.rules.table.rules().iter().find(|r| &r.name == name) {
            out.push_str(&format!(
                "lifecycle.{name} applies to: {}\n",
                crate::rules::deprecated_form_text(rule)
            ));
        }
    }
    for w in &cfg.lifecycle.warnings {
        out.push_str("warning: ");
        out.push_str(w);
        out.push('\n');
    }
    out
}
