//! `deprecation-shim readiness --target V [--config FILE] [--format text|json] [--at DATE]
//! AUDIT...`: the I/O shell around the pure core ([`super::assess`]). The audit files are read
//! by the report's reader ([`crate::audit::report::visit`]: several replicas, gzip, intents,
//! coalesced records, skipped lines), the configuration as `report --config` reads it.

use super::{assess, Against, Caller, Readiness, Seen, Tally};
use crate::audit::report::{caller_address, offline_config, Line, Many, Sink};
use crate::rules::Version;
use std::path::PathBuf;
use std::time::SystemTime;

/// Output format of `readiness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadinessFormat {
    Text,
    /// For scripts: keys documented in docs/READINESS.md.
    Json,
}

/// The arguments of `deprecation-shim readiness`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadinessArgs {
    /// The Redis Software version to upgrade to ("8.2.0-25" or "8.2.0").
    #[arg(long, value_name = "VERSION", value_parser = crate::cli::parse_rs_version)]
    pub target: Version,
    /// The shim's configuration (modes, switches, field rules, lifecycles); default: the
    /// built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReadinessFormat::Text)]
    pub format: ReadinessFormat,
    /// When the upgrade is planned: the lifecycles are decided then (default: now); the forms
    /// of `report --since`.
    #[arg(long, value_name = "DATE", value_parser = parse_at)]
    pub at: Option<SystemTime>,
    /// Audit log files (JSON lines) of every replica; rotated `.gz` files are read too.
    #[arg(required = true, num_args = 1.., value_name = "AUDIT.jsonl")]
    pub files: Vec<PathBuf>,
}

fn parse_at(s: &str) -> Result<SystemTime, String> {
    crate::config::parse_date("--at", s).map_err(|e| e.problem)
}

impl Sink for Tally {
    fn call(&mut self, line: &Line<'_>, ts: SystemTime, many: &Many) {
        let client = caller_address(&line.client, line.forwarded_client.as_deref());
        self.add(&Seen {
            caller: Caller {
                user: line.user.as_deref().map(str::to_owned),
                verified: line.verified,
                client: client.to_owned(),
                user_agent: line.user_agent.as_deref().map(str::to_owned),
            },
            rule: line.rule.as_deref(),
            method: line.method.as_deref().unwrap_or("?"),
            route: line.route.as_deref().unwrap_or("?"),
            fields: line
                .field_hits()
                .iter()
                .map(|h| (h.rule.as_ref(), h.field.as_ref()))
                .collect(),
            reply: line.reply_keys(),
            request_id: &line.request_id,
            first: ts,
            last: many.last,
            count: many.count,
        });
    }

    fn skip(&mut self) {
        Tally::skip(self);
    }
}

/// Reads `files` and assesses them against `config`'s rules and lifecycles.
pub fn readiness(
    files: &[PathBuf],
    config: Option<&std::path::Path>,
    target: Version,
    at: SystemTime,
) -> Result<Readiness, String> {
    let cfg = offline_config(config)?;
    let mut tally = Tally::default();
    crate::audit::report::visit(files, None, &mut tally)?;
    Ok(assess(
        &tally,
        &Against {
            table: &cfg.rules.table,
            lifecycles: &cfg.lifecycle.rules,
            aliases: &cfg.rules.reply_aliases,
            target,
            at,
        },
    ))
}

/// `deprecation-shim readiness ...`: the text or JSON on standard output.
pub fn readiness_main(args: ReadinessArgs) -> Result<(), String> {
    use std::io::Write as _;
    let at = args.at.unwrap_or_else(SystemTime::now);
    let r = readiness(&args.files, args.config.as_deref(), args.target, at)?;
    let out = match args.format {
        ReadinessFormat::Text => super::render::text(&r),
        ReadinessFormat::Json => super::render::json(&r)?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the readiness: {e}"))
}
