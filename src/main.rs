//! The `deprecation-shim` binary: parse the command line, validate configuration before binding
//! anything, then hand over to the library.

use clap::Parser;
use deprecation_shim::cli::Cli;
use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: fewer instructions per request and less memory per
/// idle connection (measured in Cargo.toml's note and BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match deprecation_shim::cli::main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deprecation-shim: {e}");
            ExitCode::FAILURE
        }
    }
}
