"""Encrypted snapshots and pyarrow, both ways, as docs/ENCRYPTION.md shows.

    python check_encryption.py --cli PATH/akidb-cli --out DIR

- akidb-cli encrypts a snapshot under a master key; pyarrow, with its CryptoFactory and the KMS
  client below (which holds the same master key), reads every part, and the values are the
  source's. No external id, metadata string or vector's raw bytes appears in any stored byte.
- pyarrow encrypts files in the snapshot schema under the same master key, with single and with
  double wrapping (pyarrow's default); akidb-cli imports them and restores the documents.
- Without the key, or with another, a restore fails with exit code 14, names the key id, and
  writes no output; verify still checks the stored bytes.

The KMS client is the key tools' local wrapping, written here from docs/ENCRYPTION.md: AES-GCM
under the master key, a fresh 12-byte nonce, the master key id as AAD, base64 of
nonce || ciphertext || tag. The expected values come from the source written here.
"""

import argparse
import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import unittest
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

COLLECTION = "0193a5b0-0000-7000-8000-0000000e0c01"
IMPORTED = "0193a5b0-0000-7000-8000-0000000e0c02"
KEY_ID = "interop-2026"
MASTER = hashlib.sha256(b"akidb interop master key").digest()
ROWS, DIMENSION = 300, 8
SECRET = "patient-name-"
NOTE = "confidential-diagnosis"


class LocalWrapKms(pe.KmsClient):
    """The key tools' local wrapping, with the master keys held here."""

    keys = {KEY_ID: MASTER}

    def __init__(self, _config):
        super().__init__()

    def wrap_key(self, key_bytes, master_key_identifier):
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[master_key_identifier]).encrypt(
            nonce, key_bytes, master_key_identifier.encode())
        return base64.b64encode(nonce + sealed).decode()

    def unwrap_key(self, wrapped_key, master_key_identifier):
        raw = base64.b64decode(wrapped_key)
        return AESGCM(self.keys[master_key_identifier]).decrypt(
            raw[:12], raw[12:], master_key_identifier.encode())


def crypto_factory() -> pe.CryptoFactory:
    return pe.CryptoFactory(lambda config: LocalWrapKms(config))


def decryption():
    return crypto_factory().file_decryption_properties(
        pe.KmsConnectionConfig(), pe.DecryptionConfiguration())


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def source() -> list[dict]:
    return [
        {
            "document_id": str(uuid.UUID(int=i + 1, version=4)),
            "external_id": f"{SECRET}{i}",
            "vector": [f32(1000.25 + i * DIMENSION + j) for j in range(DIMENSION)],
            "metadata": {"note": NOTE, "i": i},
            "inserted_at": 1_732_435_200_000 + i,
        }
        for i in range(ROWS)
    ]


class Encryption(unittest.TestCase):
    cli: Path
    out: Path

    @classmethod
    def setUpClass(cls):
        cls.store = cls.out / "store"
        cls.key_file = cls.out / "master.key"
        cls.key_file.write_text(MASTER.hex() + "\n")
        cls.docs = source()
        with open(cls.out / "docs.jsonl", "w") as f:
            for doc in cls.docs:
                f.write(json.dumps(doc) + "\n")
        cls.run_cli("snapshot", "create", "--collection-id", COLLECTION,
                    "--input", str(cls.out / "docs.jsonl"), "--part-rows", "120")

    @classmethod
    def run_cli(cls, *args: str, key: bool = True, check: bool = True, json_out: bool = False):
        command = [str(cls.cli), "--quiet", "--store", f"file://{cls.store}"]
        if json_out:
            command.append("--json")
        if key:
            command += ["--encryption-key-id", KEY_ID, "--encryption-key-file", str(cls.key_file)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AKIDB_")}
        return subprocess.run(command + list(args), check=check, capture_output=True, text=True,
                              env=env)

    def files(self, collection: str) -> dict:
        return json.loads(self.run_cli("snapshot", "files", "--collection-id", collection,
                                       "--snapshot-id", "latest", json_out=True).stdout)

    def test_pyarrow_reads_every_part_with_the_master_key(self):
        listed = self.files(COLLECTION)
        self.assertEqual([f["rows"] for f in listed["files"]], [120, 120, 60])
        rows = []
        for part in listed["files"]:
            path = self.store / part["key"]
            with self.assertRaises(Exception, msg="pyarrow must need the key"):
                pq.read_table(path)
            file = pq.ParquetFile(path, decryption_properties=decryption())
            footer = file.metadata.metadata
            self.assertEqual(footer[b"akidb.collection_id"].decode(), COLLECTION)
            rows += file.read().to_pylist()
        self.assertEqual(len(rows), ROWS)
        for row, doc in zip(rows, self.docs):
            self.assertEqual(str(row["document_id"]), doc["document_id"])
            self.assertEqual(row["external_id"], doc["external_id"])
            self.assertEqual(row["vector"], doc["vector"])
            self.assertEqual(json.loads(row["metadata_json"]), doc["metadata"])

    def test_no_plaintext_in_any_stored_byte(self):
        needles = [SECRET.encode(), NOTE.encode(),
                   struct.pack("<4f", *self.docs[17]["vector"][:4]), MASTER, MASTER.hex().encode()]
        stored = [p for p in self.store.rglob("*") if p.is_file()]
        self.assertGreater(len(stored), 3)
        for path in stored:
            data = path.read_bytes()
            for needle in needles:
                self.assertNotIn(needle, data, f"{path} holds {needle!r}")
        # The same search finds them in the source, so it can fail.
        self.assertIn(SECRET.encode(), (self.out / "docs.jsonl").read_bytes())

    def test_without_the_key_restore_fails_with_its_code_and_writes_nothing(self):
        output = self.out / "keyless.jsonl"
        done = self.run_cli("snapshot", "restore", "--collection-id", COLLECTION,
                            "--snapshot-id", "latest", "--output", str(output),
                            key=False, check=False)
        self.assertEqual(done.returncode, 14, done.stderr)
        self.assertIn(f"`{KEY_ID}`", done.stderr)
        self.assertFalse(output.exists())
        verified = self.run_cli("snapshot", "verify", "--collection-id", COLLECTION,
                                "--snapshot-id", "latest", key=False, json_out=True)
        self.assertFalse(json.loads(verified.stdout)["contents_decoded"])

    def test_another_key_under_the_same_id_is_refused(self):
        wrong = self.out / "wrong.key"
        wrong.write_text("ab" * 32)
        output = self.out / "wrong.jsonl"
        command = [str(self.cli), "--quiet", "--store", f"file://{self.store}",
                   "--encryption-key-id", KEY_ID, "--encryption-key-file", str(wrong),
                   "snapshot", "restore", "--collection-id", COLLECTION, "--snapshot-id", "latest",
                   "--output", str(output)]
        done = subprocess.run(command, capture_output=True, text=True)
        self.assertEqual(done.returncode, 14, done.stderr)
        self.assertIn("does not open", done.stderr)
        self.assertNotIn("abab", done.stderr)
        self.assertFalse(output.exists())

    def test_files_pyarrow_encrypted_are_imported_and_restored(self):
        table = pa.table({
            "document_id": pa.array([uuid.UUID(d["document_id"]).bytes for d in self.docs],
                                    pa.binary(16)),
            "external_id": pa.array([d["external_id"] for d in self.docs]),
            "dimension": pa.array([DIMENSION] * ROWS, pa.int32()),
            "vector": pa.array([d["vector"] for d in self.docs], pa.list_(pa.float32(), DIMENSION)),
            "metadata_json": pa.array([json.dumps(d["metadata"]) for d in self.docs]),
            "inserted_at": pa.array([d["inserted_at"] for d in self.docs], pa.int64())
            .cast(pa.timestamp("ms", tz="UTC")),
        })
        inputs = []
        for name, double in [("single", False), ("double", True)]:
            half = table.slice(0, ROWS // 2) if name == "single" else table.slice(ROWS // 2)
            config = pe.EncryptionConfiguration(footer_key=KEY_ID, uniform_encryption=True,
                                                double_wrapping=double)
            properties = crypto_factory().file_encryption_properties(
                pe.KmsConnectionConfig(), config)
            path = self.store / "incoming" / f"{name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            with pq.ParquetWriter(path, half.schema, encryption_properties=properties) as writer:
                writer.write_table(half)
            self.assertEqual(path.read_bytes()[-4:], b"PARE")
            inputs.append(f"incoming/{name}.parquet")
        manifest = json.loads(self.run_cli(
            "snapshot", "import", "--collection-id", IMPORTED, "--input-parts", *inputs,
            json_out=True).stdout)
        self.assertEqual(manifest["encryption"], {"algorithm": "AES_GCM_V1", "key_id": KEY_ID})
        output = self.out / "imported.jsonl"
        self.run_cli("snapshot", "restore", "--collection-id", IMPORTED, "--snapshot-id", "latest",
                     "--output", str(output))
        restored = [json.loads(line) for line in output.read_text().splitlines()]
        self.assertEqual([r["document_id"] for r in restored], [d["document_id"] for d in self.docs])
        self.assertEqual([r["vector"] for r in restored], [d["vector"] for d in self.docs])
        self.assertEqual([r["metadata"] for r in restored], [d["metadata"] for d in self.docs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", type=Path, required=True, help="the akidb-cli binary")
    parser.add_argument("--out", type=Path, required=True, help="a folder for the files")
    args = parser.parse_args()
    Encryption.cli = args.cli.resolve()
    Encryption.out = (args.out / "encryption").resolve()
    Encryption.out.mkdir(parents=True, exist_ok=True)
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
