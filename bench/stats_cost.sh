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
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  python3 bench/ports.py release $$ || true
}
trap cleanup EXIT
mapfile -t ports < <(python3 bench/ports.py reserve 3 $$)
[ ${#ports[@]} -eq 3 ] || { echo "stats_cost.sh: could not reserve 3 ports" >&2; exit 1; }
sim="127.0.0.1:${ports[0]}"
RUST_LOG=warn "$bin" simulate --listen "$sim" --version 8.0 >"$out/sim.log" 2>&1 &
pids+=($!)
python3 bench/ports.py wait "${ports[0]}" "$!" simulator 20 "$out/sim.log"

start_shim() { # name port stats_mode
  cat >"$out/$1.toml" <<TOML
workers = 1
[listen]
address = "127.0.0.1:$2"
[upstream]
url = "http://$sim"
[audit]
path = "$out/$1.jsonl"
[rules]
rs_version = "8.0.20-68"
[rules.stats_v1]
mode = "$3"
TOML
  RUST_LOG=warn,access=off "$bin" --config "$out/$1.toml" >"$out/$1.log" 2>&1 &
  pids+=($!)
  python3 bench/ports.py wait "$2" "$!" "$1" 20 "$out/$1.log"
  echo $!
}
marked_pid="$(start_shim marked "${ports[1]}" auto)"
off_pid="$(start_shim off "${ports[2]}" off)"

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick="$(getconf CLK_TCK)"
# One curl, one keep-alive connection, n requests.
drive() { # port path count
  local cfg="$out/curl.cfg"
  {
    echo 'user = "admin@example.com:sim-admin-pass"'
    echo 'silent'
    for _ in $(seq "$3"); do echo "url = \"http://127.0.0.1:$1$2\""; echo 'output = "/dev/null"'; done
  } >"$cfg"
  curl -K "$cfg"
}
measure() { # pid port path -> µs per request
  drive "$2" "$3" 500 # warm-up
  local a b
  a="$(cpu "$1")"
  drive "$2" "$3" "$n"
  b="$(cpu "$1")"
  awk -v a="$a" -v b="$b" -v t="$tick" -v n="$n" 'BEGIN { printf "%.2f", (b - a) * 1e6 / t / n }'
}
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
median="$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (rounds + 1) / 2 ))p")"
echo "marked / off, per round: ${ratios[*]}; median ${median} (target ≤ 1.10)"
echo "audit lines for $((rounds * (n + 500))) marked stats calls: $(wc -l <"$out/marked.jsonl")"
