//! The tracing of operations: one `info` span per operation of the store (create, restore,
//! list, delete, verify, inspect, prune, gc; `akidb-cli` adds migrate), carrying the fields
//! DESIGN.md names, and events inside it.
//!
//! | span | fields |
//! |---|---|
//! | `create_snapshot`, `restore_snapshot`, `verify_snapshot`, `inspect_snapshot`, `delete_snapshot` | `collection_id`, `snapshot_id`, `vector_count`, `size_bytes`, `duration_ms` |
//! | `list_snapshots`, `apply_retention` | `collection_id`, `snapshots`, `duration_ms` |
//! | `gc` | `removed`, `duration_ms` |
//!
//! Fields not known when an operation starts are recorded when they are. Events:
//! - `info`, one per phase, with its `duration_ms` and `bytes`: "data written" and "metadata
//!   committed" (create), "metadata read", "footer read" and "data checked" (restore, verify,
//!   inspect), and one closing event per operation with the span's figures;
//! - `debug`, one per row group: "row group encoded" (rows, the bytes uploaded so far, which
//!   lag a group behind, duration_ms) and "row group decoded" (row_group, rows, duration_ms).
//!
//! `akidb-cli -v` prints the `info` events and `-vv` the `debug` ones too.

use std::time::Instant;

use akidb_snapshot_codec::SnapshotMetadata;
use tracing::Span;

/// Milliseconds since `started`, as the `duration_ms` fields hold them.
pub(crate) fn millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Records what `metadata` says of the snapshot on `span` (whose `snapshot_id` is set already).
pub(crate) fn record_snapshot(span: &Span, metadata: &SnapshotMetadata) {
    span.record("vector_count", metadata.vector_count);
    span.record("size_bytes", metadata.size_bytes);
}

/// Records the operation's `duration_ms` on `span`, and says `what` happened, as the operation's
/// closing event.
pub(crate) fn finish(span: &Span, started: Instant, what: &'static str) {
    let duration_ms = millis(started);
    span.record("duration_ms", duration_ms);
    tracing::info!(parent: span, duration_ms, "{what}");
}
