"""What `akidb-cli snapshot copy` costs: copying one snapshot from a local store to another,
fresh, then again onto a destination that holds every file but no commit marker (a rerun after
an interruption just before the commit: every file read back and checked, nothing written), and
onto one that has the snapshot (nothing to do). Runs alternated, medians reported.

    cargo build --release -p akidb-cli
    target/bench-venv/bin/python bench/copies.py --cli target/release/akidb-cli \
        --out /var/tmp/akidb-copy --rows 200000 --dim 768 --repeat 5

Random float32 vectors (incompressible), zstd, parts of 100,000 documents. The copy is checked
once, outside the timing, by `snapshot verify` at the destination. Needs about 4 × the payload of
free disk, /usr/bin/time, numpy (bench/requirements.txt). Never part of CI. Prints one Markdown
table, as docs/BENCHMARKS.md records it.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import measure, size_of  # noqa: E402  (one way of timing a process, shared)
from scale import write_input  # noqa: E402

COLLECTION = "0190a1b2-0000-7000-8000-00000000c0b1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cli = str(args.cli.resolve())
    source = out / f"input-{args.rows}x{args.dim}.npy"
    if not source.exists():
        write_input(source, args.rows, args.dim)
    here = out / "here"
    shutil.rmtree(here, ignore_errors=True)
    subprocess.run([cli, "--quiet", "--store", f"file://{here}", "snapshot", "create",
                    "--collection-id", COLLECTION, "--input", str(source)], check=True,
                   stdout=subprocess.DEVNULL)
    stored_mb = size_of(here / "parts") / 1e6
    copy = [cli, "--quiet", "--store", f"file://{here}", "snapshot", "copy", "--collection-id",
            COLLECTION, "--snapshot-id", "latest", "--to"]
    runs = {"fresh": [], "files there, no commit": [], "committed there": []}
    rss = {name: [] for name in runs}
    for i in range(args.repeat):
        there = out / "there"
        shutil.rmtree(there, ignore_errors=True)
        uri = f"file://{there}"
        for name in runs:
            if name == "files there, no commit":
                # What an interruption just before the commit leaves: every file, no marker.
                for marker in (there / "snapshots").rglob("*.metadata.json"):
                    marker.unlink()
            run = measure([*copy, uri])
            runs[name].append(run.seconds)
            rss[name].append(run.peak_rss_mb)
        if i == 0:
            subprocess.run([cli, "--quiet", "--store", uri, "snapshot", "verify", "--collection-id",
                            COLLECTION, "--snapshot-id", "latest"], check=True)
    shutil.rmtree(out / "there", ignore_errors=True)

    print(f"{args.rows:,} × {args.dim}: {stored_mb:,.0f} MB stored, median of {args.repeat}\n")
    print("| destination | copy s | MB/s of the snapshot | peak RSS MB |")
    print("|---|---|---|---|")
    for name, seconds in runs.items():
        s = statistics.median(seconds)
        print(f"| {name} | {s:.3f} | {stored_mb / s:,.0f} | {statistics.median(rss[name]):,.0f} |")


if __name__ == "__main__":
    main()
