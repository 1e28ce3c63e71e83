"""Incremental snapshots at scale (docs/BENCHMARKS.md, "Incremental snapshots"): a base of ROWS
documents of 384 floats, then days of a 1% change, each backed up by `akidb-cli snapshot create
--base latest`, from a full export (`--input`) or from the change alone (`--upserts`,
`--deletes`). Prints, as a Markdown table, each command's wall time and peak RSS, the bytes each
snapshot wrote (the files its manifest names that its parent's does not), and the restore of
the snapshot at the end of the chain against the restore of the full one.

    python bench/incremental.py --cli target/release/akidb-cli --out DIR [--rows 1000000] [--days 10]

The vectors are the 10,000 real MiniLM embeddings of ../shared/data, repeated with a little
Gaussian noise (σ 0.01) and normalised again, so that they compress as real ones do. A day's
change is 1% of the documents: half of it replaced (new vectors for existing ids), a quarter
deleted, a quarter new. Needs about 3 × ROWS × 1.6 KB of disk at once (the store, one export and
one restored file): 5 GB for a million.
"""

import argparse
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DIM = 384
COLLECTION = "0193a5b0-0000-7000-8000-0000000be024"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "minilm-10k-384.npy"


def vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    real = np.load(SHARED)
    picked = real[rng.integers(0, len(real), n)] + rng.normal(0, 0.01, (n, DIM)).astype(np.float32)
    return (picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(np.float32)


def ids(numbers: np.ndarray) -> pa.Array:
    raw = b"".join(uuid.UUID(int=int(n) | (4 << 76) | (2 << 62)).bytes for n in numbers)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(numbers), [None, pa.py_buffer(raw)])


def write(path: Path, numbers: np.ndarray, vecs: np.ndarray) -> None:
    """A Parquet file of the snapshot schema, as an exporter writes one."""
    n = len(numbers)
    table = pa.table({
        "document_id": ids(numbers),
        "external_id": pa.nulls(n, pa.string()),
        "dimension": pa.array(np.full(n, DIM, dtype=np.int32)),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), DIM),
        "metadata_json": pa.nulls(n, pa.string()),
        "inserted_at": pa.array(np.full(n, 1_700_000_000_000, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC")),
    })
    pq.write_table(table, path, compression="zstd", row_group_size=100_000)


def run(cli: Path, store: Path, *args: str) -> tuple[float, int, dict | None]:
    """Runs akidb-cli --json; its wall seconds, peak RSS in MB, and its JSON output if any."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", str(cli), "--json", "--quiet", "--store", f"file://{store}", *args],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        sys.exit(f"akidb-cli {' '.join(args)} failed: {done.stderr}")
    wall, rss = done.stderr.strip().splitlines()[-1].split()
    out = json.loads(done.stdout) if done.stdout.strip() else None
    return float(wall), int(rss) // 1024, out


def written(manifest: dict, parent: dict | None) -> int:
    """The bytes of the files `manifest` names that `parent` does not."""
    theirs = {p["key"] for p in parent["parts"]} if parent else set()
    total = 0
    for p in manifest["parts"]:
        if p["key"] not in theirs:
            total += p["size_bytes"] + (p.get("index") or {}).get("size_bytes", 0)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=10)
    args = parser.parse_args()
    cli = args.cli.resolve()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    store, export = args.out / "store", args.out / "export.parquet"
    rng = np.random.default_rng(24)

    numbers = np.arange(1, args.rows + 1)
    vecs = vectors(rng, args.rows)
    next_number = args.rows + 1
    write(export, numbers, vecs)
    rows = []

    c = ["--collection-id", COLLECTION]
    wall, rss, base = run(cli, store, "snapshot", "create", *c, "--input", str(export))
    base_bytes = written(base, None)
    rows.append(("full create (export of day 0)", wall, rss, base_bytes, len(base["parts"])))
    full_id = base["snapshot_id"]
    parent = base
    change = max(4, args.rows // 100)
    for day in range(1, args.days + 1):
        replaced = rng.choice(len(numbers), change // 2, replace=False)
        rest = np.setdiff1d(np.arange(len(numbers)), replaced)
        deleted = rng.choice(rest, change // 4, replace=False)
        new_numbers = np.arange(next_number, next_number + change // 4)
        next_number += len(new_numbers)
        replaced_vecs, new_vecs = vectors(rng, len(replaced)), vectors(rng, len(new_numbers))
        upsert_numbers = np.concatenate([numbers[replaced], new_numbers])
        upsert_vecs = np.concatenate([replaced_vecs, new_vecs])
        deleted_numbers = numbers[deleted]
        vecs[replaced] = replaced_vecs
        keep = np.setdiff1d(np.arange(len(numbers)), deleted)
        numbers = np.concatenate([numbers[keep], new_numbers])
        vecs = np.concatenate([vecs[keep], new_vecs])
        if day == 1:
            # The same change from the host's log, as a sibling of day 1 on the same base.
            upserts, gone = args.out / "upserts.parquet", args.out / "gone.txt"
            write(upserts, upsert_numbers, upsert_vecs)
            gone.write_text("".join(f"{uuid.UUID(int=int(n) | (4 << 76) | (2 << 62))}\n" for n in deleted_numbers))
            wall, rss, delta = run(cli, store, "snapshot", "create", *c, "--base", full_id,
                                   "--upserts", str(upserts), "--deletes", str(gone))
            rows.append(("day 1 from the change (--upserts, --deletes)", wall, rss,
                         written(delta, base), len(delta["parts"])))
        write(export, numbers, vecs)
        wall, rss, made = run(cli, store, "snapshot", "create", *c, "--base", parent["snapshot_id"],
                              "--input", str(export))
        rows.append((f"day {day} from a full export (--input)", wall, rss, written(made, parent),
                     len(made["parts"])))
        if day == 1 and made["vector_count"] != delta["vector_count"]:
            sys.exit("the two forms of day 1 disagree on the count")
        parent = made
    export.unlink()

    restored = args.out / "restored.npy"
    for name, snapshot in (("restore of the full snapshot", full_id), (f"restore of day {args.days}", parent["snapshot_id"])):
        restored.unlink(missing_ok=True)
        wall, rss, _ = run(cli, store, "snapshot", "restore", *c, "--snapshot-id", snapshot, "--output", str(restored))
        stored = sum(p["rows"] for p in (base if snapshot == full_id else parent)["parts"] if p["kind"] == "data")
        rows.append((f"{name} (to .npy; {stored:,} stored rows)", wall, rss, 0, 0))
    restored.unlink(missing_ok=True)

    print(f"| operation | wall s | peak RSS MB | written MB | parts |")
    print("|---|---|---|---|---|")
    for name, wall, rss, size, parts in rows:
        share = f" ({100 * size / base_bytes:.2f}% of the base)" if size and size != base_bytes else ""
        print(f"| {name} | {wall:.2f} | {rss} | {size / 1e6:.1f}{share} | {parts or ''} |")
    print(f"\nmanifest of day {args.days}: {len(parent['parts'])} parts, "
          f"{sum(p['kind'] == 'tombstones' for p in parent['parts'])} of tombstones")


if __name__ == "__main__":
    main()
