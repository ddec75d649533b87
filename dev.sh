#!/usr/bin/env bash
# Sets up this machine (Debian packages, Python venv), builds Coffer, and starts a three-node dev
# cluster on loopback (like Vault's `server -dev-three-node`): in memory, initialised, unsealed,
# KV v2 at secret/; node 1 is active, nodes 2 and 3 forward to it. Prints the addresses and the
# root token. Ctrl-C stops it. COFFER_DEV_ADDR sets node 1's address (default 127.0.0.1:8200; the
# others take port +10 and +20); COFFER_DEV_SINGLE=1 starts one node (`server -dev`) instead.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/env.sh
scripts/setup.sh
cargo build -p coffer-node --bin coffer
ADDR="${COFFER_DEV_ADDR:-127.0.0.1:8200}"
TOKEN="${COFFER_DEV_ROOT_TOKEN:-root}"
MODE=-dev-three-node
[ "${COFFER_DEV_SINGLE:-0}" = 1 ] && MODE=-dev
echo
echo "Coffer dev ($MODE) on http://$ADDR — root token: $TOKEN"
echo "  export VAULT_ADDR=http://$ADDR VAULT_TOKEN=$TOKEN"
echo "  $CARGO_TARGET_DIR/debug/coffer kv put secret/hello foo=bar"
echo
exec "$CARGO_TARGET_DIR/debug/coffer" server "$MODE" -dev-listen-address="$ADDR" -dev-root-token-id="$TOKEN"
