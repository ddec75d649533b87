#!/usr/bin/env bash
# Installs what the build and the tests need, if missing: Debian packages (libclang for
# rocksdb's bindgen, protoc for tonic, Node.js for the node-vault test, headless Chromium and its
# WebDriver for the web UI test, PostgreSQL for the database engine test), a Python venv with hvac
# and pytest, and node-vault from tests/js/package-lock.json in $COFFER_NODE_DIR.
set -euo pipefail
source "$(dirname "$0")/env.sh"

need_apt=()
command -v clang >/dev/null || need_apt+=(clang)
[ -n "$(ls /usr/lib/llvm-*/lib/libclang*.so* 2>/dev/null | head -1)" ] || need_apt+=(libclang-dev)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
command -v openssl >/dev/null || need_apt+=(openssl)   # tests/test_tls.py makes its CA with it; test_pki.py verifies chains
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need_apt+=(softhsm2)   # the HSM of the pkcs11 seal tests
command -v node >/dev/null || need_apt+=(nodejs)   # tests/test_node_vault.py runs node-vault
command -v npm >/dev/null || need_apt+=(npm)
command -v chromium >/dev/null || need_apt+=(chromium)   # tests/test_ui.py drives the web UI
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
# tests/test_database.py starts its own PostgreSQL server (initdb, pg_ctl) and checks logins with psql.
[ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | head -1)" ] || need_apt+=(postgresql)
command -v psql >/dev/null || need_apt+=(postgresql-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$COFFER_VENV/bin/python" ]; then
  python3 -m venv "$COFFER_VENV"
fi
# (Re)install when tests/requirements.txt changed since the venv last installed it.
requirements="$(dirname "$0")/../tests/requirements.txt"
stamp="$COFFER_VENV/.requirements.sha256"
wanted=$(sha256sum < "$requirements")
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || ! "$COFFER_VENV/bin/python" -c 'import hvac, pytest, requests' 2>/dev/null; then
  "$COFFER_VENV/bin/pip" install -q --upgrade pip
  "$COFFER_VENV/bin/pip" install -q -r "$requirements"
  echo "$wanted" > "$stamp"
fi

# node-vault, pinned with its dependencies by tests/js/package-lock.json, installed outside the
# clone; (re)installed when the lock file changed since the last install.
js="$(dirname "$0")/../tests/js"
stamp="$COFFER_NODE_DIR/.package-lock.sha256"
wanted=$(sha256sum < "$js/package-lock.json")
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -d "$COFFER_NODE_DIR/node_modules/node-vault" ]; then
  mkdir -p "$COFFER_NODE_DIR"
  cp "$js/package.json" "$js/package-lock.json" "$COFFER_NODE_DIR/"
  (cd "$COFFER_NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$stamp"
fi
