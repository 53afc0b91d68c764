#!/usr/bin/env bash
# R18's cost (issue 22): the shim's own CPU per request for a v1 statistics call it observes,
# audits and marks, against the same call passed through unmarked (`[rules.stats_v1] mode =
# "off"`) and a plain read (`GET /v1/bdbs/1`). Two shims run side by side in front of one
# simulator; each is measured by its process CPU time (utime + stime from /proc) over N
# keep-alive requests sent by one curl, so neither the client nor the cluster is counted.
#
#   bench/stats_cost.sh [N] [ROUNDS]    (default N = 10000 per path and round, 7 rounds)
#
# Prints µs of shim CPU per request per path and round, and the median ratio marked / off.
# The two shims are measured in turn, the first of each round alternating (on this 2-core VM
# the one measured first reads ~4 % higher: an A/A run, both shims "off", showed it).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
rounds="${2:-7}"
cargo build --release --locked -q
bin=target/release/deprecation-shim
out="$(mktemp -d)"
. bench/cpu_lib.sh
mapfile -t ports < <(python3 bench/ports.py reserve 3 $$)
[ ${#ports[@]} -eq 3 ] || { echo "stats_cost.sh: could not reserve 3 ports" >&2; exit 1; }
sim="127.0.0.1:${ports[0]}"
start_sim "$bin" "${ports[0]}" 8.0
marked_pid="$(start_shim "$bin" marked "${ports[1]}" "$sim" "[rules.stats_v1]
mode = \"auto\"")"
off_pid="$(start_shim "$bin" off "${ports[2]}" "$sim" "[rules.stats_v1]
mode = \"off\"")"
pids+=("$marked_pid" "$off_pid") # started in a subshell: killed by this shell's trap

stats=/v1/bdbs/stats/last/1
ratios=()
echo "round  stats marked (µs)  stats off (µs)  GET /v1/bdbs/1 via marked shim (µs)"
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    m="$(measure "$marked_pid" "${ports[1]}" "$stats")"
    o="$(measure "$off_pid" "${ports[2]}" "$stats")"
  else
    o="$(measure "$off_pid" "${ports[2]}" "$stats")"
    m="$(measure "$marked_pid" "${ports[1]}" "$stats")"
  fi
  p="$(measure "$marked_pid" "${ports[1]}" /v1/bdbs/1)"
  echo "$r      $m               $o              $p"
  ratios+=("$(awk -v m="$m" -v o="$o" 'BEGIN { printf "%.3f", m / o }')")
done
median="$(median "${ratios[@]}")"
echo "marked / off, per round: ${ratios[*]}; median ${median} (target ≤ 1.10)"
echo "audit lines for $((rounds * (n + 500))) marked stats calls: $(wc -l <"$out/marked.jsonl")"
