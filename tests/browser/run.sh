#!/usr/bin/env bash
# The browser's end-to-end test: builds the page's WebAssembly package, makes the snapshot
# fixtures (one by akidb-cli, one by pyarrow, one legacy JSON), and opens each in headless
# Chromium through tests/browser/page.test.mjs. Screenshots are left in
# target/browser/artifacts/.
#
# Needs Debian's chromium (CHROMIUM overrides /usr/bin/chromium), Node.js with npm, and the
# repository's .venv with pyarrow; scripts/test.sh installs them all and then runs this.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash wasm/build.sh

out=target/browser
rm -rf "$out"
mkdir -p "$out/artifacts"
cli() { cargo run --quiet --locked -p akidb-cli -- "$@"; }
collection=0193a5b0-0000-7000-8000-000000000001

# The CLI's own Parquet snapshot, restored as the checked file itself.
cli --store "file://$PWD/$out/store" snapshot create --collection-id "$collection" \
  --input examples/sample-collection.jsonl --quiet >/dev/null
cli --store "file://$PWD/$out/store" snapshot restore --collection-id "$collection" \
  --snapshot-id latest --output "$out/cli.parquet" --quiet
# A legacy JSON snapshot: its data file, as the store holds it.
cli --store "file://$PWD/$out/json-store" snapshot create --collection-id "$collection" \
  --input examples/sample-collection.jsonl --format json --quiet >/dev/null
find "$out/json-store" -name '*.json' ! -name '*.metadata.json' -exec cp {} "$out/legacy.json" \;
test -s "$out/legacy.json"

.venv/bin/python tests/browser/write_fixtures.py examples/sample-collection.jsonl "$out"

(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
AKIDB_BROWSER_FIXTURES="$PWD/$out" AKIDB_BROWSER_ARTIFACTS="$PWD/$out/artifacts" \
  node --test --test-reporter=spec tests/browser/page.test.mjs
echo "screenshots: $out/artifacts/"
