#!/usr/bin/env bash
# The long multi-replica rehearsal: three shim replicas behind haproxy (round robin,
# health-checked on /readyz) in front of a simulated 8.0 cluster, a bounded mixed load, and
# rolling restarts (SIGTERM, start again) for --duration seconds. Prints the figures: requests
# sent/answered/failed, legacy calls vs audit records, restarts, p99 steady vs during restarts.
# The suite runs a short version (tests/rehearsal.rs). Needs haproxy (apt-get install haproxy).
#
#   deploy/rehearsal.sh [--duration 60] [--clients 16] [--debug]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=60 clients=16 profile=(--release)
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --debug) profile=(); shift ;;
    *) echo "usage: $0 [--duration SECONDS] [--clients N] [--debug]" >&2; exit 2 ;;
  esac
done
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || {
  echo "haproxy is required: apt-get install haproxy" >&2; exit 1; }
REHEARSAL_SECONDS="$duration" REHEARSAL_CLIENTS="$clients" \
  cargo test "${profile[@]}" --locked --test rehearsal -- --ignored --nocapture rehearsal_long
