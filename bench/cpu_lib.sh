# Shared by the CPU-cost benches (stats_cost.sh, fields_cost.sh): a simulator and shims on
# reserved loopback ports, and the shim's own CPU per request over one keep-alive curl.
# Source it after setting `out` (a scratch directory) and `n` (requests per measurement).
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  python3 bench/ports.py release $$ || true
}
trap cleanup EXIT

# The simulator (release VERSION) on PORT, started with BIN.
start_sim() { # bin port version
  RUST_LOG=warn "$1" simulate --listen "127.0.0.1:$2" --version "$3" >"$out/sim.log" 2>&1 &
  pids+=($!)
  python3 bench/ports.py wait "$2" "$!" simulator 20 "$out/sim.log"
}

# A shim NAME run by BIN on PORT in front of SIM (host:port) with one worker, an audit file and
# the [rules] lines given; prints its pid (called as `$(...)`: add the pid to `pids`).
start_shim() { # bin name port sim rules_toml
  cat >"$out/$2.toml" <<TOML
workers = 1
[listen]
address = "127.0.0.1:$3"
[upstream]
url = "http://$4"
[audit]
path = "$out/$2.jsonl"
[rules]
rs_version = "8.0.20-68"
$5
TOML
  RUST_LOG=warn,access=off "$1" --config "$out/$2.toml" >"$out/$2.log" 2>&1 &
  pids+=($!)
  python3 bench/ports.py wait "$3" "$!" "$2" 20 "$out/$2.log"
  echo $!
}

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick="$(getconf CLK_TCK)"

# One curl, one keep-alive connection, COUNT requests to PATH; extra curl config lines (a
# method, a body) from $CURL_EXTRA.
drive() { # port path count
  local cfg="$out/curl.cfg"
  {
    echo 'user = "admin@example.com:sim-admin-pass"'
    echo 'silent'
    [ -z "${CURL_EXTRA:-}" ] || printf '%s\n' "$CURL_EXTRA"
    for _ in $(seq "$3"); do echo "url = \"http://127.0.0.1:$1$2\""; echo 'output = "/dev/null"'; done
  } >"$cfg"
  curl -K "$cfg"
}

# µs of the shim's CPU (utime + stime) per request, after a 500-request warm-up.
measure() { # pid port path
  drive "$2" "$3" 500
  local a b
  a="$(cpu "$1")"
  drive "$2" "$3" "$n"
  b="$(cpu "$1")"
  awk -v a="$a" -v b="$b" -v t="$tick" -v n="$n" 'BEGIN { printf "%.2f", (b - a) * 1e6 / t / n }'
}

# The median of the numbers given.
median() {
  printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"
}
