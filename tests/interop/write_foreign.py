"""Snapshot files written by other tools in the snapshot schema (docs/FORMAT.md), as their users
write them: pyarrow with its defaults (every column optional, the list's element nullable),
DuckDB (COPY ... TO, ids as UUID, vectors as FLOAT[4], KV_METADATA for the footer keys) and
Polars (write_parquet; ids as 16-byte binary, since Polars has no fixed-size binary type).

    python write_foreign.py OUT_DIR

Every file holds the same five documents, which codec/tests/foreign.rs, the CLI's, the C API's
and the browser build's tests know by heart:

    document_id  00000000-0000-4000-8000-00000000000{i+1}
    vector       [i, i + 0.25, i + 0.5, i + 0.75]
    external_id  "a", null, "c", "d", "e"
    metadata     {"i": i} for odd i, else none
    inserted_at  1969-12-31T00:00:00.000Z for i = 0 (before 1970), else 1732435200000 + i s

The same documents without any `akidb.*` footer key, as `snapshot import` adopts files (Spark
cannot write footer keys): pyarrow-keyless.parquet, pyarrow-keyless-nostats.parquet (no column
statistics either), duckdb-keyless.parquet and polars-keyless.parquet; and
pyarrow-keyless-two-dimensions.parquet, whose last row has 3 floats and says so.

Three more files break the schema as such tools can: a null vector element in row 3
(pyarrow-null-element.parquet), a 15-byte id in row 2 (polars-short-id.parquet), and times in
microseconds (duckdb-micros.parquet: DuckDB's TIMESTAMPTZ).

The committed copies in codec/tests/data/foreign/ were made with the versions pinned in
scripts/requirements-test.txt; tests/interop/run.sh writes them afresh and has akidb-cli read
what today's versions write.
"""

import json
import sys
import uuid
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

N, D = 5, 4
IDS = [uuid.UUID(int=i + 1, version=4) for i in range(N)]
VECTORS = [[i + j / 4 for j in range(D)] for i in range(N)]
EXTERNAL = ["a", None, "c", "d", "e"]
METADATA = [json.dumps({"i": i}) if i % 2 else None for i in range(N)]
MILLIS = [-86_400_000] + [1_732_435_200_000 + i * 1000 for i in range(1, N)]
KEYS = {
    "akidb.schema_version": "1",
    "akidb.collection_id": "0193a5b0-0000-7000-8000-0000000f0e01",
    "akidb.snapshot_id": "0193a5b0-2222-7000-8000-0000000f0e01",
    "akidb.created_at": "2026-11-24T12:00:00.000Z",
    "akidb.vector_count": str(N),
    "akidb.dimension": str(D),
}


def pyarrow_table(vectors: list) -> pa.Table:
    ids = pa.array([u.bytes for u in IDS], pa.binary(16))
    table = pa.table(
        {
            "document_id": pa.ExtensionArray.from_storage(pa.uuid(), ids),
            "external_id": pa.array(EXTERNAL, pa.string()),
            "dimension": pa.array([D] * N, pa.int32()),
            "vector": pa.array(vectors, pa.list_(pa.float32(), D)),
            "metadata_json": pa.array(METADATA, pa.string()),
            "inserted_at": pa.array(MILLIS, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        }
    )
    return table.replace_schema_metadata(KEYS)


def write_pyarrow(out: Path) -> None:
    pq.write_table(pyarrow_table(VECTORS), out / "pyarrow.parquet")
    holed = [list(v) for v in VECTORS]
    holed[3][1] = None
    pq.write_table(pyarrow_table(holed), out / "pyarrow-null-element.parquet")


def write_pyarrow_keyless(out: Path) -> None:
    table = pyarrow_table(VECTORS).replace_schema_metadata(None)
    pq.write_table(table, out / "pyarrow-keyless.parquet")
    pq.write_table(table, out / "pyarrow-keyless-nostats.parquet", write_statistics=False)
    ragged = pa.table(
        {
            "document_id": table.column("document_id"),
            "external_id": table.column("external_id"),
            "dimension": pa.array([D] * (N - 1) + [D - 1], pa.int32()),
            "vector": pa.array(VECTORS[:-1] + [VECTORS[-1][:-1]], pa.list_(pa.float32())),
            "metadata_json": table.column("metadata_json"),
            "inserted_at": table.column("inserted_at"),
        }
    )
    pq.write_table(ragged, out / "pyarrow-keyless-two-dimensions.parquet")


def write_duckdb(out: Path) -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE docs (document_id UUID, external_id VARCHAR, dimension INTEGER, "
        "vector FLOAT[4], metadata_json JSON, inserted_at TIMESTAMP_MS)"
    )
    for i in range(N):
        con.execute(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?, epoch_ms(?::BIGINT)::TIMESTAMP_MS)",
            [str(IDS[i]), EXTERNAL[i], D, VECTORS[i], METADATA[i], MILLIS[i]],
        )
    kv = ", ".join(f"'{k}': '{v}'" for k, v in KEYS.items())
    path = out / "duckdb.parquet"
    con.execute(f"COPY docs TO '{path}' (FORMAT parquet, KV_METADATA {{{kv}}})")
    con.execute(f"COPY docs TO '{out / 'duckdb-keyless.parquet'}' (FORMAT parquet)")
    micros = out / "duckdb-micros.parquet"
    con.execute(
        f"COPY (SELECT * REPLACE (inserted_at::TIMESTAMPTZ AS inserted_at) FROM docs) "
        f"TO '{micros}' (FORMAT parquet, KV_METADATA {{{kv}}})"
    )


def write_polars(out: Path) -> None:
    def frame(ids: list[bytes]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "document_id": pl.Series(ids, dtype=pl.Binary),
                "external_id": pl.Series(EXTERNAL, dtype=pl.String),
                "dimension": pl.Series([D] * N, dtype=pl.Int32),
                "vector": pl.Series(VECTORS, dtype=pl.Array(pl.Float32, D)),
                "metadata_json": pl.Series(METADATA, dtype=pl.String),
                "inserted_at": pl.Series(MILLIS, dtype=pl.Int64).cast(pl.Datetime("ms", "UTC")),
            }
        )

    frame([u.bytes for u in IDS]).write_parquet(out / "polars.parquet", metadata=KEYS)
    frame([u.bytes for u in IDS]).write_parquet(out / "polars-keyless.parquet")
    short = [u.bytes for u in IDS]
    short[2] = short[2][:15]
    frame(short).write_parquet(out / "polars-short-id.parquet", metadata=KEYS)


def main_into(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_pyarrow(out)
    write_pyarrow_keyless(out)
    write_duckdb(out)
    write_polars(out)


def main() -> None:
    main_into(Path(sys.argv[1]))


if __name__ == "__main__":
    main()
