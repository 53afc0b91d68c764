#!/usr/bin/env bash
# Issue 20, items 1 and 5, reproduced against a built binary (the same script measures before
# and after):
#   scripts/repro-fail-closed.sh [BIN]      (default target/debug/deprecation-shim)
# A simulated 8.0 cluster whose GET /v1/bootstrap answers 500, and a shim in front of it whose
# debuginfo_all route is retired (lifecycle enforced, Sunset passed). 30 calls of
# GET /v1/debuginfo/all with admin credentials, then 30 with a 9 KiB junk Authorization header:
# how many were served (200), refused (410/503), and how many audit records were written.
# Item 5: a second shim whose audit file is /dev/full (a full disk) with on_write_failure = "fail";
# one legacy module upgrade with admin credentials: the reply, and how many upgrade actions the
# cluster ran.
# Loopback only, free ports from bench/ports.py; every server is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/deprecation-shim}
work=$(mktemp -d)
mapfile -t ports < <(python3 bench/ports.py reserve 3 $$)
sim_port=${ports[0]} shim_port=${ports[1]} full_port=${ports[2]}
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  python3 bench/ports.py release $$ >/dev/null 2>&1 || true
  rm -rf "$work"
}
pids=()
trap cleanup EXIT

"$bin" simulate --listen "127.0.0.1:$sim_port" --version 8.0 >"$work/sim.log" 2>&1 &
pids+=($!)
python3 bench/ports.py wait "$sim_port" "${pids[0]}" simulator 10 "$work/sim.log"
curl -fsS -X POST "http://127.0.0.1:$sim_port/__sim/faults" \
  -H 'content-type: application/json' \
  -d '{"status": {"status": 500, "method": "GET", "path_prefix": "/v1/bootstrap"}}' >/dev/null

cat >"$work/shim.toml" <<EOF
[listen]
address = "127.0.0.1:$shim_port"
[upstream]
url = "http://127.0.0.1:$sim_port"
[audit]
path = "$work/audit.jsonl"
[lifecycle.debuginfo_all]
enforce = true
sunset_date = "2025-01-01"
EOF
"$bin" --config "$work/shim.toml" >"$work/shim.log" 2>&1 &
pids+=($!)
python3 bench/ports.py wait "$shim_port" "${pids[1]}" shim 10 "$work/shim.log"

count() { # $1: label, $2: Authorization value
  local codes
  codes=$(for _ in $(seq 30); do
    curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: $2" \
      "http://127.0.0.1:$shim_port/v1/debuginfo/all"
  done | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
  printf '%-28s %s\n' "$1" "$codes"
}
admin="Basic $(printf 'admin@example.com:sim-admin-pass' | base64 -w0)"
junk="Basic $(head -c 9216 /dev/zero | tr '\0' 'A')"
echo "binary: $bin"
count "30 admin calls:" "$admin"
count "30 junk-credential calls:" "$junk"
# A graceful stop writes any open coalesced record (issue 20 item 6); then count the calls
# the outcome records stand for (a coalesced one counts its `count`) and the lines.
kill -TERM "${pids[1]}" && wait "${pids[1]}" 2>/dev/null || true
python3 - "$work/audit.jsonl" <<'PY'
import json, os, sys
path = sys.argv[1]
lines = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
outcomes = [r for r in lines if r.get("record") != "intent"]
calls = sum(r.get("count", 1) for r in outcomes)
print(f"audit: {calls} calls recorded (of 60) in {len(lines)} lines")
PY

# Item 5.
curl -fsS -X DELETE "http://127.0.0.1:$sim_port/__sim/faults" >/dev/null
cat >"$work/full.toml" <<EOF
[listen]
address = "127.0.0.1:$full_port"
[upstream]
url = "http://127.0.0.1:$sim_port"
[audit]
path = "/dev/full"
on_write_failure = "fail"
EOF
"$bin" --config "$work/full.toml" >"$work/full.log" 2>&1 &
pids+=($!)
python3 bench/ports.py wait "$full_port" "${pids[2]}" shim-full 10 "$work/full.log"
actions() {
  curl -fsS "http://127.0.0.1:$sim_port/__sim/state" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))'
}
before=$(actions)
body='{"modules":[{"module_name":"ReJSON","new_module":"e498441c107b69c94feae975a9f78330"}]}'
reply=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: $admin" \
  -H 'content-type: application/json' -d "$body" \
  "http://127.0.0.1:$full_port/v1/modules/upgrade/bdb/1")
code=${reply##* }
error=$(printf '%s' "${reply% *}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin).get("error_code","-"))' 2>/dev/null ||
  echo -)
echo "full disk, fail mode, 1 legacy upgrade: reply $code $error;" \
  "upgrades run by the cluster: $(($(actions) - before))"
