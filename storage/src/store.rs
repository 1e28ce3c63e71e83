//! The store: one opendal `Operator`, the limits files are read with and the layout new
//! snapshots are written in, and the reads every operation shares. The operations live by
//! concept: write.rs (create), read.rs (restore), commit.rs (commit markers, list, delete),
//! gc.rs, retention.rs.

use std::ops::Range;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use akidb_snapshot_codec::{
    CollectionId, Limits, SnapshotId, SnapshotInfo, SnapshotMetadata, Timestamp, VectorDocument,
};
use arrow_array::RecordBatch;
use bytes::{Bytes, BytesMut};
use futures::stream::TryStreamExt;
use opendal::Operator;
use tracing::field::Empty;

use crate::error::{Error, Result, Target};
use crate::layout::Layout;
use crate::metrics;
use crate::read::{DocumentStream, Row, RowStream, SnapshotFiles, StoredFile};
use crate::shard::Shard;
use crate::spans;

/// Snapshots in one store: create, restore, list, delete, verify and garbage collection, each
/// following the commit protocol. Cheap to clone; clones share the store.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use akidb_snapshot::{Encoding, SnapshotStore};
/// use akidb_snapshot::codec::{CollectionId, ParquetConfig, VectorDocument};
/// use futures::{stream, TryStreamExt};
/// use uuid::Uuid;
///
/// let store = SnapshotStore::new(opendal::Operator::new(
///     opendal::services::Memory::default()).unwrap());
/// let collection = CollectionId::from_uuid(Uuid::now_v7());
/// let batches = (0..3).map(|b| {
///     (0..100).map(|i| VectorDocument::new(Uuid::now_v7(), vec![(b * 100 + i) as f32; 8]))
///         .collect::<Vec<_>>()
/// });
/// let metadata = store
///     .create_snapshot_stream(collection, &Encoding::Parquet(ParquetConfig::default()),
///         stream::iter(batches))
///     .await.unwrap();
/// assert_eq!(metadata.vector_count, 300);
///
/// let restored: Vec<_> = store.restore_snapshot_stream(collection, metadata.snapshot_id)
///     .await.unwrap().try_concat().await.unwrap();
/// assert_eq!(restored[150].vector, vec![150.0; 8]);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    op: Operator,
    limits: Limits,
    layout: Layout,
    concurrency: usize,
    scheme: &'static str,
}

impl SnapshotStore {
    /// Snapshots in the store `op` reaches, read with the codec's default [`Limits`].
    pub fn new(op: Operator) -> Self {
        let scheme = op.info().scheme();
        SnapshotStore {
            op,
            limits: Limits::default(),
            layout: Layout::default(),
            concurrency: default_concurrency(),
            scheme,
        }
    }

    /// Keeps up to `parts` parts of a create in flight at once (one filling while the others
    /// complete their uploads) instead of the default, the number of cores.
    pub fn with_concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// How many parts of a create are in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Writes new Parquet snapshots in this layout instead of the default (format v2, parts of
    /// [`DEFAULT_PART_ROWS`](crate::DEFAULT_PART_ROWS)).
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// The layout new Parquet snapshots are written in.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The store's scheme (`fs`, `s3`, `memory`), as metrics label it.
    pub(crate) fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Reads files with these limits instead (raise them for trusted files larger than the
    /// defaults).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits files are read with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The opendal operator, with its layers.
    pub fn operator(&self) -> &Operator {
        &self.op
    }

    /// Restores a snapshot as a stream of batches (one per row group), whatever format it was
    /// written in. Size, footer, count and dimension are checked before the first batch; the
    /// SHA-256 after the last, so a consumer must treat the stream as failed if any item is an
    /// error.
    pub async fn restore_snapshot_stream(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<DocumentStream> {
        self.restore_rows(collection_id, snapshot_id).await
    }

    /// As [`restore_snapshot_stream`](Self::restore_snapshot_stream), as Arrow batches of the
    /// snapshot schema ([`arrow_schema`](akidb_snapshot_codec::arrow_schema)), decoded straight
    /// from Parquet without building documents (a JSON snapshot is converted).
    pub async fn restore_snapshot_arrow(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<RowStream<RecordBatch>> {
        self.restore_rows(collection_id, snapshot_id).await
    }

    /// As [`restore_snapshot_stream`](Self::restore_snapshot_stream), only the parts of
    /// `shard`: the N shards of a snapshot, restored by N workers, hold every document exactly
    /// once, in manifest order within each shard.
    pub async fn restore_shard_stream(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
    ) -> Result<DocumentStream> {
        self.restore_rows_of(collection_id, snapshot_id, shard)
            .await
    }

    /// As [`restore_shard_stream`](Self::restore_shard_stream), as Arrow batches.
    pub async fn restore_shard_arrow(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
    ) -> Result<RowStream<RecordBatch>> {
        self.restore_rows_of(collection_id, snapshot_id, shard)
            .await
    }

    async fn restore_rows<T: Row>(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<RowStream<T>> {
        self.restore_rows_of(collection_id, snapshot_id, Shard::ALL)
            .await
    }

    #[tracing::instrument(name = "restore_snapshot", skip_all, fields(%collection_id,
        %snapshot_id, %shard, vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    async fn restore_rows_of<T: Row>(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
    ) -> Result<RowStream<T>> {
        let started = Instant::now();
        let metadata = self.read_metadata(collection_id, snapshot_id).await?;
        let format = metadata.format;
        let span = tracing::Span::current();
        // Counted once the last batch passed every check, never after an error.
        let on_verified = move || {
            metrics::record_restore(format, started.elapsed());
            spans::finish(&span, started, "snapshot restored");
        };
        SnapshotFiles::of(self.clone(), &metadata)?
            .shard(shard)
            .stream(on_verified)
            .await
    }

    /// Restores a whole snapshot into memory.
    pub(crate) async fn restore_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<Vec<VectorDocument>> {
        let mut batches = self
            .restore_snapshot_stream(collection_id, snapshot_id)
            .await?;
        let mut docs = Vec::new();
        while let Some(batch) = batches.try_next().await? {
            if docs.is_empty() {
                docs.reserve_exact(batch.len());
            }
            docs.extend(batch);
        }
        Ok(docs)
    }

    /// Reads and checks a snapshot completely (size, SHA-256, every row group, count and
    /// dimension) without keeping the documents. Returns its metadata when every check passed.
    #[tracing::instrument(skip_all, fields(%collection_id, %snapshot_id,
        vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    pub async fn verify_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let started = Instant::now();
        let metadata = self.read_metadata(collection_id, snapshot_id).await?;
        let span = tracing::Span::current();
        SnapshotFiles::of(self.clone(), &metadata)?
            .stream::<VectorDocument>(move || spans::finish(&span, started, "snapshot verified"))
            .await?
            .try_for_each(|_| async { Ok(()) })
            .await?;
        Ok(metadata)
    }

    /// A snapshot's metadata and, for a snapshot of one Parquet file (a v1 snapshot or a v2
    /// snapshot of one part), what its footer says (row groups, sizes, schema), checked against
    /// each other, without reading any row group.
    #[tracing::instrument(skip_all, fields(%collection_id, %snapshot_id,
        vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    pub async fn inspect_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<(SnapshotMetadata, Option<SnapshotInfo>)> {
        let started = Instant::now();
        let metadata = self.read_metadata(collection_id, snapshot_id).await?;
        let span = tracing::Span::current();
        let info = SnapshotFiles::of(self.clone(), &metadata)?.info().await?;
        spans::finish(&span, started, "snapshot inspected");
        Ok((metadata, info))
    }

    /// The files of a committed snapshot, in order (a v1 snapshot's data file, or a v2
    /// snapshot's parts), as its commit marker describes them, after checking the marker: what
    /// another tool must read to read the snapshot. No file is read.
    pub async fn snapshot_files(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<(SnapshotMetadata, Vec<StoredFile>)> {
        let metadata = self.metadata(collection_id, snapshot_id).await?;
        let files = SnapshotFiles::of(self.clone(), &metadata)?.described();
        Ok((metadata, files))
    }

    /// A snapshot's one file as stored (a v1 snapshot's data file, or a v2 snapshot's only
    /// part), after checking its size and SHA-256 (to copy it elsewhere unchanged).
    /// [`Error::Input`] for a snapshot of several parts.
    #[tracing::instrument(name = "restore_snapshot", skip_all, fields(%collection_id,
        %snapshot_id, vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    pub async fn read_data_file(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<(SnapshotMetadata, Bytes)> {
        let started = Instant::now();
        let metadata = self.read_metadata(collection_id, snapshot_id).await?;
        let span = tracing::Span::current();
        let bytes = SnapshotFiles::of(self.clone(), &metadata)?.bytes().await?;
        spans::finish(&span, started, "snapshot restored");
        Ok((metadata, bytes))
    }

    pub(crate) async fn size_of(&self, target: Target, key: &str) -> Result<u64> {
        match self.op.stat(key).await {
            Ok(meta) => Ok(meta.content_length()),
            Err(e) => Err(Error::store(target, "stat", key, e)),
        }
    }

    pub(crate) async fn read_range(
        &self,
        target: Target,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes> {
        let expected = range.end - range.start;
        // Copied chunk by chunk into one buffer, each chunk freed as it is copied: collecting
        // the chunks first and joining them after held the range twice, and fresh pages are
        // what a large read costs most on a VM (docs/BENCHMARKS.md).
        let mut bytes = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
        self.op
            .reader(key)
            .await
            .map_err(|e| Error::store(target, "read", key, e))?
            .read_into(&mut bytes, range)
            .await
            .map_err(|e| Error::store(target, "read", key, e))?;
        let bytes = bytes.freeze();
        if bytes.len() as u64 != expected {
            return Err(Error::corruption(
                target,
                format!(
                    "{key} changed while being read: asked for {expected} bytes, got {}",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    pub(crate) async fn read_all(&self, target: Target, key: &str) -> Result<Bytes> {
        let bytes = self
            .op
            .read(key)
            .await
            .map_err(|e| Error::store(target, "read", key, e))?
            .to_bytes();
        self.count_download(bytes.len() as u64);
        Ok(bytes)
    }

    pub(crate) fn count_download(&self, bytes: u64) {
        metrics::record_download(self.scheme, bytes);
    }
}

pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(millis)
}

/// Runs CPU-bound codec work off the async threads. The codec catches its own panics at its
/// boundary, so a failure here (a panic that escaped, or a runtime shutting down) is reported
/// as [`Error::Internal`] rather than raised in the caller.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal {
            reason: format!("a codec task did not complete: {e}"),
        })
}

/// The default concurrency: the number of cores.
pub(crate) fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}
