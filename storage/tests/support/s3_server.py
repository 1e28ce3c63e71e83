"""An S3-compatible server on 127.0.0.1 for the storage tests (moto's server mode).

Usage: s3_server.py PORT BUCKET...

Starts the server, creates each BUCKET, prints "ready" and serves until its standard input closes,
which happens when the test process that started it exits, however it exits: no server is
ever left behind.
"""

import sys

import boto3
from moto.server import ThreadedMotoServer


def main() -> None:
    port, buckets = int(sys.argv[1]), sys.argv[2:]
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


if __name__ == "__main__":
    main()
