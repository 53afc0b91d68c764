#!/usr/bin/env bash
# Side-by-side benchmark of the shim against nginx and haproxy (issue 6); rewrites the generated
# part of BENCHMARKS.md. One command from the repository root:
#
#   bench/run.sh
#
# Layout, 1-worker rows: load generator on CPU 0; upstream nginx and the proxy under test on CPU 1
# (taskset), all on loopback. Targets: direct to the upstream, the shim (--workers 1), nginx
# proxy_pass with an upstream keep-alive pool (1 worker), haproxy (nbthread 1).
# 2-worker rows (phase `two`): the shim --workers 2, nginx worker_processes 2, haproxy nbthread 2,
# nothing pinned (2 cores leave none to keep the load generator apart).
# When the shim has `--threading MODEL`, both models run side by side: `shim` is
# `--threading workers`, `shim (shared, N workers)` is `--threading shared`.
#
# Ports: free loopback ports picked at start and reserved for the run (bench/ports.py), so two runs
# at once do not collide; every server is checked to be the one listening on its port.
#
# Environment knobs:
#   QUICK=1            short phases, no waiting for a quiet machine (for developing the script)
#   QUIET_MAX_WAIT=S   wait up to S seconds for the 1-minute load to drop below 0.5 (default 1500)
#   NO_INSTALL=1       do not apt-get install missing tools
#   BENCH_OUT=FILE     where to write the report (default BENCHMARKS.md)
#   SKIP=phases        comma list of phases to skip: small,big,open,two,callgrind,translated,criterion,idle
#                      (and `shared`: no --threading shared rows even when the shim has the flag)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
QUICK=${QUICK:-0}
SKIP=",${SKIP:-},"
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
COMMAND="bench/run.sh"
[ "$QUICK" = 1 ] && COMMAND="QUICK=1 $COMMAND"
[ "$SKIP" != ",," ] && COMMAND="SKIP=${SKIP:1:-1} $COMMAND"

# Phase lengths (seconds) and sizes.
if [ "$QUICK" = 1 ]; then
    SMALL_SECS=2; BIG_SECS=2; OPEN_SECS=2; TWO_SECS=2; CG_LOW=${CG_LOW:-200}; CG_HIGH=${CG_HIGH:-1200}; LEGACY_CALLS=50
    CRIT_ARGS="--warm-up-time 0.3 --measurement-time 0.5"
else
    SMALL_SECS=8; BIG_SECS=5; OPEN_SECS=8; TWO_SECS=6; CG_LOW=${CG_LOW:-2000}; CG_HIGH=${CG_HIGH:-12000}; LEGACY_CALLS=400
    CRIT_ARGS="--warm-up-time 1 --measurement-time 2"
fi
CONNS=64          # closed-loop connections (small JSON)
BIG_CONNS=16      # closed-loop connections (1 MiB)
OPEN_RATE=5000    # open-loop requests/s
CG_CONNS=16       # connections for the callgrind request counts
IDLE_CONNS=1000

LOADCPU=0; SERVERCPU=1

skip() { [[ "$SKIP" == *",$1,"* ]]; }
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- install what is missing ------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v haproxy >/dev/null || need+=(haproxy)
command -v valgrind >/dev/null || need+=(valgrind)
command -v taskset >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    [ "${NO_INSTALL:-0}" = 1 ] && { echo "missing: ${need[*]}" >&2; exit 1; }
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- build -----------------------------------------------------------------------------------
log "building (release, bench, loadgen)"
cargo build --release --quiet
skip criterion || cargo bench --bench translation --no-run --quiet 2>/dev/null
SHIM=${SHIM_BIN:-$ROOT/target/release/deprecation-shim}
mkdir -p target/bench
LOADGEN=$ROOT/target/bench/loadgen
if [ ! -x "$LOADGEN" ] || [ bench/loadgen.rs -nt "$LOADGEN" ]; then
    # Built aside and renamed, so a second run at the same time never executes a half-written file.
    rustc -O --edition 2021 bench/loadgen.rs -o "$LOADGEN.$$"
    mv -f "$LOADGEN.$$" "$LOADGEN"
fi
# The threading model flag (issue 15): with it, both models are measured in this run.
# (The help is read whole first: `--help | grep -q` can fail under pipefail, grep quitting early.)
HAS_THREADING=0; THREADING=0
SHIM_HELP=$("$SHIM" --help 2>&1 || true)
grep -q -- --threading <<<"$SHIM_HELP" && HAS_THREADING=1
[ "$HAS_THREADING" = 1 ] && ! skip shared && THREADING=1

# --- scratch directory, processes, clean-up --------------------------------------------------
W=$(mktemp -d /tmp/shim-bench.XXXXXX)
mkdir -p "$W/www" "$W/tmp"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    python3 "$ROOT/bench/ports.py" release $$ || true
}
trap cleanup EXIT

# Free loopback ports, reserved for this run (see bench/ports.py for why not fixed ports or :0).
mapfile -t FREE < <(python3 bench/ports.py reserve 12 $$)
[ ${#FREE[@]} -eq 12 ] || { echo "bench: could not reserve 12 loopback ports" >&2; exit 1; }
P_UP=${FREE[0]}; P_SHIM=${FREE[1]}; P_SHIMS=${FREE[2]}; P_NGX=${FREE[3]}; P_HAP=${FREE[4]}
P_SHIM2=${FREE[5]}; P_SHIM2S=${FREE[6]}; P_NGX2=${FREE[7]}; P_HAP2=${FREE[8]}
P_SIM=${FREE[9]}; P_SHIM_SIM=${FREE[10]}; P_CG=${FREE[11]}
log "ports: ${FREE[*]}"
ulimit -n 65536 2>/dev/null || ulimit -n 8192

# ~1 KiB of JSON, shaped like a BDB reply; and 1 MiB of bytes.
python3 - "$W/www" <<'EOF'
import json, sys, os
d = sys.argv[1]
bdb = {"uid": 1, "name": "orders-db", "type": "redis", "status": "active", "action_uid": None,
       "redis_version": "7.2", "version": "7.2.4", "memory_size": 1073741824, "port": 12000,
       "shards_count": 2, "replication": True, "sharding": True, "eviction_policy": "volatile-lru",
       "endpoints": [{"addr": ["10.0.0.11"], "dns_address_master": "redis-12000.cluster.example.com",
                      "port": 12000, "uid": "1:1", "addr_type": "external"}],
       "module_list": [{"module_id": "b63fce2abeca9c80d0b049b8f796215b", "module_name": "ReJSON",
                        "module_args": "", "semantic_version": "2.6.6"},
                       {"module_id": "b34850fa9d702f6185509beaf2c1a888", "module_name": "search",
                        "module_args": "PARTITIONS AUTO", "semantic_version": "2.8.4"}],
       "backup": False, "data_persistence": "aof", "aof_policy": "appendfsync-every-sec",
       "authentication_redis_pass": "", "bigstore": False, "crdt": False, "proxy_policy": "single",
       "oss_cluster": False, "tls_mode": "disabled", "created_time": "2024-05-01T10:00:00Z",
       "last_changed_time": "2024-06-01T10:00:00Z"}
s = json.dumps(bdb)
s = s[:-1] + ', "pad": "' + "x" * max(0, 1024 - len(s) - 11) + '"}'
open(os.path.join(d, "small.json"), "w").write(s)
open(os.path.join(d, "big.bin"), "wb").write(os.urandom(1 << 20))
EOF
SMALL_BYTES=$(stat -c %s "$W/www/small.json")

render() { # template port upstream_port [KEY=value...] > file
    local tpl=$1 args=(-e "s#@DIR@#$W#g" -e "s#@PORT@#$2#g" -e "s#@UPSTREAM_PORT@#${3:-}#g") kv
    shift 3
    for kv in "$@"; do args+=(-e "s#@${kv%%=*}@#${kv#*=}#g"); done
    sed "${args[@]}" "$tpl"
}
wait_http() { # url [tries]
    for _ in $(seq 1 "${2:-200}"); do
        curl -fsS --max-time 10 -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "not answering: $1" >&2
    return 1
}
wait_port() { # port pid name [secs] [log]: fails, naming the port, unless pid (or a child) listens on it
    python3 "$ROOT/bench/ports.py" wait "$@"
}
# utime + stime of the processes named (a process counts all its threads)
cpu_ticks() { # pid...
    local p f=()
    for p in "$@"; do f+=("/proc/$p/stat"); done
    awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); t += f[12] + f[13] } END { print t }' "${f[@]}"
}
with_children() { echo "$1" $(pgrep -P "$1" || true); }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)

NGX1=(MASTER=off WORKERS=1 REUSEPORT=)
render bench/nginx-upstream.conf $P_UP "" > "$W/upstream.conf"
render bench/nginx-proxy.conf $P_NGX $P_UP NAME=nginx "${NGX1[@]}" > "$W/nginx.conf"
render bench/nginx-proxy.conf $P_NGX2 $P_UP NAME=nginx2 MASTER=on WORKERS=2 REUSEPORT=reuseport \
    > "$W/nginx2.conf"
render bench/haproxy.cfg $P_HAP $P_UP NBTHREAD=1 > "$W/haproxy.cfg"
render bench/haproxy.cfg $P_HAP2 $P_UP NBTHREAD=2 > "$W/haproxy2.cfg"

start_upstream() {
    taskset -c $SERVERCPU nginx -p "$W" -c "$W/upstream.conf" -e "$W/upstream.error.log" &
    UP_PID=$!; PIDS+=("$UP_PID")
    wait_port $P_UP "$UP_PID" "upstream nginx" 20 "$W/upstream.error.log"
    wait_http "http://127.0.0.1:$P_UP/small.json"
}
# Threading-model arguments of the shim targets; empty when the binary has no --threading.
MODEL=(); SHARED=()
[ "$THREADING" = 1 ] && MODEL=(--threading workers) && SHARED=(--threading shared)
start_shim() { # port upstream-url logfile pin(cpu list or "") [shim args...]
    local port=$1 up=$2 logf=$3 pin=$4 pre=(); shift 4
    [ -n "$pin" ] && pre=(taskset -c "$pin")
    RUST_LOG=${RUST_LOG_BENCH:-warn} NO_COLOR=1 "${pre[@]}" "$SHIM" \
        --listen "127.0.0.1:$port" --upstream "$up" --log-json "$@" 2>"$logf" &
    LAST_PID=$!; PIDS+=("$LAST_PID")
}

# --- wait for a quiet machine ----------------------------------------------------------------
load1() { cut -d' ' -f1 /proc/loadavg; }
if [ "$QUICK" != 1 ]; then
    waited=0; max=${QUIET_MAX_WAIT:-1500}
    while awk -v l="$(load1)" 'BEGIN { exit !(l >= 0.5) }' && [ "$waited" -lt "$max" ]; do
        log "1-minute load $(load1) >= 0.5; waiting for a quiet machine (${waited}s so far)"
        sleep 30; waited=$((waited + 30))
    done
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$SECONDS
log "load at start: $LOAD_START"

# --- servers ---------------------------------------------------------------------------------
# Targets by key; 1-worker ones pinned to SERVERCPU, 2-worker ones (phase `two`) not pinned.
TARGETS=(direct shim nginx haproxy)
TWO_TARGETS=(direct shim2 nginx2 haproxy2)
if [ "$THREADING" = 1 ]; then
    TARGETS=(direct shim shimshared nginx haproxy)
    TWO_TARGETS=(direct shim2 shim2shared nginx2 haproxy2)
fi
declare -A PORT=([direct]=$P_UP [shim]=$P_SHIM [shimshared]=$P_SHIMS [nginx]=$P_NGX [haproxy]=$P_HAP
    [shim2]=$P_SHIM2 [shim2shared]=$P_SHIM2S [nginx2]=$P_NGX2 [haproxy2]=$P_HAP2)
declare -A LABEL=([direct]=direct [shim]=shim [shimshared]="shim (shared, 1 worker)" [nginx]=nginx
    [haproxy]=haproxy [shim2]=shim [shim2shared]="shim (shared, 2 workers)" [nginx2]=nginx
    [haproxy2]=haproxy)
declare -A PID_OF   # the process started (for CPU, with its children: nginx's workers)
UPSTREAM="http://127.0.0.1:$P_UP"
start_target() { # key
    local t=$1 pin="" pre=() logf="$W/$1.log"
    [[ $t == *2* ]] || { pin=$SERVERCPU; pre=(taskset -c $SERVERCPU); }
    case $t in
        direct) PID_OF[$t]=""; return ;;
        shim) start_shim "${PORT[$t]}" "$UPSTREAM" "$logf" "$pin" --workers 1 "${MODEL[@]}" ;;
        shimshared) start_shim "${PORT[$t]}" "$UPSTREAM" "$logf" "$pin" --workers 1 "${SHARED[@]}" ;;
        shim2) start_shim "${PORT[$t]}" "$UPSTREAM" "$logf" "$pin" --workers 2 "${MODEL[@]}" ;;
        shim2shared) start_shim "${PORT[$t]}" "$UPSTREAM" "$logf" "$pin" --workers 2 "${SHARED[@]}" ;;
        nginx|nginx2)
            "${pre[@]}" nginx -p "$W" -c "$W/$t.conf" -e "$logf" 2>>"$logf" &
            LAST_PID=$!; PIDS+=("$LAST_PID") ;;
        haproxy|haproxy2)
            "${pre[@]}" haproxy -db -f "$W/$t.cfg" 2>"$logf" &
            LAST_PID=$!; PIDS+=("$LAST_PID") ;;
    esac
    PID_OF[$t]=$LAST_PID
    wait_port "${PORT[$t]}" "$LAST_PID" "$t" 20 "$logf"
    wait_http "http://127.0.0.1:${PORT[$t]}/small.json"
}
stop_targets() { # key...
    local t
    for t in "$@"; do [ -n "${PID_OF[$t]:-}" ] && kill "${PID_OF[$t]}" 2>/dev/null || true; done
    for t in "$@"; do [ -n "${PID_OF[$t]:-}" ] && wait "${PID_OF[$t]}" 2>/dev/null || true; done
}
start_servers() {
    start_upstream
    for t in "${TARGETS[@]}"; do start_target "$t"; done
}
stop_servers() {
    stop_targets "${TARGETS[@]}"
    kill "$UP_PID" 2>/dev/null || true; wait "$UP_PID" 2>/dev/null || true
}
same_bytes() { # key...: the same 1 MiB through every target
    local t
    for t in "$@"; do
        cmp -s <(curl -fsS --max-time 20 "http://127.0.0.1:${PORT[$t]}/big.bin") "$W/www/big.bin" \
            || { echo "target $t does not return the 1 MiB file intact" >&2; exit 1; }
    done
}
start_servers
same_bytes "${TARGETS[@]}"

declare -A R   # results: R[target.key]

to_ms() { # wrk latency like 512.00us / 1.20ms / 2.00s
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}
WRK=(taskset -c $LOADCPU wrk -t1)   # the 2-worker phase drops the taskset
run_wrk() { # target path conns secs prefix
    local t=$1 path=$2 c=$3 secs=$4 k=$5 f="$W/wrk.$5.$1.txt" procs
    local up0 p0=0 up1 p1=0
    procs=()
    # Read now: nginx's master may still have been forking its workers when it first answered.
    [ -n "${PID_OF[$t]}" ] && read -ra procs <<<"$(with_children "${PID_OF[$t]}")"
    up0=$(cpu_ticks "$UP_PID"); [ ${#procs[@]} -gt 0 ] && p0=$(cpu_ticks "${procs[@]}")
    "${WRK[@]}" -c"$c" -d"${secs}s" --latency "http://127.0.0.1:${PORT[$t]}$path" > "$f"
    up1=$(cpu_ticks "$UP_PID"); [ ${#procs[@]} -gt 0 ] && p1=$(cpu_ticks "${procs[@]}")
    local reqs rps
    reqs=$(awk '/requests in/ { print $1 }' "$f")
    rps=$(awk '/^Requests\/sec/ { print $2 }' "$f")
    R[$t.$k.rps]=$(printf '%.0f' "$rps")
    R[$t.$k.p50]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
    R[$t.$k.p99]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
    R[$t.$k.err]=$(awk '/Non-2xx|Socket errors/ { s = s $0 "; " } END { print s }' "$f")
    R[$t.$k.upcpu]=$(awk -v d=$((up1 - up0)) -v n="$reqs" -v t="$TCK" 'BEGIN { printf "%.0f", d * 1000 / t / n * 10000 }')
    if [ ${#procs[@]} -gt 0 ]; then
        R[$t.$k.cpu]=$(awk -v d=$((p1 - p0)) -v n="$reqs" -v t="$TCK" 'BEGIN { printf "%.0f", d * 1000 / t / n * 10000 }')
    else
        R[$t.$k.cpu]="–"
    fi
    log "$k $t: ${R[$t.$k.rps]} req/s p50 ${R[$t.$k.p50]} ms p99 ${R[$t.$k.p99]} ms cpu ${R[$t.$k.cpu]} ms/10k ${R[$t.$k.err]}"
}

# --- phase: small JSON, closed loop, 64 connections -------------------------------------------
if ! skip small; then
    for t in "${TARGETS[@]}"; do  # warm pools and caches
        "${WRK[@]}" -c$CONNS -d1s "http://127.0.0.1:${PORT[$t]}/small.json" >/dev/null
    done
    for t in "${TARGETS[@]}"; do run_wrk "$t" /small.json $CONNS $SMALL_SECS small; done
fi

# --- phase: 1 MiB bodies ---------------------------------------------------------------------
if ! skip big; then
    for t in "${TARGETS[@]}"; do run_wrk "$t" /big.bin $BIG_CONNS $BIG_SECS big; done
fi

# --- phase: open loop at a fixed rate ---------------------------------------------------------
if ! skip open; then
    for t in "${TARGETS[@]}"; do
        line=$(taskset -c $LOADCPU "$LOADGEN" openloop "127.0.0.1:${PORT[$t]}" /small.json $OPEN_RATE $OPEN_SECS $CONNS)
        log "open $t: $line"
        for key in p50_ms p99_ms p999_ms achieved_rps errors; do
            R[$t.open.$key]=$(tr ' ' '\n' <<<"$line" | awk -F= -v k=$key '$1 == k { print $2 }')
        done
    done
fi

# Peak RSS over the throughput phases (before the idle phase raises it).
for t in "${TARGETS[@]}"; do
    pid=${PID_OF[$t]}; [ -z "$pid" ] && pid=$UP_PID
    R[$t.hwm]=$(( $(status_kib "$pid" VmHWM) / 1024 ))
done

# --- phase: 2 workers, small JSON, nothing pinned ---------------------------------------------
# With 2 cores there is no CPU left to keep the load generator apart: wrk, the upstream and the
# proxy's 2 workers all share both. The upstream is the same single nginx process, unpinned for
# the phase; the proxies' CPU is summed over all their threads (and nginx's master and workers).
if ! skip two; then
    for t in "${TWO_TARGETS[@]}"; do start_target "$t"; done
    same_bytes "${TWO_TARGETS[@]}"
    taskset -pc 0-$(( $(nproc) - 1 )) "$UP_PID" >/dev/null
    WRK=(wrk -t1)
    for t in "${TWO_TARGETS[@]}"; do "${WRK[@]}" -c$CONNS -d1s "http://127.0.0.1:${PORT[$t]}/small.json" >/dev/null; done
    for t in "${TWO_TARGETS[@]}"; do run_wrk "$t" /small.json $CONNS $TWO_SECS two; done
    WRK=(taskset -c $LOADCPU wrk -t1)
    taskset -pc $SERVERCPU "$UP_PID" >/dev/null
    stop_targets "${TWO_TARGETS[@]}"
fi

# --- phase: callgrind instructions per proxied request ---------------------------------------
cg_total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }
cg_run() { # name n port -- command...
    local name=$1 n=$2 port=$3; shift 4
    taskset -c $SERVERCPU valgrind --tool=callgrind --callgrind-out-file="$W/cg.$name.$n.out" \
        "$@" 2>"$W/cg.$name.$n.log" &
    local pid=$!
    wait_port "$port" "$pid" "$name under callgrind" 120 "$W/cg.$name.$n.log" >&2
    wait_http "http://127.0.0.1:$port/small.json" 600
    log "callgrind $name: $n requests"
    taskset -c $LOADCPU "$LOADGEN" count "127.0.0.1:$port" /small.json "$n" $CG_CONNS >/dev/null
    # SIGTERM again every 5 s until it is gone: now and then valgrind holds a signal that lands as
    # the process enters epoll_wait until the wait returns, which for nginx was its 300 s
    # keep-alive timer (seen twice: a 5-minute stall in the callgrind phase).
    local i
    for i in $(seq 0 599); do
        ((i % 50 == 0)) && kill -TERM "$pid" 2>/dev/null
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid" || true
    cg_total "$W/cg.$name.$n.out"
}
if ! skip callgrind; then
    render bench/nginx-proxy.conf $P_CG $P_UP NAME=nginx-cg "${NGX1[@]}" > "$W/nginx-cg.conf"
    CG_TARGETS=(shim nginx)
    [ "$THREADING" = 1 ] && CG_TARGETS=(shim shimshared nginx)
    for n in $CG_LOW $CG_HIGH; do
        R[shim.ir.$n]=$(RUST_LOG=warn cg_run shim "$n" $P_CG -- "$SHIM" --listen 127.0.0.1:$P_CG \
            --upstream "$UPSTREAM" --workers 1 "${MODEL[@]}")
        if [ "$THREADING" = 1 ]; then
            R[shimshared.ir.$n]=$(RUST_LOG=warn cg_run shimshared "$n" $P_CG -- "$SHIM" \
                --listen 127.0.0.1:$P_CG --upstream "$UPSTREAM" --workers 1 "${SHARED[@]}")
        fi
        R[nginx.ir.$n]=$(cg_run nginx "$n" $P_CG -- nginx -p "$W" -c "$W/nginx-cg.conf" -e "$W/nginx-cg.log")
    done
    for t in "${CG_TARGETS[@]}"; do
        R[$t.ir]=$(( (R[$t.ir.$CG_HIGH] - R[$t.ir.$CG_LOW]) / (CG_HIGH - CG_LOW) ))
        log "callgrind $t: ${R[$t.ir]} instructions per request"
    done
    # Per-request profile: callgrind_annotate of both runs, differenced, so start-up cancels out.
    python3 bench/cg_profile.py "$W/cg.shim.$CG_LOW.out" "$W/cg.shim.$CG_HIGH.out" \
        $((CG_HIGH - CG_LOW)) > "$W/profile.shim.txt" || true
fi

# --- phase: the translated route against the simulator --------------------------------------
if ! skip translated; then
    NO_COLOR=1 taskset -c $SERVERCPU "$SHIM" simulate --listen 127.0.0.1:$P_SIM --version 8.0 \
        --action-duration 0s 2>"$W/sim.log" &
    PIDS+=("$!")
    SIM_PID=$!
    wait_port $P_SIM $SIM_PID simulator 20 "$W/sim.log"
    start_shim $P_SHIM_SIM "http://127.0.0.1:$P_SIM" "$W/shim-sim.log" $SERVERCPU --workers 1 "${MODEL[@]}"
    SHIM_SIM_PID=$LAST_PID
    wait_port $P_SHIM_SIM $SHIM_SIM_PID "shim in front of the simulator" 20 "$W/shim-sim.log"
    AUTH="Basic $(printf '%s' 'admin@example.com:sim-admin-pass' | base64)"
    BODY='{"modules":[{"module_name":"ReJSON","new_module":"e498441c107b69c94feae975a9f78330"}]}'
    line=$(taskset -c $LOADCPU "$LOADGEN" post 127.0.0.1:$P_SHIM_SIM /v1/modules/upgrade/bdb/1 \
        "$LEGACY_CALLS" "$AUTH" "$BODY")
    log "translated: $line"
    R[tr.statuses]=$(tr ' ' '\n' <<<"$line" | awk -F= '$1 == "statuses" { print $2 }')
    R[tr.total50]=$(tr ' ' '\n' <<<"$line" | awk -F= '$1 == "p50_ms" { print $2 }')
    R[tr.total99]=$(tr ' ' '\n' <<<"$line" | awk -F= '$1 == "p99_ms" { print $2 }')
    grep -o '"shim_ms":[0-9.e+-]*' "$W/shim-sim.log" | cut -d: -f2 | sort -g > "$W/shim_ms.txt" || true
    pct() { awk -v q="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * q); if (i >= NR) i = NR - 1; printf "%.3f", a[i + 1] }' "$2"; }
    R[tr.n]=$(wc -l < "$W/shim_ms.txt")
    R[tr.shim50]=$(pct 0.50 "$W/shim_ms.txt")
    R[tr.shim99]=$(pct 0.99 "$W/shim_ms.txt")
    R[tr.shimmax]=$(pct 1.0 "$W/shim_ms.txt")
    log "translated: shim-added p50 ${R[tr.shim50]} ms p99 ${R[tr.shim99]} ms over ${R[tr.n]} calls"
    kill "$SHIM_SIM_PID" "$SIM_PID" 2>/dev/null || true
    wait "$SHIM_SIM_PID" "$SIM_PID" 2>/dev/null || true
fi

# --- phase: criterion micro-benchmarks -------------------------------------------------------
if ! skip criterion; then
    # shellcheck disable=SC2086
    taskset -c $SERVERCPU cargo bench --quiet --bench translation -- --output-format bencher $CRIT_ARGS \
        2>/dev/null | grep '^test ' > "$W/criterion.txt" || true
    log "criterion: $(wc -l < "$W/criterion.txt") benchmarks"
fi

# --- phase (last): 1000 idle keep-alive connections ------------------------------------------
if ! skip idle; then
    # Fresh processes, so the delta is memory the connections need rather than heap that earlier
    # phases grew and freed.
    stop_servers
    start_servers
    for t in "${TARGETS[@]}"; do
        pid=${PID_OF[$t]}; [ -z "$pid" ] && pid=$UP_PID
        before=$(status_kib "$pid" VmRSS)
        coproc IDLE { taskset -c $LOADCPU "$LOADGEN" idle "127.0.0.1:${PORT[$t]}" /small.json $IDLE_CONNS 5; }
        read -r ready_line <&"${IDLE[0]}"
        sleep 0.5
        after=$(status_kib "$pid" VmRSS)
        wait "$IDLE_PID" 2>/dev/null || true
        R[$t.idle]=$(awk -v a="$after" -v b="$before" -v n=$IDLE_CONNS 'BEGIN { printf "%.1f", (a - b) / n }')
        log "idle $t: $ready_line; RSS ${before} -> ${after} KiB: ${R[$t.idle]} KiB/conn"
        sleep 1
    done
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
MEASURED=$((SECONDS - T_START))
log "measured for ${MEASURED} s"

# --- report ----------------------------------------------------------------------------------
# shellcheck source=bench/report.sh
. "$ROOT/bench/report.sh"
