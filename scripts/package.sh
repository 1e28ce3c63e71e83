#!/usr/bin/env bash
# Builds the C library as it ships, into dist/ (or --out DIR):
#   include/akidb_snapshot.h        the committed header
#   lib/libakidb_snapshot.a         one object whose only global symbols are akidb_*
#   lib/libakidb_snapshot.so        made from that object: it exports akidb_* and nothing else
#   lib/pkgconfig/akidb_snapshot.pc
#
#   bash scripts/package.sh [--profile clib] [--out dist]
#
# clib (the default) is the release profile built for size (Cargo.toml says why); --profile
# release gives the faster, larger library, --profile dev a quick one for tests.
#
# Why not cargo's own artifacts: cargo's staticlib defines every symbol of every crate and C
# library inside it as global (zstd's ZSTD_*, aws-lc, crc-fast's crc_fast_*), so a host that
# links its own zstd fails to link, or mixes two versions; and a cdylib exports every
# #[no_mangle] function of its dependencies (crc-fast's 26). So the staticlib is linked into
# one relocatable object (ld -r), every global symbol but akidb_* is made local (objcopy), and
# the shared library is linked from that object with a version script that exports akidb_*.
# Linux (ELF, GNU binutils) only. docs/C_API.md says what a host can rely on.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=clib
out=dist
while (($#)); do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--profile PROFILE] [--out DIR]" >&2; exit 2 ;;
  esac
done

# cargo's folder for a profile: dev builds into debug/, every other profile into its name.
folder=$profile
[ "$profile" = dev ] && folder=debug
target="${CARGO_TARGET_DIR:-target}"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# What a Rust staticlib needs from the system on linux-gnu (`rustc --print native-static-libs`);
# the package test links a program with exactly these.
libs_private="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

# Only the staticlib: one LTO run instead of one per crate type.
cargo rustc --quiet --locked -p akidb-snapshot-ffi --lib --profile "$profile" --crate-type staticlib

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
object="$work/akidb_snapshot.o"
ld -r --whole-archive "$target/$folder/libakidb_snapshot.a" -o "$object"
# Also dropped: LLVM bitcode some members embed (.llvmbc), which no linker of a host needs and
# which binutils' LLVM plugin (clang's LLVMgold) cannot read when it is from a newer LLVM.
objcopy --wildcard --keep-global-symbol='akidb_*' \
  --remove-section=.llvmbc --remove-section=.llvmcmd "$object"
objcopy --strip-debug --strip-unneeded "$object"

rm -rf "$out"
mkdir -p "$out/include" "$out/lib/pkgconfig"
cp include/akidb_snapshot.h "$out/include/"
ar rcs "$out/lib/libakidb_snapshot.a" "$object"
printf '{\n  global: akidb_*;\n  local: *;\n};\n' > "$work/exports.map"
# shellcheck disable=SC2086 # the list is words
gcc -shared -o "$out/lib/libakidb_snapshot.so" "$object" \
  -Wl,--version-script="$work/exports.map" -Wl,-soname,libakidb_snapshot.so \
  -Wl,--gc-sections -Wl,-z,relro,-z,now -s $libs_private

cat > "$out/lib/pkgconfig/akidb_snapshot.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: akidb_snapshot
Description: Parquet vector snapshots on object storage (the akidb-snapshot C API)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lakidb_snapshot
Libs.private: $libs_private
EOF

echo "$out/:"
(cd "$out" && find . -type f | sort | while read -r f; do printf '  %-36s %10d bytes\n' "${f#./}" "$(stat -c %s "$f")"; done)
