//! The `Snapshotter` trait of DESIGN.md and its two implementations.

use akidb_snapshot_codec::{
    CollectionId, ParquetConfig, SnapshotId, SnapshotMetadata, VectorDocument,
};
use futures::Stream;
use opendal::Operator;

use crate::encoder::Encoding;
use crate::error::{BoxError, Result};
use crate::read::DocumentStream;
use crate::store::SnapshotStore;

/// The interface AkiDB calls to back up and restore a collection. Object-safe: use it as
/// `Arc<dyn Snapshotter>`.
///
/// Whichever implementation is used, `restore_snapshot` reads a snapshot in the format its own
/// metadata names, so snapshots written before a switch of format stay restorable.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use akidb_snapshot::{ParquetSnapshotter, Snapshotter};
/// use akidb_snapshot::codec::{CollectionId, ParquetConfig, VectorDocument};
/// use uuid::Uuid;
///
/// let op = opendal::Operator::new(opendal::services::Memory::default()).unwrap();
/// let snapshotter: Arc<dyn Snapshotter> =
///     Arc::new(ParquetSnapshotter::new(op, ParquetConfig::default()));
///
/// let collection = CollectionId::from_uuid(Uuid::now_v7());
/// let docs = vec![VectorDocument::new(Uuid::now_v7(), vec![0.5, -0.25, 1.0])];
/// let id = snapshotter.create_snapshot(collection, docs.clone()).await.unwrap();
///
/// assert_eq!(snapshotter.restore_snapshot(collection, id).await.unwrap(), docs);
/// assert_eq!(snapshotter.list_snapshots(collection).await.unwrap()[0].snapshot_id, id);
/// snapshotter.delete_snapshot(collection, id).await.unwrap();
/// assert!(snapshotter.list_snapshots(collection).await.unwrap().is_empty());
/// # });
/// ```
#[async_trait::async_trait]
pub trait Snapshotter: Send + Sync + std::fmt::Debug {
    /// Writes `documents` as a new snapshot of the collection and returns its id. Fails with a
    /// validation error, without writing anything, for an empty input or mixed dimensions.
    async fn create_snapshot(
        &self,
        collection_id: CollectionId,
        documents: Vec<VectorDocument>,
    ) -> Result<SnapshotId>;

    /// Reads a snapshot back, after checking its size, SHA-256, count and dimension.
    async fn restore_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<Vec<VectorDocument>>;

    /// The collection's committed snapshots, newest first.
    async fn list_snapshots(&self, collection_id: CollectionId) -> Result<Vec<SnapshotMetadata>>;

    /// Deletes a snapshot (metadata first, then data); not-found if it does not exist.
    async fn delete_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<()>;
}

/// Both snapshotters are a store plus the encoding they write; everything else is the store's.
macro_rules! snapshotter {
    ($name:ident) => {
        impl $name {
            /// The store this snapshotter writes to, for verification, retention and gc.
            pub fn store(&self) -> &SnapshotStore {
                &self.store
            }

            /// How this snapshotter writes new snapshots.
            pub fn encoding(&self) -> &Encoding {
                &self.encoding
            }

            /// Creates a snapshot from a stream of batches, with memory bounded by about one
            /// row group: see [`SnapshotStore::create_snapshot_stream`].
            pub async fn create_snapshot_stream<S>(
                &self,
                collection_id: CollectionId,
                batches: S,
            ) -> Result<SnapshotMetadata>
            where
                S: Stream<Item = Vec<VectorDocument>> + Send,
            {
                self.store
                    .create_snapshot_stream(collection_id, &self.encoding, batches)
                    .await
            }

            /// As [`create_snapshot_stream`](Self::create_snapshot_stream), from a fallible
            /// stream: see [`SnapshotStore::try_create_snapshot_stream`].
            pub async fn try_create_snapshot_stream<S, E>(
                &self,
                collection_id: CollectionId,
                batches: S,
            ) -> Result<SnapshotMetadata>
            where
                S: Stream<Item = std::result::Result<Vec<VectorDocument>, E>> + Send,
                E: Into<BoxError>,
            {
                self.store
                    .try_create_snapshot_stream(collection_id, &self.encoding, batches)
                    .await
            }

            /// Restores a snapshot a row group at a time: see
            /// [`SnapshotStore::restore_snapshot_stream`].
            pub async fn restore_snapshot_stream(
                &self,
                collection_id: CollectionId,
                snapshot_id: SnapshotId,
            ) -> Result<DocumentStream> {
                self.store
                    .restore_snapshot_stream(collection_id, snapshot_id)
                    .await
            }
        }

        #[async_trait::async_trait]
        impl Snapshotter for $name {
            async fn create_snapshot(
                &self,
                collection_id: CollectionId,
                documents: Vec<VectorDocument>,
            ) -> Result<SnapshotId> {
                self.store
                    .create_snapshot(collection_id, &self.encoding, documents)
                    .await
                    .map(|m| m.snapshot_id)
            }

            async fn restore_snapshot(
                &self,
                collection_id: CollectionId,
                snapshot_id: SnapshotId,
            ) -> Result<Vec<VectorDocument>> {
                self.store
                    .restore_snapshot(collection_id, snapshot_id)
                    .await
            }

            async fn list_snapshots(
                &self,
                collection_id: CollectionId,
            ) -> Result<Vec<SnapshotMetadata>> {
                self.store.list_snapshots(collection_id).await
            }

            async fn delete_snapshot(
                &self,
                collection_id: CollectionId,
                snapshot_id: SnapshotId,
            ) -> Result<()> {
                self.store.delete_snapshot(collection_id, snapshot_id).await
            }
        }
    };
}

/// Writes snapshots as Parquet files.
#[derive(Debug, Clone)]
pub struct ParquetSnapshotter {
    store: SnapshotStore,
    encoding: Encoding,
}

impl ParquetSnapshotter {
    /// Parquet snapshots in the store `op` reaches, written with `config`.
    pub fn new(op: Operator, config: ParquetConfig) -> Self {
        Self::on(SnapshotStore::new(op), config)
    }

    /// Parquet snapshots in `store`.
    pub fn on(store: SnapshotStore, config: ParquetConfig) -> Self {
        ParquetSnapshotter {
            store,
            encoding: Encoding::Parquet(config),
        }
    }
}

snapshotter!(ParquetSnapshotter);

/// Writes snapshots in the legacy JSON format (docs/JSON_FORMAT.md), for readers that predate
/// Parquet. Restores read either format.
#[derive(Debug, Clone)]
pub struct JsonSnapshotter {
    store: SnapshotStore,
    encoding: Encoding,
}

impl JsonSnapshotter {
    /// JSON snapshots in the store `op` reaches.
    pub fn new(op: Operator) -> Self {
        Self::on(SnapshotStore::new(op))
    }

    /// JSON snapshots in `store`.
    pub fn on(store: SnapshotStore) -> Self {
        JsonSnapshotter {
            store,
            encoding: Encoding::Json,
        }
    }
}

snapshotter!(JsonSnapshotter);
