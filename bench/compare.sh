#!/usr/bin/env bash
# akidb-snapshot beside pyarrow, numpy.save and Lance on the same data: builds the release
# akidb-cli, installs the Python peers in target/bench-venv, runs bench/compare.py and writes
# target/compare/results.md (the table in docs/BENCHMARKS.md). Arguments go to compare.py, e.g.
#   bash bench/compare.sh --repeat 1 --data random-10k-512
set -euo pipefail
cd "$(dirname "$0")/.."

# GNU time reports each process's own peak resident set (bench/compare.py says why not ru_maxrss).
if [ ! -x /usr/bin/time ]; then
  apt-get update -qq && apt-get install -y -qq time
fi

cargo build --release --locked --quiet -p akidb-cli

venv=target/bench-venv
lance_version=14.0.2
if ! cmp -s bench/requirements.txt "$venv/.requirements-installed" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
  # Lance is compared where it installs; the table says so where it did not.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pylance==$lance_version" \
    || echo "pylance $lance_version did not install; Lance is left out" >&2
  cp bench/requirements.txt "$venv/.requirements-installed"
fi

"$venv/bin/python" bench/compare.py --cli target/release/akidb-cli --out target/compare "$@"
