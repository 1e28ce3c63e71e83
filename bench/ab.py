"""Two (or more) akidb-cli builds timed in turn on the same data: which is faster, without the
drift between runs minutes apart that a comparison of separate runs suffers.

    target/bench-venv/bin/python bench/ab.py BUILD_A BUILD_B [...] [--repeat 11] [--out DIR]

For each of 10k × 512 and 100k × 512 random float32 (.npy), runs every build's create (zstd) and
restore (to .npy) in turn, --repeat times, and prints the median seconds of each. Used for the
profile comparisons of docs/BENCHMARKS.md, "Binary sizes". Never part of CI.
"""

import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

COLLECTION = "0190a1b2-0000-7000-8000-000000000001"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("builds", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("target/ab"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for rows in (10_000, 100_000):
        data = args.out / f"random-{rows}-512.npy"
        if not data.exists():
            np.save(data, np.random.default_rng(7).standard_normal((rows, 512), dtype=np.float32))
        times = {build: {"create": [], "restore": []} for build in args.builds}
        for _ in range(args.repeat):
            for build in args.builds:
                store = args.out / "store"
                shutil.rmtree(store, ignore_errors=True)
                common = [str(build), "--quiet", "--store", f"file://{store.resolve()}", "snapshot"]
                times[build]["create"].append(timed(common + [
                    "create", "--collection-id", COLLECTION, "--input", str(data), "--compression", "zstd"]))
                out = args.out / "restored.npy"
                out.unlink(missing_ok=True)
                times[build]["restore"].append(timed(common + [
                    "restore", "--collection-id", COLLECTION, "--snapshot-id", "latest", "--output", str(out)]))
        for build in args.builds:
            median = {phase: statistics.median(t) for phase, t in times[build].items()}
            print(f"{rows} × 512  {build}  create {median['create']:.4f} s  restore {median['restore']:.4f} s")


if __name__ == "__main__":
    main()
