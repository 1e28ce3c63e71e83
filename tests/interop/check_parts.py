"""A format v2 snapshot of several parts, read by DuckDB, pyarrow and Polars from the list of
files akidb-cli prints, as docs/READING.md shows ("A snapshot of several parts").

    python check_parts.py --cli PATH/akidb-cli --out DIR

Writes 30 documents as JSON Lines, has akidb-cli snapshot them in parts of 7 (five files), then
reads the files `akidb-cli --json snapshot files` lists with each reader and checks the count,
the order of the ids and one vector bit for bit against the source. Exits non-zero, naming the
reader, on the first difference.

It checks each part's id index as docs/FORMAT.md ("Id index", "Content hash") defines it: the
ids sorted, each row once, the part's SHA-256, and every content hash computed here with the
`xxhash` package from the source documents.

Then it writes, as another tool would from docs/FORMAT.md alone, a tombstone part (pyarrow) and
a manifest that lists it after the third data part, and checks that akidb-cli verifies and
restores that snapshot and that the DuckDB query `snapshot files` prints applies the content
rule: the two ids in the parts before the tombstones are gone, in order, and nothing else.
"""

import argparse
import hashlib
import json
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

COLLECTION = "0190a1b2-0000-7000-8000-00000000c0de"


def source(path: Path) -> list[dict]:
    docs = [
        {
            "document_id": str(uuid.UUID(int=(0x0190A1B2 << 96) | (7 << 76) | (2 << 62) | i)),
            "vector": [i + 0.5, -0.0, 1e-40, float(i) / 3],
            "inserted_at": 1_700_000_000_000 + i,
            **({"external_id": f"doc-{i}"} if i % 2 == 0 else {}),
            **({"metadata": {"i": i, "tag": "é"}} if i % 3 == 0 else {}),
        }
        for i in range(30)
    ]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return docs


def bits(values) -> list[int]:
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in values]


def content_hash(doc: dict) -> bytes:
    """docs/FORMAT.md, "Content hash", as written there."""
    vector = doc["vector"]
    b = struct.pack("<I", len(vector)) + struct.pack(f"<{len(vector)}f", *vector)
    metadata = doc.get("metadata")
    text = None if metadata is None else json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    for field in (doc.get("external_id"), text):
        b += b"\0" if field is None else b"\1" + struct.pack("<Q", len(field.encode())) + field.encode()
    b += struct.pack("<q", doc["inserted_at"])
    return xxhash.xxh3_128_digest(b)


def as_uuids(ids: list) -> list[uuid.UUID]:
    """UUIDs from what a reader gives: UUIDs (pyarrow's extension type) or 16-byte strings."""
    return [i if isinstance(i, uuid.UUID) else uuid.UUID(bytes=bytes(i)) for i in ids]


def id_indexes(store: Path, manifest: dict, docs: list[dict]) -> None:
    """Each data part's id index holds its rows' ids, positions and content hashes."""
    by_id = {uuid.UUID(d["document_id"]): d for d in docs}
    for part in manifest["parts"]:
        index = part.get("index")
        if part["kind"] != "data" or index is None:
            sys.exit(f"akidb-cli: part {part['key']} has no id index")
        data = (store / index["key"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != index["checksum_sha256"]:
            sys.exit(f"{index['key']}: SHA-256 differs from the manifest's")
        file = pq.ParquetFile(store / index["key"])
        keys = {k.decode(): v.decode() for k, v in file.metadata.metadata.items()}
        if keys["akidb.kind"] != "ids" or keys["akidb.part_sha256"] != part["checksum_sha256"]:
            sys.exit(f"{index['key']}: footer keys {keys}")
        table = file.read()
        ids = as_uuids(table["document_id"].to_pylist())
        if ids != sorted(ids) or sorted(table["row"].to_pylist()) != list(range(part["rows"])):
            sys.exit(f"{index['key']}: ids not sorted, or rows not each of the part's once")
        part_ids = as_uuids(pq.read_table(store / part["key"])["document_id"].to_pylist())
        for id_, row, hash_ in zip(ids, table["row"].to_pylist(), table["content_hash"].to_pylist()):
            if part_ids[row] != id_:
                sys.exit(f"{index['key']}: row {row} of the part is {part_ids[row]}, not {id_}")
            if bytes(hash_) != content_hash(by_id[id_]):
                sys.exit(f"{index['key']}: the content hash of {id_} is not FORMAT.md's")
    print(f"ok: the {len(manifest['parts'])} id indexes hold every row and FORMAT.md's content hashes")


def check(reader: str, ids: list, vector, docs: list[dict]) -> None:
    expected_ids = [uuid.UUID(d["document_id"]) for d in docs]
    got = as_uuids(ids)
    if got != expected_ids:
        sys.exit(f"{reader}: ids differ from the source's, in order ({len(got)} read)")
    if bits(vector) != bits(docs[17]["vector"]):
        sys.exit(f"{reader}: document 17's vector is {list(vector)}")
    print(f"ok: {reader} reads the {len(got)} documents of the parts, in order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, required=True, help="the akidb-cli binary")
    parser.add_argument("--out", type=Path, required=True, help="a scratch folder")
    args = parser.parse_args()
    out = args.out / "parts"
    out.mkdir(parents=True, exist_ok=True)
    docs = source(out / "docs.jsonl")
    store = ["--store", f"file://{out / 'store'}"]
    cli = [str(args.cli.resolve()), "--quiet", *store, "snapshot"]
    subprocess.run(
        [*cli, "create", "--collection-id", COLLECTION, "--input", str(out / "docs.jsonl"),
         "--part-rows", "7"],
        check=True, capture_output=True,
    )
    listed = json.loads(subprocess.run(
        [str(args.cli.resolve()), "--json", *store, "snapshot", "files",
         "--collection-id", COLLECTION, "--snapshot-id", "latest"],
        check=True, capture_output=True, text=True,
    ).stdout)
    files = [f["location"] for f in listed["files"]]
    if [f["rows"] for f in listed["files"]] != [7, 7, 7, 7, 2]:
        sys.exit(f"akidb-cli: parts of {[f['rows'] for f in listed['files']]} rows")

    # DuckDB: the query akidb-cli prints.
    rows = duckdb.sql(listed["duckdb"]).fetchall()
    columns = duckdb.sql(listed["duckdb"]).columns
    ids = [r[columns.index("document_id")] for r in rows]
    check("DuckDB", ids, rows[17][columns.index("vector")], docs)

    # pyarrow: one table from the files, in order.
    table = pa.concat_tables([pq.read_table(f) for f in files])
    check("pyarrow", table["document_id"].to_pylist(), table["vector"][17].as_py(), docs)

    # Polars: a list of files reads in the list's order.
    frame = pl.read_parquet(files)
    check("Polars", frame["document_id"].to_list(), frame["vector"][17].to_list(), docs)

    manifest_path = out / "store" / "snapshots" / COLLECTION / f"{listed['snapshot_id']}.metadata.json"
    id_indexes(out / "store", json.loads(manifest_path.read_text()), docs)
    tombstones(args.cli.resolve(), out / "store", listed["snapshot_id"], docs)


def tombstones(cli: Path, store: Path, snapshot: str, docs: list[dict]) -> None:
    """A snapshot of the same parts with a tombstone part after the third one, made here."""
    manifest = json.loads((store / "snapshots" / COLLECTION / f"{snapshot}.metadata.json").read_text())
    gone = [uuid.UUID(docs[2]["document_id"]), uuid.UUID(docs[15]["document_id"])]
    key = f"parts/{COLLECTION}/{uuid.UUID(int=(0x0190A1B2 << 96) | (7 << 76) | (2 << 62) | 999)}.tombstones.parquet"
    ids = pa.array([u.bytes for u in sorted(gone)], pa.binary(16))
    table = pa.table(
        {"document_id": pa.ExtensionArray.from_storage(pa.uuid(), ids)},
        schema=pa.schema([pa.field("document_id", pa.uuid(), nullable=False)]),
    ).replace_schema_metadata({
        "akidb.schema_version": "1", "akidb.kind": "tombstones", "akidb.collection_id": COLLECTION,
        "akidb.snapshot_id": snapshot, "akidb.created_at": "2026-12-07T00:00:00.000Z",
        "akidb.vector_count": str(len(gone)),
    })
    pq.write_table(table, store / key, use_dictionary=False)
    data = (store / key).read_bytes()
    parts = manifest["parts"]
    parts.insert(3, {"key": key, "kind": "tombstones", "rows": len(gone), "size_bytes": len(data),
                     "checksum_sha256": hashlib.sha256(data).hexdigest()})
    new_id = str(uuid.UUID(int=(0x0190A1B2 << 96) | (7 << 76) | (2 << 62) | 1000))
    manifest.pop("manifest_sha256")
    manifest.update(snapshot_id=new_id, parts=parts, vector_count=len(docs) - len(gone),
                    size_bytes=sum(p["size_bytes"] for p in parts))
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    manifest["manifest_sha256"] = hashlib.sha256(body).hexdigest()
    (store / "snapshots" / COLLECTION / f"{new_id}.metadata.json").write_text(json.dumps(manifest, indent=2))

    run = lambda *args: subprocess.run(  # noqa: E731
        [str(cli), "--store", f"file://{store}", *args], capture_output=True, text=True
    )
    snapshot_args = ["--collection-id", COLLECTION, "--snapshot-id", new_id]
    verified = run("snapshot", "verify", *snapshot_args)
    if verified.returncode != 0:
        sys.exit(f"akidb-cli: the hand-made manifest does not verify: {verified.stderr}")
    kept = [d for d in docs if uuid.UUID(d["document_id"]) not in gone]
    restored = store.parent / "tombstoned.jsonl"
    restored.unlink(missing_ok=True)
    done = run("snapshot", "restore", *snapshot_args, "--output", str(restored))
    if done.returncode != 0:
        sys.exit(f"akidb-cli: the hand-made manifest does not restore: {done.stderr}")
    back = [json.loads(line)["document_id"] for line in restored.read_text().splitlines()]
    if back != [d["document_id"] for d in kept]:
        sys.exit("akidb-cli: the restore does not apply the tombstones")
    print(f"ok: akidb-cli restores a manifest written from docs/FORMAT.md, {len(back)} documents")

    listed = json.loads(run("--json", "snapshot", "files", *snapshot_args).stdout)
    if [f["kind"] for f in listed["files"]] != ["data"] * 3 + ["tombstones"] + ["data"] * 2:
        sys.exit(f"akidb-cli: files of kinds {[f['kind'] for f in listed['files']]}")
    rows = duckdb.sql(listed["duckdb"]).fetchall()
    columns = duckdb.sql(listed["duckdb"]).columns
    ids = [r[columns.index("document_id")] for r in rows]
    check("DuckDB, tombstones applied", ids, rows[17][columns.index("vector")], kept)


if __name__ == "__main__":
    main()
