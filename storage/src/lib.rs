//! Vector collection snapshots on object storage.
//!
//! This crate will hold the `Snapshotter` trait and its Parquet and JSON implementations on
//! opendal (see docs/DESIGN.md). Until then it re-exports the codec, which already encodes,
//! decodes and verifies snapshot files in memory.

pub use akidb_snapshot_codec as codec;
