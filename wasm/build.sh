#!/usr/bin/env bash
# Builds the browser package into wasm/www/pkg (the page's `pkg/`), then prints its size.
#
#   bash wasm/build.sh            # build
#   bash wasm/build.sh --serve    # build, then serve wasm/www on http://127.0.0.1:8000/
#
# AKIDB_WASM_FEATURES picks the compressions compiled in (default: snappy,zstd,lz4, every one the
# native build writes), e.g. AKIDB_WASM_FEATURES=snappy,lz4 for a smaller module without zstd.
#
# The codec is compiled for wasm32 with every compression (zstd's C code needs clang), bound by
# wasm-bindgen-cli at the exact version of the wasm-bindgen crate in Cargo.lock (installed here
# when missing), and shrunk by binaryen's wasm-opt (from npm, wasm/package.json) when npm is
# there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang >/dev/null 2>&1; then
  echo "wasm/build.sh: clang is needed to compile zstd for wasm32 (apt-get install clang)" >&2
  exit 1
fi
rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
  echo "installing wasm-bindgen-cli $bindgen_version (it must match the wasm-bindgen crate)"
  # Not --locked: the CLI's own lockfile pins a webpki-roots release that the registry this
  # machine reaches does not hold. The CLI's version, the part that must match, is exact.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --quiet
fi

cargo build -p akidb-snapshot-wasm --target wasm32-unknown-unknown --profile wasm-release --locked \
  --no-default-features --features "${AKIDB_WASM_FEATURES-snappy,zstd,lz4}"
out=wasm/www/pkg
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --remove-name-section --remove-producers-section \
  target/wasm32-unknown-unknown/wasm-release/akidb_snapshot_wasm.wasm
wasm="$out/akidb_snapshot_wasm_bg.wasm"
if command -v npm >/dev/null 2>&1; then
  # binaryen from npm, pinned in wasm/package-lock.json: Debian's binaryen 108 breaks
  # wasm-bindgen's reference-typed function table ("WebAssembly.Table.set(): Argument 1 is
  # invalid"). -Oz makes the module 13% smaller raw, what the browser compiles, and about 2%
  # larger gzipped (docs/BENCHMARKS.md).
  (cd wasm && npm ci --no-audit --no-fund --loglevel=error)
  wasm/node_modules/.bin/wasm-opt -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$wasm.opt" "$wasm"
  mv "$wasm.opt" "$wasm"
else
  echo "npm not found, so no wasm-opt: the module is left as wasm-bindgen wrote it"
fi
printf '%s: %d bytes, %d gzipped (gzip -9)\n' "$wasm" "$(wc -c <"$wasm")" "$(gzip -9 -n -c "$wasm" | wc -c)"

if [ "${1:-}" = "--serve" ]; then
  echo "serving wasm/www on http://127.0.0.1:8000/ (Ctrl-C to stop)"
  exec python3 -m http.server --bind 127.0.0.1 --directory wasm/www 8000
fi
