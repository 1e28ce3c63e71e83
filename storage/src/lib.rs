//! Vector collection snapshots on object storage: Parquet (or legacy JSON) files on S3, a local
//! folder or memory, through [opendal](https://docs.rs/opendal).
//!
//! - [`Snapshotter`], the interface of DESIGN.md, with [`ParquetSnapshotter`] and
//!   [`JsonSnapshotter`]; both restore either format, by each snapshot's own metadata.
//! - [`SnapshotStore`], the commit protocol: data first, the commit marker last (a snapshot
//!   exists only once its metadata file does), never overwriting. New Parquet snapshots are
//!   format v2, a manifest of immutable parts of at most [`Layout::part_rows`] documents;
//!   format v1 (one data file) and JSON snapshots restore as ever. Restore checks each file's
//!   size and SHA-256, then count and dimension; streaming create and restore with memory
//!   bounded by a row group; verification, [`RetentionPolicy`], and `gc`, mark and sweep of
//!   files no snapshot names.
//! - [`StorageBackend`] and [`StorageBackendConfig`], read from the TOML of DESIGN.md, with store
//!   URIs `file://PATH` (the default, `file://./akidb-snapshots`), `memory://` and
//!   `s3://bucket/prefix`; transient failures retried with backoff and jitter, a timeout per
//!   request.
//! - [`metrics`] names what is recorded through the `metrics` facade; every operation is a
//!   `tracing` span with the snapshot's ids, count, size and duration, and says what each of its
//!   phases took (`info`) and each row group (`debug`).
//!
//! The codec is re-exported as [`codec`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use akidb_snapshot::StorageBackend;
//! use akidb_snapshot::codec::{CollectionId, VectorDocument};
//! use uuid::Uuid;
//!
//! let dir = std::env::temp_dir().join(format!("akidb-doc-{}", Uuid::now_v7()));
//! let backend = StorageBackend::open(&format!("file://{}", dir.display())).unwrap();
//! let snapshotter = backend.snapshotter();
//!
//! let collection = CollectionId::from_uuid(Uuid::now_v7());
//! let docs: Vec<_> = (0..1000)
//!     .map(|i| VectorDocument::new(Uuid::now_v7(), vec![i as f32; 64]))
//!     .collect();
//! let id = snapshotter.create_snapshot(collection, docs.clone()).await.unwrap();
//! assert_eq!(snapshotter.restore_snapshot(collection, id).await.unwrap(), docs);
//! // The manifest commits the snapshot; its one part (1000 documents) is in parts/, with the
//! // part's id index beside it.
//! assert!(dir.join(format!("snapshots/{collection}/{id}.metadata.json")).exists());
//! assert_eq!(std::fs::read_dir(dir.join(format!("parts/{collection}"))).unwrap().count(), 2);
//! # std::fs::remove_dir_all(dir).unwrap();
//! # });
//! ```

pub use akidb_snapshot_codec as codec;

mod backend;
mod base;
mod commit;
mod compact;
mod config;
mod config_file;
mod copy;
mod encoder;
mod error;
mod gc;
mod ids;
mod import;
mod keys;
mod layout;
mod lifecycle;
pub mod metrics;
mod pending;
mod read;
mod retention;
mod shard;
mod snapshotter;
mod space;
mod spans;
mod store;
mod uri;
mod write;

pub use backend::StorageBackend;
pub use base::Change;
pub use config::{
    DEFAULT_URI, ENCRYPTION_KEY_ENV, EncryptionConfig, RetryConfig, ServerSideEncryption,
    SnapshotterType, StorageBackendConfig, TimeoutConfig,
};
pub use copy::CopiedSnapshot;
pub use encoder::Encoding;
pub use error::{BoxError, Error, ErrorKind, Result, StoreFailure, Target};
pub use layout::{DEFAULT_AUTO_COMPACT_PERCENT, DEFAULT_PART_ROWS, Layout};
pub use lifecycle::{LifecycleAction, LifecycleConfig, RetentionRule, TransferRule};
pub use pending::ShardReceipt;
pub use read::{DocumentStream, RowStream, SelectedRows, Selection, SelectionReport, StoredFile};
pub use retention::RetentionPolicy;
pub use shard::{ParseShardError, Shard};
pub use snapshotter::{JsonSnapshotter, ParquetSnapshotter, Snapshotter};
pub use space::exclusive_bytes;
pub use store::SnapshotStore;
