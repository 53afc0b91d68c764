//! Command line: the proxy's flags (each overriding the config file), and the subcommands.

use crate::config::raw::RawConfig;
use crate::config::{Config, ConfigError, Overrides, Source};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "deprecation-shim",
    version,
    about = "Keeps the deprecated Redis Software module-upgrade route working, and tells you who still calls it"
)]
pub struct Cli {
    #[command(flatten)]
    pub proxy: ProxyArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration (file and flags) and exit: 0 when valid. Takes every flag of
    /// the proxy, so the exact command line can be checked.
    // The switches that only change how the running proxy behaves are accepted (they take part
    // in validation) but not listed: `check --help` shows what checking is about.
    #[command(
        mut_arg("upstream_insecure", |a| a.hide(true)),
        mut_arg("log_json", |a| a.hide(true))
    )]
    Check(CheckArgs),
    /// Run a simulated Redis Software cluster API (for tests, demos and rehearsals).
    Simulate(crate::sim::SimulateArgs),
    /// Start a simulated cluster and the shim in front of it, and print commands to try.
    Demo(crate::demo::DemoArgs),
    /// Who still calls the deprecated route: one row per caller from audit logs (.gz too).
    Report(crate::audit::report::ReportArgs),
    /// What breaks on a target version: per caller in audit logs, each rule or field it
    /// touched is carried, breaks, changes or unaffected there; a GO / NO-GO line first.
    Readiness(crate::readiness::cli::ReadinessArgs),
    /// The built-in rules: routes, gates, modes, dates, and what each does in front of a version.
    Rules(RulesArgs),
}

/// `rules`: what the shim knows about the deprecated routes.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// One row per built-in rule (default modes), from the rule catalogue.
    List(RulesListArgs),
}

#[derive(Debug, clap::Args)]
pub struct RulesListArgs {
    /// Say what each rule does in front of this Redis Software version ("7.22.2-14" or
    /// "7.22.2"); without it, the gate says it.
    #[arg(long, value_name = "VERSION", value_parser = parse_rs_version)]
    pub version: Option<crate::rules::Version>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
}

pub(crate) fn parse_rs_version(s: &str) -> Result<crate::rules::Version, String> {
    crate::rules::Version::parse(s).ok_or_else(|| {
        format!("\"{s}\" is not a Redis Software version like \"7.22.2-14\" or \"7.22.2\"")
    })
}

/// Flags of the proxy; each overrides the same key of the file.
#[derive(Debug, Default, Clone, Args)]
pub struct ProxyArgs {
    /// TOML configuration file (see config/example.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data port address [listen.address].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Cluster REST API, http:// or https:// [upstream.url].
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// PEM bundle of CAs trusted for the cluster certificate [upstream.ca_file].
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Option<PathBuf>,
    /// Accept any upstream certificate; prefer --upstream-ca or upstream.pin_sha256 for a
    /// self-signed cluster [upstream.insecure].
    // Not `global`: a global flag is listed in every subcommand's help (`simulate`, `report`).
    #[arg(long)]
    pub upstream_insecure: bool,
    /// Serve HTTPS with this PEM certificate chain [listen.tls_cert].
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key for --tls-cert [listen.tls_key].
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Admin port: health, metrics, live usage [admin.listen].
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Audit log file, or - for standard output [audit.path].
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<String>,
    /// Log JSON lines instead of text [log.format].
    #[arg(long)]
    pub log_json: bool,
    /// Worker threads; 0 = one per core [workers].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// "workers": one single-thread runtime and listener per worker (default); "shared": one
    /// work-stealing runtime [threading].
    #[arg(long, value_name = "MODEL")]
    pub threading: Option<String>,
    /// Start the lifecycles' clock at this instant ("2027-03-02T14:05:00Z") and let it run:
    /// rehearse a schedule, or test the running binary, without waiting for a date.
    #[arg(long, value_name = "INSTANT", hide = true, value_parser = parse_now)]
    pub now: Option<std::time::SystemTime>,
}

fn parse_now(s: &str) -> Result<std::time::SystemTime, String> {
    crate::config::parse_date("--now", s).map_err(|e| e.to_string())
}

impl ProxyArgs {
    /// The flags as configuration overrides on top of `--config`: everything below the CLI
    /// takes a [`Config`] alone.
    pub fn source(&self) -> Source {
        Source {
            file: self.config.clone(),
            overrides: Overrides {
                listen: self.listen.clone(),
                upstream: self.upstream.clone(),
                upstream_ca: self.upstream_ca.clone(),
                upstream_insecure: self.upstream_insecure,
                tls: self.tls_cert.clone().zip(self.tls_key.clone()),
                admin_listen: self.admin_listen.clone(),
                audit_log: self.audit_log.clone(),
                log_json: self.log_json,
                workers: self.workers,
                threading: self.threading.clone(),
            },
        }
    }

    /// The raw configuration: the file (if any) with every given flag written over it.
    pub fn raw_config(&self) -> Result<RawConfig, ConfigError> {
        self.source().raw()
    }

    pub fn config(&self) -> Result<Config, ConfigError> {
        self.source().load()
    }
}

/// The arguments of `check`: every proxy flag, and `--at`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Show what each rule's lifecycle does at this instant ("2027-03-01T14:05:00Z",
    /// "2027-03-01" or "@1803996300"); default: now.
    #[arg(long, value_name = "INSTANT", value_parser = parse_at)]
    pub at: Option<std::time::SystemTime>,
}

fn parse_at(s: &str) -> Result<std::time::SystemTime, String> {
    crate::config::parse_date("--at", s).map_err(|e| e.to_string())
}

/// Runs the parsed command line to completion.
pub fn main(cli: Cli) -> Result<(), String> {
    match cli.command {
        Some(Command::Check(args)) => {
            let cfg = args.proxy.config().map_err(|e| e.to_string())?;
            let lifecycles = crate::check::lifecycle_report(&cfg, args.at);
            // Certificates and keys are loaded too: a file that parses as config but not as PEM
            // would otherwise only fail at start.
            crate::proxy::App::new(cfg).map_err(|e| e.to_string())?;
            println!("configuration OK");
            print!("{lifecycles}");
            Ok(())
        }
        None => {
            let cfg = cli.proxy.config().map_err(|e| e.to_string())?;
            let telemetry = cfg.telemetry.as_ref().map(|t| (t, cfg.instance.as_str()));
            // Kept to the end of `main`: dropping it flushes the last spans.
            let _telemetry = crate::telemetry::init(cfg.log_format, telemetry)?;
            let clock: std::sync::Arc<dyn crate::lifecycle::Clock> = match cli.proxy.now {
                Some(at) => std::sync::Arc::new(crate::lifecycle::StartedClock::starting_at(at)),
                None => std::sync::Arc::new(crate::lifecycle::SystemClock),
            };
            // `workers`: the control runtime (admin port, probe, reload, stop) is a single
            // thread; the workers start their own. `shared`: one runtime does everything.
            let rt = match cfg.threading {
                crate::config::Threading::Workers => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the runtime: {e}"))?,
                crate::config::Threading::Shared => runtime(cfg.workers)?,
            };
            rt.block_on(crate::wiring::serve_from_config_at(
                cfg,
                clock,
                crate::wiring::shutdown_signal(),
            ))
        }
        Some(Command::Simulate(args)) => {
            let _ = crate::telemetry::init(crate::config::LogFormat::Text, None);
            runtime(0)?.block_on(crate::sim::run_simulate(
                args,
                crate::wiring::shutdown_signal(),
            ))
        }
        Some(Command::Report(args)) => crate::audit::report::report_main(args),
        Some(Command::Readiness(args)) => crate::readiness::cli::readiness_main(args),
        Some(Command::Rules(RulesArgs {
            command: RulesCommand::List(args),
        })) => {
            use crate::rules::catalogue::listing;
            let out = match args.format {
                RulesFormat::Text => listing::text(args.version)?,
                RulesFormat::Json => listing::json(args.version)?,
            };
            print!("{out}");
            Ok(())
        }
        Some(Command::Demo(args)) => {
            let _ = crate::telemetry::init(crate::config::LogFormat::Text, None);
            runtime(0)?.block_on(crate::demo::run(args, crate::wiring::shutdown_signal()))
        }
    }
}

/// A multi-thread runtime with `workers` threads (0: one per core).
pub fn runtime(workers: usize) -> Result<tokio::runtime::Runtime, String> {
    let workers = match workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
