#!/usr/bin/env bash
# Line coverage of the Rust tests, per crate, with cargo-llvm-cov (LLVM source-based coverage).
#
#   bash scripts/coverage.sh            # the table below, and target/llvm-cov/html/index.html
#
# Installs what it needs, idempotently: the llvm-tools rustup component and cargo-llvm-cov at a
# pinned version. Runs the workspace's Rust tests (unit, integration, doc tests are not
# instrumented) with the CLI feature, as scripts/test.sh does, in target/llvm-cov-target; the S3
# tests need the .venv that scripts/test.sh makes. Prints one line per crate: lines, lines
# missed, line coverage. The figures of the last run are in docs/COVERAGE.md.
# Not part of CI: an instrumented build of everything and a second run of the tests take about
# as long as the test command itself.
set -euo pipefail
cd "$(dirname "$0")/.."

llvm_cov_version=0.9.1
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools-preview
if [ "$(cargo llvm-cov --version 2>/dev/null)" != "cargo-llvm-cov $llvm_cov_version" ]; then
  cargo install cargo-llvm-cov --version "$llvm_cov_version" --locked --quiet
fi

cargo llvm-cov clean --workspace
cargo llvm-cov --no-report --workspace --locked
cargo llvm-cov report --html
json=$(mktemp)
trap 'rm -f "$json"' EXIT
cargo llvm-cov report --json --summary-only --output-path "$json"

# The report lists files; a crate is its folder.
python3 - "$json" "$PWD" <<'EOF'
import json, sys
from collections import defaultdict

report, root = json.load(open(sys.argv[1])), sys.argv[2].rstrip("/") + "/"
crates = defaultdict(lambda: [0, 0])
for f in report["data"][0]["files"]:
    name = f["filename"].removeprefix(root)
    crate = name.split("/")[0]
    lines = f["summary"]["lines"]
    crates[crate][0] += lines["count"]
    crates[crate][1] += lines["covered"]
print(f"{'crate':<10} {'lines':>7} {'missed':>7} {'coverage':>9}")
for crate, (count, covered) in sorted(crates.items()):
    print(f"{crate:<10} {count:>7} {count - covered:>7} {100 * covered / max(count, 1):>8.1f}%")
EOF
