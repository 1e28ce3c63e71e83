"""Writes what an export job of another tool leaves for `akidb-cli snapshot import`: FILES Parquet
files of ROWS random float32 vectors in all, in the snapshot schema, without akidb.* footer keys,
as pyarrow writes them (zstd, one row group a file); and new.npy, 10,000 more vectors for an
append, and all.npy, ROWS vectors for a plain create of the same size (docs/BENCHMARKS.md,
"Import and append").

    python bench/foreign_export.py OUT_DIR [--rows 1000000] [--dim 128] [--files 4]

The files go to OUT_DIR/store/exports/, inside a local store at OUT_DIR/store.
"""

import argparse
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--files", type=int, default=4)
    args = parser.parse_args()
    exports = args.out / "store" / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    per = args.rows // args.files
    for f in range(args.files):
        vectors = rng.random((per, args.dim), dtype=np.float32)
        ids = b"".join(uuid.UUID(int=(f * per + i + 1) | (4 << 76)).bytes for i in range(per))
        table = pa.table(
            {
                "document_id": pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), per, [None, pa.py_buffer(ids)]),
                "external_id": pa.nulls(per, pa.string()),
                "dimension": pa.array(np.full(per, args.dim, dtype=np.int32)),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), args.dim),
                "metadata_json": pa.nulls(per, pa.string()),
                "inserted_at": pa.array(np.full(per, 1_700_000_000_000, dtype=np.int64)).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
            }
        )
        pq.write_table(table, exports / f"part-{f}.parquet", compression="zstd")
    np.save(args.out / "new.npy", rng.random((10_000, args.dim), dtype=np.float32))
    np.save(args.out / "all.npy", rng.random((args.rows, args.dim), dtype=np.float32))


if __name__ == "__main__":
    main()
