#!/usr/bin/env bash
# Coffer next to etcd, on this machine's loopback, driven by the same load tool.
#
#   bench/run.sh            # the whole run (about 30 minutes after the release builds)
#
# Builds Coffer in release, starts a 3-node Coffer cluster (raft on disk, log appends fsynced,
# TLS off, audit off) and a 3-member etcd cluster (Debian's etcd-server, fsync on by default),
# then, for 16 and 64 connections, drives the leader of each with wrk: unique-key writes (KV v2
# POST /v1/secret/data/<key>; etcd POST /v3/kv/put) and single-key reads (KV v2 GET; etcd
# linearizable /v3/kv/range), etcd and Coffer back to back for each cell:
# - cold: one round right after both clusters formed, before anything has warmed them (what a
#   user who starts a cluster and measures it sees);
# - warm: BENCH_ROUNDS rounds after a 5 s write warm-up; the goals take the median of the rounds;
# - value sizes: 16-connection writes of 100 B, 4 KiB, 64 KiB and 512 KiB values;
# - the same cells again for Coffer with a file audit device.
# Also: idle and loaded RSS per node, CPU time per request of each system (its three processes,
# from /proc), a perf profile of the write path, failover (SIGKILL the active node under write
# load, 5 rounds), graceful hand-over (SIGTERM, 3 rounds), auto-unseal restart time, idle RSS
# with the upstream patch of bench/patches (built by bench/patched_build.sh beside the product
# build, in the same target dir), and how cost grows with stored secrets (bench/growth.py:
# 10k, 100k and 1M secrets on a cluster of its own), and how a simpler harness's choices move the
# read figure (bench/harness.py). Prints the table, every goal of issue 24 as
# met or not met, and updates the generated part of bench/RESULTS.md and bench/growth.png.
#
# Knobs: BENCH_DURATION (seconds per wrk run, 20), BENCH_ROUNDS (warm rounds, 2),
# BENCH_CONNECTIONS ("16 64"), BENCH_THREADS (wrk threads, 2), BENCH_SIZES ("100 4096 65536 524288"),
# BENCH_KEYS ("10000 100000 1000000"; empty skips the growth part), BENCH_PATCHED (1; 0 skips the
# patched build), BENCH_KEEP=1 keeps the work directory.
# Speed is never asserted by a test: this is not part of ./test.sh.
set -euo pipefail
# The whole script is one block, read before any of it runs: editing this file during a run
# cannot change what the run does.
{
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/env.sh

DURATION=${BENCH_DURATION:-20}
CONNECTIONS=${BENCH_CONNECTIONS:-"16 64"}
ROUNDS=${BENCH_ROUNDS:-2}
SIZES=${BENCH_SIZES:-"100 4096 65536 524288"}
KEYS=${BENCH_KEYS-"10000 100000 1000000"}
THREADS=${BENCH_THREADS:-2}
READ_KEY=bench-read
PY="$COFFER_VENV/bin/python $ROOT/bench/bench.py"

say() { echo "==> $*" >&2; }

# --- what the run needs: Debian's etcd and wrk (perf if it can be had), the venv, a release build
install_missing() {
  local need=() sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  command -v etcd >/dev/null || need+=(etcd-server)
  command -v wrk >/dev/null || need+=(wrk)
  command -v rsync >/dev/null || need+=(rsync) # bench/patched_build.sh
  command -v patch >/dev/null || need+=(patch)
  if [ ${#need[@]} -gt 0 ] || ! command -v perf >/dev/null; then
    $sudo apt-get update -qq
  fi
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if ! command -v perf >/dev/null; then # the profile only; the run goes on without it
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq linux-perf >/dev/null ||
      say "linux-perf could not be installed: no profile"
  fi
  scripts/setup.sh
  "$COFFER_VENV/bin/python" -c 'import matplotlib' 2>/dev/null ||
    "$COFFER_VENV/bin/pip" install -q matplotlib # the plot; the tests do not need it
}

install_missing
say "building release (nice -n 19)"
nice -n 19 cargo build --release -p coffer-node --bin coffer
WORK=$(mktemp -d /tmp/coffer-bench.XXXXXX)
cp "$CARGO_TARGET_DIR/release/coffer" "$WORK/coffer"   # the shared target dir may be rebuilt meanwhile
if [ "${BENCH_PATCHED:-1}" = 1 ]; then
  say "building release with bench/patches applied (a copy of the source, the same target dir)"
  bench/patched_build.sh "$WORK/coffer-patched" || say "the patched build failed: no patched figures"
fi
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
say "work directory $WORK"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$COFFER_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

record() { # record <json object>: one line of results.jsonl
  echo "$1" >>"$RESULTS"
}

# --- etcd: three members on loopback ----------------------------------------------------------
ETCD_URLS=()
ETCD_PIDS=()
start_etcd() {
  local cluster="" names=(e1 e2 e3) cports=() pports=()
  for name in "${names[@]}"; do
    cports+=("$(free_port)"); pports+=("$(free_port)")
  done
  for i in 0 1 2; do cluster+="${cluster:+,}${names[$i]}=http://127.0.0.1:${pports[$i]}"; done
  for i in 0 1 2; do
    etcd --name "${names[$i]}" --data-dir "$WORK/etcd-${names[$i]}" \
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" \
      --advertise-client-urls "http://127.0.0.1:${cports[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${pports[$i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token coffer-bench --logger zap --log-level warn \
      >"$WORK/etcd-${names[$i]}.log" 2>&1 &
    PIDS+=($!); ETCD_PIDS+=($!)
    ETCD_URLS+=("http://127.0.0.1:${cports[$i]}")
  done
  ETCD_LEADER=$($PY etcd-leader --read-key "$READ_KEY" "${ETCD_URLS[@]}")
  say "etcd: 3 members, leader $ETCD_LEADER"
}

# --- Coffer: three nodes, raft storage on disk, TLS off ---------------------------------------
COFFER_ADDRS=()
COFFER_PIDS=()
start_coffer() {
  for name in c1 c2 c3; do
    local port cport
    port=$(free_port); cport=$(free_port)
    mkdir -p "$WORK/$name-data"
    cat >"$WORK/$name.hcl" <<HCL
storage "raft" {
  path    = "$WORK/$name-data"
  node_id = "$name"
}
listener "tcp" {
  address         = "127.0.0.1:$port"
  cluster_address = "127.0.0.1:$cport"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:$port"
cluster_addr  = "http://127.0.0.1:$cport"
disable_mlock = true
log_level     = "warn"
HCL
    "$WORK/coffer" server -config="$WORK/$name.hcl" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!); COFFER_PIDS+=($!)
    COFFER_ADDRS+=("http://127.0.0.1:$port")
  done
  ROOT_TOKEN=$($PY coffer-form --read-key "$READ_KEY" --key-file "$WORK/unseal-key" "${COFFER_ADDRS[@]}")
  COFFER_LEADER=$($PY coffer-active "${COFFER_ADDRS[@]}")
}

pid_labels() { # pid_labels <system> <pid>...: label=pid pairs for the rss helpers
  local system=$1 i=1; shift
  for pid in "$@"; do printf '%s\n' "$system-$i=$pid"; i=$((i + 1)); done
}

# cpu_ticks <pid>...: user + system CPU ticks of the processes so far, summed
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$total"
}

# --- one wrk run -----------------------------------------------------------------------------
# run_wrk <system> <workload> <connections> <url> <script> <lua args...>
# Samples the RSS of the system's processes while it runs; records one line.
run_wrk() {
  local system=$1 workload=$2 conns=$3 url=$4 script=$5; shift 5
  local pids; if [ "$system" = etcd ]; then pids=("${ETCD_PIDS[@]}"); else pids=("${COFFER_PIDS[@]}"); fi
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  $PY rss-peak --seconds "$DURATION" $(pid_labels "${system%%+*}" "${pids[@]}") >"$WORK/rss.json" &
  local sampler=$!
  local out ticks_before ticks_after
  ticks_before=$(cpu_ticks "${pids[@]}")
  out=$(wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --timeout 10s -s "bench/lua/$script" "$url" -- "$@" |
    grep '^{"requests"')
  ticks_after=$(cpu_ticks "${pids[@]}")
  wait "$sampler"
  [ "$workload" = warmup ] && return
  local cpu_s; cpu_s=$(awk -v a="$ticks_before" -v b="$ticks_after" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')
  record "{\"system\":\"$system\",\"workload\":\"$workload\",\"connections\":$conns,\"phase\":\"$PHASE\",\"round\":$ROUND,\"value_bytes\":$VALUE_BYTES,\"load1\":$load,\"wrk\":$out,\"rss_peak_kib\":$(cat "$WORK/rss.json"),\"cpu_s\":$cpu_s}"
  echo "$system $workload c=$conns $PHASE $ROUND ${VALUE_BYTES}B: $out" >&2
}

PHASE=warm ROUND=1 VALUE_BYTES=100
coffer_write() { run_wrk "$1" write "$2" "$COFFER_LEADER" coffer_write.lua "$ROOT_TOKEN" "w$RANDOM$2" "$VALUE_BYTES"; }
coffer_read() { run_wrk "$1" read "$2" "$COFFER_LEADER" coffer_read.lua "$ROOT_TOKEN" "$READ_KEY"; }
etcd_write() { run_wrk etcd write "$1" "$ETCD_LEADER" etcd_write.lua "w$RANDOM$1" "$VALUE_BYTES"; }
etcd_read() { run_wrk etcd read "$1" "$ETCD_LEADER" etcd_read.lua "$READ_KEY"; }

# --- the run -----------------------------------------------------------------------------------
record "{\"machine\":{\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\",\"cores\":$(nproc),\"mem_gib\":$(awk '/MemTotal/ {printf "%d", $2/1048576}' /proc/meminfo),\"kernel\":\"$(uname -r)\",\"etcd\":\"$(etcd --version | head -1 | awk '{print $3}')\",\"wrk\":\"$(wrk -v 2>&1 | head -1 | awk '{print $2}')\",\"commit\":\"$(git rev-parse --short HEAD)\",\"date\":\"$(date -u +%Y-%m-%dT%H:%MZ)\",\"duration_s\":$DURATION,\"wrk_threads\":$THREADS}}"

start_etcd
start_coffer
sleep 2
record "{\"rss_idle_kib\":$($PY rss $(pid_labels coffer "${COFFER_PIDS[@]}") $(pid_labels etcd "${ETCD_PIDS[@]}"))}"

# cells <coffer setup>: each connection count's writes and reads, etcd and Coffer back to back
cells() {
  for c in $CONNECTIONS; do
    etcd_write "$c"; coffer_write "$1" "$c"
    etcd_read "$c"; coffer_read "$1" "$c"
  done
}

say "cold start: the first cells after both clusters formed, no warm-up (${DURATION}s each)"
PHASE=cold cells coffer

say "warm-up (5 s each, not recorded)"
DURATION=5 run_wrk etcd warmup 16 "$ETCD_LEADER" etcd_write.lua warm 2>/dev/null
DURATION=5 run_wrk coffer warmup 16 "$COFFER_LEADER" coffer_write.lua "$ROOT_TOKEN" warm 2>/dev/null

say "writes and reads, etcd and Coffer back to back, $ROUNDS rounds (${DURATION}s each)"
for ROUND in $(seq "$ROUNDS"); do cells coffer; done
ROUND=1
record "{\"coffer_metrics\":$($PY coffer-metrics --addr "$COFFER_LEADER" --token "$ROOT_TOKEN")}"

# profile <record key>: perf on the active node during a 12 s, 64-connection write run (the run
# itself is not a figure: perf slows it).
profile() {
  if ! perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
    say "perf does not work here: no profile"; return
  fi
  say "profile ($1): perf on the active node during a 64-connection write run"
  local leader_pid="" perf_pid
  for i in 0 1 2; do [ "${COFFER_ADDRS[$i]}" = "$COFFER_LEADER" ] && leader_pid=${COFFER_PIDS[$i]}; done
  perf record -e cpu-clock -F 499 --call-graph dwarf,32768 -p "$leader_pid" -o "$WORK/$1.data" \
    -- sleep 12 >/dev/null 2>&1 &
  perf_pid=$!
  wrk -t"$THREADS" -c64 -d12s -s bench/lua/coffer_write.lua "$COFFER_LEADER" -- "$ROOT_TOKEN" "$1" >/dev/null
  wait "$perf_pid" || true
  record "{\"$1\":$($PY profile --perf-data "$WORK/$1.data")}"
}
profile profile

say "value sizes: 16-connection writes, etcd and Coffer back to back ($((DURATION / 2))s each)"
for VALUE_BYTES in $SIZES; do
  PHASE=size DURATION=$((DURATION / 2)) etcd_write 16
  PHASE=size DURATION=$((DURATION / 2)) coffer_write coffer 16
done
VALUE_BYTES=100

say "Coffer with a file audit device, $ROUNDS rounds"
$PY coffer-audit --addr "$COFFER_LEADER" --token "$ROOT_TOKEN" --file "$WORK/audit.log"
for ROUND in $(seq "$ROUNDS"); do cells coffer+audit; done
ROUND=1
profile profile_audit

# signal_rounds <record key> <signal> <rounds>: the active node signalled under write load, the
# signalled node restarted between rounds (bench.py failover). The restarted pids replace the
# old ones, so the next call and the cleanup find them.
signal_rounds() {
  local nodes=() out i
  for i in 0 1 2; do nodes+=("${COFFER_ADDRS[$i]}=${COFFER_PIDS[$i]}=$WORK/c$((i + 1)).hcl"); done
  out=$($PY failover --signal "$2" --rounds "$3" --token "$ROOT_TOKEN" --bin "$WORK/coffer" \
    --key-file "$WORK/unseal-key" "${nodes[@]}")
  record "{\"$1\":$out}"
  for i in 0 1 2; do
    COFFER_PIDS[$i]=$(echo "$out" | "$COFFER_VENV/bin/python" -c \
      'import json,sys; print(json.load(sys.stdin)["pids"][sys.argv[1]])' "${COFFER_ADDRS[$i]}")
    PIDS+=("${COFFER_PIDS[$i]}")
  done
}

say "failover: SIGKILL the active node under write load, 5 rounds (the killed node restarts between)"
signal_rounds failover KILL 5
say "graceful stop: SIGTERM the active node under write load, 3 rounds"
signal_rounds handoff TERM 3

say "auto-unseal (awskms on moto_server): restart to serving"
record "{\"autounseal\":$($PY autounseal --bin "$WORK/coffer" --dir "$WORK/kms" --port "$(free_port)" \
  --cluster-port "$(free_port)" --kms-port "$(free_port)")}"

if [ -x "$WORK/coffer-patched" ]; then
  say "idle RSS of one node: stock and with bench/patches"
  record "{\"idle_rss_patched\":$($PY idle-rss --dir "$WORK/idle" stock="$WORK/coffer" patched="$WORK/coffer-patched")}"
fi

say "harness: static 64-connection reads on fresh clusters, leader/standby, log levels"
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done # the main clusters are done
record "{\"harness\":$("$COFFER_VENV/bin/python" bench/harness.py --bin "$WORK/coffer" --dir "$WORK/harness" \
  --seconds "$((DURATION / 2))")}"

if [ -n "$KEYS" ]; then
  say "cost against stored secrets ($KEYS) on a cluster of its own"
  record "{\"growth\":$("$COFFER_VENV/bin/python" bench/growth.py --bin "$WORK/coffer" --dir "$WORK/growth" \
    --seconds "$((DURATION / 2))" $KEYS)}"
fi

$PY report --results "$RESULTS" --out "$ROOT/bench/RESULTS.md"
exit
}
