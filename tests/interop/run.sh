#!/usr/bin/env bash
# Interoperability: snapshots written by akidb-cli (every compression, both vector encodings) read
# by pyarrow, DuckDB, Polars and fastparquet and compared value by value with their source; and
# Parquet files written by pyarrow in the snapshot schema, snapshotted and restored by akidb-cli.
# See tests/interop/check_readers.py. Needs the repository's .venv (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --quiet --locked -p akidb-snapshot --features cli --bin akidb-cli
out=target/interop
rm -rf "$out"
.venv/bin/python tests/interop/check_readers.py --cli target/debug/akidb-cli --out "$out"
