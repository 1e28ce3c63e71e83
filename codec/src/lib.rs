//! The Parquet codec of akidb-snapshot: vector collections to and from Parquet files (and the
//! legacy JSON format), in memory, with no I/O of its own.
//!
//! - **Pure and synchronous.** It takes bytes or an `io::Write`, nothing else: no files, no
//!   sockets, no async runtime, no `unsafe`. It builds for `wasm32-unknown-unknown`.
//! - **Exact.** Every `f32` bit pattern survives a Parquet roundtrip (NaN payloads, `-0.0`,
//!   subnormals). The JSON format cannot hold non-finite floats and says so.
//! - **Standard.** The files open unchanged in pyarrow, DuckDB, Polars and other Parquet readers:
//!   UUID and JSON logical types, fixed-size float lists, UTC millisecond timestamps
//!   ([`arrow_schema()`]).
//! - **Safe on hostile input.** Every decoder returns `Ok` or a typed [`Error`] for any bytes;
//!   footers are checked against the file's length and the caller's [`Limits`] before parquet
//!   reads them.
//! - **Bounded memory.** [`ParquetWriter`] and [`ParquetReader`] each hold about one row group,
//!   whatever the size of the snapshot.
//!
//! ```
//! use akidb_snapshot_codec::*;
//! use uuid::Uuid;
//!
//! let header = SnapshotHeader::new(
//!     CollectionId::from_uuid(Uuid::from_u128(1)),
//!     SnapshotId::from_uuid(Uuid::from_u128(2)),
//!     Timestamp::from_millis(1_700_000_000_000),
//! );
//! let docs = vec![
//!     VectorDocument::new(Uuid::from_u128(10), vec![0.1, f32::NAN, -0.0])
//!         .with_external_id("a")
//!         .with_metadata(serde_json::json!({"tag": "x"})),
//! ];
//!
//! let (bytes, summary) = encode_parquet(&docs, &header, &ParquetConfig::default())?;
//! summary.checksum_sha256.verify(&bytes)?;
//! let back = decode_parquet(bytes.into(), &Limits::default())?;
//! assert_eq!(back[0].vector[1].to_bits(), f32::NAN.to_bits());
//! assert_eq!(back[0].vector[2].to_bits(), (-0.0f32).to_bits());
//! # Ok::<(), akidb_snapshot_codec::Error>(())
//! ```

#![forbid(unsafe_code)]

mod assemble;
mod checksum;
mod config;
mod content_hash;
mod decode;
mod encode;
mod encryption;
mod error;
mod file;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hashing;
mod id_file;
mod id_index;
mod id_lookup;
mod json;
mod manifest;
mod metadata;
mod model;
mod page_checksums;
mod pages;
mod parallel;
mod record_batch;
mod schema;
mod selection;
mod stats;
mod summary;
mod thrift;
mod tombstones;
mod validate;

pub use assemble::matrix_batch;
pub use checksum::{ParseDigestError, Sha256Digest};
pub use config::{Compression, Limits, ParquetConfig, ParseConfigError, VectorEncoding};
pub use content_hash::{ContentHash, batch_content_hashes};
pub use decode::{
    DecodedRow, FooterParse, ParquetFooter, ParquetReader, RowGroupInfo, SnapshotInfo,
    decode_parquet, decode_parquet_verified, decode_parquet_with_keys, inspect_parquet,
    inspect_parquet_with_keys,
};
pub use encode::{ParquetWriter, encode_parquet};
pub use encryption::{EncryptionInfo, KeyRing, MasterKey};
pub use error::{BoxError, DocumentRef, Error, ErrorKind, Result};
pub use file::SnapshotFile;
pub use hashing::HashingWriter;
pub use id_index::{ID_INDEX_KIND, IdIndex, IdIndexBuilder, IndexedRow, decode_id_index};
pub use id_lookup::IdLookup;
pub use json::{JsonSnapshot, JsonWriter, decode_json, encode_json};
pub use manifest::{FileTail, IndexFile, MANIFEST_VERSION, PartEntry, PartKind};
pub use metadata::{SnapshotFormat, SnapshotHeader, SnapshotMetadata};
pub use model::{CollectionId, SnapshotId, Timestamp, VectorDocument};
pub use page_checksums::{FileLayout, PageChecksum};
pub use record_batch::batch_matrix;
pub use schema::{SCHEMA_VERSION, arrow_schema, columns, footer_keys, spark_schema};
pub use selection::{DocumentFilter, RowKey};
pub use stats::{DimensionStats, NormHistogram, VectorStats, VectorStatsBuilder};
pub use summary::FileSummary;
pub use tombstones::{TOMBSTONES_KIND, Tombstones, decode_tombstones, encode_tombstones};
pub use validate::DocumentValidator;
