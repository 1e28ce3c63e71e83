//! Transient store failures are retried with backoff (opendal's retry layer), permanent ones
//! are not, and every attempt has a time limit. Observed through an endpoint that counts the
//! requests it receives.

mod support;

use akidb_snapshot::codec::SnapshotId;
use akidb_snapshot::{ErrorKind, StorageBackend, StorageBackendConfig};
use support::{Answer, FakeS3, collection};
use uuid::Uuid;

fn config(uri: &str, retries: usize) -> StorageBackendConfig {
    let mut config = StorageBackendConfig::with_uri(uri);
    config.retry.max_retries = retries;
    config.retry.min_delay_ms = 1;
    config.retry.max_delay_ms = 5;
    config
}

async fn restore_through(
    answer: Answer,
    config: impl Fn(&str) -> StorageBackendConfig,
) -> (akidb_snapshot::Error, usize) {
    let server = FakeS3::start(answer).await;
    let backend = StorageBackend::from_config(config(&server.uri)).unwrap();
    let err = backend
        .snapshotter()
        .restore_snapshot(collection(), SnapshotId::from_uuid(Uuid::now_v7()))
        .await
        .unwrap_err();
    (err, server.requests())
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (err, requests) = restore_through(Answer::Status(503, "SlowDown"), |u| config(u, 3)).await;
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert_eq!(requests, 4, "one attempt and three retries");
    assert!(
        err.to_string().contains("metadata.json"),
        "names the key: {err}"
    );
}

#[tokio::test]
async fn permission_denied_is_not_retried() {
    let (err, requests) =
        restore_through(Answer::Status(403, "AccessDenied"), |u| config(u, 3)).await;
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(err.to_string().contains("PermissionDenied"), "{err}");
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let (err, requests) = restore_through(Answer::Status(404, "NoSuchKey"), |u| config(u, 3)).await;
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn each_attempt_has_a_time_limit() {
    let (err, requests) = restore_through(Answer::Silence, |u| {
        let mut c = config(u, 1);
        c.timeout.request_secs = 1;
        c.timeout.io_secs = 1;
        c
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(
        err.to_string().to_lowercase().contains("timeout") || err.to_string().contains("timed out"),
        "{err}"
    );
    assert_eq!(requests, 2, "the timed-out attempt was retried once");
}
