#!/usr/bin/env bash
# The chaos simulation over many seeds: one seed per process, in parallel over the cores.
#
#   sim/run.sh [--seeds N] [--from S] [--jobs J]
#   sim/run.sh --mutants [--budget N] [--jobs J]
#
# Seeds S..S+N-1 (default 1..200; ./test.sh runs 500); even seeds run a 3-node cluster, odd seeds 5 nodes. Prints
# a progress line per seed, then the determinism check (seed S in two processes must print the
# same event-log hash) and one summary line:
#   seeds N, violations V, lost writes L, inconclusive I, snapshots installed S,
#   majority crashes M, membership changes C, failed F, tokens used T, policy flips P,
#   ciphertexts checked X, leases issued L, leases revoked R
# Over 50 seeds or more, S, M and C must each be above 0 (else the run exercised too little).
# A failing seed prints the command that replays it and the tail of its event log (the whole
# log is in the file named). Exit status 0 only when every seed passed and the hashes agree.
#
# --mutants is the mutation gate: it proves the checkers can fail. It builds the chaos test once
# more with the `mutants` feature (only coffer's own crates rebuild: the dependencies are the
# plain simulation build's, and that build's artifacts stay as they are), then for each planted bug (switched on by COFFER_MUTANT=<name>;
# see raft/src/mutant.rs) runs seeds 1..N (default 100), J at a time, until one fails with a
# checker violation. One line per mutant, then a summary:
#   mutant <name>: caught by seed S (<first violation>)   or   mutant <name>: NOT caught in N seeds
#   mutants M, caught C, missed X
# Only a VIOLATION the checkers report counts: a seed that panics elsewhere (the cluster never
# forms, a harness assertion) or times out catches nothing. Exit status 0 only when all are caught.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# The planted bugs of the mutation gate (each named where it is planted: grep the name).
# One more is planted but not gated, because the chaos run cannot catch it yet (issue 20):
# fence_ignored (it needs a request that spans its node losing and regaining leadership); try it
# with COFFER_MUTANTS="fence_ignored". read_without_read_index is caught by the fault that cuts the
# active node off from its peers but not from clients.
# shellcheck disable=SC2206 # the names are split on blanks
MUTANTS=(${COFFER_MUTANTS:-sm_skip_entry snapshot_drops_last_pair kv_cas_ignored kv_delete_ignored
  write_acked_before_commit barrier_plaintext read_without_read_index lease_restore_skipped})

seeds=200 from=1 jobs=$(nproc) mutants=0 budget=100
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --mutants) mutants=1; shift ;;
    --budget) budget=$2; shift 2 ;;
    *) echo "usage: sim/run.sh [--seeds N] [--from S] [--jobs J] | --mutants [--budget N] [--jobs J]" >&2
       exit 2 ;;
  esac
done

# Build the chaos test (extra cargo arguments: $@); prints the test binary's path.
build_chaos() {
  RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$COFFER_SIM_TARGET_DIR" \
    cargo test -q --profile sim -p coffer-sim --test chaos --no-run --message-format=json "$@" 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "chaos" and m.get("executable"):
        print(m["executable"])'
}

if [ "$mutants" -eq 1 ]; then
  bin=$(build_chaos --features mutants)
  if [ -z "$bin" ]; then
    RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$COFFER_SIM_TARGET_DIR" \
      cargo test --profile sim -p coffer-sim --test chaos --no-run --features mutants
    echo "mutants ${#MUTANTS[@]}, caught 0, missed ${#MUTANTS[@]} (the mutant build failed)"
    exit 1
  fi
  logs=$(mktemp -d "${TMPDIR:-/tmp}/coffer-mutants.XXXXXX")
  export bin logs
  one_mutant_seed() { # mutant seed; the output stays in $logs/<mutant>-<seed>.log
    COFFER_MUTANT=$1 MADSIM_TEST_SEED=$2 timeout 600 "$bin" --exact chaos_seed --nocapture \
      >"$logs/$1-$2.log" 2>&1
  }
  export -f one_mutant_seed
  echo "mutants: ${#MUTANTS[@]} planted bugs, seeds 1..$budget each, $jobs at a time, logs in $logs"
  caught=0 missed=0
  for m in "${MUTANTS[@]}"; do
    found="" crashed=0 seed=1
    while [ -z "$found" ] && [ "$seed" -le "$budget" ]; do
      last=$((seed + jobs - 1)); [ "$last" -le "$budget" ] || last=$budget
      seq "$seed" "$last" | xargs -P "$jobs" -I{} bash -c "one_mutant_seed $m {}"
      for s in $(seq "$seed" "$last"); do
        v=$(grep -m1 '^VIOLATION ' "$logs/$m-$s.log" | cut -c11-)
        if [ -n "$v" ]; then found=$s kind=$v; break; fi
        grep -q '^test result: ok' "$logs/$m-$s.log" || crashed=$((crashed + 1))
      done
      seed=$((last + 1))
    done
    note=""; [ "$crashed" -eq 0 ] || note=", $crashed seeds crashed without a violation"
    if [ -n "$found" ]; then
      caught=$((caught + 1))
      kind=${kind%% on key*}
      echo "mutant $m: caught by seed $found (${kind:0:70}$note)"
    else
      missed=$((missed + 1))
      echo "mutant $m: NOT caught in $budget seeds$note"
    fi
  done
  echo "mutants ${#MUTANTS[@]}, caught $caught, missed $missed"
  [ "$missed" -eq 0 ]
  exit
fi

bin=$(build_chaos)
if [ -z "$bin" ]; then
  RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$COFFER_SIM_TARGET_DIR" \
    cargo test --profile sim -p coffer-sim --test chaos --no-run
  echo "seeds 0, violations 0, lost writes 0, inconclusive 0, failed 1 (the simulation did not build)"
  exit 1
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/coffer-sim.XXXXXX")
export bin logs
one_seed() { # seed → one progress line; the full output stays in $logs/seed-N.log
  local seed=$1 log="$logs/seed-$1.log"
  MADSIM_TEST_SEED=$seed timeout 600 "$bin" --exact chaos_seed --nocapture >"$log" 2>&1
  local rc=$? line
  line=$(grep -m1 '^CHAOS ' "$log" || true)
  if [ $rc -eq 0 ] && [ -n "$line" ]; then echo "ok   ${line#CHAOS }"; else echo "FAIL seed $seed (exit $rc)"; fi
}
export -f one_seed

echo "chaos: seeds $from..$((from + seeds - 1)), $jobs at a time, logs in $logs"
seq "$from" $((from + seeds - 1)) | xargs -P "$jobs" -I{} bash -c 'one_seed {}' |
  awk -v n="$seeds" '{ printf "[%d/%d] %s\n", NR, n, $0; fflush() }'

# Determinism: the first seed again, in another process; its event-log hash must not change.
hash_of() { grep -m1 '^CHAOS ' "$1" | grep -Eo 'event-log hash [0-9a-f]+' | awk '{print $3}'; }
MADSIM_TEST_SEED=$from timeout 600 "$bin" --exact chaos_seed --nocapture >"$logs/replay-$from.log" 2>&1
first=$(hash_of "$logs/seed-$from.log") again=$(hash_of "$logs/replay-$from.log")
deterministic=1
if [ -n "$first" ] && [ "$first" = "$again" ]; then
  echo "determinism: seed $from gave event-log hash $first in two processes"
else
  echo "determinism: seed $from gave event-log hashes '${first}' and '${again}': NOT deterministic"
  deterministic=0
fi

violations=0 lost=0 inconclusive=0 snapshots=0 majority=0 membership=0 failed=0
declare -A side=()
for seed in $(seq "$from" $((from + seeds - 1))); do
  log="$logs/seed-$seed.log"
  line=$(grep -m1 '^CHAOS ' "$log" || true)
  v=$(echo "$line" | grep -Eo 'violations [0-9]+' | awk '{print $2}')
  l=$(echo "$line" | grep -Eo 'lost writes [0-9]+' | awk '{print $3}')
  i=$(echo "$line" | grep -Eo 'inconclusive [0-9]+' | awk '{print $2}')
  s=$(echo "$line" | grep -Eo 'snapshots installed [0-9]+' | awk '{print $3}')
  m=$(echo "$line" | grep -Eo 'majority crashes [0-9]+' | awk '{print $3}')
  c=$(echo "$line" | grep -Eo 'membership changes [0-9]+' | awk '{print $3}')
  violations=$((violations + ${v:-0})) lost=$((lost + ${l:-0})) inconclusive=$((inconclusive + ${i:-0}))
  snapshots=$((snapshots + ${s:-0})) majority=$((majority + ${m:-0})) membership=$((membership + ${c:-0}))
  for f in "tokens used" "policy flips" "ciphertexts checked" "leases issued" "leases revoked"; do # the rest of the workload
    n=$(echo "$line" | grep -Eo "$f [0-9]+" | awk '{print $NF}'); side[$f]=$(( ${side[$f]:-0} + ${n:-0} ))
  done
  if ! grep -q '^test result: ok' "$log"; then
    failed=$((failed + 1))
    echo
    echo "seed $seed FAILED; replay: MADSIM_TEST_SEED=$seed sim/run.sh --from $seed --seeds 1"
    echo "  (or: MADSIM_TEST_SEED=$seed RUSTFLAGS='--cfg madsim' cargo test --profile sim -p coffer-sim --test chaos -- --nocapture)"
    grep '^VIOLATION\|panicked' "$log" | head -5 | sed 's/^/  /'
    echo "  event log tail (whole log: $log):"
    sed -n '/^EVENT LOG$/,/^VIOLATION/p' "$log" | tail -25 | sed 's/^/    /'
  fi
done
[ "$deterministic" -eq 1 ] || failed=$((failed + 1))
# Over a real run, each fault class the run is meant to exercise must have happened.
missing=""
if [ "$seeds" -ge 50 ]; then
  [ "$snapshots" -gt 0 ] || missing="$missing snapshots installed,"
  [ "$majority" -gt 0 ] || missing="$missing majority crashes,"
  [ "$membership" -gt 0 ] || missing="$missing membership changes,"
fi
echo
echo "seeds $seeds, violations $violations, lost writes $lost, inconclusive $inconclusive, snapshots installed $snapshots, majority crashes $majority, membership changes $membership, failed $failed, tokens used ${side[tokens used]:-0}, policy flips ${side[policy flips]:-0}, ciphertexts checked ${side[ciphertexts checked]:-0}, leases issued ${side[leases issued]:-0}, leases revoked ${side[leases revoked]:-0}"
if [ -n "$missing" ]; then
  echo "none of:${missing%,} in $seeds seeds: the run did not exercise what it must"
  exit 1
fi
[ "$failed" -eq 0 ]
