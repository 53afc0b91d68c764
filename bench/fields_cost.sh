#!/usr/bin/env bash
# The field rules' cost (issue 23): the shim's own CPU per request, this build against a build
# from before field rules existed (BEFORE, a deprecation-shim binary), both with their default
# rules, in front of one 8.0 simulator. Two paths:
# - GET /v1/bdbs/1, a route no field rule names: its body streams untouched in both builds, so
#   the two should be within noise;
# - PUT /v1/cluster with a small JSON body ({"name": ...}), a route F5/F6 inspect: read whole
#   and parsed by this build, streamed by the old one (the inspection's cost).
# Each shim is measured by its process CPU time over N keep-alive requests from one curl; the
# shim measured first alternates per round.
#
#   bench/fields_cost.sh BEFORE_BIN [N] [ROUNDS]     (default N = 10000, 5 rounds)
#
# BEFORE_BIN: e.g. `git worktree add /tmp/before 7f4af53 && (cd /tmp/before && cargo build
# --release)`, then /tmp/before/target/release/deprecation-shim (7f4af53: main before the
# field rules were merged).
set -euo pipefail
cd "$(dirname "$0")/.."
before="${1:?usage: bench/fields_cost.sh BEFORE_BIN [N] [ROUNDS]}"
n="${2:-10000}"
rounds="${3:-5}"
cargo build --release --locked -q
bin=target/release/deprecation-shim
out="$(mktemp -d)"
. bench/cpu_lib.sh
mapfile -t ports < <(python3 bench/ports.py reserve 3 $$)
[ ${#ports[@]} -eq 3 ] || { echo "fields_cost.sh: could not reserve 3 ports" >&2; exit 1; }
sim="127.0.0.1:${ports[0]}"
start_sim "$bin" "${ports[0]}" 8.0
now_pid="$(start_shim "$bin" now "${ports[1]}" "$sim" "")"
old_pid="$(start_shim "$before" before "${ports[2]}" "$sim" "")"
pids+=("$now_pid" "$old_pid") # started in a subshell: killed by this shell's trap

put='request = "PUT"
header = "Content-Type: application/json"
data = "{\"name\": \"bench.example.com\"}"'
both() { # path -> "now before", the first measured alternating by round
  if [ $(($1 % 2)) -eq 1 ]; then
    a="$(measure "$now_pid" "${ports[1]}" "$2")"; b="$(measure "$old_pid" "${ports[2]}" "$2")"
  else
    b="$(measure "$old_pid" "${ports[2]}" "$2")"; a="$(measure "$now_pid" "${ports[1]}" "$2")"
  fi
  echo "$a $b"
}
get_ratios=(); put_ratios=()
echo "round  GET /v1/bdbs/1 now / before (µs)   PUT /v1/cluster now / before (µs)"
for r in $(seq "$rounds"); do
  read -r g_now g_old < <(CURL_EXTRA="" both "$r" /v1/bdbs/1)
  read -r p_now p_old < <(CURL_EXTRA="$put" both "$r" /v1/cluster)
  echo "$r      $g_now / $g_old                   $p_now / $p_old"
  get_ratios+=("$(awk -v a="$g_now" -v b="$g_old" 'BEGIN { printf "%.3f", a / b }')")
  put_ratios+=("$(awk -v a="$p_now" -v b="$p_old" 'BEGIN { printf "%.3f", a / b }')")
done
echo "GET (no field rule) now / before: ${get_ratios[*]}; median $(median "${get_ratios[@]}")"
echo "PUT /v1/cluster (inspected) now / before: ${put_ratios[*]}; median $(median "${put_ratios[@]}")"
