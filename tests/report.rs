//! The `report` over generated audit files: exact per-caller numbers, corrupt lines counted,
//! gzip-rotated files read, `--since` honoured, and each output format.

#[path = "support/audit_gen.rs"]
mod audit_gen;

use audit_gen::Spec;
use deprecation_shim::audit::report::{run_report, Format, OutputFormat, Report, ReportArgs};
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

fn generate(dir: &Path, name: &str, spec: &Spec) -> (PathBuf, Report) {
    let path = dir.join(name);
    let out = BufWriter::new(File::create(&path).unwrap());
    let expected = audit_gen::write(spec, out).unwrap();
    (path, expected)
}

fn json_report(files: &[PathBuf], since: Option<std::time::SystemTime>) -> Report {
    let text = run_report(files, since, Format::Json).unwrap();
    let mut r: Report = serde_json::from_str(&text).unwrap();
    audit_gen::sort_by_caller(&mut r.callers);
    r
}

#[test]
fn aggregation_matches_what_was_generated() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = Spec::new(20_000);
    spec.corrupt_every = 1_000;
    let (path, expected) = generate(dir.path(), "audit.jsonl", &spec);
    let got = json_report(&[path], None);
    assert_eq!(got.totals.calls, 20_000);
    assert_eq!(got.totals.skipped_lines, 20);
    assert_eq!(got.totals.callers, 250);
    // 4 of every 20 calls fail: 2 by the caller, 2 upstream.
    assert_eq!(got.totals.outcomes.ok, 16_000);
    assert_eq!(got.totals.outcomes.client_error, 2_000);
    assert_eq!(got.totals.outcomes.upstream_error, 2_000);
    assert_eq!(got, expected);
}

#[test]
fn rows_are_sorted_by_last_seen_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = generate(dir.path(), "audit.jsonl", &Spec::new(1_000));
    let text = run_report(&[path], None, Format::Json).unwrap();
    let r: Report = serde_json::from_str(&text).unwrap();
    let seen: Vec<&str> = r.callers.iter().map(|c| c.last_seen.as_str()).collect();
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    // Record 999 is the newest, by caller 999 % 250.
    assert_eq!(r.callers[0].client, audit_gen::caller(999 % 250).1);
}

#[test]
fn gzip_rotated_files_are_read_with_the_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::new(5_000);
    let (plain, expected) = generate(dir.path(), "audit.jsonl", &spec);
    // The same records, rotated and compressed, in two gzip members (`cat a.gz b.gz`).
    let bytes = std::fs::read(&plain).unwrap();
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let gz_path = dir.path().join("audit.jsonl.1.gz");
    let mut gz_file = File::create(&gz_path).unwrap();
    for part in [a, b] {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(part).unwrap();
        gz_file.write_all(&enc.finish().unwrap()).unwrap();
    }
    drop(gz_file);
    let only_gz = json_report(std::slice::from_ref(&gz_path), None);
    assert_eq!(only_gz, expected);
    let both = json_report(&[gz_path, plain], None);
    assert_eq!(both.totals.calls, 10_000);
    assert_eq!(both.callers[0].calls, expected.callers[0].calls * 2);
    assert_eq!(both.callers[0].first_seen, expected.callers[0].first_seen);
}

#[test]
fn since_keeps_only_later_calls() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::new(4_000);
    let since = spec.ts(3_000);
    let path = dir.path().join("audit.jsonl");
    let mut out = BufWriter::new(File::create(&path).unwrap());
    let expected = audit_gen::write_since(&spec, &mut out, Some(since)).unwrap();
    drop(out);
    let got = json_report(std::slice::from_ref(&path), Some(since));
    assert_eq!(got.totals.calls, 1_000);
    assert_eq!(got, expected);
    // The same through the command-line arguments, as `report --since` parses them.
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ReportArgs,
    }
    let date = humantime::format_rfc3339_millis(since).to_string();
    let cli = Cli::try_parse_from(["report", path.to_str().unwrap(), "--since", &date]).unwrap();
    assert_eq!(cli.args.since, Some(since));
    assert_eq!(cli.args.format, OutputFormat::Table);
    let day =
        Cli::try_parse_from(["report", "x", "--since", "2025-01-01", "--format", "csv"]).unwrap();
    assert_eq!(day.args.since, Some(spec.start));
    assert!(Cli::try_parse_from(["report", "x", "--since", "last tuesday"]).is_err());
    assert!(
        Cli::try_parse_from(["report"]).is_err(),
        "a file is required"
    );
}

#[test]
fn table_has_aligned_columns_and_a_footer() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = Spec::new(2_000);
    spec.corrupt_every = 500;
    let (path, _) = generate(dir.path(), "audit.jsonl", &spec);
    let table = run_report(&[path], None, Format::Table).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "rule module_upgrade: no lifecycle configured (pass --config FILE to show its schedule); 2000 calls: served 2000, exempt 0, would refuse 0, refused 0"
    );
    assert_eq!(lines[1], "");
    assert!(lines[2].starts_with("RULE            LAST SEEN"), "{table}");
    let calls_end = lines[2].find("CALLS").unwrap() + "CALLS".len();
    for row in &lines[3..=252] {
        // Right-aligned numbers end under their header.
        let before = &row[..calls_end];
        assert!(before.ends_with(|c: char| c.is_ascii_digit()), "{row}");
        assert_eq!(row.as_bytes().get(calls_end), Some(&b' '), "{row}");
    }
    assert_eq!(lines[253], "");
    assert_eq!(
        lines[254],
        "250 callers, 2000 calls (ok 1600, client errors 200, upstream errors 200; served 2000, exempt 0, would refuse 0, refused 0); 4 corrupt lines skipped"
    );
}

#[test]
fn csv_has_a_header_and_one_line_per_caller() {
    let dir = tempfile::tempdir().unwrap();
    let (path, expected) = generate(dir.path(), "audit.jsonl", &Spec::new(1_000));
    let csv = run_report(&[path], None, Format::Csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("user,client,user_agent,calls,first_seen,last_seen,databases,ok,client_error,upstream_error,verified,instances,rule,served,exempt,would_refuse,refused")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), expected.callers.len());
    let total: u64 = rows
        .iter()
        .map(|r| r.split(',').nth(3).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 1_000);
    // Caller 0 has no user: an empty cell, not "null" or "-".
    assert!(rows.iter().any(|r| r.starts_with(",10.20.0.1,")), "{csv}");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let e = run_report(
        &[PathBuf::from("/nonexistent/audit.jsonl")],
        None,
        Format::Table,
    )
    .unwrap_err();
    assert!(e.contains("/nonexistent/audit.jsonl"), "{e}");
}

#[test]
fn empty_file_gives_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.jsonl");
    File::create(&path).unwrap();
    let table = run_report(std::slice::from_ref(&path), None, Format::Table).unwrap();
    assert!(
        table.starts_with("No calls of a deprecated route found."),
        "{table}"
    );
    let r: Report =
        serde_json::from_str(&run_report(&[path], None, Format::Json).unwrap()).unwrap();
    assert_eq!((r.callers.len(), r.totals.calls), (0, 0));
}
