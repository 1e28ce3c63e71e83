//! The metrics of DESIGN.md, through the `metrics` facade: nothing is recorded until the
//! application installs a recorder (Prometheus exporter, statsd, …).
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `snapshot_creates_total` | counter | `format` |
//! | `snapshot_restores_total` | counter | `format` |
//! | `snapshot_create_duration_seconds` | histogram | `format` |
//! | `snapshot_restore_duration_seconds` | histogram | `format` |
//! | `snapshot_size_bytes` | histogram | `format` |
//! | `snapshot_compression_ratio` | gauge (of the last create) | `format` |
//! | `s3_upload_bytes_total` | counter | `store` |
//! | `s3_download_bytes_total` | counter | `store` |
//! | `snapshot_store_retries_total` | counter | `operation` |
//!
//! The byte counters keep DESIGN's names but count every store, labelled by its scheme
//! (`s3`, `fs`, `memory`), so a local store's traffic is visible too. The compression ratio is
//! the vectors' in-memory size (count × dimension × 4 bytes) over the file's size.

use std::time::Duration;

use akidb_snapshot_codec::{SnapshotFormat, SnapshotMetadata};

/// `snapshot_creates_total{format}`
pub const CREATES_TOTAL: &str = "snapshot_creates_total";
/// `snapshot_restores_total{format}`
pub const RESTORES_TOTAL: &str = "snapshot_restores_total";
/// `snapshot_create_duration_seconds{format}`
pub const CREATE_DURATION_SECONDS: &str = "snapshot_create_duration_seconds";
/// `snapshot_restore_duration_seconds{format}`
pub const RESTORE_DURATION_SECONDS: &str = "snapshot_restore_duration_seconds";
/// `snapshot_size_bytes{format}`
pub const SIZE_BYTES: &str = "snapshot_size_bytes";
/// `snapshot_compression_ratio{format}`
pub const COMPRESSION_RATIO: &str = "snapshot_compression_ratio";
/// `s3_upload_bytes_total{store}`
pub const UPLOAD_BYTES_TOTAL: &str = "s3_upload_bytes_total";
/// `s3_download_bytes_total{store}`
pub const DOWNLOAD_BYTES_TOTAL: &str = "s3_download_bytes_total";
/// `snapshot_store_retries_total{operation}`
pub const STORE_RETRIES_TOTAL: &str = "snapshot_store_retries_total";

fn format_label(format: SnapshotFormat) -> &'static str {
    format.extension()
}

pub(crate) fn record_create(metadata: &SnapshotMetadata, elapsed: Duration) {
    let format = format_label(metadata.format);
    metrics::counter!(CREATES_TOTAL, "format" => format).increment(1);
    metrics::histogram!(CREATE_DURATION_SECONDS, "format" => format).record(elapsed);
    metrics::histogram!(SIZE_BYTES, "format" => format).record(metadata.size_bytes as f64);
    if metadata.size_bytes > 0 {
        let raw = metadata.vector_count as f64 * f64::from(metadata.dimension) * 4.0;
        metrics::gauge!(COMPRESSION_RATIO, "format" => format)
            .set(raw / metadata.size_bytes as f64);
    }
}

pub(crate) fn record_restore(format: SnapshotFormat, elapsed: Duration) {
    let format = format_label(format);
    metrics::counter!(RESTORES_TOTAL, "format" => format).increment(1);
    metrics::histogram!(RESTORE_DURATION_SECONDS, "format" => format).record(elapsed);
}

pub(crate) fn record_upload(store: &'static str, bytes: u64) {
    metrics::counter!(UPLOAD_BYTES_TOTAL, "store" => store).increment(bytes);
}

pub(crate) fn record_download(store: &'static str, bytes: u64) {
    metrics::counter!(DOWNLOAD_BYTES_TOTAL, "store" => store).increment(bytes);
}

/// opendal's retry layer calls this before each backoff.
pub(crate) fn record_retry(event: opendal::layers::RetryEvent<'_>) {
    let operation: &'static str = event.op.into_static();
    tracing::warn!(
        operation,
        attempt = event.attempt,
        retry_after_ms = event.retry_after.as_millis() as u64,
        error = %event.err,
        "transient store failure, retrying"
    );
    metrics::counter!(STORE_RETRIES_TOTAL, "operation" => operation).increment(1);
}
