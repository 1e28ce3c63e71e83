"""Snapshots written by akidb-cli, read by other Parquet readers; and the reverse.

    python check_readers.py --cli PATH/akidb-cli --out DIR

1. Writes a JSON Lines collection with the awkward cases (unicode, empty and missing external
   ids, nested, empty, null and missing metadata, -0.0, subnormal and extreme floats, times
   before 1970 and far ahead), then has akidb-cli snapshot it with every compression, with the
   default byte-stream-split vectors and with plain ones, and restore each data file.
2. Reads each file with pyarrow, DuckDB, Polars and fastparquet (a reader independent of
   Arrow) and compares every value with the source: ids as UUIDs, vectors as fixed-size float32
   lists bit for bit, metadata as JSON, timestamps as UTC milliseconds.
3. Writes the collection with pyarrow in the snapshot schema (twice: as Arrow writes our types,
   and as a writer that knows only Parquet types would), has akidb-cli snapshot and restore it,
   and compares what comes back with the source.
4. Has pyarrow, DuckDB and Polars write the snapshot schema as their users would
   (write_foreign.py: optional columns, nullable elements, binary ids) and akidb-cli inspect,
   snapshot and restore each.

The expected values come from the JSON Lines source here, never from the Rust code under test.
Exits non-zero, naming the reader, file and row, on the first difference of each check.
"""

import argparse
import itertools
import json
import math
import random
import struct
import subprocess
import sys
import unittest
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import fastparquet
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import write_foreign

COLLECTION_ID = "0193a5b0-0000-7000-8000-0000000e2e01"
DIMENSION = 16
ROWS = 300
ROW_GROUP_SIZE = 64
COMPRESSIONS = ["zstd", "snappy", "lz4", "none"]
ENCODINGS = ["byte_stream_split", "plain"]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def f32(x: float) -> float:
    """x rounded to the nearest float32, as a Python float (exactly representable)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def source_documents() -> list[dict]:
    rng = random.Random(20261124)
    special = [-0.0, 0.0, f32(1e-40), 1.401298464324817e-45, 3.4028234663852886e38, -3.4028234663852886e38]
    texts = ["", "plain", "é文字🙂", 'quote " and \\ backslash', "line\nbreak\ttab"]
    times = ["1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "2026-11-24T12:34:56.789Z", "2999-12-31T23:59:59.999Z"]
    docs = []
    for i in range(ROWS):
        vector = [f32(rng.uniform(-1, 1)) for _ in range(DIMENSION)]
        if i < len(special):
            vector[i % DIMENSION] = special[i]
        doc = {"document_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "vector": vector}
        if i % 7 != 3:
            doc["external_id"] = texts[i % len(texts)] + f"-{i}" if i % 11 else texts[i % len(texts)]
        match i % 6:
            case 0:
                doc["metadata"] = {"i": i, "text": texts[i % len(texts)], "nested": {"list": [1, 2.5, None, True]}}
            case 1:
                doc["metadata"] = {}
            case 2:
                doc["metadata"] = None  # metadata that is JSON null, not missing
            case 3:
                doc["metadata"] = [i, "array at the top"]
            case 4:
                doc["metadata"] = "a bare string"
            case 5:
                pass  # no metadata
        doc["inserted_at"] = times[i % len(times)]
        docs.append(doc)
    return docs


def to_millis(rfc3339: str) -> int:
    """Milliseconds since the epoch of a `…T…Z` time with milliseconds, exactly, any year."""
    delta = datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


class Expected:
    """The source, column by column, in the forms the readers return."""

    def __init__(self, docs: list[dict]):
        self.ids = [uuid.UUID(d["document_id"]) for d in docs]
        self.external_ids = [d.get("external_id") for d in docs]
        self.vectors = np.array([d["vector"] for d in docs], dtype=np.float32)
        # None: no metadata; ("json", value): metadata, which may itself be null.
        self.metadata = [("json", d["metadata"]) if "metadata" in d else None for d in docs]
        self.millis = [to_millis(d["inserted_at"]) for d in docs]


@dataclass
class Reader:
    """What one reader made of one file, in plain Python values."""

    ids: list[uuid.UUID]
    external_ids: list[str | None]
    vectors: np.ndarray  # (rows, DIMENSION) float32
    metadata_texts: list[str | None]  # JSON text, None for no metadata
    millis: list[int]
    types: dict[str, bool]  # column -> whether the reader gave it the expected type


def read_pyarrow(path: Path) -> Reader:
    table = pq.read_table(path)
    schema = table.schema
    vector = table.column("vector").combine_chunks()
    return Reader(
        ids=table.column("document_id").to_pylist(),
        external_ids=table.column("external_id").to_pylist(),
        vectors=vector.flatten().to_numpy().reshape(-1, vector.type.list_size),
        metadata_texts=table.column("metadata_json").combine_chunks().storage.to_pylist(),
        millis=table.column("inserted_at").cast(pa.int64()).to_pylist(),
        types={
            "document_id": schema.field("document_id").type == pa.uuid(),
            "vector": schema.field("vector").type == pa.list_(pa.field("element", pa.float32(), nullable=False), DIMENSION),
            "metadata_json": schema.field("metadata_json").type == pa.json_(),
            "inserted_at": schema.field("inserted_at").type == pa.timestamp("ms", tz="UTC"),
        },
    )


def read_duckdb(path: Path) -> Reader:
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT document_id, external_id, vector::FLOAT[{DIMENSION}], metadata_json, epoch_ms(inserted_at),
                   typeof(document_id), typeof(metadata_json), typeof(inserted_at)
            FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number""",
        [str(path)],
    ).fetchall()
    return Reader(
        ids=[r[0] for r in rows],
        external_ids=[r[1] for r in rows],
        # DuckDB returns FLOAT as Python floats (doubles): exact, so back to float32 losslessly.
        vectors=np.array([r[2] for r in rows], dtype=np.float32),
        metadata_texts=[r[3] for r in rows],
        millis=[r[4] for r in rows],
        types={
            "document_id": all(r[5] == "UUID" for r in rows),
            "vector": True,  # the cast to FLOAT[DIMENSION] above fails on any other length
            "metadata_json": all(r[6] == "JSON" for r in rows),
            "inserted_at": all(r[7] == "TIMESTAMP WITH TIME ZONE" for r in rows),
        },
    )


def read_polars(path: Path) -> Reader:
    df = pl.read_parquet(path)
    schema = df.schema
    return Reader(
        ids=[uuid.UUID(bytes=b) for b in df.get_column("document_id").to_list()],
        external_ids=df.get_column("external_id").to_list(),
        vectors=df.get_column("vector").to_numpy(),
        metadata_texts=df.get_column("metadata_json").ext.storage().to_list(),
        millis=df.get_column("inserted_at").dt.epoch("ms").to_list(),
        types={
            "document_id": schema["document_id"] == pl.Binary,
            "vector": schema["vector"] == pl.Array(pl.Float32, DIMENSION),
            "metadata_json": str(schema["metadata_json"]).startswith("Extension"),
            "inserted_at": schema["inserted_at"] == pl.Datetime("ms", "UTC"),
        },
    )


def read_fastparquet(path: Path) -> Reader:
    df = fastparquet.ParquetFile(str(path)).to_pandas()
    # fastparquet hands FIXED_LEN_BYTE_ARRAY values over as NumPy bytes, which drop trailing
    # zero bytes; and parses JSON columns itself, so JSON null and "no metadata" both come back
    # as None. Both are noted in docs/READING.md.
    return Reader(
        ids=[uuid.UUID(bytes=bytes(b).ljust(16, b"\0")) for b in df["document_id"]],
        external_ids=[None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in df["external_id"]],
        vectors=np.array([np.asarray(v, dtype=np.float32) for v in df["vector"]]),
        metadata_texts=[None if v is None else json.dumps(v) for v in df["metadata_json"]],
        millis=df["inserted_at"].astype("datetime64[ms]").astype("int64").tolist(),
        types={
            "document_id": True,
            "vector": all(len(v) == DIMENSION for v in df["vector"]),
            "metadata_json": True,
            # fastparquet returns UTC wall times without a zone (datetime64[ms]); the values are UTC.
            "inserted_at": str(df["inserted_at"].dtype) in ("datetime64[ms]", "datetime64[ms, UTC]"),
        },
    )


READERS = {"pyarrow": read_pyarrow, "duckdb": read_duckdb, "polars": read_polars, "fastparquet": read_fastparquet}


def cli(binary: Path, *args: str) -> str:
    done = subprocess.run([str(binary), "--quiet", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"akidb-cli {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def snapshot_and_restore(binary: Path, out: Path, name: str, source: Path, config: str, output_ext: str) -> Path:
    """akidb-cli snapshot create from `source`, then restore the new snapshot to a file."""
    store = out / f"store-{name}"
    config_file = out / f"{name}.toml"
    config_file.write_text(config)
    common = ["--store", f"file://{store}", "--config", str(config_file)]
    cli(binary, *common, "snapshot", "create", "--collection-id", COLLECTION_ID, "--input", str(source))
    restored = out / f"{name}{output_ext}"
    restored.unlink(missing_ok=True)
    cli(binary, *common, "snapshot", "restore", "--collection-id", COLLECTION_ID, "--snapshot-id", "latest", "--output", str(restored))
    return restored


class Interop(unittest.TestCase):
    binary: Path
    out: Path
    source: Path
    expected: Expected

    def assert_same(self, got: Reader, reader: str, file: str, json_null_distinct: bool = True):
        want = self.expected
        where = f"{reader} reading {file}"
        for column, ok in got.types.items():
            self.assertTrue(ok, f"{where}: column {column} has the wrong type")
        self.assertEqual(len(got.ids), ROWS, f"{where}: row count")
        for row in range(ROWS):
            self.assertEqual(got.ids[row], want.ids[row], f"{where}: document_id of row {row}")
            self.assertEqual(got.external_ids[row], want.external_ids[row], f"{where}: external_id of row {row}")
            self.assertEqual(got.millis[row], want.millis[row], f"{where}: inserted_at of row {row}")
            text, meta = got.metadata_texts[row], want.metadata[row]
            if meta is None or (not json_null_distinct and meta[1] is None):
                self.assertIsNone(text, f"{where}: metadata_json of row {row} should be null")
            else:
                self.assertIsNotNone(text, f"{where}: metadata_json of row {row} is missing")
                self.assertEqual(json.loads(text), meta[1], f"{where}: metadata_json of row {row}")
        self.assertEqual(got.vectors.dtype, np.float32, f"{where}: vector element type")
        self.assertEqual(got.vectors.shape, want.vectors.shape, f"{where}: vector shape")
        differ = np.flatnonzero((got.vectors.view(np.uint32) != want.vectors.view(np.uint32)).any(axis=1))
        self.assertEqual(differ.size, 0, f"{where}: vector bits differ, first in row {differ[:1]}")

    def test_our_snapshots_in_every_reader(self):
        for encoding in ENCODINGS:
            for compression in COMPRESSIONS:
                name = f"{compression}-{encoding}"
                config = (
                    f'[storage.parquet]\ncompression = "{compression}"\nvector_encoding = "{encoding}"\n'
                    f"row_group_size = {ROW_GROUP_SIZE}\n"
                )
                path = snapshot_and_restore(self.binary, self.out, name, self.source, config, ".parquet")
                for reader, read in READERS.items():
                    with self.subTest(reader=reader, file=name):
                        if reader == "fastparquet" and encoding == "byte_stream_split":
                            # fastparquet 2026.9 does not implement BYTE_STREAM_SPLIT (encoding 9);
                            # docs/READING.md tells its users to write vector_encoding = "plain".
                            # When it learns to, this fails, and the docs should change.
                            with self.assertRaisesRegex(NotImplementedError, "Encoding 9"):
                                read(path)
                            continue
                        self.assert_same(read(path), reader, path.name, json_null_distinct=reader != "fastparquet")

    def test_pyarrow_files_restored_by_our_cli(self):
        for style, compression in itertools.product(["arrow-types", "parquet-types"], COMPRESSIONS):
            name = f"pyarrow-{style}-{compression}"
            written = self.out / f"{name}.parquet"
            write_with_pyarrow(self.source, written, style == "arrow-types", compression)
            with self.subTest(file=written.name):
                restored = snapshot_and_restore(self.binary, self.out, f"from-{name}", written, "", ".jsonl")
                docs = [json.loads(line) for line in restored.read_text().splitlines()]
                got = Reader(
                    ids=[uuid.UUID(d["document_id"]) for d in docs],
                    external_ids=[d.get("external_id") for d in docs],
                    vectors=np.array([d["vector"] for d in docs], dtype=np.float32),
                    metadata_texts=[json.dumps(d["metadata"]) if "metadata" in d else None for d in docs],
                    millis=[to_millis(d["inserted_at"]) for d in docs],
                    types={},
                )
                self.assert_same(got, "akidb-cli", written.name)

    def test_files_other_tools_write_are_read_by_our_cli(self):
        """Today's pyarrow, DuckDB and Polars, writing the snapshot schema as their users would
        (write_foreign.py): akidb-cli inspects, snapshots and restores what they write."""
        folder = self.out / "foreign"
        write_foreign.main_into(folder)
        for writer in ["pyarrow", "duckdb", "polars"]:
            with self.subTest(writer=writer):
                path = folder / f"{writer}.parquet"
                info = json.loads(cli(self.binary, "--json", "snapshot", "inspect", "--file", str(path)))
                self.assertEqual((info["vector_count"], info["dimension"]), (write_foreign.N, write_foreign.D))
                restored = snapshot_and_restore(self.binary, self.out, f"foreign-{writer}", path, "", ".jsonl")
                docs = [json.loads(line) for line in restored.read_text().splitlines()]
                self.assertEqual([uuid.UUID(d["document_id"]) for d in docs], write_foreign.IDS)
                self.assertEqual([d["vector"] for d in docs], write_foreign.VECTORS)
                self.assertEqual([d.get("external_id") for d in docs], write_foreign.EXTERNAL)
                self.assertEqual([to_millis(d["inserted_at"]) for d in docs], write_foreign.MILLIS)
                want = [json.loads(m) if m else None for m in write_foreign.METADATA]
                self.assertEqual([d.get("metadata") for d in docs], want)


def write_with_pyarrow(source: Path, path: Path, arrow_types: bool, compression: str) -> None:
    """The collection in the snapshot schema of docs/FORMAT.md, written by pyarrow.

    arrow_types: the Arrow types akidb writes (UUID and JSON extensions, a fixed-size list);
    otherwise only what a Parquet-only writer knows (binary ids, strings, a variable list)."""
    docs = [json.loads(line) for line in source.read_text().splitlines()]
    if arrow_types:
        id_type, json_type = pa.uuid(), pa.json_()
        vector_type = pa.list_(pa.field("element", pa.float32(), nullable=False), DIMENSION)
    else:
        id_type, json_type = pa.binary(16), pa.string()
        vector_type = pa.list_(pa.field("element", pa.float32(), nullable=False))
    schema = pa.schema(
        [
            pa.field("document_id", id_type, nullable=False),
            pa.field("external_id", pa.string()),
            pa.field("dimension", pa.int32(), nullable=False),
            pa.field("vector", vector_type, nullable=False),
            pa.field("metadata_json", json_type),
            pa.field("inserted_at", pa.timestamp("ms", tz="UTC"), nullable=False),
        ]
    )
    ids = pa.array([uuid.UUID(d["document_id"]).bytes for d in docs], pa.binary(16))
    texts = pa.array([json.dumps(d["metadata"]) if "metadata" in d else None for d in docs], pa.string())
    table = pa.table(
        {
            "document_id": pa.ExtensionArray.from_storage(id_type, ids) if arrow_types else ids,
            "external_id": [d.get("external_id") for d in docs],
            "dimension": [DIMENSION] * len(docs),
            "vector": pa.array([d["vector"] for d in docs], vector_type),
            "metadata_json": pa.ExtensionArray.from_storage(json_type, texts) if arrow_types else texts,
            "inserted_at": pa.array([to_millis(d["inserted_at"]) for d in docs], pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        },
        schema=schema,
    )
    keys = {
        "akidb.schema_version": "1",
        "akidb.collection_id": COLLECTION_ID,
        "akidb.snapshot_id": "0193a5b0-1111-7000-8000-0000000e2e01",
        "akidb.created_at": "2026-11-24T12:00:00.000Z",
        "akidb.vector_count": str(len(docs)),
        "akidb.dimension": str(DIMENSION),
    }
    # pyarrow's "lz4" is Parquet's LZ4_RAW, the LZ4 akidb writes and reads.
    with pq.ParquetWriter(path, schema, compression=compression) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        writer.add_key_value_metadata(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, required=True, help="the akidb-cli binary")
    parser.add_argument("--out", type=Path, required=True, help="a scratch folder (emptied)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    docs = source_documents()
    source = args.out / "source.jsonl"
    source.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    Interop.binary, Interop.out, Interop.source = args.cli.resolve(), args.out.resolve(), source.resolve()
    Interop.expected = Expected(docs)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Interop)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
