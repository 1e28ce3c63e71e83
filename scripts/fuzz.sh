#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for a bounded time; fails on any crash,
# timeout or out-of-memory. What the test command runs (60 s each), and how a long campaign is
# run (docs/FUZZING.md):
#
#   bash scripts/fuzz.sh                                 # every target, 60 s each
#   bash scripts/fuzz.sh --campaign 1800 decode_parquet  # one target, 30 minutes
#
# --campaign runs libFuzzer in fork mode and goes on past a crash, timeout or out-of-memory
# input (each is still saved in fuzz/artifacts/TARGET/ and listed at the end, and the script then
# fails): a long run is not cut short by one slow input of a known class (docs/FUZZING.md).
#
# Each target starts from its committed seeds (fuzz/seeds/) and its dictionary (fuzz/dicts/);
# what it learns stays in fuzz/corpus/ (not committed). A crash leaves its input in
# fuzz/artifacts/TARGET/ and the run fails. Uses the nightly toolchain where one is installed,
# else stable with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags). Installs cargo-fuzz itself.
set -euo pipefail
cd "$(dirname "$0")/.."

campaign=false
if [ "${1:-}" = --campaign ]; then
  campaign=true
  shift
fi
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(decode_parquet decode_encrypted decode_tombstones decode_id_index partial_read decode_json metadata roundtrip ffi_decode)

cargo_fuzz_version=0.13.1
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --quiet
fi
if rustup toolchain list | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

cd fuzz
# Earlier findings, replayed first by the Parquet targets, in this build's mode. Not the slow-*
# ones: each takes tens of seconds under ASan and would use up a short run (the codec's tests
# replay every file).
replay=target/replay-bad
rm -rf "$replay"
mkdir -p "$replay"
find ../codec/tests/data/bad -type f ! -name 'slow-*' -exec cp {} "$replay/" \;

# -O: release without debug assertions, as the library ships. With them, parquet unwraps where
# a release build assembles arrays unchecked, and the fuzzer would stop at a panic no user meets
# while missing the unchecked path they do (docs/FUZZING.md).
"${fuzz[@]}" build -O

failed=0
for target in "${targets[@]}"; do
  case $target in
    decode_parquet | ffi_decode) seeds="seeds/decode_parquet $replay" dict=dicts/parquet.dict ;;
    decode_encrypted) seeds=seeds/decode_encrypted dict=dicts/parquet.dict ;;
    decode_tombstones) seeds="seeds/decode_tombstones $replay" dict=dicts/parquet.dict ;;
    decode_id_index) seeds="seeds/decode_id_index $replay" dict=dicts/parquet.dict ;;
    partial_read) seeds="seeds/partial_read seeds/decode_parquet" dict=dicts/parquet.dict ;;
    decode_json) seeds=seeds/decode_json dict=dicts/json.dict ;;
    metadata) seeds=seeds/metadata dict=dicts/json.dict ;;
    roundtrip) seeds="" dict="" ;;
    *) echo "scripts/fuzz.sh: no target $target" >&2; exit 2 ;;
  esac
  mkdir -p "corpus/$target" "artifacts/$target"
  echo "==> fuzz $target for ${seconds}s"
  # -rss_limit_mb: a hostile footer must not make the decoder ask for gigabytes; -timeout: nor
  # spin on one input. Both count as failures. 60 s, not less: parquet's thrift parser takes
  # about a second on some 3 KB footers, and a target parses one up to eight times under ASan
  # (docs/FUZZING.md, finding 5).
  log="target/fuzz-$target.log"
  mode=()
  $campaign && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  before=$(find "artifacts/$target" -type f | sort)
  # RUST_BACKTRACE=0: a panic the guard catches is reported by its message alone; symbolising
  # a backtrace for each one took most of a short run. A crash still gets libFuzzer's stack.
  if ! RUST_BACKTRACE=0 "${fuzz[@]}" run -O "$target" "corpus/$target" $seeds -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=60 ${dict:+-dict=$dict} \
    -print_final_stats=1 "${mode[@]}" >"$log" 2>&1; then
    tail -60 "$log" >&2
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/ (log: fuzz/$log)" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  if $campaign; then
    # Fork mode prints no final stats; its last status line has the totals.
    grep -E '^#[0-9]+: cov:' "$log" | tail -1
    found=$(comm -13 <(echo "$before") <(find "artifacts/$target" -type f | sort))
    if [ -n "$found" ]; then
      echo "fuzz target $target: the campaign saved inputs to analyse (log: fuzz/$log):" >&2
      echo "$found" >&2
      failed=1
    fi
  fi
  # Panics inside parquet that the codec's guard turned into DataCorruption (not failures).
  grep -oE 'panicked at [^ ]+' "$log" | sort | uniq -c | sed 's/^/  caught: /' || true
done
exit $failed
