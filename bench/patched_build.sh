#!/usr/bin/env bash
# bench/patched_build.sh <out-binary>: the release `coffer` built with the upstream patches of
# bench/patches applied to their crates (one patch per crate, named <crate>-<version>-*.patch).
#
# Used by bench/run.sh to show what a patch proposed upstream would change (idle RSS). The product
# build never uses these patches. The source is a copy of the files git knows, so the repository
# and its Cargo.lock are left as they are. The build shares the target dir: the copy's crates (at
# another path) and the patched crates and their dependents are built beside the repository's own,
# and the registry crates that do not change (RocksDB above all) are reused, not built again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
OUT=$1
SRC=$CARGO_TARGET_DIR/bench-patched-src # one stable copy: unchanged files keep their mtimes, so
mkdir -p "$SRC"                         # a second run rebuilds only what changed
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$SRC/"
REGISTRY=$(dirname "$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/openraft-* | head -1)")
config=()
for patch in bench/patches/*.patch; do
  name=$(basename "$patch" .patch)            # base2histogram-0.2.3-scales-on-demand
  crate_version=$(echo "$name" | grep -oE '^.+-[0-9]+\.[0-9]+\.[0-9]+')
  crate=${crate_version%-*}
  dir=$SRC/patched-$crate
  if [ "$(cat "$dir/.bench-patch" 2>/dev/null)" != "$(sha256sum <"$patch")" ]; then
    rm -rf "$dir"
    cp -rp "$REGISTRY/$crate_version" "$dir"
    patch -s -d "$dir" -p1 <"$patch"
    sha256sum <"$patch" >"$dir/.bench-patch"
  fi
  config+=(--config "patch.crates-io.$crate.path=\"$dir\"")
done
(cd "$SRC" && nice -n 19 cargo build -q --release -p coffer-node --bin coffer "${config[@]}")
cp "$CARGO_TARGET_DIR/release/coffer" "$OUT" # the repository's build uplifts its own binary again
