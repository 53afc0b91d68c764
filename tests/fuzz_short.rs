//! The short fuzz run: every file of `fuzz/corpus/<target>/` replayed through its target (so a
//! crash once found stays fixed), then a seeded structure-aware mutation run per target for
//! `FUZZ_SECONDS` seconds (default 2; CI sets 15). The long coverage-guided runs use AFL++ on
//! the same target functions: see `fuzz/README.md`.
//!
//! `FUZZ_SEED` fixes the generator's seed (default: the clock, printed so a failure reproduces).

#[allow(dead_code)]
#[path = "../fuzz/targets/mod.rs"]
mod targets;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use targets::mutate::{self, Rng};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|e| panic!("{name}={value:?}: {e}")),
    )
}

/// Replays the corpus, then fuzzes until the budget is spent; returns the executions.
fn fuzz(name: &str) -> u64 {
    let run = targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| *run)
        .expect("known target");
    let files = corpus(name);
    assert!(!files.is_empty(), "fuzz/corpus/{name} is empty");
    for (path, bytes) in &files {
        let replay = std::panic::catch_unwind(|| run(bytes));
        assert!(
            replay.is_ok(),
            "{name}: corpus file {} fails",
            path.display()
        );
    }
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let budget = Duration::from_secs(env_u64("FUZZ_SECONDS").unwrap_or(2));
    let seeds: Vec<Vec<u8>> = files.into_iter().map(|(_, bytes)| bytes).collect();
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let mut execs = 0u64;
    while started.elapsed() < budget {
        for _ in 0..64 {
            let input = mutate::input(&mut rng, name, &seeds);
            let result = std::panic::catch_unwind(|| run(&input));
            assert!(
                result.is_ok(),
                "{name}: FUZZ_SEED={seed} found a failing input after {execs} executions: {:?}",
                String::from_utf8_lossy(&input)
            );
            execs += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz {name}: {execs} executions in {secs:.1} s ({:.0}/s), FUZZ_SEED={seed}",
        execs as f64 / secs
    );
    execs
}

#[test]
fn route_classification_survives_fuzzing() {
    assert!(fuzz("route") > 0);
}

#[test]
fn request_translation_survives_fuzzing() {
    assert!(fuzz("request") > 0);
}

#[test]
fn reply_translation_survives_fuzzing() {
    assert!(fuzz("reply") > 0);
}
