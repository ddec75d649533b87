#!/usr/bin/env bash
# Runs the whole suite: Rust unit and integration tests (normal build), the simulation build and
# its tests (--cfg madsim, own target dir), then the black-box Python tests against the built
# binary. Installs what is missing first. Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
source scripts/env.sh
scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

LOG_DIR=$(mktemp -d)
passed=0
failed=0
status=0

count_cargo() { # add up "test result: ... N passed; M failed" lines of a cargo test log
  local p f
  p=$(grep -Eo '[0-9]+ passed' "$1" | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed' "$1" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}

step() { echo; echo "==> $*"; }

step "cargo fmt --check"
cargo fmt --all -- --check || { echo "formatting differs (run cargo fmt --all)"; failed=$((failed + 1)); status=1; }

step "module layers (scripts/check_layers.py: no import cycles in node/src)"
if python3 scripts/check_layers.py node/src; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi

step "cargo clippy (normal build)"
cargo clippy --workspace --all-targets -- -D warnings || { failed=$((failed + 1)); status=1; }

step "cargo clippy (simulation build)"
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$COFFER_SIM_TARGET_DIR" \
  cargo clippy --profile sim --workspace --all-targets -- -D warnings || { failed=$((failed + 1)); status=1; }

step "cargo test (normal build)"
cargo test --workspace --no-fail-fast 2>&1 | tee "$LOG_DIR/cargo.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$LOG_DIR/cargo.log"

step "cargo test (simulation build: --cfg madsim)"
# --tests: every unit and integration test, but no doctests: rustdoc ignores RUSTFLAGS, so it
# would compile the examples without --cfg madsim against a library built with it.
# The `sim` profile is optimised (see Cargo.toml); the chaos runner below reuses this build.
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR="$COFFER_SIM_TARGET_DIR" \
  cargo test --profile sim --workspace --tests --no-fail-fast 2>&1 | tee "$LOG_DIR/sim.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$LOG_DIR/sim.log"

step "chaos simulation (sim/run.sh --seeds ${COFFER_SIM_SEEDS:=500})"
sim/run.sh --seeds "$COFFER_SIM_SEEDS" 2>&1 | tee "$LOG_DIR/chaos.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
summary=$(grep -E '^seeds [0-9]+, violations' "$LOG_DIR/chaos.log" | tail -1)
seeds_failed=$(echo "$summary" | grep -Eo 'failed [0-9]+' | awk '{print $2}')
seeds_run=$(echo "$summary" | grep -Eo '^seeds [0-9]+' | awk '{print $2}')
if [ -z "$summary" ]; then failed=$((failed + 1)); else
  passed=$((passed + seeds_run - seeds_failed)); failed=$((failed + seeds_failed)); fi

step "mutation gate (sim/run.sh --mutants: each planted bug must fail the chaos checkers)"
# The chaos test once more with the `mutants` feature (coffer's crates only); each caught mutant
# counts as a pass, each missed one as a failure.
sim/run.sh --mutants 2>&1 | tee "$LOG_DIR/mutants.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
summary=$(grep -E '^mutants [0-9]+, caught' "$LOG_DIR/mutants.log" | tail -1)
if [ -z "$summary" ]; then failed=$((failed + 1)); else
  caught=$(echo "$summary" | grep -Eo 'caught [0-9]+' | awk '{print $2}')
  missed=$(echo "$summary" | grep -Eo 'missed [0-9]+' | awk '{print $2}')
  passed=$((passed + caught)); failed=$((failed + missed)); fi

step "black-box tests (pytest + hvac against target/debug/coffer)"
cargo build -p coffer-node --bin coffer || status=1
export COFFER_BIN="$CARGO_TARGET_DIR/debug/coffer"
"$COFFER_VENV/bin/python" -m pytest -q tests/ 2>&1 | tee "$LOG_DIR/pytest.log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || status=1
p=$(grep -Eo '[0-9]+ passed' "$LOG_DIR/pytest.log" | tail -1 | awk '{print $1+0}')
f=$(grep -Eo '[0-9]+ (failed|error)' "$LOG_DIR/pytest.log" | awk '{s+=$1} END {print s+0}')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))

echo
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"
