//! Stores for the integration tests: a temporary folder, memory, and an S3-compatible server
//! (moto) started on 127.0.0.1 by this process.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use akidb_snapshot::codec::{CollectionId, Timestamp, VectorDocument};
use akidb_snapshot::{StorageBackend, StorageBackendConfig};
use uuid::Uuid;

pub mod faults;

pub const BUCKET: &str = "akidb-tests";
/// The bucket the README's S3 example names; the test server has it too.
pub const README_BUCKET: &str = "my-bucket";

/// An object-store server of this test binary (`servers.py`). Its standard input is a pipe
/// from this process, so it exits when this process does.
struct Server {
    port: u16,
    _child: Child,
}

pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("AKIDB_TEST_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "the object-store tests need moto, gcp-storage-emulator and Azurite: run \
         `bash scripts/test.sh` once (it creates .venv and installs Azurite in \
         tests/emulators), or set AKIDB_TEST_PYTHON to a python that has them"
    );
    venv
}

/// Starts the server `kind` of `servers.py` (s3, gcs or azure) on a free port, with the test
/// buckets.
fn start(kind: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port();
    // Beside this file, whichever crate's tests include it.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(file!())
        .with_file_name("servers.py");
    let mut child = Command::new(python())
        .arg(script)
        .args([kind, &port.to_string(), BUCKET, README_BUCKET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start the {kind} server: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("read the {kind} server's first line: {e}"));
    assert_eq!(line.trim(), "ready", "the {kind} server did not start");
    Server {
        port,
        _child: child,
    }
}

fn s3_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start("s3"))
}

fn gcs_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start("gcs"))
}

fn azure_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start("azure"))
}

/// The endpoint of the S3 server.
pub fn s3_endpoint() -> String {
    format!("http://127.0.0.1:{}", s3_server().port)
}

/// A fresh prefix of the test bucket.
pub fn s3_uri() -> String {
    format!(
        "s3://{BUCKET}/{}?endpoint={}&region=us-east-1&access_key_id=test&secret_access_key=test",
        Uuid::now_v7(),
        s3_endpoint()
    )
}

/// What the S3 server says of object `key` of `bucket`: the `fields` of its HEAD response,
/// asked with boto3 (moto's own client) as an operator would check a bucket, space-separated
/// (`None` for a field it does not have).
pub fn s3_head(bucket: &str, key: &str, fields: &[&str]) -> String {
    let script = "import boto3, sys\n\
        c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
        aws_access_key_id='test', aws_secret_access_key='test')\n\
        r = c.head_object(Bucket=sys.argv[2], Key=sys.argv[3])\n\
        print(*[r.get(f) for f in sys.argv[4:]])\n";
    let out = Command::new(python())
        .args(["-c", script, &s3_endpoint(), bucket, key])
        .args(fields)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `host:port` of the Cloud Storage emulator, as `STORAGE_EMULATOR_HOST` takes it.
pub fn gcs_host() -> String {
    format!("127.0.0.1:{}", gcs_server().port)
}

/// A fresh prefix of the test bucket on the Cloud Storage emulator, its address in the query
/// (a test process cannot set `STORAGE_EMULATOR_HOST` for one test among its threads).
pub fn gcs_uri() -> String {
    format!(
        "gs://{BUCKET}/{}?endpoint=http://{}&skip_signature=true&disable_vm_metadata=true\
         &disable_config_load=true",
        Uuid::now_v7(),
        gcs_host()
    )
}

/// Azurite's development account and its key, as Microsoft documents them.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The blob endpoint of Azurite's development account.
pub fn azure_endpoint() -> String {
    format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", azure_server().port)
}

/// `AZURE_STORAGE_CONNECTION_STRING` for Azurite, as Azurite documents it.
pub fn azure_connection_string() -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};\
         BlobEndpoint={};",
        azure_endpoint()
    )
}

/// A fresh prefix of the test container on Azurite, the account in the query.
pub fn azure_uri() -> String {
    let key: String = url_encode(AZURITE_KEY);
    format!(
        "azblob://{BUCKET}/{}?endpoint={}&account_name={AZURITE_ACCOUNT}&account_key={key}",
        Uuid::now_v7(),
        azure_endpoint()
    )
}

/// `text` with every byte outside the unreserved set percent-encoded, for a URI's query.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A store under test, with whatever keeps it alive.
pub struct TestStore {
    pub name: &'static str,
    pub uri: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub fn fs() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        TestStore {
            name: "fs",
            uri: format!("file://{}", dir.path().display()),
            _dir: Some(dir),
        }
    }

    pub fn memory() -> Self {
        TestStore {
            name: "memory",
            uri: "memory://".into(),
            _dir: None,
        }
    }

    pub fn s3() -> Self {
        TestStore {
            name: "s3",
            uri: s3_uri(),
            _dir: None,
        }
    }

    pub fn gcs() -> Self {
        TestStore {
            name: "gcs",
            uri: gcs_uri(),
            _dir: None,
        }
    }

    pub fn azure() -> Self {
        TestStore {
            name: "azure",
            uri: azure_uri(),
            _dir: None,
        }
    }

    /// Every kind: a folder, memory, and the S3, Cloud Storage and Azure emulators.
    pub fn all() -> Vec<TestStore> {
        vec![
            Self::fs(),
            Self::memory(),
            Self::s3(),
            Self::gcs(),
            Self::azure(),
        ]
    }

    pub fn config(&self) -> StorageBackendConfig {
        StorageBackendConfig::with_uri(self.uri.clone())
    }

    pub fn backend(&self) -> StorageBackend {
        StorageBackend::from_config(self.config()).expect("open the test store")
    }
}

pub fn collection() -> CollectionId {
    CollectionId::from_uuid(Uuid::now_v7())
}

/// A xorshift generator: the same numbers for the same `seed`.
pub fn random(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// `n` documents of dimension `dim`, every field exercised, reproducible from `seed`.
pub fn docs(n: usize, dim: usize, seed: u64) -> Vec<VectorDocument> {
    let mut next = random(seed);
    (0..n)
        .map(|i| {
            let vector = (0..dim)
                .map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
                .collect();
            // Counted from 1: the nil UUID (seed 0, row 0) is no id.
            let mut doc = VectorDocument::new(Uuid::from_u64_pair(seed, i as u64 + 1), vector)
                .with_inserted_at(Timestamp::from_millis(1_700_000_000_000 + i as i64));
            if i % 3 == 0 {
                doc = doc.with_external_id(format!("ext-{i}"));
            }
            if i % 5 == 0 {
                doc = doc.with_metadata(serde_json::json!({ "i": i, "tag": "t" }));
            }
            doc
        })
        .collect()
}

/// What the fake S3 endpoint answers to every request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// An HTTP status with an S3 error body.
    Status(u16, &'static str),
    /// Accept the request and never answer.
    Silence,
}

/// An HTTP endpoint on 127.0.0.1 that answers every request the same way and counts them:
/// how retries and timeouts are observed without a real failure.
pub struct FakeS3 {
    pub uri: String,
    pub requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeS3 {
    pub async fn start(answer: Answer) -> FakeS3 {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    match answer {
                        Answer::Status(status, code) => {
                            let body = format!(
                                "<?xml version=\"1.0\"?><Error><Code>{code}</Code>\
                                 <Message>{code}</Message></Error>"
                            );
                            let response = format!(
                                "HTTP/1.1 {status} {code}\r\nContent-Type: application/xml\r\n\
                                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = socket.write_all(response.as_bytes()).await;
                        }
                        Answer::Silence => {
                            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        }
                    }
                });
            }
        });
        FakeS3 {
            uri: format!(
                "s3://bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A{port}&region=us-east-1\
                 &access_key_id=a&secret_access_key=b"
            ),
            requests,
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Records what a reliability test did, one file a test under `target/tmp/reliability/`, for
/// `scripts/test.sh` to print when every test has run (docs/RELIABILITY.md quotes them).
pub fn record(test: &str, figures: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reliability");
    std::fs::create_dir_all(&dir).expect("create target/tmp/reliability");
    std::fs::write(
        dir.join(format!("{test}.txt")),
        format!("{test}: {figures}\n"),
    )
    .expect("write a reliability record");
}

/// Writes a float32 `.npy` matrix of `rows` × `dim` holding `values`, row after row.
pub fn write_npy(
    path: &std::path::Path,
    rows: usize,
    dim: usize,
    values: impl IntoIterator<Item = f32>,
) {
    use npyz::WriterBuilder;
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the .npy"));
    let mut out = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[rows as u64, dim as u64])
        .writer(file)
        .begin_nd()
        .expect("start the .npy");
    out.extend(values).expect("write the .npy");
    out.finish().expect("finish the .npy");
}

/// Writes `bytes` at `key`, as a test plants a file. With a content type: the Cloud Storage
/// emulator stores none without one, and then cannot describe the object.
pub async fn put(op: &opendal::Operator, key: &str, bytes: &[u8]) {
    op.write_with(key, bytes.to_vec())
        .content_type("application/octet-stream")
        .await
        .unwrap_or_else(|e| panic!("write {key}: {e}"));
}

/// Every key of `backend`'s store with the SHA-256 of its bytes: what a test compares to see
/// that nothing was written.
pub async fn contents(
    backend: &StorageBackend,
) -> Vec<(String, akidb_snapshot::codec::Sha256Digest)> {
    let mut all = Vec::new();
    for key in keys_under(backend, "").await {
        let bytes = backend.store().operator().read(&key).await.unwrap();
        all.push((
            key,
            akidb_snapshot::codec::Sha256Digest::of(&bytes.to_vec()),
        ));
    }
    all
}

/// Every file's key under `prefix` of `backend`'s store, sorted.
pub async fn keys_under(backend: &StorageBackend, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = backend
        .store()
        .operator()
        .list_with(prefix)
        .recursive(true)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.metadata().is_file())
        .map(|e| e.path().to_owned())
        .collect();
    keys.sort();
    keys
}

/// A snapshot of collection `c` built on `base`: `upserts` added (replacing the base's
/// documents of the same ids) and the base's `deletes` removed.
pub async fn update(
    backend: &StorageBackend,
    c: CollectionId,
    base: akidb_snapshot::codec::SnapshotId,
    upserts: Vec<VectorDocument>,
    deletes: Vec<Uuid>,
) -> Result<akidb_snapshot::codec::SnapshotMetadata, akidb_snapshot::Error> {
    backend
        .store()
        .try_create_on_stream(
            c,
            base,
            akidb_snapshot::Change::Update { deletes },
            &backend.encoding(),
            futures::stream::iter([Ok::<_, std::io::Error>(upserts)]),
        )
        .await
}
