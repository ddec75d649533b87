#!/usr/bin/env bash
# Sets up this machine (Debian packages, Python venv), builds Coffer, and starts a dev server:
# in-memory, initialised, unsealed, KV v2 at secret/. Prints the address and the root token.
# Ctrl-C stops it. Set COFFER_DEV_ADDR to listen elsewhere (default 127.0.0.1:8200).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/env.sh
scripts/setup.sh
cargo build -p coffer-node --bin coffer
ADDR="${COFFER_DEV_ADDR:-127.0.0.1:8200}"
TOKEN="${COFFER_DEV_ROOT_TOKEN:-root}"
echo
echo "Coffer dev server on http://$ADDR — root token: $TOKEN"
echo "  export VAULT_ADDR=http://$ADDR VAULT_TOKEN=$TOKEN"
echo "  $CARGO_TARGET_DIR/debug/coffer kv put secret/hello foo=bar"
echo
exec "$CARGO_TARGET_DIR/debug/coffer" server -dev -dev-listen-address="$ADDR" -dev-root-token-id="$TOKEN"
