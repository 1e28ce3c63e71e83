//! The metrics of DESIGN.md move when snapshots are created, restored and retried. One test in
//! its own binary: the recorder is global to the process.

mod support;

use akidb_snapshot::codec::SnapshotId;
use akidb_snapshot::metrics as m;
use akidb_snapshot::{StorageBackend, StorageBackendConfig};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::{Answer, FakeS3, TestStore, collection, docs};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_and_histograms_move() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");

    let store = TestStore::memory();
    let backend = store.backend();
    let c = collection();
    let id = backend
        .snapshotter()
        .create_snapshot(c, docs(2_000, 32, 1))
        .await
        .unwrap();
    let size = backend.store().metadata(c, id).await.unwrap().size_bytes;
    assert_eq!(
        backend
            .snapshotter()
            .restore_snapshot(c, id)
            .await
            .unwrap()
            .len(),
        2_000
    );

    // A restore that fails its checksum is not counted as a restore.
    let damaged = backend
        .snapshotter()
        .create_snapshot(c, docs(100, 32, 2))
        .await
        .unwrap();
    let key = format!("snapshots/{c}/{damaged}.parquet");
    let op = backend.store().operator();
    let mut bytes = op.read(&key).await.unwrap().to_vec();
    bytes[10] ^= 1;
    op.delete(&key).await.unwrap();
    op.write(&key, bytes).await.unwrap();
    let err = backend
        .snapshotter()
        .restore_snapshot(c, damaged)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), akidb_snapshot::ErrorKind::DataCorruption);

    // A store that always answers 503: two retries.
    let server = FakeS3::start(Answer::Status(503, "SlowDown")).await;
    let mut config = StorageBackendConfig::with_uri(&server.uri);
    config.retry.max_retries = 2;
    config.retry.min_delay_ms = 1;
    config.retry.max_delay_ms = 2;
    let failing = StorageBackend::from_config(config).unwrap();
    failing
        .store()
        .metadata(c, SnapshotId::from_uuid(Uuid::now_v7()))
        .await
        .unwrap_err();

    let values = snapshotter.snapshot().into_vec();
    let find = |kind: MetricKind, name: &str, label: (&str, &str)| {
        values
            .iter()
            .find(|(key, _, _, _)| {
                key.kind() == kind
                    && key.key().name() == name
                    && key
                        .key()
                        .labels()
                        .any(|l| l.key() == label.0 && l.value() == label.1)
            })
            .map(|entry| &entry.3)
            .unwrap_or_else(|| panic!("{name}{{{}={}}} was not recorded", label.0, label.1))
    };
    let counter = |name, label| match find(MetricKind::Counter, name, label) {
        DebugValue::Counter(n) => *n,
        other => panic!("{name} is {other:?}"),
    };
    let histogram = |name, label| match find(MetricKind::Histogram, name, label) {
        DebugValue::Histogram(values) => {
            values.iter().map(|v| v.into_inner()).collect::<Vec<f64>>()
        }
        other => panic!("{name} is {other:?}"),
    };
    let parquet = ("format", "parquet");
    assert_eq!(counter(m::CREATES_TOTAL, parquet), 2);
    assert_eq!(counter(m::RESTORES_TOTAL, parquet), 1);
    assert_eq!(histogram(m::CREATE_DURATION_SECONDS, parquet).len(), 2);
    assert_eq!(histogram(m::RESTORE_DURATION_SECONDS, parquet).len(), 1);
    assert_eq!(histogram(m::SIZE_BYTES, parquet)[0], size as f64);
    let ratio = histogram(m::COMPRESSION_RATIO, parquet)[0];
    let expected = 2_000.0 * 32.0 * 4.0 / size as f64;
    assert!((ratio - expected).abs() < 1e-9, "{ratio} vs {expected}");
    // Data and metadata files went up, and came down again (metadata read twice).
    assert!(counter(m::UPLOAD_BYTES_TOTAL, ("store", "memory")) > size);
    assert!(counter(m::DOWNLOAD_BYTES_TOTAL, ("store", "memory")) > size);
    assert_eq!(counter(m::STORE_RETRIES_TOTAL, ("operation", "read")), 2);
}
