"""Smallest lossless Parquet file pyarrow writes for a snapshot of the real embeddings.

The codec's size bar is "within 5% of the smallest lossless size pyarrow reaches on the same
data". This writes the same table as akidb-snapshot (document ids as 16-byte UUIDs, dimension,
fixed-size float lists, UTC millisecond timestamps; no external ids or metadata, as in the codec
bench) with every compression pyarrow offers, with and without BYTE_STREAM_SPLIT on the
vectors, and prints the sizes, smallest first.

    python3 -m venv .venv && .venv/bin/pip install pyarrow numpy
    .venv/bin/python bench/pyarrow_sizes.py [../shared/data/minilm-10k-384.npy]
"""
import io
import sys
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def table(matrix: np.ndarray) -> pa.Table:
    rows, dim = matrix.shape
    base = 0x0192_0000_0000_7000_8000_0000_0000_0000  # the codec bench's ids
    ids = pa.array([uuid.UUID(int=base + i).bytes for i in range(rows)], pa.binary(16))
    vectors = pa.FixedSizeListArray.from_arrays(
        pa.array(matrix.reshape(-1), pa.float32()),
        type=pa.list_(pa.field("element", pa.float32(), nullable=False), dim),
    )
    inserted = pa.array(1_700_000_000_000 + np.arange(rows, dtype=np.int64), pa.timestamp("ms", tz="UTC"))
    return pa.table({
        "document_id": ids,
        "dimension": pa.array(np.full(rows, dim, dtype=np.int32)),
        "vector": vectors,
        "inserted_at": inserted,
    })


def size(t: pa.Table, **options) -> int:
    sink = io.BytesIO()
    pq.write_table(t, sink, row_group_size=10_000, **options)
    return sink.tell()


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/minilm-10k-384.npy"
    matrix = np.load(path).astype(np.float32)
    t = table(matrix)
    results = []
    codecs = [("none", None), ("snappy", None), ("lz4", None), ("gzip", 9), ("brotli", 11)]
    codecs += [("zstd", level) for level in (1, 3, 9, 19, 22)]
    for codec, level in codecs:
        for split in (False, True):
            n = size(t, compression=codec, compression_level=level,
                     use_byte_stream_split=["vector.list.element"] if split else False,
                     use_dictionary=False)
            name = f"{codec}" + (f"({level})" if level else "") + (", byte_stream_split" if split else "")
            results.append((n, name))
    print(f"pyarrow {pa.__version__}, {path}: payload {matrix.nbytes} B")
    for n, name in sorted(results):
        print(f"{n:>10} B  {n / matrix.nbytes:.3f} of payload  {name}")


if __name__ == "__main__":
    main()
