"""Writes the snapshots the browser test opens, beside the one akidb-cli made.

    python write_fixtures.py SOURCE.jsonl OUT_DIR

- OUT_DIR/pyarrow.parquet: the same collection written by pyarrow, "another Parquet writer": the
  snapshot schema and footer keys of docs/FORMAT.md, with plain binary ids, plain string metadata
  and a variable-size vector list (no Arrow extension types, no fixed-size list), as a writer
  that knows only the Parquet side of the format would make it.
- OUT_DIR/expected.json: what the page must show for the collection, counted here from the JSON
  Lines source, independently of the Rust code under test.
"""

import json
import sys
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COLLECTION_ID = "0193a5b0-0000-7000-8000-00000000beef"
SNAPSHOT_ID = "0193a5b0-1111-7000-8000-00000000beef"
CREATED_AT = "2026-11-24T12:00:00.000Z"
INSERTED_AT_MS = 1_795_000_000_000


def main(source: Path, out: Path) -> None:
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    dimension = len(rows[0]["vector"])
    schema = pa.schema(
        [
            pa.field("document_id", pa.binary(16), nullable=False),
            pa.field("external_id", pa.string()),
            pa.field("dimension", pa.int32(), nullable=False),
            pa.field("vector", pa.list_(pa.field("element", pa.float32(), nullable=False)), nullable=False),
            pa.field("metadata_json", pa.string()),
            pa.field("inserted_at", pa.timestamp("ms", tz="UTC"), nullable=False),
        ],
        metadata={
            "akidb.schema_version": "1",
            "akidb.collection_id": COLLECTION_ID,
            "akidb.snapshot_id": SNAPSHOT_ID,
            "akidb.created_at": CREATED_AT,
            "akidb.vector_count": str(len(rows)),
            "akidb.dimension": str(dimension),
        },
    )
    table = pa.table(
        {
            "document_id": [uuid.UUID(int=i + 1).bytes for i in range(len(rows))],
            "external_id": [r.get("external_id") for r in rows],
            "dimension": [dimension] * len(rows),
            "vector": [r["vector"] for r in rows],
            "metadata_json": [json.dumps(r["metadata"]) if "metadata" in r else None for r in rows],
            "inserted_at": [INSERTED_AT_MS + i for i in range(len(rows))],
        },
        schema=schema,
    )
    pq.write_table(table, out / "pyarrow.parquet", compression="zstd", row_group_size=16)
    expected = {"vector_count": len(rows), "dimension": dimension, "pyarrow_collection_id": COLLECTION_ID}
    (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
