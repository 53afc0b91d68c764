#!/usr/bin/env bash
# Telemetry's cost on the pass-through path (issue 24): the release shim in front of the
# simulator (8.0), driven by examples/loadgen.rs with pass-through reads only
# (--deprecated-percent 0), in four configurations run one after the other:
#   off         no [telemetry] (the default)
#   on-s0       telemetry on, sampling 0 (spans made, none exported: the caller sends no traceparent)
#   on-s1       telemetry on, sampling 1, towards a receiver that accepts everything (a
#               throwaway HTTP server answering 200, so export itself is exercised)
#   down-s1     telemetry on, sampling 1, the collector down (a closed port): drops counted
# Prints each run's requests/s and latency p50/p99 (the loadgen's line), and the drop counter
# of the down run from its admin port.
#
#   bench/otel.sh [SECONDS] [CONNECTIONS]    (default 20 s, 50 connections)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-50}"
cargo build --release --locked --quiet --bin deprecation-shim --example loadgen
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/deprecation-shim"
loadgen="$target/release/examples/loadgen"
out="$(mktemp -d /tmp/shim-otel.XXXXXX)"
export NO_COLOR=1
. bench/cpu_lib.sh # pids, cleanup on exit
mapfile -t ports < <(python3 bench/ports.py reserve 5 $$)
[ ${#ports[@]} -eq 5 ] || { echo "otel.sh: could not reserve 5 ports" >&2; exit 1; }
sim="127.0.0.1:${ports[0]}"
collector="127.0.0.1:${ports[1]}"
closed="127.0.0.1:${ports[2]}" # reserved, never listened on
RUST_LOG=warn "$bin" simulate --listen "$sim" --version 8.0 --action-duration 0s \
  >"$out/sim.log" 2>&1 &
pids+=($!)
python3 bench/ports.py wait "${ports[0]}" "$!" simulator 20 "$out/sim.log"
# A collector that takes every export and answers 200 with an empty body.
python3 - "$collector" >"$out/collector.log" 2>&1 <<'PY' &
import http.server, sys
host, port = sys.argv[1].rsplit(":", 1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((host, int(port)), H).serve_forever()
PY
pids+=($!)
python3 bench/ports.py wait "${ports[1]}" "$!" collector 20 "$out/collector.log"

run() { # name telemetry-toml
  local name="$1" listen="127.0.0.1:${ports[3]}" admin="127.0.0.1:${ports[4]}"
  cat >"$out/$name.toml" <<TOML
workers = 1
[listen]
address = "$listen"
[upstream]
url = "http://$sim"
[admin]
listen = "$admin"
[audit]
path = "$out/$name.jsonl"
$2
TOML
  RUST_LOG=warn,access=off "$bin" --config "$out/$name.toml" >"$out/$name.log" 2>&1 &
  local pid=$!
  python3 bench/ports.py wait "${ports[3]}" "$pid" "shim $name" 20 "$out/$name.log"
  printf '%-8s ' "$name"
  "$loadgen" --target "$listen" --connections "$connections" --duration "$duration" \
    --deprecated-percent 0 | grep -E 'pass_through GET /v1/bdbs' | sed 's/^ *//' || true
  if [ "$name" = down-s1 ]; then
    curl -s "http://$admin/metrics" | grep '^deprecation_shim_telemetry_dropped_total' || true
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
run off ""
run on-s0 "[telemetry]
enabled = true
endpoint = \"http://$collector\"
sampling = 0.0"
run on-s1 "[telemetry]
enabled = true
endpoint = \"http://$collector\"
sampling = 1.0"
run down-s1 "[telemetry]
enabled = true
endpoint = \"http://$closed\"
sampling = 1.0"
echo "otel.sh: logs in $out"
