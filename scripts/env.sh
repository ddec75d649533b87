# Shared environment for dev.sh and test.sh (sourced). The cargo target dirs live outside the
# clone so a fresh clone reuses earlier builds on the same machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/coffer/target}"
export COFFER_SIM_TARGET_DIR="${COFFER_SIM_TARGET_DIR:-$HOME/.cache/coffer/target-madsim}"
export COFFER_VENV="${COFFER_VENV:-$HOME/.cache/coffer/venv}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# node-vault and its dependencies (tests/js/package-lock.json), for tests/test_node_vault.py.
export COFFER_NODE_DIR="${COFFER_NODE_DIR:-$HOME/.cache/coffer/node}"
