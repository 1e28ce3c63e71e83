"""Object-store servers on 127.0.0.1 for the storage tests, each a real emulator of its cloud.

Usage: servers.py KIND PORT BUCKET...

KIND is one of:
  s3     moto's server mode (PyPI's moto[server]);
  gcs    gcp-storage-emulator (PyPI), an emulator of Google Cloud Storage's JSON API;
  azure  Azurite's blob service (the npm registry's azurite, installed in tests/emulators by
         scripts/test.sh), with the well-known development account devstoreaccount1.

Starts the server, creates each BUCKET (a container, on Azure), prints "ready" and serves until
its standard input closes, which happens when the test process that started it exits, however
it exits: no server is ever left behind.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

# Azurite's development account, as Microsoft documents it for every Azurite user.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


def wait_for_port(port: int, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.exit(f"the server exited with status {child.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on 127.0.0.1:{port} after 60 s")


def serve_s3(port: int, buckets: list[str]) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    for bucket in buckets:
        client.create_bucket(Bucket=bucket)
    print("ready", flush=True)
    sys.stdin.read()
    server.stop()


def serve_gcs(port: int, buckets: list[str]) -> None:
    import http.server

    from gcp_storage_emulator.handlers import buckets as bucket_handlers
    from gcp_storage_emulator.server import create_server

    # The emulator serves one request at a time (http.server.HTTPServer): a restore that reads
    # two parts at once then waits on the second while the server waits to send the rest of
    # the first. Cloud Storage serves requests concurrently, and so must its stand-in.
    http.server.HTTPServer = http.server.ThreadingHTTPServer

    server = create_server("127.0.0.1", port, in_memory=True)
    for bucket in buckets:
        bucket_handlers.create_bucket(bucket, server._storage)
    server.start()
    print("ready", flush=True)
    sys.stdin.read()
    server.stop()


def serve_azure(port: int, buckets: list[str]) -> None:
    from azure.storage.blob import BlobServiceClient

    here = os.path.dirname(os.path.abspath(__file__))
    azurite = os.path.join(here, "../../../tests/emulators/node_modules/.bin/azurite-blob")
    if not os.path.exists(azurite):
        sys.exit("Azurite is not installed: run `bash scripts/test.sh` once (npm ci in tests/emulators)")
    # In memory, and in a folder of its own for anything else it writes (a debug log).
    with tempfile.TemporaryDirectory() as workdir:
        child = subprocess.Popen(
            [azurite, "--blobHost", "127.0.0.1", "--blobPort", str(port),
             "--inMemoryPersistence", "--skipApiVersionCheck", "--silent"],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, child)
            client = BlobServiceClient.from_connection_string(azurite_connection_string(port))
            for bucket in buckets:
                client.create_container(bucket)
            print("ready", flush=True)
            sys.stdin.read()
        finally:
            # Azurite may take its time over SIGTERM while requests are open; nothing it holds
            # is worth waiting for.
            child.kill()
            child.wait()


def main() -> None:
    kind, port, buckets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    serve = {"s3": serve_s3, "gcs": serve_gcs, "azure": serve_azure}.get(kind)
    if serve is None:
        sys.exit(f"unknown server kind {kind!r}: use s3, gcs or azure")
    serve(port, buckets)


if __name__ == "__main__":
    main()
