#!/usr/bin/env bash
# One long coverage-guided run of one target with AFL++ (cargo-afl), single-threaded and
# nice'd so it leaves a core to others; stops after EXECS executions or SECONDS seconds,
# whichever comes first, then prints executions, exec/s and saved crashes/hangs.
#
#   fuzz/run-afl.sh route                    # 10 million executions, at most 30 minutes
#   fuzz/run-afl.sh request 20000000 3600
#
# Needs `cargo install cargo-afl` (AFL++ is built from source by it, no nightly needed).
# Findings land in fuzz/out/<target>/default/{crashes,hangs}; fuzz/out is not committed —
# copy a finding into fuzz/corpus/<target>/ once it is fixed, so the short run replays it.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: run-afl.sh route|request|reply [EXECS] [SECONDS]}"
execs="${2:-10000000}"
secs="${3:-1800}"
cargo afl build --release --quiet --bin "$target"
out="out/$target"
mkdir -p out
# Resume an earlier run's queue when there is one ("-i -" in AFL++ terms).
input="corpus/$target"
[ -d "$out/default/queue" ] && input=-
AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
  AFL_NO_AFFINITY=1 AFL_AUTORESUME=1 \
  nice -n 10 cargo afl fuzz -i "$input" -o "$out" -x dict/shim.dict -E "$execs" -V "$secs" \
  "target/release/$target" >"out/$target.log" 2>&1 || {
    echo "afl-fuzz failed; tail of out/$target.log:" >&2
    tail -n 30 "out/$target.log" >&2
    exit 1
  }
stats="$out/default/fuzzer_stats"
for key in run_time execs_done execs_per_sec corpus_count saved_crashes saved_hangs \
  bitmap_cvg stability; do
  grep -E "^$key +:" "$stats"
done
