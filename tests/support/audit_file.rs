//! The audit file as a test reads it: one JSON record per line.

use serde_json::Value;
use std::path::Path;

/// Every record in the file; none when it does not exist yet.
pub fn records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line ({e}): {l}")))
        .collect()
}

/// The TOML that points the shim's audit trail at `path`.
pub fn audit_toml(path: &Path) -> String {
    format!("[audit]\npath = {:?}\n", path.display().to_string())
}
