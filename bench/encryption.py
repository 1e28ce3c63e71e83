"""What client-side encryption costs: akidb-cli creating and restoring the same vectors plain and
encrypted (AES-256 master key, docs/ENCRYPTION.md), runs alternated, medians reported.

    cargo build --release -p akidb-cli
    target/bench-venv/bin/python bench/encryption.py --cli target/release/akidb-cli \
        --out /var/tmp/akidb-encryption --rows 10000 --dim 512 --repeat 9
    target/bench-venv/bin/python bench/encryption.py --cli target/release/akidb-cli \
        --out /var/tmp/akidb-encryption --rows 2000000 --dim 768 --repeat 3

Random float32 vectors (incompressible), zstd, parts of 100,000 documents, on the local store;
the restore writes a .npy. Every restore is compared with the input once, outside the timing.
Needs about 3 × the payload of free disk, /usr/bin/time, numpy (bench/requirements.txt). Never
part of CI. Prints one Markdown table, as docs/BENCHMARKS.md records it.
"""

import argparse
import shutil
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import measure  # noqa: E402  (one way of timing a process, shared)
from scale import write_input  # noqa: E402

COLLECTION = "0190a1b2-0000-7000-8000-0000000e0c0d"
KEY_ID = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cli = str(args.cli.resolve())
    source = out / f"input-{args.rows}x{args.dim}.npy"
    if not source.exists():
        write_input(source, args.rows, args.dim)
    key = out / "master.key"
    key.write_text("6b" * 32 + "\n")
    modes = {
        "plain": [],
        "encrypted": ["--encryption-key-id", KEY_ID, "--encryption-key-file", str(key)],
    }
    payload_mb = args.rows * args.dim * 4 / 1e6
    runs = {mode: {"create": [], "restore": [], "create_rss": [], "restore_rss": []} for mode in modes}
    checked = set()
    for _ in range(args.repeat):
        for mode, flags in modes.items():
            store = out / f"store-{mode}"
            restored = out / f"restored-{mode}.npy"
            shutil.rmtree(store, ignore_errors=True)
            restored.unlink(missing_ok=True)
            base = [cli, "--quiet", "--store", f"file://{store}", *flags, "snapshot"]
            created = measure([*base, "create", "--collection-id", COLLECTION, "--input", str(source)])
            back = measure([*base, "restore", "--collection-id", COLLECTION, "--snapshot-id", "latest",
                            "--output", str(restored)])
            for name, run in [("create", created), ("restore", back)]:
                runs[mode][name].append(run.seconds)
                runs[mode][f"{name}_rss"].append(run.peak_rss_mb)
            if mode not in checked:
                same = np.array_equal(np.load(source, mmap_mode="r").view("<u4"),
                                      np.load(restored, mmap_mode="r").view("<u4"))
                if not same:
                    raise SystemExit(f"{mode}: the restore differs from the input")
                checked.add(mode)
            shutil.rmtree(store, ignore_errors=True)
            restored.unlink(missing_ok=True)

    print(f"{args.rows:,} × {args.dim} ({payload_mb:,.0f} MB of vectors), median of {args.repeat}\n")
    print("| run | create s | create MB/s | create peak RSS MB | restore s | restore MB/s | restore peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    medians = {}
    for mode in modes:
        m = {name: statistics.median(values) for name, values in runs[mode].items()}
        medians[mode] = m
        print(f"| {mode} | {m['create']:.3f} | {payload_mb / m['create']:,.0f} | {m['create_rss']:,.0f} "
              f"| {m['restore']:.3f} | {payload_mb / m['restore']:,.0f} | {m['restore_rss']:,.0f} |")
    for name in ["create", "restore"]:
        ratio = medians["encrypted"][name] / medians["plain"][name]
        print(f"\n{name}: encrypted / plain = {ratio:.3f} ({(ratio - 1) * 100:+.1f}%)", end="")
    print()


if __name__ == "__main__":
    main()
