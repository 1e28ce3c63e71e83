"""Partial restores at scale (docs/BENCHMARKS.md, "Partial restore"): a snapshot of ROWS × DIM
on the local store and on a local S3 server, then `akidb-cli snapshot restore` of 1,000 random
ids, of one id, and of a 1% time range, beside a full restore. Prints, as a Markdown table, each
restore's wall time, the bytes it read and the requests it made, both counted outside akidb:

- on the local store, by the kernel: `rchar` and `syscr` of /proc/PID/io, read once the process
  has exited and before it is reaped (every byte its read calls returned, and how many calls);
- on S3, by the server: moto behind a WSGI layer that counts each request and the bytes of each
  response body (`GET /__counts` here, which is not S3).

    python bench/partial.py --cli target/release/akidb-cli --out DIR [--rows 1000000] [--dim 768] [--ids 1000] [--absent 0] [--s3]

The vectors are the 10,000 real MiniLM embeddings of ../shared/data (384 floats), two of them
side by side for 768, with a little Gaussian noise (σ 0.01), normalised: they compress as real
ones do. inserted_at grows by one millisecond a document, as in a collection that was filled over
time. Needs about 3 × ROWS × DIM × 4 bytes of disk at once (input, store, full restore): 9 GB for
1M × 768; the local store is removed before the S3 run, and the input once both are created
(moto spools the objects to temporary files).
"""

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

COLLECTION = "0193a5b0-0000-7000-8000-0000000be025"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "minilm-10k-384.npy"
START_MS = 1_700_000_000_000
BUCKET = "akidb-bench"
CONFIG: list[str] = []


def vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    real = np.load(SHARED)
    pieces = [real[rng.integers(0, len(real), n)] for _ in range(max(1, dim // real.shape[1]))]
    picked = np.concatenate(pieces, axis=1)[:, :dim]
    picked = picked + rng.normal(0, 0.01, picked.shape).astype(np.float32)
    return (picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(np.float32)


def uuids(numbers: np.ndarray) -> list[uuid.UUID]:
    """Document n's id: random-looking, as UUIDv4 ids are (sequential ones compress, which real
    ids do not)."""
    return [uuid.UUID(bytes=hashlib.blake2b(int(n).to_bytes(8, "little"), digest_size=16).digest(), version=4)
            for n in numbers]


def external_ids(ids: list[uuid.UUID]) -> list[str]:
    """External ids as a host keeps them: unique, and no more compressible than their ids."""
    return [f"user-{u.hex[:12]}" for u in ids]


def write_input(path: Path, rows: int, dim: int, rng: np.random.Generator) -> None:
    """The collection as a Parquet file of the snapshot schema, a million rows at a time."""
    writer = None
    step = 250_000
    for start in range(0, rows, step):
        numbers = np.arange(start + 1, min(rows, start + step) + 1)
        n = len(numbers)
        ids = uuids(numbers)
        raw = b"".join(u.bytes for u in ids)
        table = pa.table({
            "document_id": pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)]),
            "external_id": pa.array(external_ids(ids)),
            "dimension": pa.array(np.full(n, dim, dtype=np.int32)),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors(rng, n, dim).reshape(-1)), dim),
            "metadata_json": pa.nulls(n, pa.string()),
            "inserted_at": pa.array(START_MS + numbers).cast(pa.timestamp("ms", tz="UTC")),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=100_000)
    writer.close()


class CountingS3:
    """moto's S3 on 127.0.0.1 behind a layer that counts requests and response bytes."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.lock = threading.Lock()
        self.reset()
        moto = DomainDispatcherApplication(create_backend_app)

        def app(environ, start_response):
            if environ.get("PATH_INFO") == "/__counts":
                with self.lock:
                    body = json.dumps(self.counts).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            with self.lock:
                self.counts["requests"] += 1
                method = environ.get("REQUEST_METHOD", "?")
                self.counts["by_method"][method] = self.counts["by_method"].get(method, 0) + 1
            ranged = self.ranged_get(environ, start_response)
            if ranged is not None:
                with self.lock:
                    self.counts["bytes_out"] += len(ranged)
                yield ranged
                return
            for chunk in moto(environ, start_response):
                with self.lock:
                    self.counts["bytes_out"] += len(chunk)
                yield chunk

        class Quiet(MotoRequestHandler):
            def log_request(self, *args, **kwargs) -> None:
                pass

        port = free_port()
        self.server = make_server("127.0.0.1", port, app, True, request_handler=Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        ).create_bucket(Bucket=BUCKET)

    def ranged_get(self, environ, start_response) -> bytes | None:
        """A ranged GET of an object, answered from moto's own copy of it: moto reads (and
        copies) the whole object for every request, which made 1,000 ranged reads of 300 MB
        parts take hours. The same answer S3 gives, headers included."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        path, header = environ.get("PATH_INFO", ""), environ.get("HTTP_RANGE", "")
        prefix = f"/{BUCKET}/"
        if environ.get("REQUEST_METHOD") != "GET" or not path.startswith(prefix) or not header.startswith("bytes="):
            return None
        try:
            bucket = s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_bucket(BUCKET)
            key = bucket.keys.get(urllib.parse.unquote(path[len(prefix):]))
        except Exception:
            return None
        if key is None or environ.get("QUERY_STRING"):
            return None
        first, _, last = header[len("bytes="):].partition("-")
        size = key.size
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if start > end:
            return None
        with key.lock:
            key._value_buffer.seek(start)
            body = key._value_buffer.read(end - start + 1)
        start_response("206 Partial Content", [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(len(body))),
            ("Content-Range", f"bytes {start}-{end}/{size}"),
            ("Accept-Ranges", "bytes"),
            ("ETag", key.etag),
            ("Last-Modified", key.last_modified_RFC1123),
        ])
        return body

    def reset(self) -> None:
        with self.lock:
            self.counts = {"requests": 0, "bytes_out": 0, "by_method": {}}

    def snapshot(self) -> dict:
        with self.lock:
            return json.loads(json.dumps(self.counts))

    def uri(self) -> str:
        return (f"s3://{BUCKET}/bench?endpoint={self.endpoint}&region=us-east-1"
                "&access_key_id=test&secret_access_key=test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cli: Path, store: str, *args: str) -> tuple[float, dict, dict]:
    """Runs akidb-cli --json; its wall seconds, its /proc/PID/io at exit, and its JSON output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as errors:
        child = subprocess.Popen(
            [str(cli), "--json", "--quiet", *CONFIG, "--store", store, *args],
            stdout=subprocess.PIPE, stderr=errors, text=True,
        )
        stdout = child.stdout.read()
        # Wait for the exit without reaping, so /proc/PID/io still holds the totals.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        errors.seek(0)
        stderr = errors.read()
    wall = time.perf_counter() - started
    io = dict(
        (k, int(v)) for k, v in (line.split(": ") for line in open(f"/proc/{child.pid}/io").read().splitlines())
    )
    code = child.wait()
    if code != 0:
        sys.exit(f"akidb-cli {' '.join(args)} failed ({code}): {stderr}")
    return wall, io, json.loads(stdout) if stdout.strip() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--ids", type=int, default=1000, help="random ids to restore (default 1,000)")
    parser.add_argument("--absent", type=int, default=0,
                        help="ids the snapshot does not hold, asked for beside --ids (default 0): one "
                             "part of 100,000 asked for 10 ids and 990 absent ones is what each part "
                             "of a 10M snapshot sees of 1,000 random ids")
    parser.add_argument("--s3", action="store_true", help="also on a local S3 server (moto)")
    parser.add_argument("--page-bytes", type=int, help="[storage.parquet] page_bytes (default: the library's)")
    args = parser.parse_args()
    cli = args.cli.resolve()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    rng = np.random.default_rng(25)
    source = args.out / "input.parquet"
    write_input(source, args.rows, args.dim, rng)

    picked = rng.choice(args.rows, args.ids, replace=False) + 1
    absent = [uuid.UUID(bytes=rng.bytes(16), version=4) for _ in range(args.absent)]
    (args.out / "ids-many.txt").write_text("".join(f"{u}\n" for u in uuids(picked) + absent))
    (args.out / "ids-1.txt").write_text(f"{uuids(picked[:1])[0]}\n")
    first = args.rows // 2
    since, until = START_MS + first, START_MS + first + args.rows // 100 - 1

    stores = [("local", f"file://{args.out / 'store'}", None)]
    server = CountingS3() if args.s3 else None
    if server:
        stores.append(("S3 (moto)", server.uri(), server))

    c = ["--collection-id", COLLECTION]
    if args.page_bytes:
        config = args.out / "akidb.toml"
        config.write_text(f"[storage.parquet]\npage_bytes = {args.page_bytes}\n")
        global CONFIG
        CONFIG = ["--config", str(config)]
    print("| store | restore | documents | wall s | bytes read | requests | share of stored |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for at, (name, store, counting) in enumerate(stores):
        wall, io, created = run(cli, store, "snapshot", "create", *c, "--input", str(source))
        if at == len(stores) - 1:
            source.unlink()  # disk for the full restore
        stored = sum(p["size_bytes"] + (p.get("index") or {}).get("size_bytes", 0) for p in created["parts"])
        print(f"| {name} | (create) | {created['vector_count']} | {wall:.2f} | {stored:,} stored "
              f"in {len(created['parts'])} parts | | |", flush=True)
        s = ["--snapshot-id", created["snapshot_id"]]
        queries = [
            ("full", []),
            (f"{args.ids:,} random ids" + (f" and {args.absent:,} absent" if args.absent else ""),
             ["--ids", str(args.out / "ids-many.txt")]),
            ("one id", ["--ids", str(args.out / "ids-1.txt")]),
            ("1% time range", ["--since", str(since), "--until", str(until)]),
        ]
        for label, options in queries:
            output = args.out / "restored.npy"
            output.unlink(missing_ok=True)
            if counting:
                counting.reset()
            wall, io, report = run(cli, store, "snapshot", "restore", *c, *s, "--output", str(output), *options)
            if counting:
                counts = counting.snapshot()
                read, requests = counts["bytes_out"], counts["requests"]
            else:
                read, requests = io["rchar"], io["syscr"]
            print(f"| {name} | {label} | {report.get('documents')} | {wall:.2f} | {read:,} | {requests:,} "
                  f"| {100 * read / stored:.2f}% |", flush=True)
        output.unlink(missing_ok=True)
        shutil.rmtree(args.out / "store", ignore_errors=True)
    if server:
        server.server.shutdown()


if __name__ == "__main__":
    main()
