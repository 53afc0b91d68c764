//! `deprecation-shim report` until the subcommand is wired into the CLI: the same arguments,
//! the same output. `cargo run --example report -- AUDIT.jsonl [--since DATE] [--format F]`

use clap::Parser;
use deprecation_shim::audit::report::{report_main, ReportArgs};

#[derive(Parser)]
#[command(
    name = "report",
    about = "Who still calls the deprecated module-upgrade route"
)]
struct Cli {
    #[command(flatten)]
    args: ReportArgs,
}

fn main() -> std::process::ExitCode {
    match report_main(Cli::parse().args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
