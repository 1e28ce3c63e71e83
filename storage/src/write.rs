//! Creating a snapshot: rows are encoded and written to the store as they arrive, then the
//! commit marker makes the snapshot exist (commit.rs). A format v2 snapshot is written as parts
//! of at most [`Layout::part_rows`](crate::Layout) documents, each a Parquet file of its own,
//! then its manifest; a format v1 snapshot (and any JSON snapshot) as one data file, then its
//! metadata file. A failed create leaves nothing committed, and removes what it wrote where it
//! can (gc removes the rest).

use std::collections::VecDeque;
use std::time::Instant;

use akidb_snapshot_codec::{
    CollectionId, DocumentValidator, FileSummary, PartEntry, PartKind, SnapshotHeader, SnapshotId,
    SnapshotMetadata, VectorDocument,
};
use arrow_array::RecordBatch;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use opendal::Buffer;
use tokio::task::JoinHandle;
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::base::{Base, Change};
use crate::encoder::{Batch, Encoder, Encoding, IndexBytes, Spool};
use crate::error::{BoxError, Error, Result, Target};
use crate::keys;
use crate::metrics;
use crate::spans;
use crate::store::{SnapshotStore, now};

/// S3 takes parts of at least 5 MiB; 8 MiB parts keep two in flight within a row group's size.
const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;
const UPLOADS_IN_FLIGHT: usize = 2;

impl SnapshotStore {
    /// Creates a snapshot from a stream of document batches: its files are written as the
    /// batches arrive (a multipart upload each on S3), then the commit marker commits it.
    /// Memory stays about one row group beyond the batch being held. On any failure the
    /// partial files are aborted or removed and nothing is committed.
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
        let batches = split_batches(batches, encoding.batch_rows(), Batch::split);
        self.create(collection_id, None, encoding, batches).await
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
        let batches = split_batches(batches, encoding.batch_rows(), Batch::split_arrow);
        self.create(collection_id, None, encoding, batches).await
    }

    /// Creates a snapshot of collection `collection_id` as a [`Change`] on snapshot `base`:
    /// the base's parts are reused as they are (nothing of them is rewritten), and only the
    /// change is written: a tombstone part of the ids replaced or removed, then the new and
    /// changed documents of `batches` as parts. The manifest names `base` as its parent. The
    /// base must be a format v2 snapshot, and the store configured for format v2 Parquet.
    ///
    /// Before it relies on the base's parts, the create records them under `pending/`, then
    /// checks that the base still exists: a delete of the base and a gc meanwhile cannot take
    /// them (docs/FORMAT.md, "Append"). It then reads the base's content (ids and content
    /// hashes) from its parts' id indexes, without reading a vector; a part without one
    /// (written before indexes existed) is read whole instead.
    ///
    /// A document the change refuses (an id twice in `batches`, an append of an id the base
    /// holds, an upsert also deleted) is [`Error::Codec`] of kind validation, naming it.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use akidb_snapshot::{Change, Encoding, Layout, SnapshotStore};
    /// use akidb_snapshot::codec::{CollectionId, ParquetConfig, VectorDocument};
    /// use futures::{TryStreamExt, stream};
    /// use uuid::Uuid;
    ///
    /// // Never compacted by itself, so that each change shows as it is written.
    /// let store = SnapshotStore::new(opendal::Operator::new(
    ///     opendal::services::Memory::default()).unwrap())
    ///     .with_layout(Layout::default().with_auto_compact_percent(0));
    /// let encoding = Encoding::Parquet(ParquetConfig::default());
    /// let collection = CollectionId::from_uuid(Uuid::now_v7());
    /// let docs: Vec<VectorDocument> =
    ///     (1..=3u128).map(|i| VectorDocument::new(Uuid::from_u128(i), vec![i as f32])).collect();
    /// let monday = store.create_snapshot_stream(collection, &encoding,
    ///     stream::iter([docs.clone()])).await?;
    ///
    /// // Tuesday's full export: document 2 changed, 3 is gone, 4 is new.
    /// let mut export = docs[..2].to_vec();
    /// export[1].vector = vec![20.0];
    /// export.push(VectorDocument::new(Uuid::from_u128(4), vec![4.0]));
    /// let tuesday = store.try_create_on_stream(collection, monday.snapshot_id, Change::Export,
    ///     &encoding, stream::iter([Ok::<_, std::io::Error>(export.clone())])).await?;
    /// assert_eq!(tuesday.parent_snapshot_id, Some(monday.snapshot_id));
    /// // Monday's part, then tombstones of 2 and 3, then a part of 2 and 4.
    /// assert_eq!(tuesday.parts.len(), 3);
    /// assert_eq!(tuesday.parts[2].rows, 2);
    ///
    /// // Wednesday, from the host's own log: 1 is deleted.
    /// let deletes = Change::Update { deletes: vec![Uuid::from_u128(1)] };
    /// let no_upserts = stream::empty::<Result<Vec<VectorDocument>, std::io::Error>>();
    /// let wednesday = store.try_create_on_stream(collection, tuesday.snapshot_id, deletes,
    ///     &encoding, no_upserts).await?;
    ///
    /// let mut restored: Vec<VectorDocument> = store
    ///     .restore_snapshot_stream(collection, wednesday.snapshot_id).await?.try_concat().await?;
    /// restored.sort_by_key(|d| d.document_id);
    /// assert_eq!(restored, export[1..]);
    /// # Ok::<(), akidb_snapshot::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn try_create_on_stream<S, E>(
        &self,
        collection_id: CollectionId,
        base: SnapshotId,
        change: Change,
        encoding: &Encoding,
        batches: S,
    ) -> Result<SnapshotMetadata>
    where
        S: Stream<Item = Result<Vec<VectorDocument>, E>> + Send,
        E: Into<BoxError>,
    {
        let batches = split_batches(batches, encoding.batch_rows(), Batch::split);
        self.create(collection_id, Some((base, change)), encoding, batches)
            .await
    }

    /// As [`try_create_on_stream`](Self::try_create_on_stream), from Arrow batches.
    pub async fn try_create_on_arrow<S, E>(
        &self,
        collection_id: CollectionId,
        base: SnapshotId,
        change: Change,
        encoding: &Encoding,
        batches: S,
    ) -> Result<SnapshotMetadata>
    where
        S: Stream<Item = Result<RecordBatch, E>> + Send,
        E: Into<BoxError>,
    {
        let batches = split_batches(batches, encoding.batch_rows(), Batch::split_arrow);
        self.create(collection_id, Some((base, change)), encoding, batches)
            .await
    }

    /// A create on `base`: the new documents as parts, the tombstones of what they replace and
    /// what is deleted, and the manifest of the base's parts, the tombstones, the new parts.
    async fn write_on(
        &self,
        header: SnapshotHeader,
        encoding: &Encoding,
        base: &Base,
        batches: impl Stream<Item = Result<Batch>> + Send,
    ) -> Result<(SnapshotMetadata, Vec<String>)> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        let batches = base.incoming(target, batches);
        let (parts, dimension) = self
            .write_parts(header, encoding, batches, base.may_be_empty())
            .await?;
        let hidden = match base.write_tombstones(self, header).await {
            Ok(hidden) => hidden,
            Err(e) => {
                self.remove_uncommitted(&keys_of(&parts)).await;
                return Err(e);
            }
        };
        let (manifest, written) = self
            .manifest_of(header, encoding, Some(base), hidden, parts, dimension)
            .await?;
        self.compacted_if_due(encoding, manifest, written, base.id())
            .await
    }

    /// Creates a snapshot of `docs`, encoding them a row group at a time without copying.
    pub(crate) async fn create_snapshot(
        &self,
        collection_id: CollectionId,
        encoding: &Encoding,
        docs: Vec<VectorDocument>,
    ) -> Result<SnapshotMetadata> {
        let batches = Batch::split(docs, encoding.batch_rows()).map(Ok::<_, BoxError>);
        self.create(collection_id, None, encoding, stream::iter(batches))
            .await
    }

    async fn create<S, E>(
        &self,
        collection_id: CollectionId,
        base: Option<(SnapshotId, Change)>,
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
            base = base.as_ref().map(|(id, _)| tracing::field::display(id)),
            vector_count = Empty, size_bytes = Empty, duration_ms = Empty);
        let operation = span.clone();
        async move {
            let started = Instant::now();
            let target = Target::snapshot(header.collection_id, header.snapshot_id);
            let in_parts =
                matches!(encoding, Encoding::Parquet(_)) && self.layout().format_version >= 2;
            let base = match base {
                Some((base, change)) if in_parts => {
                    Some(Base::reserve(self, target, base, change).await?)
                }
                Some(_) => {
                    return Err(Error::validation(
                        target,
                        "a create on a base writes format v2 parts: the store is configured for \
                         format v1 or JSON",
                    ));
                }
                None => None,
            };
            let batches = input_errors(target, batches);
            let written = match (&base, in_parts) {
                (Some(base), _) => self.write_on(header, encoding, base, batches).await,
                (None, true) => match self.write_parts(header, encoding, batches, false).await {
                    Ok((parts, dimension)) => {
                        self.manifest_of(header, encoding, None, None, parts, dimension)
                            .await
                    }
                    Err(e) => Err(e),
                },
                (None, false) => self.write_single(header, encoding, batches).await,
            };
            let (metadata, written) = match written {
                Ok(written) => written,
                Err(e) => {
                    if base.is_some() {
                        self.remove_pending(target).await;
                    }
                    return Err(e);
                }
            };
            tracing::info!(
                rows = metadata.vector_count,
                bytes = metadata.size_bytes,
                files = written.len(),
                duration_ms = spans::millis(started),
                "data written"
            );
            self.commit_created(&metadata, &written, &operation, started, "snapshot created")
                .await?;
            Ok(metadata)
        }
        .instrument(span)
        .await
    }

    /// Format v1: every batch into one data file. Returns the metadata to commit and the key
    /// written.
    async fn write_single(
        &self,
        header: SnapshotHeader,
        encoding: &Encoding,
        batches: impl Stream<Item = Result<Batch>> + Send,
    ) -> Result<(SnapshotMetadata, Vec<String>)> {
        let format = encoding.format();
        let key = keys::data_key(header.collection_id, header.snapshot_id, format);
        let mut file = FileWriter::open(self, header, encoding, key, None).await?;
        let mut batches = std::pin::pin!(batches);
        let written = async {
            while let Some(batch) = batches.next().await {
                file.write(batch?).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            file.abort().await;
            return Err(e);
        }
        let (key, summary) = file.finish().await?;
        let metadata = SnapshotMetadata::new(&header, format, encoding.compression(), &summary);
        Ok((metadata, vec![key]))
    }

    /// Format v2: batches into parts of at most `part_rows` documents, in input order, each
    /// checked as the continuation of the one before. While a full part's last row group and
    /// footer are written and its upload completes, the next part fills: up to `concurrency`
    /// parts are in flight at once. Returns the parts written, in order, and their dimension;
    /// on failure, what was written is removed.
    pub(crate) async fn write_parts(
        &self,
        header: SnapshotHeader,
        encoding: &Encoding,
        batches: impl Stream<Item = Result<Batch>> + Send,
        may_be_empty: bool,
    ) -> Result<(Vec<PartEntry>, u32)> {
        let part_rows = self.layout().part_rows;
        let mut finishing = Finishing::new(self.concurrency());
        let mut open: Option<FileWriter> = None;
        let mut next: Option<DocumentValidator> = None;
        let mut batches = std::pin::pin!(batches);
        let written = async {
            while let Some(batch) = batches.next().await {
                let mut batch = batch?;
                while batch.len() > 0 {
                    let file = match &mut open {
                        Some(file) => file,
                        None => open.insert(
                            FileWriter::open_part(self, header, encoding, next.take()).await?,
                        ),
                    };
                    let room = usize::try_from(part_rows - file.rows).unwrap_or(usize::MAX);
                    let (head, rest) = batch.split_at(room);
                    file.write(head).await?;
                    batch = rest;
                    if file.rows == part_rows
                        && let Some(full) = open.take()
                    {
                        next = full.next_part();
                        finishing.push(full).await?;
                    }
                }
            }
            // With no rows at all, one part is opened only for the codec to say so, unless no
            // rows is a valid input (an update that only deletes).
            if finishing.is_empty() && open.is_none() && !may_be_empty {
                open = Some(FileWriter::open_part(self, header, encoding, None).await?);
            }
            if let Some(last) = open.take() {
                finishing.push(last).await?;
            }
            finishing.drain().await
        }
        .await;
        if let Err(e) = written {
            if let Some(file) = open {
                file.abort().await;
            }
            self.remove_uncommitted(&finishing.settle().await).await;
            return Err(e);
        }
        Ok(finishing.done())
    }

    /// The manifest of a snapshot of the parts of `base` (if any), then the tombstone part
    /// `hidden` (if any), then `parts`, or, if they make none, an error after removing what
    /// this create wrote (never the base's parts). Returns it with the keys this create wrote.
    pub(crate) async fn manifest_of(
        &self,
        header: SnapshotHeader,
        encoding: &Encoding,
        base: Option<&Base>,
        hidden: Option<PartEntry>,
        parts: Vec<PartEntry>,
        dimension: u32,
    ) -> Result<(SnapshotMetadata, Vec<String>)> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        let keys = keys_of(hidden.iter().chain(&parts));
        let manifest = match base {
            Some(base) if !parts.is_empty() && base.dimension() != dimension => {
                Err(Error::validation(
                    target,
                    format!(
                        "the new documents have dimension {dimension}, those of base snapshot {} \
                         {}",
                        base.id(),
                        base.dimension()
                    ),
                ))
            }
            _ => {
                let reused = base.map(Base::parts).unwrap_or_default();
                let dimension = base.map_or(dimension, Base::dimension);
                let all = reused.into_iter().chain(hidden).chain(parts).collect();
                SnapshotMetadata::manifest(
                    &header,
                    encoding.compression(),
                    dimension,
                    all,
                    base.map(Base::id),
                )
                .map_err(|e| Error::codec(target, e))
            }
        };
        match manifest {
            Ok(manifest) => Ok((manifest, keys)),
            Err(e) => {
                self.remove_uncommitted(&keys).await;
                Err(e)
            }
        }
    }
}

/// The keys of every file `parts` name: each part, and its id index.
pub(crate) fn keys_of<'a>(parts: impl IntoIterator<Item = &'a PartEntry>) -> Vec<String> {
    (parts.into_iter())
        .flat_map(PartEntry::keys)
        .map(str::to_owned)
        .collect()
}

/// `batches` with their errors as [`Error::Input`] of the snapshot `target`.
pub(crate) fn input_errors<E: Into<BoxError>>(
    target: Target,
    batches: impl Stream<Item = std::result::Result<Batch, E>> + Send,
) -> impl Stream<Item = Result<Batch>> + Send {
    batches.map(move |b| {
        b.map_err(|e| Error::Input {
            target,
            source: e.into(),
        })
    })
}

/// `batches`, each cut by `split` into batches of at most `rows` rows (a row group).
pub(crate) fn split_batches<S, T, E, I>(
    batches: S,
    rows: usize,
    split: fn(T, usize) -> I,
) -> impl Stream<Item = std::result::Result<Batch, E>> + Send
where
    S: Stream<Item = std::result::Result<T, E>> + Send,
    E: Into<BoxError>,
    I: Iterator<Item = Batch> + Send,
{
    batches
        .map(move |b| b.map(|b| stream::iter(split(b, rows).map(Ok::<_, E>))))
        .try_flatten()
}

/// Full parts being completed (their last row group, footer and upload) in tasks of their own,
/// in order, while the next part fills; at most `limit` parts in flight, counting that one.
struct Finishing {
    limit: usize,
    tasks: VecDeque<JoinHandle<Result<(PartEntry, u32)>>>,
    parts: Vec<PartEntry>,
    /// The parts' dimension: each continued the checks of the one before, so they agree.
    dimension: u32,
}

impl Finishing {
    fn new(limit: usize) -> Self {
        Finishing {
            limit: limit.max(1),
            tasks: VecDeque::new(),
            parts: Vec::new(),
            dimension: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.parts.is_empty()
    }

    /// Completes `file` in a task; waits for the oldest ones while too many are in flight.
    async fn push(&mut self, file: FileWriter) -> Result<()> {
        let task = file.finish_part().instrument(tracing::Span::current());
        self.tasks.push_back(tokio::spawn(task));
        while self.tasks.len() >= self.limit {
            self.join_oldest().await?;
        }
        Ok(())
    }

    async fn join_oldest(&mut self) -> Result<()> {
        let Some(task) = self.tasks.pop_front() else {
            return Ok(());
        };
        let (part, dimension) = task.await.map_err(|e| Error::Internal {
            reason: format!("a part's task did not complete: {e}"),
        })??;
        self.parts.push(part);
        self.dimension = dimension;
        Ok(())
    }

    /// Waits for every part.
    async fn drain(&mut self) -> Result<()> {
        while !self.tasks.is_empty() {
            self.join_oldest().await?;
        }
        Ok(())
    }

    /// After a failure: waits for the tasks still running (a failed one aborts its own upload)
    /// and returns the keys of every part completed, for removal.
    async fn settle(self) -> Vec<String> {
        let mut keys = keys_of(&self.parts);
        for task in self.tasks {
            if let Ok(Ok((part, _))) = task.await {
                keys.extend(keys_of([&part]));
            }
        }
        keys
    }

    /// The parts, in order, and their dimension.
    fn done(self) -> (Vec<PartEntry>, u32) {
        (self.parts, self.dimension)
    }
}

/// One file being written: its encoder, and the store's writer its bytes go to.
struct FileWriter {
    store: SnapshotStore,
    header: SnapshotHeader,
    target: Target,
    key: String,
    /// Where a data part's id index goes.
    index_key: Option<String>,
    encoder: Option<Encoder>,
    spool: Spool,
    writer: opendal::Writer,
    /// Rows written so far.
    rows: u64,
}

impl FileWriter {
    /// Opens `key` for writing (never over an existing file), encoding with `encoding`, its
    /// checks continuing `validator` where it is the next part of an input.
    async fn open(
        store: &SnapshotStore,
        header: SnapshotHeader,
        encoding: &Encoding,
        key: String,
        validator: Option<DocumentValidator>,
    ) -> Result<Self> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        let spool = Spool::default();
        let encoder = Encoder::new(encoding, header, spool.clone(), store.encryption())?
            .continuing(validator);
        let writer = store
            .operator()
            .writer_with(&key)
            .chunk(UPLOAD_PART_BYTES)
            .concurrent(UPLOADS_IN_FLIGHT)
            .if_not_exists(true)
            .await
            .map_err(|e| Error::store(target, "write", &key, e))?;
        Ok(FileWriter {
            store: store.clone(),
            header,
            target,
            key,
            index_key: None,
            encoder: Some(encoder),
            spool,
            writer,
            rows: 0,
        })
    }

    /// Opens a new data part of `header`'s collection.
    async fn open_part(
        store: &SnapshotStore,
        header: SnapshotHeader,
        encoding: &Encoding,
        validator: Option<DocumentValidator>,
    ) -> Result<Self> {
        let part_id = Uuid::now_v7();
        let key = keys::part_key(header.collection_id, part_id, PartKind::Data);
        let mut file = Self::open(store, header, encoding, key, validator).await?;
        file.encoder = file.encoder.map(Encoder::indexed);
        file.index_key = Some(keys::index_key(header.collection_id, part_id));
        Ok(file)
    }

    /// Encodes `batch` and uploads what that completed.
    async fn write(&mut self, batch: Batch) -> Result<()> {
        let encoder = self.encoder.take().ok_or_else(|| Error::Internal {
            reason: format!("{}: a write after a failed one", self.key),
        })?;
        let (started, rows) = (Instant::now(), batch.len());
        let (encoder, result) = encoder.write(batch).await?;
        result.map_err(|e| Error::codec(self.target, e))?;
        self.encoder = Some(encoder);
        self.rows += rows as u64;
        // The encoder holds the last group until the next one, or the footer, follows it.
        let uploaded_bytes = self.upload().await?;
        tracing::debug!(
            rows,
            uploaded_bytes,
            duration_ms = spans::millis(started),
            "row group encoded"
        );
        Ok(())
    }

    /// What the next part's encoder continues from.
    fn next_part(&self) -> Option<DocumentValidator> {
        self.encoder.as_ref().and_then(Encoder::next_part)
    }

    async fn upload(&mut self) -> Result<u64> {
        let bytes: Buffer = self.spool.take();
        if bytes.is_empty() {
            return Ok(0);
        }
        let len = bytes.len() as u64;
        self.writer
            .write(bytes)
            .await
            .map_err(|e| Error::store(self.target, "write", &self.key, e))?;
        metrics::record_upload(self.store.scheme(), len);
        Ok(len)
    }

    /// Writes the footer and completes the file (a multipart upload on S3); on failure the
    /// file is aborted. Returns its key and its summary.
    async fn finish(self) -> Result<(String, FileSummary)> {
        let (key, summary, _) = self.finish_indexed().await?;
        Ok((key, summary))
    }

    /// [`finish`](Self::finish), and the id index, if the encoder gathered one.
    async fn finish_indexed(mut self) -> Result<(String, FileSummary, Option<IndexBytes>)> {
        match self.complete().await {
            Ok((summary, index)) => Ok((std::mem::take(&mut self.key), summary, index)),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    /// [`finish`](Self::finish) for a data part, then its id index written beside it (if that
    /// fails, the part is removed): its manifest entry and its dimension.
    async fn finish_part(self) -> Result<(PartEntry, u32)> {
        let (store, target, index_key) = (self.store.clone(), self.target, self.index_key.clone());
        let (key, summary, index) = self.finish_indexed().await?;
        let mut part = PartEntry::new(key, PartKind::Data, &summary);
        if let (Some(index_key), Some((bytes, index_summary))) = (index_key, index) {
            let len = bytes.len() as u64;
            let written = store
                .operator()
                .write_with(&index_key, bytes)
                .if_not_exists(true)
                .await;
            if let Err(e) = written {
                store.remove_uncommitted(&keys_of([&part])).await;
                return Err(Error::store(target, "write", &index_key, e));
            }
            metrics::record_upload(store.scheme(), len);
            part = part.with_index(index_key, &index_summary);
        }
        Ok((part, summary.dimension))
    }

    async fn complete(&mut self) -> Result<(FileSummary, Option<IndexBytes>)> {
        let encoder = self.encoder.take().ok_or_else(|| Error::Internal {
            reason: format!("{}: finished after a failed write", self.key),
        })?;
        let summary = encoder
            .finish(self.header)
            .await?
            .map_err(|e| Error::codec(self.target, e))?;
        self.upload().await?;
        self.writer
            .close()
            .await
            .map_err(|e| Error::store(self.target, "write", &self.key, e))?;
        Ok(summary)
    }

    /// Aborts the upload, so that no partial file lingers (gc removes one that does).
    async fn abort(mut self) {
        if let Err(e) = self.writer.abort().await {
            tracing::warn!(key = %self.key, error = %e,
                "could not abort a partial file; gc will remove it");
        }
    }
}
