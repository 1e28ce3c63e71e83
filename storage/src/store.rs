//! The commit protocol of DESIGN.md over one opendal `Operator`.

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use akidb_snapshot_codec::{
    CollectionId, Limits, SnapshotFormat, SnapshotHeader, SnapshotId, SnapshotInfo,
    SnapshotMetadata, Timestamp, VectorDocument,
};
use arrow_array::RecordBatch;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use opendal::{Buffer, Operator};
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::error::{BoxError, Error, Result, Target};
use crate::keys::{self, Key};
use crate::metrics;
use crate::read::{DataFile, DocumentStream, Row, RowStream};
use crate::spans;
use crate::write::{Batch, Encoder, Encoding, Spool};

/// S3 takes parts of at least 5 MiB; 8 MiB parts keep two in flight within a row group's size.
const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;
const UPLOADS_IN_FLIGHT: usize = 2;
/// Metadata files read at once by `list`.
const LIST_READ_AHEAD: usize = 16;

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
    scheme: &'static str,
}

impl SnapshotStore {
    /// Snapshots in the store `op` reaches, read with the codec's default [`Limits`].
    pub fn new(op: Operator) -> Self {
        let scheme = op.info().scheme();
        SnapshotStore {
            op,
            limits: Limits::default(),
            scheme,
        }
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

    /// Creates a snapshot from a stream of document batches: the data file is written as the
    /// batches arrive (a multipart upload on S3), then the metadata file commits it. Memory
    /// stays about one row group beyond the batch being held. On any failure the partial data
    /// file is aborted and nothing is committed.
    pub async fn create_snapshot_stream<S>(
        &self,
        collection_id: CollectionId,
        encoding: &Encoding,
        batches: S,
    ) -> Result<SnapshotMetadata>
    where
        S: Stream<Item = Vec<VectorDocument>> + Send,
    {
        self.try_create_snapshot_stream(
            collection_id,
            encoding,
            batches.map(Ok::<_, std::convert::Infallible>),
        )
        .await
    }

    /// As [`create_snapshot_stream`](Self::create_snapshot_stream), from a fallible stream (a
    /// file being parsed, a cursor over a database): its first error aborts the snapshot and
    /// is returned as [`Error::Input`].
    pub async fn try_create_snapshot_stream<S, E>(
        &self,
        collection_id: CollectionId,
        encoding: &Encoding,
        batches: S,
    ) -> Result<SnapshotMetadata>
    where
        S: Stream<Item = Result<Vec<VectorDocument>, E>> + Send,
        E: Into<BoxError>,
    {
        self.create_split(collection_id, encoding, batches, Batch::split)
            .await
    }

    /// As [`try_create_snapshot_stream`](Self::try_create_snapshot_stream), from Arrow batches
    /// with the snapshot's columns (as
    /// [`ParquetWriter::write_batch`](akidb_snapshot_codec::ParquetWriter::write_batch) takes
    /// them), encoded without copying into documents (the JSON format does copy).
    pub async fn try_create_snapshot_arrow<S, E>(
        &self,
        collection_id: CollectionId,
        encoding: &Encoding,
        batches: S,
    ) -> Result<SnapshotMetadata>
    where
        S: Stream<Item = Result<RecordBatch, E>> + Send,
        E: Into<BoxError>,
    {
        self.create_split(collection_id, encoding, batches, Batch::split_arrow)
            .await
    }

    /// Creates a snapshot from `batches`, each cut by `split` to at most a row group.
    async fn create_split<S, T, E, I>(
        &self,
        collection_id: CollectionId,
        encoding: &Encoding,
        batches: S,
        split: fn(T, usize) -> I,
    ) -> Result<SnapshotMetadata>
    where
        S: Stream<Item = Result<T, E>> + Send,
        E: Into<BoxError>,
        I: Iterator<Item = Batch> + Send,
    {
        let rows = encoding.batch_rows();
        let batches = batches
            .map(move |b| b.map(|b| stream::iter(split(b, rows).map(Ok::<_, E>))))
            .try_flatten();
        self.create(collection_id, encoding, batches).await
    }

    /// Creates a snapshot of `docs`, encoding them a row group at a time without copying.
    pub(crate) async fn create_snapshot(
        &self,
        collection_id: CollectionId,
        encoding: &Encoding,
        docs: Vec<VectorDocument>,
    ) -> Result<SnapshotMetadata> {
        let batches = Batch::split(docs, encoding.batch_rows()).map(Ok::<_, BoxError>);
        self.create(collection_id, encoding, stream::iter(batches))
            .await
    }

    async fn create<S, E>(
        &self,
        collection_id: CollectionId,
        encoding: &Encoding,
        batches: S,
    ) -> Result<SnapshotMetadata>
    where
        S: Stream<Item = Result<Batch, E>> + Send,
        E: Into<BoxError>,
    {
        let header =
            SnapshotHeader::new(collection_id, SnapshotId::from_uuid(Uuid::now_v7()), now());
        let span = tracing::info_span!("create_snapshot", %collection_id,
            snapshot_id = %header.snapshot_id, format = encoding.format().extension(),
            vector_count = Empty, size_bytes = Empty, duration_ms = Empty);
        let operation = span.clone();
        async move {
            let started = Instant::now();
            let target = Target::snapshot(header.collection_id, header.snapshot_id);
            let format = encoding.format();
            let data_key = keys::data_key(header.collection_id, header.snapshot_id, format);

            let spool = Spool::default();
            let encoder = Encoder::new(encoding, header, spool.clone())?;
            let mut writer = self
                .op
                .writer_with(&data_key)
                .chunk(UPLOAD_PART_BYTES)
                .concurrent(UPLOADS_IN_FLIGHT)
                .if_not_exists(true)
                .await
                .map_err(|e| Error::store(target, "write", &data_key, e))?;

            // Closing completes a multipart upload; if either step fails, the parts must not
            // linger, so the writer is aborted.
            let written = match self
                .write_data(target, &data_key, encoder, &spool, &mut writer, batches)
                .await
            {
                Ok(summary) => (writer.close().await)
                    .map(|_| summary)
                    .map_err(|e| Error::store(target, "write", &data_key, e)),
                Err(e) => Err(e),
            };
            let summary = match written {
                Ok(summary) => summary,
                Err(e) => {
                    if let Err(abort) = writer.abort().await {
                        tracing::warn!(key = %data_key, error = %abort,
                            "could not abort a partial data file; gc will remove it");
                    }
                    return Err(e);
                }
            };

            tracing::info!(
                rows = summary.vector_count,
                bytes = summary.size_bytes,
                duration_ms = spans::millis(started),
                "data written"
            );

            let metadata = SnapshotMetadata::new(&header, format, encoding.compression(), &summary);
            let committing = Instant::now();
            if let Err(e) = self.commit(target, &metadata).await {
                self.after_failed_commit(&metadata, &data_key, e).await?;
            }
            tracing::info!(
                duration_ms = spans::millis(committing),
                "metadata committed"
            );
            metrics::record_create(&metadata, started.elapsed());
            spans::record_snapshot(&operation, &metadata);
            spans::finish(&operation, started, "snapshot created");
            Ok(metadata)
        }
        .instrument(span)
        .await
    }

    async fn write_data<S, E>(
        &self,
        target: Target,
        key: &str,
        mut encoder: Encoder,
        spool: &Spool,
        writer: &mut opendal::Writer,
        batches: S,
    ) -> Result<akidb_snapshot_codec::FileSummary>
    where
        S: Stream<Item = Result<Batch, E>> + Send,
        E: Into<BoxError>,
    {
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(|e| Error::Input {
                target,
                source: e.into(),
            })?;
            let (started, rows) = (Instant::now(), batch.len());
            let (next, result) = encoder.write(batch).await?;
            result.map_err(|e| Error::codec(target, e))?;
            encoder = next;
            // The encoder holds the last group until the next one, or the footer, follows it.
            let uploaded_bytes = self.upload(target, key, writer, spool.take()).await?;
            tracing::debug!(
                rows,
                uploaded_bytes,
                duration_ms = spans::millis(started),
                "row group encoded"
            );
        }
        let summary = encoder
            .finish()
            .await?
            .map_err(|e| Error::codec(target, e))?;
        self.upload(target, key, writer, spool.take()).await?;
        Ok(summary)
    }

    async fn upload(
        &self,
        target: Target,
        key: &str,
        writer: &mut opendal::Writer,
        bytes: Buffer,
    ) -> Result<u64> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let len = bytes.len() as u64;
        writer
            .write(bytes)
            .await
            .map_err(|e| Error::store(target, "write", key, e))?;
        metrics::record_upload(self.scheme, len);
        Ok(len)
    }

    /// Writes the metadata file, which makes the snapshot exist; never over an existing one.
    async fn commit(&self, target: Target, metadata: &SnapshotMetadata) -> Result<()> {
        let key = keys::metadata_key(metadata.collection_id, metadata.snapshot_id);
        let json = metadata.to_json().map_err(|e| Error::codec(target, e))?;
        let len = json.len() as u64;
        self.op
            .write_with(&key, json)
            .if_not_exists(true)
            .await
            .map_err(|e| Error::store(target, "write", &key, e))?;
        metrics::record_upload(self.scheme, len);
        Ok(())
    }

    /// Decides what a failed commit left. The metadata file may have been written although
    /// its reply was lost (or a retry then found it, `AlreadyExists`): its snapshot id is new,
    /// so a file there that says what was committed is this create's, and the create
    /// succeeded. Where it is surely absent, the data file is removed now; where that cannot
    /// be told, it is left for gc, which removes only data files no metadata file commits.
    async fn after_failed_commit(
        &self,
        metadata: &SnapshotMetadata,
        data_key: &str,
        failure: Error,
    ) -> Result<()> {
        match self
            .metadata(metadata.collection_id, metadata.snapshot_id)
            .await
        {
            Ok(found) if found == *metadata => {
                tracing::warn!(error = %failure, "the commit reported a failure but landed");
                Ok(())
            }
            Err(Error::NotFound { .. }) => {
                if let Err(e) = self.op.delete(data_key).await {
                    tracing::warn!(key = %data_key, error = %e,
                        "could not remove an uncommitted data file; gc will remove it");
                }
                Err(failure)
            }
            _ => Err(failure),
        }
    }

    /// The metadata of a committed snapshot.
    pub async fn metadata(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let target = Target::snapshot(collection_id, snapshot_id);
        let key = keys::metadata_key(collection_id, snapshot_id);
        let bytes = self.read_all(target, &key).await?;
        let metadata = SnapshotMetadata::from_json(&bytes).map_err(|e| Error::codec(target, e))?;
        if metadata.collection_id != collection_id || metadata.snapshot_id != snapshot_id {
            return Err(Error::corruption(
                target,
                format!(
                    "{key} describes snapshot {} of collection {}",
                    metadata.snapshot_id, metadata.collection_id
                ),
            ));
        }
        Ok(metadata)
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

    #[tracing::instrument(name = "restore_snapshot", skip_all, fields(%collection_id,
        %snapshot_id, vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    async fn restore_rows<T: Row>(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
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
        DataFile::of(self.clone(), metadata)
            .stream(on_verified)
            .await
    }

    /// The metadata of a committed snapshot, as the first phase of an operation on it: logged
    /// with its time, and what it says recorded on the operation's span.
    async fn read_metadata(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let started = Instant::now();
        let metadata = self.metadata(collection_id, snapshot_id).await?;
        spans::record_snapshot(&tracing::Span::current(), &metadata);
        tracing::info!(duration_ms = spans::millis(started), "metadata read");
        Ok(metadata)
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
        DataFile::of(self.clone(), metadata.clone())
            .stream::<VectorDocument>(move || spans::finish(&span, started, "snapshot verified"))
            .await?
            .try_for_each(|_| async { Ok(()) })
            .await?;
        Ok(metadata)
    }

    /// A snapshot's metadata and, for Parquet, what its footer says (row groups, sizes,
    /// schema), checked against each other, without reading any row group.
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
        let info = DataFile::of(self.clone(), metadata.clone()).info().await?;
        spans::finish(&span, started, "snapshot inspected");
        Ok((metadata, info))
    }

    /// A snapshot's data file as stored, after checking its size and SHA-256 (to copy it
    /// elsewhere unchanged).
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
        let bytes = DataFile::of(self.clone(), metadata.clone()).bytes().await?;
        spans::finish(&span, started, "snapshot restored");
        Ok((metadata, bytes))
    }

    /// The newest committed snapshot of a collection; [`Error::NotFound`] if it has none.
    pub async fn latest_snapshot(&self, collection_id: CollectionId) -> Result<SnapshotMetadata> {
        self.list_snapshots(collection_id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound {
                target: Target::collection(collection_id),
                key: keys::collection_prefix(collection_id),
            })
    }

    /// Committed snapshots of a collection, newest first. A metadata file that cannot be read
    /// is reported with a warning and left out: it does not describe a usable snapshot.
    #[tracing::instrument(skip_all, fields(%collection_id, snapshots = Empty,
        duration_ms = Empty))]
    pub async fn list_snapshots(
        &self,
        collection_id: CollectionId,
    ) -> Result<Vec<SnapshotMetadata>> {
        let started = Instant::now();
        let target = Target::collection(collection_id);
        let prefix = keys::collection_prefix(collection_id);
        let entries = self
            .op
            .list(&prefix)
            .await
            .map_err(|e| Error::store(target, "list", &prefix, e))?;
        // The futures are made up front (not polled): a closure over `self` inside the stream
        // would make the trait's future fail the `Send` check.
        let reads: Vec<_> = entries
            .iter()
            .filter_map(|entry| match Key::parse(entry.path()) {
                Some(Key::Metadata(c, s)) if c == collection_id => Some(s),
                _ => None,
            })
            .map(|s| self.metadata(collection_id, s))
            .collect();
        let read: Vec<Result<SnapshotMetadata>> = stream::iter(reads)
            .buffer_unordered(LIST_READ_AHEAD)
            .collect()
            .await;
        let mut snapshots = Vec::with_capacity(read.len());
        for metadata in read {
            match metadata {
                Ok(m) => snapshots.push(m),
                // Deleted between the listing and the read.
                Err(Error::NotFound { .. }) => {}
                Err(e @ Error::Storage { .. }) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable metadata file"),
            }
        }
        snapshots.sort_by(|a, b| {
            (b.created_at, b.snapshot_id.as_uuid()).cmp(&(a.created_at, a.snapshot_id.as_uuid()))
        });
        let span = tracing::Span::current();
        span.record("snapshots", snapshots.len());
        spans::finish(&span, started, "snapshots listed");
        Ok(snapshots)
    }

    /// Deletes a snapshot: its metadata file first (so it stops existing at once), then its
    /// data file. [`Error::NotFound`] if it does not exist. Once the metadata file is gone the
    /// delete has happened: a data file that then cannot be removed is logged and left for
    /// [`gc`](Self::gc), not reported as a failure the caller would retry into `NotFound`.
    #[tracing::instrument(skip_all, fields(%collection_id, %snapshot_id,
        vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    pub async fn delete_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<()> {
        let started = Instant::now();
        let target = Target::snapshot(collection_id, snapshot_id);
        let key = keys::metadata_key(collection_id, snapshot_id);
        let data_keys: Vec<String> = match self.metadata(collection_id, snapshot_id).await {
            Ok(m) => {
                spans::record_snapshot(&tracing::Span::current(), &m);
                vec![keys::data_key(collection_id, snapshot_id, m.format)]
            }
            Err(e @ (Error::NotFound { .. } | Error::Storage { .. })) => return Err(e),
            // An unreadable metadata file still names a snapshot: remove both possible files.
            Err(_) => [SnapshotFormat::Parquet, SnapshotFormat::Json]
                .into_iter()
                .map(|f| keys::data_key(collection_id, snapshot_id, f))
                .collect(),
        };
        self.op
            .delete(&key)
            .await
            .map_err(|e| Error::store(target, "delete", &key, e))?;
        for data in data_keys {
            if let Err(e) = self.op.delete(&data).await {
                tracing::warn!(key = %data, error = %e,
                    "could not remove a deleted snapshot's data file; gc will remove it");
            }
        }
        spans::finish(&tracing::Span::current(), started, "snapshot deleted");
        Ok(())
    }

    /// Removes data files that no metadata file commits (left by a create that crashed or
    /// failed to clean up) once they are older than `grace`, across every collection, and a
    /// local store's temporary files as old (left by a process killed while writing). A
    /// file's age is its store modification time, or else the time in its UUID v7 snapshot id;
    /// a file with neither is never removed. Returns the keys removed.
    ///
    /// `grace` must exceed the longest create: a data file being written has no metadata yet.
    #[tracing::instrument(skip_all, fields(removed = Empty, duration_ms = Empty))]
    pub async fn gc(&self, grace: Duration) -> Result<Vec<String>> {
        let started = Instant::now();
        let target = Target::default();
        let entries = self
            .op
            .list_with(keys::ROOT)
            .recursive(true)
            .await
            .map_err(|e| Error::store(target, "list", keys::ROOT, e))?;
        let mut committed = BTreeSet::new();
        let mut data = Vec::new();
        for entry in &entries {
            match Key::parse(entry.path()) {
                Some(Key::Metadata(c, s)) => {
                    committed.insert((c, s));
                }
                Some(Key::Data(c, s, _)) => data.push((c, s, entry.path().to_owned())),
                None => {}
            }
        }
        let now = SystemTime::now();
        let mut removed = Vec::new();
        for (c, s, key) in data {
            if committed.contains(&(c, s)) {
                continue;
            }
            let target = Target::snapshot(c, s);
            if !self.is_older(target, &key, v7_time(s), now, grace).await?
                // A metadata file written since the listing makes it a snapshot after all.
                || self.op.exists(&keys::metadata_key(c, s)).await.unwrap_or(true)
            {
                continue;
            }
            self.remove(target, key, &mut removed).await?;
        }
        let temporaries = self
            .op
            .list(keys::TEMP_DIR)
            .await
            .map_err(|e| Error::store(target, "list", keys::TEMP_DIR, e))?;
        for entry in temporaries {
            let key = entry.path();
            if entry.metadata().is_file() && self.is_older(target, key, None, now, grace).await? {
                self.remove(target, key.to_owned(), &mut removed).await?;
            }
        }
        let span = tracing::Span::current();
        span.record("removed", removed.len());
        spans::finish(&span, started, "gc done");
        Ok(removed)
    }

    /// Whether `key` is older than `grace`, by its modification time, else `born`; a file
    /// gone meanwhile, or of unknown age, is not.
    async fn is_older(
        &self,
        target: Target,
        key: &str,
        born: Option<SystemTime>,
        now: SystemTime,
        grace: Duration,
    ) -> Result<bool> {
        let modified = match self.op.stat(key).await {
            Ok(meta) => meta.last_modified().map(SystemTime::from),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::store(target, "stat", key, e)),
        };
        let Some(born) = modified.or(born) else {
            tracing::warn!(%key, "orphaned file of unknown age left in place");
            return Ok(false);
        };
        Ok(now.duration_since(born).unwrap_or_default() >= grace)
    }

    async fn remove(&self, target: Target, key: String, removed: &mut Vec<String>) -> Result<()> {
        self.op
            .delete(&key)
            .await
            .map_err(|e| Error::store(target, "delete", &key, e))?;
        tracing::info!(%key, "orphaned file removed");
        removed.push(key);
        Ok(())
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

    async fn read_all(&self, target: Target, key: &str) -> Result<Bytes> {
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

/// When a UUID v7 snapshot id was minted.
fn v7_time(snapshot_id: SnapshotId) -> Option<SystemTime> {
    let (secs, nanos) = snapshot_id.as_uuid().get_timestamp()?.to_unix();
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}
