#!/usr/bin/env bash
# The chaos simulation over many seeds: one seed per process, in parallel over the cores.
#
#   sim/run.sh [--seeds N] [--from S] [--jobs J]
#
# Seeds S..S+N-1 (default 1..200); even seeds run a 3-node cluster, odd seeds 5 nodes. Prints
# a progress line per seed, then the determinism check (seed S in two processes must print the
# same event-log hash) and one summary line:
#   seeds N, violations V, lost writes L, inconclusive I, failed F
# A failing seed prints the command that replays it and the tail of its event log (the whole
# log is in the file named). Exit status 0 only when every seed passed and the hashes agree.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

seeds=200 from=1 jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "usage: sim/run.sh [--seeds N] [--from S] [--jobs J]" >&2; exit 2 ;;
  esac
done

export RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$COFFER_SIM_TARGET_DIR"
bin=$(cargo test -q --profile sim -p coffer-sim --test chaos --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "chaos" and m.get("executable"):
        print(m["executable"])')
if [ -z "$bin" ]; then
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

violations=0 lost=0 inconclusive=0 snapshots=0 failed=0
for seed in $(seq "$from" $((from + seeds - 1))); do
  log="$logs/seed-$seed.log"
  line=$(grep -m1 '^CHAOS ' "$log" || true)
  v=$(echo "$line" | grep -Eo 'violations [0-9]+' | awk '{print $2}')
  l=$(echo "$line" | grep -Eo 'lost writes [0-9]+' | awk '{print $3}')
  i=$(echo "$line" | grep -Eo 'inconclusive [0-9]+' | awk '{print $2}')
  s=$(echo "$line" | grep -Eo 'snapshots installed [0-9]+' | awk '{print $3}')
  violations=$((violations + ${v:-0})) lost=$((lost + ${l:-0})) inconclusive=$((inconclusive + ${i:-0}))
  snapshots=$((snapshots + ${s:-0}))
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
echo
echo "seeds $seeds, violations $violations, lost writes $lost, inconclusive $inconclusive, snapshots installed $snapshots, failed $failed"
[ "$failed" -eq 0 ]
