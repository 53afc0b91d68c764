#!/usr/bin/env bash
# rmadm's upload-then-upgrade (`rmadm cluster upgrade --file PKG`) through the shim, in front of
# a simulated 7.22 cluster (upload rule observed, then forced to translate) and an 8.0 one (410).
# Needs rmadm checked out outside the repo and its deps importable:
#   RMADM=/tmp/rmadm/rmadm/rmadm PY="env PYTHONPATH=/tmp/rmadm-py2 PYENV_VERSION=2.7.18 python"
# Usage: scripts/rmadm-modules.sh [path/to/deprecation-shim]
set -u
BIN=${1:-target/debug/deprecation-shim}
RMADM=${RMADM:?set RMADM to the rmadm script}
PY=${PY:-python}
WORK=$(mktemp -d)
PKG="$WORK/rejson.Linux-x86_64.2.9.9.zip"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT

run() { # name sim-version sim-port shim-port toml-extra
  local name=$1 ver=$2 sport=$3 pport=$4 extra=$5
  RUST_LOG=debug "$BIN" simulate --listen "127.0.0.1:$sport" --version "$ver" --action-duration 200ms \
    > "$WORK/sim-$name.log" 2>&1 & pids+=($!)
  printf '[upstream]\nurl = "http://127.0.0.1:%s"\n[shim]\npoll_interval = "50ms"\n[audit]\npath = "%s"\n%s\n' \
    "$sport" "$WORK/audit-$name.jsonl" "$extra" > "$WORK/$name.toml"
  "$BIN" --config "$WORK/$name.toml" --listen "127.0.0.1:$pport" > "$WORK/shim-$name.log" 2>&1 & pids+=($!)
  sleep 1.5
  # The simulator's stand-in for RAMP's module.json: ReJSON 2.9.9 offering every capability the
  # catalog's ReJSON entries offer (so the upgrade's capability check passes).
  curl -s -u "${RL_USER:-admin@example.com}:${RL_PASS:-admin}" "http://127.0.0.1:$sport/v1/modules" | python3 -c '
import json,sys
caps=sorted({c for m in json.load(sys.stdin) if m["module_name"]=="ReJSON" for c in m.get("capabilities",[])})
print(json.dumps({"module_name":"ReJSON","semantic_version":"2.9.9","min_redis_version":"6.0.0","capabilities":caps}))' > "$PKG"
  echo "=== $name: RS $ver, shim [rules]: $(echo "$extra" | tr '\n' ' ')"
  echo "\$ rmadm cluster --rl_user admin@example.com --rl_password *** --rl_host http://127.0.0.1:$pport upgrade rejson 2.9.9 --bdb 1 --module_args '' --file $PKG"
  $PY "$RMADM" cluster --rl_user "${RL_USER:-admin@example.com}" --rl_password "${RL_PASS:-admin}" \
    --rl_host "http://127.0.0.1:$pport" upgrade rejson 2.9.9 --bdb 1 --module_args '' --file "$PKG" 2>&1 | tail -4
  echo "--- exit ${PIPESTATUS[0]}; simulator actions (v2 uploads run as module_upload actions; v1 has none):"
  curl -s "http://127.0.0.1:$sport/__sim/state" | python3 -c '
import json,sys
for a in json.load(sys.stdin).get("actions",[]): print("    action", a.get("name"), a.get("status"))'
  echo "--- audit (rule, rule_action, route, status, modules, action_uid):"
  python3 -c '
import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l); print("   ", r.get("rule"), r.get("rule_action"), r["method"], r["route"], r["status"], json.dumps(r["modules"]), r["action_uid"])' "$WORK/audit-$name.jsonl"
}
run observe 7.22 19511 19521 $'[rules]\nrs_version = "7.22.0"\n[rules.module_upload]\nmode = "observe"'
run translate 7.22 19512 19522 $'[rules]\nrs_version = "7.22.0"\n[rules.module_upload]\nmode = "translate"'
run gone 8.0 19513 19523 $'[rules]\nrs_version = "8.0.0"'
