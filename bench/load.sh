#!/usr/bin/env bash
# Load and soak test (issue 7, item 4), on loopback only: the simulated cluster (release 8.0,
# upgrade actions finish at once) and the release shim with an audit log, driven by
# examples/loadgen.rs over N keep-alive connections — 95 % pass-through reads, 5 % deprecated
# upgrades. Passes when there were 0 transport errors and the audit log holds exactly one record
# per deprecated call sent (matched by X-Request-Id); reports the shim's RSS at start, peak and
# end from /proc/PID/status (VmRSS sampled every second, and the kernel's own peak VmHWM).
#
#   bench/load.sh                      # 60 s, 1000 connections
#   bench/load.sh --duration 600       # the 10-minute soak
#   bench/load.sh --connections 200 --out /tmp/load
#
# Logs, RSS samples, the audit log and the loadgen's RESULT line are kept in --out
# (default: a fresh directory under /tmp). RUST_LOG for the shim defaults to warn with the
# access log off (a soak would write gigabytes of it); set SHIM_RUST_LOG to change that.
# Ports: two free loopback ports reserved for the run by bench/ports.py (not :0, whose meaning
# with several SO_REUSEPORT listeners is the shim's business), each checked to be the one its
# server listens on; two runs at the same time do not collide.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60
connections=1000
out=""
threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --loadgen-threads) threads="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "load.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$(mktemp -d /tmp/shim-load.XXXXXX)"
mkdir -p "$out"

# Each connection costs a socket in the loadgen, one in the shim, and (through the shim's
# upstream pool) one in the shim and one in the simulator.
want_fds=$((connections * 4 + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
  ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
echo "load.sh: ${connections} connections, ${duration} s, output in ${out} (ulimit -n $(ulimit -n))"

cargo build --release --locked --quiet --bin deprecation-shim --example loadgen
bin=target/release/deprecation-shim
loadgen=target/release/examples/loadgen

export NO_COLOR=1
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  python3 bench/ports.py release $$ || true
}
trap cleanup EXIT

mapfile -t ports < <(python3 bench/ports.py reserve 2 $$)
[ ${#ports[@]} -eq 2 ] || { echo "load.sh: could not reserve 2 loopback ports" >&2; exit 1; }
sim_addr="127.0.0.1:${ports[0]}"
shim_addr="127.0.0.1:${ports[1]}"

RUST_LOG=warn,deprecation_shim::sim=info "$bin" simulate --listen "$sim_addr" --version 8.0 \
  --action-duration 0s >"$out/sim.log" 2>&1 &
pids+=($!)
python3 bench/ports.py wait "${ports[0]}" "$!" simulator 20 "$out/sim.log"

audit="$out/audit.jsonl"
: >"$audit"
RUST_LOG="${SHIM_RUST_LOG:-warn,access=off,deprecation_shim=info}" "$bin" \
  --upstream "http://$sim_addr" --listen "$shim_addr" --audit-log "$audit" \
  >"$out/shim.log" 2>&1 &
shim_pid=$!
pids+=("$shim_pid")
python3 bench/ports.py wait "${ports[1]}" "$shim_pid" shim 20 "$out/shim.log"
echo "load.sh: simulator on $sim_addr, shim on $shim_addr (pid $shim_pid)"

kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$shim_pid/status" 2>/dev/null || true; }
rss_start="$(kib VmRSS)"
echo "seconds,vmrss_kib,vmhwm_kib,threads,fds" >"$out/rss.csv"
(
  t=0
  while kill -0 "$shim_pid" 2>/dev/null; do
    fds="$(ls "/proc/$shim_pid/fd" 2>/dev/null | wc -l)"
    echo "$t,$(kib VmRSS),$(kib VmHWM),$(kib Threads),$fds" >>"$out/rss.csv"
    sleep 1
    t=$((t + 1))
  done
) &
sampler=$!
pids+=("$sampler")

status=0
"$loadgen" --target "$shim_addr" --connections "$connections" --duration "$duration" \
  --audit-log "$audit" --threads "$threads" | tee "$out/loadgen.txt" || status=$?

# Connections closed; give the shim a moment to drop them before the end sample.
sleep 2
rss_end="$(kib VmRSS)"
hwm="$(kib VmHWM)"
kill "$sampler" 2>/dev/null || true
rss_peak="$(awk -F, 'NR > 1 && $2 > max { max = $2 } END { print max + 0 }' "$out/rss.csv")"
echo "shim RSS KiB: start ${rss_start} peak-sampled ${rss_peak} VmHWM ${hwm} end ${rss_end}" \
  | tee "$out/rss.txt"
echo "load.sh: audit log ${audit}: $(wc -l <"$audit") lines"
if ! kill -0 "$shim_pid" 2>/dev/null; then
  echo "load.sh: FAIL: the shim died; see $out/shim.log" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "load.sh: FAIL (transport errors or audit mismatch; see above)" >&2
  exit "$status"
fi
echo "load.sh: PASS"
