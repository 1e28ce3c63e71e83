//! Vector collection snapshots on object storage: Parquet (or legacy JSON) files on S3, a local
//! folder or memory, through [opendal](https://docs.rs/opendal).
//!
//! - [`Snapshotter`], the interface of DESIGN.md, with [`ParquetSnapshotter`] and
//!   [`JsonSnapshotter`]; both restore either format, by each snapshot's own metadata.
//! - [`SnapshotStore`], the commit protocol: data file first, metadata file last (a snapshot
//!   exists only once its metadata does), never overwriting; restore checks size, SHA-256,
//!   count and dimension; streaming create and restore with memory bounded by a row group;
//!   verification, [`RetentionPolicy`], and `gc` of orphaned data files.
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
//! assert!(dir.join(format!("snapshots/{collection}/{id}.parquet")).exists());
//! # std::fs::remove_dir_all(dir).unwrap();
//! # });
//! ```

pub use akidb_snapshot_codec as codec;

mod backend;
mod config;
mod error;
mod keys;
pub mod metrics;
mod read;
mod retention;
mod snapshotter;
mod spans;
mod store;
mod uri;
mod write;

pub use backend::StorageBackend;
pub use config::{DEFAULT_URI, RetryConfig, SnapshotterType, StorageBackendConfig, TimeoutConfig};
pub use error::{BoxError, Error, ErrorKind, Result, Target};
pub use read::{DocumentStream, RowStream};
pub use retention::RetentionPolicy;
pub use snapshotter::{JsonSnapshotter, ParquetSnapshotter, Snapshotter};
pub use store::SnapshotStore;
pub use write::Encoding;
