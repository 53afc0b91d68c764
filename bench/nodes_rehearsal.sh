#!/usr/bin/env bash
# The node-failure rehearsal (issue 21): three simulated nodes over one cluster state
# (`deprecation-shim simulate --nodes 3`), the shim in front of them (`upstream.nodes`, a
# follower first), a bounded mixed load (4 readers x 50 pass-through GETs, 10 legacy module
# upgrades one after another), and, 1 s in, the master dies: node 2 is elected, node 1 goes
# down, and the next upgrade POST is applied by the cluster but its reply is lost (the
# simulator's `drop_reply` fault: a node that dies right after applying it). Prints requests
# sent / failed, the legacy upgrade calls by answer, the upgrades the cluster ran and the audit
# outcomes. Exits 1 if a read failed or an upgrade ran more often than it was asked for.
#
#   bench/nodes_rehearsal.sh                 # debug build, output in a fresh /tmp directory
#   bench/nodes_rehearsal.sh --out /tmp/nr
#
# Bounded: every curl has --max-time, the whole run stops by itself (about 10 s of load).
# Honours CARGO_TARGET_DIR. Loopback only; the shim's port is reserved by bench/ports.py, the
# nodes' are chosen by the simulator and read from its standard output.
set -euo pipefail
cd "$(dirname "$0")/.."

out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "nodes_rehearsal.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$(mktemp -d /tmp/shim-nodes.XXXXXX)"
mkdir -p "$out"

cargo build --locked --quiet --bin deprecation-shim
bin="${CARGO_TARGET_DIR:-target}/debug/deprecation-shim"

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

RUST_LOG=warn "$bin" simulate --nodes 3 --version 8.0 --action-duration 300ms \
  >"$out/nodes.txt" 2>"$out/sim.log" &
pids+=($!)
for _ in $(seq 1 200); do
  [ "$(grep -c '^node ' "$out/nodes.txt" 2>/dev/null || true)" -ge 3 ] && break
  sleep 0.1
done
[ "$(grep -c '^node ' "$out/nodes.txt" || true)" -ge 3 ] ||
  { echo "nodes_rehearsal.sh: the simulator did not start 3 nodes (see $out/sim.log)" >&2; exit 1; }
node_url() { awk -v n="$1" '$1 == "node" && $2 == n { print $3 }' "$out/nodes.txt"; }
n1="$(node_url 1)"; n2="$(node_url 2)"; n3="$(node_url 3)"
echo "nodes: 1 $n1 (master), 2 $n2, 3 $n3"

mapfile -t ports < <(python3 bench/ports.py reserve 1 $$)
[ ${#ports[@]} -eq 1 ] || { echo "nodes_rehearsal.sh: could not reserve a port" >&2; exit 1; }
shim="127.0.0.1:${ports[0]}"
audit="$out/audit.jsonl"
: >"$audit"
cat >"$out/shim.toml" <<EOF
[listen]
address = "$shim"
[upstream]
nodes = ["$n2", "$n1", "$n3"]
request_timeout = "10s"
[shim]
poll_interval = "50ms"
wait_deadline = "20s"
[audit]
path = "$audit"
EOF
RUST_LOG=warn,access=off "$bin" --config "$out/shim.toml" >"$out/shim.log" 2>&1 &
shim_pid=$!
pids+=("$shim_pid")
python3 bench/ports.py wait "${ports[0]}" "$shim_pid" shim 20 "$out/shim.log"
echo "shim: http://$shim (upstream.nodes: 2, 1, 3)"

auth="admin@example.com:sim-admin-pass"
upgrade='{"modules":[{"module_name":"ReJSON","new_module":"e498441c107b69c94feae975a9f78330"}]}'

reader() {
  local paths=(/v1/bdbs/1 /v1/cluster /v1/nodes /v1/modules)
  for i in $(seq 0 49); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -u "$auth" \
      "http://$shim${paths[$(((i + $1) % 4))]}" >>"$out/reads.$1" || echo "000" >>"$out/reads.$1"
    sleep 0.03
  done
}
for w in 0 1 2 3; do
  reader "$w" &
  pids+=($!)
done
readers=("${pids[@]: -4}")

(
  sleep 1
  curl -s -o /dev/null --max-time 5 -X POST -d '{"uid": 2}' "$n2/__sim/master"
  curl -s -o /dev/null --max-time 10 -X POST "$n2/__sim/nodes/1/down"
  curl -s -o /dev/null --max-time 5 -X POST \
    -d '{"drop_reply": {"method": "POST", "path_prefix": "/v1/bdbs/1/upgrade", "count": 1}}' \
    "$n2/__sim/faults"
  echo "$(date +%s.%N) node 1 (master) down, node 2 elected, next upgrade reply lost" >"$out/chaos.txt"
) &
chaos=$!
pids+=("$chaos")

for i in $(seq 1 10); do
  code="$(curl -s -o "$out/upgrade.$i.json" -w '%{http_code}' --max-time 30 -u "$auth" \
    -H 'Content-Type: application/json' -d "$upgrade" \
    "http://$shim/v1/modules/upgrade/bdb/1" || echo 000)"
  echo "$code $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error_code","-"))' \
    "$out/upgrade.$i.json" 2>/dev/null || echo -)" >>"$out/upgrades.txt"
done
wait "${readers[@]}" "$chaos"

curl -s --max-time 5 "$n2/__sim/state" >"$out/state.json"
python3 - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
codes = [l.strip() for f in glob.glob(f"{out}/reads.*") for l in open(f) if l.strip()]
failed = [c for c in codes if c != "200"]
ups = [l.split() for l in open(f"{out}/upgrades.txt")]
ok = sum(1 for c, _ in ups if c == "200")
unknown = sum(1 for c, e in ups if c == "502" and e == "upstream_outcome_unknown")
other = len(ups) - ok - unknown
state = json.load(open(f"{out}/state.json"))
run = sum(1 for a in state.get("actions", [])
          if a.get("name") == "SMUpgradeBDB" and a.get("object_name") == "bdb:1")
outcomes = {}
for line in open(f"{out}/audit.jsonl"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("record") == "intent" or r.get("route") != "/v1/modules/upgrade/bdb/{uid}":
        continue
    outcomes[r.get("outcome")] = outcomes.get(r.get("outcome"), 0) + 1
print(f"reads: {len(codes)} sent, {len(failed)} failed {sorted(set(failed)) or ''}")
print(f"legacy upgrade calls: {len(ups)} ({ok} answered 200, {unknown} answered 502 "
      f"upstream_outcome_unknown, {other} other)")
print(f"upgrades the cluster ran: {run}")
print(f"audit outcomes of the legacy calls: {json.dumps(outcomes, sort_keys=True)}")
good = not failed and other == 0 and ok <= run <= ok + unknown
print("rehearsal: " + ("PASS" if good else "FAIL") + f" (output in {out})")
sys.exit(0 if good else 1)
PY
