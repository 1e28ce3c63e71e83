#!/usr/bin/env bash
# Runs every test of akidb-snapshot. It first installs what the tests need, idempotently and
# without questions, so it passes on a brand-new machine as well as on one that has run it before:
#   - clang (Debian): zstd's C code for wasm32 cannot be compiled by gcc;
#   - the wasm32-unknown-unknown target and clippy/rustfmt (rustup);
#   - valgrind and gcc (Debian): the C API's tests compile C programs and run them under
#     valgrind and AddressSanitizer;
#   - pkg-config and libzstd-dev (Debian): the packaged C library is linked beside the system's
#     zstd (tests/package/run.sh);
#   - Java 17 with javac (Debian's openjdk-17-jdk-headless, where the machine has none): Spark,
#     from PyPI's pyspark, reads a snapshot in local mode, and the encryption recipe's KMS client
#     is compiled for it (tests/interop/check_spark.py, AkidbLocalKms.java);
#   - cbindgen at a pinned version (cargo install): the committed C header is checked against it;
#   - a Python venv in .venv with scripts/requirements-test.txt (moto's S3 server and
#     gcp-storage-emulator, which the storage tests start on 127.0.0.1 themselves; pyarrow, which writes a browser fixture;
#     pyarrow, DuckDB, Polars and fastparquet, the readers of the interoperability test);
#   - Azurite, the Azure Storage emulator, from the npm registry, pinned in
#     tests/emulators/package-lock.json (the storage tests start it on 127.0.0.1 for azblob://);
#   - Debian's chromium and Node.js with npm (the browser test drives Chromium with
#     playwright-core, pinned in tests/browser/package-lock.json); wasm/build.sh installs
#     wasm-bindgen-cli at the wasm-bindgen crate's version and binaryen from wasm/package-lock.json.
# Then: formatting, clippy with warnings as errors, the workspace's tests (unit, integration,
# doc), the docs, the codec without default features, the interoperability test (other Parquet
# readers and writers), the browser package (wasm32, every compression) with its page in headless
# Chromium, the browser API's tests in Node, and every fuzz target for a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "prerequisites"
# A run from a clean clone takes about 7 GB of build folders, virtualenv and Node packages
# (4 GB at once with AKIDB_TEST_PRUNE=1, below); a full disk fails a link midway with a bus
# error, so say up front how much room there is.
df -h . | sed 's/^/    /'
missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
[ -f /usr/include/zstd.h ] || missing+=(libzstd-dev)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown
for component in clippy rustfmt; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

cbindgen_version=0.29.4
if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $cbindgen_version" ]; then
  cargo install cbindgen --version "$cbindgen_version" --locked --quiet
fi
venv_stamp=.venv/.requirements-installed
if ! cmp -s scripts/requirements-test.txt "$venv_stamp" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt "$venv_stamp"
fi

# `npm ci` only when the lock file changed since the last install: it empties node_modules first.
emulators_stamp=tests/emulators/node_modules/.package-lock-installed
if ! cmp -s tests/emulators/package-lock.json "$emulators_stamp" 2>/dev/null; then
  (cd tests/emulators && npm ci --no-audit --no-fund --loglevel=error)
  cp tests/emulators/package-lock.json "$emulators_stamp"
fi

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "C header (include/akidb_snapshot.h is what cbindgen makes of ffi/src now)"
generated=$(mktemp)
cbindgen --quiet --config ffi/cbindgen.toml --crate akidb-snapshot-ffi --output "$generated"
if ! diff -u include/akidb_snapshot.h "$generated"; then
  echo "include/akidb_snapshot.h is stale: run" \
    "cbindgen --config ffi/cbindgen.toml --crate akidb-snapshot-ffi --output include/akidb_snapshot.h"
  exit 1
fi
rm -f "$generated"

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "no module cycles"
python3 scripts/module_cycles.py codec storage ffi cli wasm

step "tests"
# The reliability tests leave their figures here (docs/RELIABILITY.md).
figures="${CARGO_TARGET_DIR:-target}/tmp/reliability"
rm -rf "$figures"
cargo test --workspace --locked

step "reliability figures of this run"
cat "$figures"/*.txt

step "docs (broken links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "codec with no default features (no threads, no compression)"
cargo check -p akidb-snapshot-codec --no-default-features --locked

step "interoperability: our snapshots in pyarrow, DuckDB, Polars, fastparquet and Spark, and back"
bash tests/interop/run.sh

step "the C library as it ships (scripts/package.sh): only akidb_* symbols, beside the system's zstd"
# Packaged from the dev build the tests above already made: the same packaging as a release, in
# seconds instead of a release build of every dependency. The shipped sizes are measured on the
# clib and release profiles (docs/BENCHMARKS.md, "Binary sizes").
bash tests/package/run.sh --profile dev

step "browser: the wasm package (codec for wasm32, every compression) and its page in Chromium"
bash tests/browser/run.sh

step "browser: the wasm API in Node (wasm-bindgen-test)"
cargo clippy -p akidb-snapshot-wasm --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
cargo test -p akidb-snapshot-wasm --target wasm32-unknown-unknown --locked

if [ "${AKIDB_TEST_PRUNE:-}" = 1 ]; then
  # The fuzz build has a target folder of its own; the builds above (2.9 GB on a clean clone)
  # are not used again, so a one-off run (CI's) can give their room back first.
  step "prune the builds above (AKIDB_TEST_PRUNE=1)"
  rm -rf "${CARGO_TARGET_DIR:-target}"/{debug,package-test,wasm32-unknown-unknown,wasm-release}
  df -h . | sed 's/^/    /'
fi

step "fuzz: every target for 60 s (scripts/fuzz.sh; cargo-fuzz installed there)"
bash scripts/fuzz.sh 60

step "all tests passed"
