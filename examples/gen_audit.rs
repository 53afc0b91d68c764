//! Writes a deterministic audit file for the scale check of `report`, and beside it
//! `FILE.expected.json`: the report it must produce, computed while generating.
//!
//! `cargo run --release --example gen_audit -- /tmp/audit-1m.jsonl 1000000`

#[path = "../tests/support/audit_gen.rs"]
mod audit_gen;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(count)) = (args.next(), args.next()) else {
        return Err("usage: gen_audit FILE RECORDS".into());
    };
    let path = PathBuf::from(path);
    let records: u64 = count.parse().map_err(|e| format!("RECORDS: {e}"))?;
    let started = Instant::now();
    let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = audit_gen::Spec::new(records);
    let expected = audit_gen::write(&spec, BufWriter::with_capacity(1 << 20, file))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut expected_path = path.clone().into_os_string();
    expected_path.push(".expected.json");
    let json = serde_json::to_vec_pretty(&expected).map_err(|e| e.to_string())?;
    std::fs::write(&expected_path, json).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
    eprintln!(
        "wrote {} records ({} corrupt lines, {} callers), {:.1} MiB, in {:.1?}",
        expected.totals.calls,
        expected.totals.skipped_lines,
        expected.totals.callers,
        size as f64 / 1048576.0,
        started.elapsed()
    );
    Ok(())
}
