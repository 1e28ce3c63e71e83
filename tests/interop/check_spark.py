"""Spark reads a snapshot akidb-cli wrote, with the schema `akidb-cli snapshot inspect
--spark-schema` prints, from PySpark and from SQL, as docs/READING.md shows; and what Spark
writes in that schema (no akidb.* footer keys, every column optional, ids as BINARY) becomes a
snapshot with `akidb-cli snapshot import`, as docs/READING.md shows too. With
parquet-java's PropertiesDrivenCryptoFactory and a KMS client (AkidbLocalKms.java, compiled
here), Spark reads an encrypted snapshot and writes encrypted files that akidb-cli imports, as
docs/ENCRYPTION.md shows.

    python check_spark.py --cli PATH/akidb-cli --out DIR

Spark runs in local mode on one core, on one small file. The expected values come from the
JSON Lines source written here, never from the code under test. Without the schema, Spark
refuses the file (its PARQUET_TYPE_ILLEGAL on the UUID column): that is checked too, so this
test says when a Spark release no longer needs the schema and the docs should change.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import unittest
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

COLLECTION_ID = "0193a5b0-0000-7000-8000-00000005a4c1"
# The master key of the encryption recipe, held by akidb-cli's key file and AkidbLocalKms.
KEY_ID = "spark-interop"
MASTER_KEY_HEX = "5a17" * 16
ROWS = 40
DIMENSION = 8
# One vector with the floats a lossy path would change: -0.0, the smallest subnormal, the
# largest finite float, and one whose float64 widening is not a short decimal.
SPECIAL = [-0.0, 1.401298464324817e-45, 3.4028234663852886e38, -3.4028234663852886e38, 0.1, 1 / 3, 2.5, -7.0]


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def source() -> list[dict]:
    docs = []
    for i in range(ROWS):
        vector = [f32(x) for x in SPECIAL] if i == 7 else [f32(i + j / 8) for j in range(DIMENSION)]
        doc = {
            "document_id": f"0193a5b0-0000-7000-8000-{i + 1:012x}",
            "vector": vector,
            "inserted_at": -1_000 + i * 86_400_000,  # the first before 1970
        }
        if i % 3 == 0:
            doc["external_id"] = f"doc-{i}"
            doc["metadata"] = {"i": i}
        docs.append(doc)
    return docs


class Spark(unittest.TestCase):
    cli: Path
    out: Path
    path: str
    schema: str
    spark: SparkSession

    @classmethod
    def setUpClass(cls) -> None:
        docs = source()
        jsonl = cls.out / "spark-source.jsonl"
        jsonl.write_text("".join(json.dumps(d) + "\n" for d in docs))
        store = cls.out / "spark-store"
        shutil.rmtree(store, ignore_errors=True)
        cls.store = store
        cls.cli_run = staticmethod(
            lambda *args: subprocess.run(
                [str(cls.cli), "--store", f"file://{store}", *args], capture_output=True, text=True
            )
        )
        run = lambda *args: subprocess.run(  # noqa: E731
            [str(cls.cli), "--store", f"file://{store}", *args], check=True, capture_output=True, text=True
        ).stdout
        snapshot = run("snapshot", "create", "--collection-id", COLLECTION_ID, "--input", str(jsonl)).strip()
        # The snapshot's one file, as docs/READING.md finds it.
        cls.path = run("--quiet", "snapshot", "files", "--collection-id", COLLECTION_ID, "--snapshot-id",
                       snapshot).strip()
        cls.schema = run("snapshot", "inspect", "--spark-schema").strip()
        # The KMS client of the encryption recipe, compiled against PySpark's own jars and put
        # on the driver's class path, as docs/ENCRYPTION.md shows.
        kms = cls.out / "spark-kms"
        jars = Path(pyspark.__file__).parent / "jars"
        subprocess.run(["javac", "-cp", f"{jars}/*", "-d", str(kms),
                        str(Path(__file__).with_name("AkidbLocalKms.java"))], check=True)
        # Everything on 127.0.0.1: Spark would otherwise bind to the address the host name
        # resolves to, and its driver and executor talk over it even in local mode.
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        cls.spark = (
            SparkSession.builder.master("local[1]")
            .appName("akidb-snapshot interop")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.driver.extraClassPath", str(kms))
            .getOrCreate()
        )
        # The refusal tested below logs a stack trace; the Python exception says it all.
        cls.spark.sparkContext.setLogLevel("OFF")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.spark.stop()

    def check(self, frame, how: str) -> None:
        self.assertEqual(frame.count(), ROWS, f"{how}: count")
        # Row 7, the one with the special floats, found by its id's 16 bytes.
        rows = frame.where("hex(document_id) = '0193A5B0000070008000000000000008'").collect()
        self.assertEqual(len(rows), 1, f"{how}: the id as 16 bytes")
        row = rows[0]
        self.assertEqual(row["dimension"], DIMENSION)
        self.assertEqual([bits(x) for x in row["vector"]], [bits(f32(x)) for x in SPECIAL], f"{how}: vector bits")
        first = frame.selectExpr("min(unix_millis(inserted_at)) AS ms").collect()[0]["ms"]
        self.assertEqual(first, -1_000, f"{how}: the first timestamp, before 1970, to the millisecond")
        metadata = frame.where("external_id = 'doc-3'").select("metadata_json").collect()[0][0]
        self.assertEqual(json.loads(metadata), {"i": 3}, how)

    def test_pyspark_with_the_printed_schema(self):
        self.assertIn("document_id BINARY", self.schema)
        self.check(self.spark.read.schema(self.schema).parquet(self.path), "spark.read.schema(...)")

    def test_sql_with_the_printed_schema(self):
        self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW snapshot ({self.schema}) USING parquet OPTIONS (path '{self.path}')")
        self.check(self.spark.table("snapshot"), "SQL view")
        count = self.spark.sql("SELECT count(*) FROM snapshot WHERE size(vector) = 8").collect()[0][0]
        self.assertEqual(count, ROWS)

    def test_what_spark_writes_is_imported_as_a_snapshot(self):
        frame = self.spark.read.schema(self.schema).parquet(self.path).repartition(3, "document_id")
        export = self.store / "spark-export"
        # Spark's defaults: snappy, INT96 timestamps (read as milliseconds), every column
        # optional, ids as BINARY, no akidb.* footer keys.
        frame.write.mode("overwrite").parquet(str(export))
        files = sorted(str(p) for p in export.glob("part-*.parquet"))
        self.assertEqual(len(files), 3, files)
        collection = "0193a5b0-0000-7000-8000-00000005a4c2"
        imported = self.cli_run("--json", "snapshot", "import", "--collection-id", collection, "--input-parts", *files)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        manifest = json.loads(imported.stdout)
        self.assertEqual((manifest["vector_count"], manifest["dimension"]), (ROWS, DIMENSION))
        self.assertEqual(len(manifest["parts"]), 3)
        out = self.out / "spark-imported.jsonl"
        out.unlink(missing_ok=True)
        restored = self.cli_run("snapshot", "restore", "--collection-id", collection, "--snapshot-id", "latest",
                                "--output", str(out))
        self.assertEqual(restored.returncode, 0, restored.stderr)
        by_id = {d["document_id"]: d for d in map(json.loads, out.read_text().splitlines())}
        expected = {d["document_id"]: d for d in source()}
        self.assertEqual(by_id.keys(), expected.keys())
        for doc_id, doc in expected.items():
            got = by_id[doc_id]
            self.assertEqual([bits(x) for x in got["vector"]], [bits(x) for x in doc["vector"]], doc_id)
            self.assertEqual(got.get("external_id"), doc.get("external_id"), doc_id)
            self.assertEqual(got.get("metadata"), doc.get("metadata"), doc_id)
        first = by_id["0193a5b0-0000-7000-8000-000000000001"]["inserted_at"]
        self.assertEqual(first, "1969-12-31T23:59:59.000Z")

        # Vectors widened to doubles (what Spark makes of Python floats) are not the schema: the
        # import names the column and commits nothing.
        doubles = self.store / "spark-doubles"
        frame.selectExpr(*[c if c != "vector" else "CAST(vector AS ARRAY<DOUBLE>) AS vector" for c in frame.columns]) \
            .coalesce(1).write.mode("overwrite").parquet(str(doubles))
        refused = self.cli_run("snapshot", "import", "--collection-id", collection, "--input-parts",
                               *(str(p) for p in doubles.glob("part-*.parquet")))
        self.assertEqual(refused.returncode, 9, refused.stderr)
        self.assertIn("cannot be imported", refused.stderr)
        self.assertIn("vector", refused.stderr)
        listed = json.loads(self.cli_run("--json", "snapshot", "list", "--collection-id", collection).stdout)
        self.assertEqual(len(listed), 1)

    def test_encrypted_snapshots_with_the_properties_driven_crypto_factory(self):
        """docs/ENCRYPTION.md's Spark recipe: Spark reads a snapshot akidb-cli encrypted, and
        writes encrypted files (double wrapping, parquet-java's default) that akidb-cli
        imports and restores."""
        key_file = self.out / "spark-master.key"
        key_file.write_text(MASTER_KEY_HEX + "\n")
        keyed = ["--encryption-key-id", KEY_ID, "--encryption-key-file", str(key_file)]
        collection = "0193a5b0-0000-7000-8000-00000005a4c3"
        jsonl = self.out / "spark-source.jsonl"
        created = self.cli_run(*keyed, "snapshot", "create", "--collection-id", collection, "--input", str(jsonl))
        self.assertEqual(created.returncode, 0, created.stderr)
        path = self.cli_run("--quiet", "snapshot", "files", "--collection-id", collection, "--snapshot-id",
                            "latest").stdout.strip()
        self.assertEqual(Path(path).read_bytes()[-4:], b"PARE")
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        crypto = {
            "parquet.crypto.factory.class": "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory",
            "parquet.encryption.kms.client.class": "AkidbLocalKms",
            "akidb.master.keys": f"{KEY_ID}:{MASTER_KEY_HEX}",
        }
        for name, value in crypto.items():
            conf.set(name, value)
        try:
            self.check(self.spark.read.schema(self.schema).parquet(path), "an encrypted snapshot")

            export = self.store / "spark-encrypted"
            frame = self.spark.read.schema(self.schema).parquet(path).coalesce(1)
            frame.write.mode("overwrite") \
                .option("parquet.encryption.uniform.key", KEY_ID) \
                .parquet(str(export))
        finally:
            for name in crypto:
                conf.unset(name)
        files = [str(p) for p in export.glob("part-*.parquet")]
        self.assertEqual(len(files), 1, files)
        data = Path(files[0]).read_bytes()
        self.assertEqual(data[-4:], b"PARE")
        self.assertNotIn(b"doc-3", data)
        imported_collection = "0193a5b0-0000-7000-8000-00000005a4c4"
        imported = self.cli_run(*keyed, "--json", "snapshot", "import", "--collection-id", imported_collection,
                                "--input-parts", *files)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        self.assertEqual(json.loads(imported.stdout)["encryption"]["key_id"], KEY_ID)
        out = self.out / "spark-encrypted.jsonl"
        out.unlink(missing_ok=True)
        restored = self.cli_run(*keyed, "snapshot", "restore", "--collection-id", imported_collection,
                                "--snapshot-id", "latest", "--output", str(out))
        self.assertEqual(restored.returncode, 0, restored.stderr)
        got = sorted(map(json.loads, out.read_text().splitlines()), key=lambda d: d["document_id"])
        self.assertEqual([d["document_id"] for d in got], [d["document_id"] for d in source()])
        self.assertEqual([[bits(x) for x in d["vector"]] for d in got],
                         [[bits(x) for x in d["vector"]] for d in source()])

    def test_without_the_schema_spark_refuses_the_uuid_column(self):
        with self.assertRaisesRegex(Exception, "PARQUET_TYPE_ILLEGAL|Illegal Parquet type"):
            self.spark.read.parquet(self.path).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, required=True, help="the akidb-cli binary")
    parser.add_argument("--out", type=Path, required=True, help="a scratch folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    Spark.cli, Spark.out = args.cli.resolve(), args.out.resolve()
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Spark)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"spark: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
