//! `deprecation-shim check [--at INSTANT]`: besides validating the configuration (the
//! command's first job, in [`crate::cli`]), prints what each configured lifecycle would do at
//! INSTANT ([`crate::lifecycle::check_table`]), so an operator rehearses a schedule before it
//! bites. Without `--at` the instant is now; without any `[lifecycle.<rule>]` nothing more is
//! printed, unless `--at` was given, which then says that no lifecycle is configured.

use crate::config::Config;
use crate::lifecycle::check::check_table;
use std::time::SystemTime;

/// What `check` prints after "configuration OK": a warning per operator rule broader than a
/// deprecated route ([`crate::rules::custom::too_broad`]), then the lifecycle table at `at`
/// (default now).
pub fn lifecycle_report(cfg: &Config, at: Option<SystemTime>) -> String {
    let mut out = String::new();
    for w in crate::rules::custom::too_broad(cfg.rules.table.rules()) {
        out.push_str("warning: ");
        out.push_str(&w);
        out.push('\n');
    }
    out.push_str(&lifecycle_table(cfg, at));
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
    for w in &cfg.lifecycle.warnings {
        out.push_str("warning: ");
        out.push_str(w);
        out.push('\n');
    }
    out
}
