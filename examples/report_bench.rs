//! Times `run_report` over an audit file and reports the peak resident memory (VmHWM), then
//! checks the numbers against `FILE.expected.json` written by `gen_audit`.
//!
//! `cargo run --release --example report_bench -- /tmp/audit-1m.jsonl`

#[path = "../tests/support/audit_gen.rs"]
mod audit_gen;

use deprecation_shim::audit::report::{run_report, Format, Report};
use std::path::PathBuf;
use std::time::Instant;

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), String> {
    let path = PathBuf::from(std::env::args().nth(1).ok_or("usage: report_bench FILE")?);
    let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
    let rss_before = status_kib("VmHWM:").unwrap_or(0);

    let started = Instant::now();
    let table = run_report(std::slice::from_ref(&path), None, Format::Table)?;
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:").unwrap_or(0);

    let mut expected_path = path.clone().into_os_string();
    expected_path.push(".expected.json");
    let expected: Report = serde_json::from_slice(
        &std::fs::read(&expected_path).map_err(|e| format!("{expected_path:?}: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let mut got: Report = serde_json::from_str(&run_report(&[path], None, Format::Json)?)
        .map_err(|e| e.to_string())?;
    audit_gen::sort_by_caller(&mut got.callers);

    let footer = table.lines().last().unwrap_or_default();
    println!("{footer}");
    println!(
        "file {:.1} MiB, {} records: {:.2?} ({:.0} records/s, {:.0} MiB/s)",
        size as f64 / 1048576.0,
        got.totals.calls,
        elapsed,
        got.totals.calls as f64 / elapsed.as_secs_f64(),
        size as f64 / 1048576.0 / elapsed.as_secs_f64()
    );
    println!("peak RSS (VmHWM) {peak} KiB; before reading {rss_before} KiB");
    if got != expected {
        return Err(format!(
            "MISMATCH: report totals {:?}, expected {:?}",
            got.totals, expected.totals
        ));
    }
    println!("numbers match the generator: {:?}", got.totals);
    Ok(())
}
