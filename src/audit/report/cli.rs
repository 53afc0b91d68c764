//! `deprecation-shim report`: its arguments, and the run from files to text.

use super::render::{render, Format};
use super::{aggregate_filtered, html};
use crate::config::{self, Config};
use std::path::PathBuf;
use std::time::SystemTime;

/// Output format of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
    /// One self-contained page (inline CSS and SVG, no script) to mail to the teams concerned.
    Html,
}

/// The arguments of `deprecation-shim report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Audit log files (JSON lines); rotated `.gz` files are read too.
    #[arg(required = true, num_args = 1.., value_name = "AUDIT.jsonl")]
    pub files: Vec<PathBuf>,
    /// Only count calls at or after DATE ("2024-11-01", "2024-11-01T12:00:00Z" or "@1730419200").
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<SystemTime>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Only the calls of this rule (module_upgrade, module_upload, update_cert, ...).
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,
    /// The shim's configuration: each rule's lifecycle (phase, next brownout, Sunset) is shown
    /// with its calls. Without it the report says no lifecycle is configured.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The instant the schedules are shown at (default: now); same forms as --since.
    #[arg(long, value_name = "DATE", value_parser = parse_now)]
    pub now: Option<SystemTime>,
    /// With --format html: add a "Readiness for VERSION" section, the rows of
    /// `deprecation-shim readiness --target VERSION` (lifecycles decided at --now).
    #[arg(long, value_name = "VERSION", value_parser = crate::cli::parse_rs_version)]
    pub target: Option<crate::rules::Version>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_since(s: &str) -> Result<SystemTime, String> {
    config::parse_date("--since", s).map_err(|e| e.problem)
}

fn parse_now(s: &str) -> Result<SystemTime, String> {
    config::parse_date("--now", s).map_err(|e| e.problem)
}

/// Reads the files and renders the report (no rule filter, no configuration).
pub fn run_report(
    files: &[PathBuf],
    since: Option<SystemTime>,
    format: Format,
) -> Result<String, String> {
    let summary = aggregate_filtered(files, since, None)?;
    Ok(render(&summary.report(), format, since, false))
}

/// What `upstream.url` is taken to be when the report's `--config` file has none.
const REPORT_UPSTREAM: &str = "http://127.0.0.1:9";

/// The configuration of a command that reads rules and lifecycles only (`report`,
/// `readiness`): `path`'s, or the built-in defaults without one. A file without `upstream.url`
/// (one written for the report, or a replica's with the URL given by flag) is accepted; the
/// placeholder is never called.
pub fn offline_config(path: Option<&std::path::Path>) -> Result<Config, String> {
    let raw = match path {
        Some(path) => config::load_raw(path).map_err(|e| e.to_string())?,
        None => crate::config::raw::RawConfig::default(),
    };
    let mut raw = raw;
    if raw.upstream.nodes.is_none() {
        raw.upstream
            .url
            .get_or_insert_with(|| REPORT_UPSTREAM.to_owned());
    }
    Config::from_raw(raw).map_err(|e| e.to_string())
}

/// Reads the files and renders the report as `args` ask (the output file aside).
pub fn run(args: &ReportArgs) -> Result<String, String> {
    let cfg = match &args.config {
        Some(path) => Some(offline_config(Some(path))?),
        None => None,
    };
    let now = args.now.unwrap_or_else(SystemTime::now);
    if args.target.is_some() && args.format != OutputFormat::Html {
        return Err(
            "--target adds a section to --format html; for text or JSON run `deprecation-shim readiness --target VERSION`"
                .to_owned(),
        );
    }
    let summary = aggregate_filtered(&args.files, args.since, args.rule.clone())?;
    let lifecycles = cfg.as_ref().map(|c| &c.lifecycle.rules);
    let format = match args.format {
        OutputFormat::Html => {
            return Ok(match args.target {
                Some(target) => {
                    let r = crate::readiness::cli::readiness(
                        &args.files,
                        args.config.as_deref(),
                        target,
                        now,
                    )?;
                    html::page_with(&summary, cfg.as_ref(), now, &r)
                }
                None => html::page(&summary, cfg.as_ref(), now),
            })
        }
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    };
    let report = summary.report_at(lifecycles, now);
    Ok(render(&report, format, args.since, cfg.is_some()))
}

/// `deprecation-shim report ...`: the report on standard output or in `--output`.
pub fn report_main(args: ReportArgs) -> Result<(), String> {
    use std::io::Write as _;
    let out = run(&args)?;
    match &args.output {
        Some(path) => std::fs::write(path, out.as_bytes())
            .map_err(|e| format!("--output: cannot write {}: {e}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("cannot write the report: {e}"))
        }
    }
}
