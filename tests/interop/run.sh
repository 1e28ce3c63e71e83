#!/usr/bin/env bash
# Interoperability: snapshots written by akidb-cli (every compression, both vector encodings) read
# by pyarrow, DuckDB, Polars and fastparquet and compared value by value with their source;
# Parquet files written by pyarrow, DuckDB and Polars in the snapshot schema, snapshotted and
# restored by akidb-cli (tests/interop/check_readers.py); a format v2 snapshot of several parts
# read by DuckDB, pyarrow and Polars from the list akidb-cli prints (check_parts.py); and Spark
# reading a snapshot with the
# schema akidb-cli prints (tests/interop/check_spark.py); and encrypted snapshots read by pyarrow
# with the master key, and files pyarrow encrypted imported and restored
# (tests/interop/check_encryption.py). Needs the repository's .venv
# (scripts/test.sh makes it, PySpark included) and Java 17.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --quiet --locked -p akidb-cli
out=target/interop
rm -rf "$out"
.venv/bin/python tests/interop/check_readers.py --cli target/debug/akidb-cli --out "$out"
.venv/bin/python tests/interop/check_parts.py --cli target/debug/akidb-cli --out "$out"
.venv/bin/python tests/interop/check_spark.py --cli target/debug/akidb-cli --out "$out"
.venv/bin/python tests/interop/check_encryption.py --cli target/debug/akidb-cli --out "$out"
