"""Format v2 at scale: 2M × 768 float32 (6.1 GB of vectors) snapshotted and restored by
akidb-cli on the local store, by one process and by two shard processes, beside pyarrow writing
and reading the same vectors as one file and as as many files as akidb-cli wrote parts.

    bash bench/compare.sh --only-build       # or: cargo build --release -p akidb-cli
    target/bench-venv/bin/python bench/scale.py --cli target/release/akidb-cli \
        --out /var/tmp/akidb-scale [--rows 2000000] [--dim 768] [--s3 URI --s3-rows 200000]

Needs about 3.5 × the payload of free disk at its peak (the input, a snapshot, one restored copy),
/usr/bin/time for peak RSS, and numpy and pyarrow (bench/requirements.txt). Never part of CI.
Every restore is compared with the input, bit for bit, outside the timing. Prints one Markdown
table of MB/s of vector payload and peak RSS, as docs/BENCHMARKS.md records it.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import measure  # noqa: E402  (one way of timing a process, shared)

COLLECTION = "0190a1b2-0000-7000-8000-00000000beef"


def write_input(path: Path, rows: int, dim: int, chunk: int = 100_000) -> None:
    """Random float32 rows (incompressible, as embeddings nearly are), written in chunks."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype="<f4", shape=(rows, dim))
    rng = np.random.default_rng(2026)
    for start in range(0, rows, chunk):
        out[start:start + chunk] = rng.standard_normal((min(chunk, rows - start), dim), dtype=np.float32)
    out.flush()
    del out


def split_input(path: Path, parts: int) -> list[Path]:
    whole = np.load(path, mmap_mode="r")
    bounds = np.linspace(0, whole.shape[0], parts + 1, dtype=int)
    paths = []
    for i in range(parts):
        piece = path.with_name(f"{path.stem}-{i}.npy")
        np.save(piece, whole[bounds[i]:bounds[i + 1]])
        paths.append(piece)
    return paths


def same(restored: Path, expected: np.ndarray, rows: slice) -> None:
    back = np.load(restored, mmap_mode="r")
    if back.shape != expected[rows].shape or not np.array_equal(back.view(np.uint32), expected[rows].view(np.uint32)):
        raise SystemExit(f"{restored}: the restored vectors differ from the input")


def row(name: str, payload: int, create, restore) -> str:
    mbps = lambda run: payload / 1e6 / run.seconds  # noqa: E731
    return (f"| {name} | {create.seconds:.1f} | {mbps(create):.0f} | {create.peak_rss_mb:.0f} "
            f"| {restore.seconds:.1f} | {mbps(restore):.0f} | {restore.peak_rss_mb:.0f} |")


def parallel(argvs: list[list[str]]):
    """Runs the commands at once: the wall time of all, the largest peak RSS of any."""
    start = time.perf_counter()
    with ThreadPoolExecutor(len(argvs)) as pool:
        runs = list(pool.map(measure, argvs))
    return SimpleNamespace(seconds=time.perf_counter() - start,
                           peak_rss_mb=max(r.peak_rss_mb for r in runs))


def akidb(cli: Path, out: Path, data: Path, store: str, rows: int, shards: int) -> tuple:
    common = [str(cli), "--quiet", "--store", store, "snapshot"]
    expected = np.load(data, mmap_mode="r")
    if shards == 1:
        create = measure(common + ["create", "--collection-id", COLLECTION, "--input", str(data)])
        restored = out / "restored.npy"
        restore = measure(common + ["restore", "--collection-id", COLLECTION, "--snapshot-id", "latest",
                                    "--output", str(restored)])
        same(restored, expected, slice(None))
        restored.unlink()
        return create, restore
    pieces = split_input(data, shards)
    snapshot = subprocess.run(common + ["begin", "--collection-id", COLLECTION, "--shards", str(shards)],
                              check=True, capture_output=True, text=True).stdout.strip()
    create = parallel([common + ["create", "--collection-id", COLLECTION, "--snapshot-id", snapshot,
                                 "--shard", f"{i}/{shards}", "--input", str(p)] for i, p in enumerate(pieces)])
    subprocess.run(common + ["commit", "--collection-id", COLLECTION, "--snapshot-id", snapshot],
                   check=True, capture_output=True)
    for p in pieces:
        p.unlink()
    outputs = [out / f"restored-{i}.npy" for i in range(shards)]
    restore = parallel([common + ["restore", "--collection-id", COLLECTION, "--snapshot-id", snapshot,
                                  "--shard", f"{i}/{shards}", "--output", str(o)] for i, o in enumerate(outputs)])
    parts = subprocess.run([str(cli), "--json", "--store", store, "snapshot", "inspect", "--collection-id",
                            COLLECTION, "--snapshot-id", snapshot], check=True, capture_output=True, text=True)
    part_rows = [p["rows"] for p in json.loads(parts.stdout)["metadata"]["parts"]]
    # Shard i holds parts i, i + shards, …: rebuild which rows those are.
    starts = np.concatenate([[0], np.cumsum(part_rows)])
    for i, o in enumerate(outputs):
        got = np.load(o, mmap_mode="r")
        mine = np.concatenate([expected[starts[j]:starts[j + 1]] for j in range(i, len(part_rows), shards)])
        if not np.array_equal(got.view(np.uint32), mine.view(np.uint32)):
            raise SystemExit(f"shard {i}: the restored vectors differ from the input")
        o.unlink()
    return create, restore


def pyarrow_worker() -> None:
    """`scale.py --pyarrow write INPUT FOLDER FILES` or `--pyarrow read OUTPUT FOLDER ROWS DIM`:
    pyarrow's side, run as a process of its own so that it is timed and measured as akidb-cli is."""
    what, path, folder = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    if what == "write":
        matrix = np.load(path, mmap_mode="r")
        files = int(sys.argv[5])
        folder.mkdir(parents=True, exist_ok=True)
        bounds = np.linspace(0, matrix.shape[0], files + 1, dtype=int)
        for i in range(files):
            piece = np.ascontiguousarray(matrix[bounds[i]:bounds[i + 1]])
            vectors = pa.FixedSizeListArray.from_arrays(pa.array(piece.reshape(-1)), matrix.shape[1])
            pq.write_table(pa.table({"vector": vectors}), folder / f"{i:05}.parquet", compression="zstd",
                           use_byte_stream_split=True, use_dictionary=False)
        return
    rows, dim = int(sys.argv[5]), int(sys.argv[6])
    out = np.lib.format.open_memmap(path, mode="w+", dtype="<f4", shape=(rows, dim))
    at = 0
    for part in sorted(folder.glob("*.parquet")):
        column = pq.read_table(part, columns=["vector"])["vector"].combine_chunks()
        block = column.flatten().to_numpy().reshape(len(column), dim)
        out[at:at + len(block)] = block
        at += len(block)
    out.flush()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--pyarrow":
        return pyarrow_worker()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--s3", help="an s3:// store URI for the smaller run (e.g. moto's server, as "
                        "storage/tests/support/servers.py starts it)")
    parser.add_argument("--s3-rows", type=int, default=200_000)
    parser.add_argument("--s3-only", action="store_true", help="only the run on --s3")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cli = args.cli.resolve()
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True).stdout.strip()

    lines = [f"{args.rows:,} × {args.dim} float32, {version}", "",
             "| run | create s | create MB/s | create peak RSS MB | restore s | restore MB/s | restore peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    data = args.out / "input.npy"
    write_input(data, 0 if args.s3_only else args.rows, args.dim)
    payload = args.rows * args.dim * 4
    for shards in () if args.s3_only else (1, 2):
        store = args.out / f"store-{shards}"
        shutil.rmtree(store, ignore_errors=True)
        create, restore = akidb(cli, args.out, data, f"file://{store}", args.rows, shards)
        lines.append(row(f"akidb-cli, local store, {shards} process(es)", payload, create, restore))
        parts = len(list((store / "parts").rglob("*.parquet")))
        shutil.rmtree(store)
    for files in () if args.s3_only else (1, parts):
        target = args.out / f"pyarrow-{files}"
        me = [sys.executable, __file__, "--pyarrow"]
        create = measure(me + ["write", str(data), str(target), str(files)])
        restored = args.out / "pyarrow-restored.npy"
        restore = measure(me + ["read", str(restored), str(target), str(args.rows), str(args.dim)])
        same(restored, np.load(data, mmap_mode="r"), slice(None))
        restored.unlink()
        shutil.rmtree(target)
        lines.append(row(f"pyarrow, zstd, {files} file(s)", payload, create, restore))
    if args.s3:
        small = args.out / "input-s3.npy"
        write_input(small, args.s3_rows, args.dim)
        create, restore = akidb(cli, args.out, small, args.s3, args.s3_rows, 1)
        lines.append(row(f"akidb-cli, local S3 server, {args.s3_rows:,} rows", args.s3_rows * args.dim * 4,
                         create, restore))
        small.unlink()
    data.unlink()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
