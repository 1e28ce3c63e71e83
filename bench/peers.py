"""The peers of bench/compare.py, one operation per process.

    python peers.py pyarrow create DATA.npy SNAPSHOT.parquet COMPRESSION
    python peers.py pyarrow restore SNAPSHOT.parquet OUT.npy COMPRESSION
    python peers.py numpy create DATA.npy SNAPSHOT.npy none      (and restore)
    python peers.py lance create DATA.npy SNAPSHOT.lance default  (and restore)

"create" reads a float32 matrix and writes a snapshot of it, giving each row a random UUID and
the current time, as akidb-cli does; "restore" reads the snapshot back and saves its vectors as
a float32 .npy matrix. What either wrote is then fsynced, because akidb-cli does not return
before its output is on disk either: a backup that a power cut can still take away is not
done, and leaving that wait to one side only would compare unequal work.

Each prints the seconds the operation took once the interpreter had started and its modules
were imported (`seconds=…`, the fsync included), so the comparison does not charge the peers
for Python's start-up, and the part of it that was the fsync (`fsync_seconds=…`).
"""

import os
import sys
import time

import numpy as np

ROW_GROUP_SIZE = 10_000  # akidb's default


def table(matrix: np.ndarray):
    """akidb's snapshot schema (docs/FORMAT.md) as pyarrow builds it."""
    import pyarrow as pa

    rows, dimension = matrix.shape
    ids = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), rows, [None, pa.py_buffer(os.urandom(16 * rows))])
    vectors = pa.FixedSizeListArray.from_arrays(
        pa.array(matrix.reshape(-1), pa.float32()),
        type=pa.list_(pa.field("element", pa.float32(), nullable=False), dimension),
    )
    now = int(time.time() * 1000)
    return pa.table(
        {
            "document_id": pa.ExtensionArray.from_storage(pa.uuid(), ids),
            "external_id": pa.nulls(rows, pa.string()),
            "dimension": pa.array(np.full(rows, dimension, dtype=np.int32)),
            "vector": vectors,
            "metadata_json": pa.ExtensionArray.from_storage(pa.json_(), pa.nulls(rows, pa.string())),
            "inserted_at": pa.array(np.full(rows, now, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC")),
        }
    )


def vectors_of(arrow_table) -> np.ndarray:
    column = arrow_table.column("vector").combine_chunks()
    return column.flatten().to_numpy().reshape(-1, column.type.list_size)


def pyarrow_create(data: str, target: str, compression: str) -> None:
    import pyarrow.parquet as pq

    pq.write_table(
        table(np.load(data)),
        target,
        compression=compression,
        compression_level=1 if compression == "zstd" else None,
        row_group_size=ROW_GROUP_SIZE,
        use_dictionary=["external_id", "metadata_json"],
        use_byte_stream_split=["vector.list.element"],
        write_statistics=["document_id", "external_id", "dimension", "metadata_json", "inserted_at"],
    )


def pyarrow_restore(snapshot: str, out: str, _compression: str) -> None:
    import pyarrow.parquet as pq

    np.save(out, vectors_of(pq.read_table(snapshot)))


def numpy_create(data: str, target: str, _compression: str) -> None:
    with open(target, "wb") as f:
        np.save(f, np.load(data))


def numpy_restore(snapshot: str, out: str, _compression: str) -> None:
    np.save(out, np.load(snapshot))


def lance_create(data: str, target: str, _compression: str) -> None:
    import lance

    lance.write_dataset(table(np.load(data)), target, mode="overwrite")


def lance_restore(snapshot: str, out: str, _compression: str) -> None:
    import lance

    np.save(out, vectors_of(lance.dataset(snapshot).to_table()))


def fsync(path: str) -> None:
    """Flushes `path` to disk: a file, or a directory's files (Lance writes a folder)."""
    paths = [path] if os.path.isfile(path) else [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


if __name__ == "__main__":
    tool, operation, source, target, compression = sys.argv[1:]
    # Imports are start-up, not the operation.
    if tool in ("pyarrow", "lance"):
        import pyarrow.parquet  # noqa: F401
    if tool == "lance":
        import lance  # noqa: F401
    start = time.perf_counter()
    globals()[f"{tool}_{operation}"](source, target, compression)
    written = time.perf_counter()
    fsync(target)
    end = time.perf_counter()
    print(f"seconds={end - start}")
    print(f"fsync_seconds={end - written}")
