#!/usr/bin/env bash
# The C library as it ships (scripts/package.sh): its .so exports the akidb_* functions and
# nothing else, its .a defines no global symbol outside akidb_*, and a host linking the .a
# beside the system's libzstd (-lzstd) runs, with the flags pkg-config gives. Needs gcc,
# binutils, pkg-config and libzstd-dev (scripts/test.sh installs them).
#
#   bash tests/package/run.sh [--profile PROFILE]   (default: clib, as shipped)
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=clib
[ "${1:-}" = --profile ] && profile=$2
dist="${CARGO_TARGET_DIR:-target}/package-test/dist"
bash scripts/package.sh --profile "$profile" --out "$dist"

passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $what"
  else
    failed=$((failed + 1))
    echo "FAILED: $what"
  fi
}

# The functions the header declares, by name.
declared=$(grep -oE '\bakidb_[a-z0-9_]+\(' include/akidb_snapshot.h | tr -d '(' | sort -u)

exports_exactly_the_api() {
  local exported
  exported=$(nm -D --defined-only "$dist/lib/libakidb_snapshot.so" | awk '{print $3}' | sort -u)
  if [ "$exported" != "$declared" ]; then
    diff <(echo "$declared") <(echo "$exported") | sed 's/^/    /'
    return 1
  fi
}
check "the .so exports exactly the header's functions" exports_exactly_the_api

archive_defines_only_the_api() {
  # Global (upper-case type) defined symbols: text, data, bss, read-only, weak, common.
  local strays
  strays=$(nm --defined-only -g "$dist/lib/libakidb_snapshot.a" 2>/dev/null \
    | awk 'NF == 3 {print $3}' | grep -v '^akidb_' || true)
  if [ -n "$strays" ]; then
    echo "$strays" | head -20 | sed 's/^/    /'
    return 1
  fi
  local api
  api=$(nm --defined-only -g "$dist/lib/libakidb_snapshot.a" | awk 'NF == 3 {print $3}' | sort -u)
  [ "$api" = "$declared" ]
}
check "the .a defines no global symbol but the header's functions" archive_defines_only_the_api

pkg() { PKG_CONFIG_PATH="$dist/lib/pkgconfig" pkg-config "$@" akidb_snapshot; }

links_beside_the_system_zstd() {
  local program="$dist/../host"
  # shellcheck disable=SC2046 # pkg-config's output is a list of flags
  gcc -std=c11 -Wall -Wextra -Werror tests/package/host.c -o "$program" \
    $(pkg --cflags) -Wl,-Bstatic $(pkg --libs-only-L) -lakidb_snapshot -Wl,-Bdynamic \
    -lzstd $(pkg --static --libs-only-l | sed 's/-lakidb_snapshot//') \
    && "$program"
}
check "a host links the .a with -lzstd and calls both" links_beside_the_system_zstd

links_the_shared_library() {
  local program="$dist/../host-shared"
  # shellcheck disable=SC2046
  gcc -std=c11 -Wall -Wextra -Werror tests/package/host.c -o "$program" \
    $(pkg --cflags) $(pkg --libs) -lzstd -Wl,-rpath,"$(cd "$dist/lib" && pwd)" \
    && "$program"
}
check "a host links the .so with -lzstd and calls both" links_the_shared_library

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
