//! Restoring a snapshot as a stream of document batches, with ranged reads.
//!
//! A Parquet file is read front to back in one range per row group (each range runs from the
//! end of the previous one, so every byte is read exactly once and hashed in order), and each
//! row group is decoded on the blocking pool as soon as it arrives, a few at a time; a file of
//! fewer row groups than cores has each group decoded in parts, one per core. The footer
//! comes from one read of the file's tail. The SHA-256 of the whole file can only be known
//! after the last byte, so the stream checks it after its last batch: a consumer must treat the
//! stream as failed if any item is an error. The `Vec` restore collects the stream, so it
//! returns documents only when every check passed.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use akidb_snapshot_codec::{
    CollectionId, Compression, DecodedRow, FileSummary, FooterParse, HashingWriter, IndexFile,
    ParquetFooter, PartKind, RowKey, Sha256Digest, SnapshotFormat, SnapshotId, SnapshotInfo,
    SnapshotMetadata, Tombstones, VectorDocument, decode_json, decode_tombstones,
};
use arrow_array::RecordBatch;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tracing::Span;
use tracing::field::Empty;

use crate::encoder::Encoding;
use crate::error::{Error, ErrorKind, Result, Target};
use crate::keys::{self, Key};
use crate::metrics;
use crate::shard::Shard;
use crate::spans;
use crate::store::{SnapshotStore, blocking};

mod content;
mod hiding;
mod select;

use hiding::Hiding;

pub(crate) use content::Content;
pub use select::{SelectedRows, Selection, SelectionReport};

/// Documents restored a batch (a row group) at a time.
pub type DocumentStream = RowStream<VectorDocument>;

/// Rows restored a row group at a time, as documents or Arrow batches ([`DecodedRow`]).
pub type RowStream<T> = BoxStream<'static, Result<Vec<T>>>;

/// Row groups read ahead and decoded at once: enough to keep both the network and the cores
/// busy, while memory stays a few row groups.
const READ_AHEAD: usize = 2;

impl SnapshotStore {
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
        let files = SnapshotFiles::of(self.clone(), &metadata)?.shard(shard);
        // What a shard's restore reads: its parts, not the whole snapshot.
        if shard != Shard::ALL {
            let (rows, bytes) = files.data_size();
            span.record("vector_count", rows);
            span.record("size_bytes", bytes);
        }
        // Counted once the last batch passed every check, never after an error.
        let on_verified = move || {
            metrics::record_restore(format, started.elapsed());
            spans::finish(&span, started, "snapshot restored");
        };
        files.stream(on_verified).await
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
    /// dimension of each file, and each data part's id index) without keeping the documents.
    /// Returns its metadata when every check passed. An encrypted snapshot whose key this store
    /// lacks is checked by its stored bytes only: every file's size and SHA-256 and the id
    /// indexes, nothing decrypted.
    #[tracing::instrument(skip_all, fields(%collection_id, %snapshot_id,
        vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    pub async fn verify_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let started = Instant::now();
        let metadata = self.read_metadata(collection_id, snapshot_id).await?;
        let indexes = SnapshotFiles::of(self.clone(), &metadata)?
            .check_indexes()
            .await?;
        tracing::debug!(indexes, "id indexes checked");
        let span = tracing::Span::current();
        if !self.can_decrypt(&metadata) {
            // Without the key the contents cannot be decoded, but every stored byte is still
            // checked against its SHA-256 (docs/ENCRYPTION.md).
            SnapshotFiles::of(self.clone(), &metadata)?
                .check_stored_bytes()
                .await?;
            spans::finish(&span, started, "snapshot verified (stored bytes)");
            return Ok(metadata);
        }
        SnapshotFiles::of(self.clone(), &metadata)?
            .stream::<VectorDocument>(move || spans::finish(&span, started, "snapshot verified"))
            .await?
            .try_for_each(|_| async { Ok(()) })
            .await?;
        Ok(metadata)
    }

    /// A snapshot's metadata and, for a snapshot of one Parquet file (a v1 snapshot or a v2
    /// snapshot of one part), what its footer says (row groups, sizes, schema), checked against
    /// each other, without reading any row group. No footer for an encrypted snapshot whose key
    /// this store lacks.
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
        // Without its key, an encrypted snapshot's footer cannot be read: its metadata says
        // what there is to say.
        let info = if self.can_decrypt(&metadata) {
            SnapshotFiles::of(self.clone(), &metadata)?.info().await?
        } else {
            None
        };
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
}

impl SnapshotStore {
    /// Reads and checks a Parquet file at `key` whole, as a restore reads a part, though no
    /// commit marker describes it yet: its count and dimension are what its own footer (or,
    /// without `akidb.*` keys, its columns) says. Each decoded batch goes to `each`. Returns
    /// what a manifest needs of it, with the SHA-256 of the bytes read. For a part of
    /// snapshot `target` that another tool wrote (`snapshot import`).
    pub(crate) async fn read_new_part(
        &self,
        target: Target,
        key: &str,
        mut each: impl FnMut(&RecordBatch) -> Result<()>,
    ) -> Result<(FileSummary, Option<Compression>)> {
        let (Some(collection_id), Some(snapshot_id)) = (target.collection_id, target.snapshot_id)
        else {
            return Err(Error::Internal {
                reason: "a part read for no snapshot".to_owned(),
            });
        };
        let size_bytes = self.size_of(target, key).await?;
        let mut file = DataFile {
            store: self.clone(),
            target,
            marker: keys::metadata_key(collection_id, snapshot_id),
            claim: Claim {
                key: key.to_owned(),
                format: SnapshotFormat::Parquet,
                size_bytes,
                checksum: None,
                rows: 0,
                dimension: 0,
                collection_id,
                snapshot_id: None,
                kind: PartKind::Data,
                position: 0,
                index: None,
            },
            span: Span::current(),
        };
        let (_, _, footer) = file.unchecked_footer(size_bytes).await?;
        let info = footer.info();
        let (rows, dimension, compression) = (info.vector_count, info.dimension, info.compression);
        let encryption = info.encryption.clone();
        (file.claim.rows, file.claim.dimension) = (rows, dimension);
        let (verified, digest) = futures::channel::oneshot::channel();
        // The stream checks the count and hashes every byte before it ends.
        let mut batches = file
            .stream::<RecordBatch>(move |d| {
                let _ = verified.send(d);
            })
            .await?;
        while let Some(decoded) = batches.try_next().await? {
            decoded.iter().try_for_each(&mut each)?;
        }
        let digest = digest.await.map_err(|_| Error::Internal {
            reason: "a verified read ended without its digest".to_owned(),
        })?;
        let mut summary = FileSummary::read(rows, dimension, size_bytes, digest);
        summary.encryption = encryption;
        Ok((summary, compression))
    }
}

/// What a commit marker promises of one stored file: a v1 snapshot's data file, or one part
/// of a v2 snapshot.
#[derive(Debug, Clone)]
struct Claim {
    key: String,
    format: SnapshotFormat,
    size_bytes: u64,
    checksum: Option<Sha256Digest>,
    rows: u64,
    dimension: u32,
    collection_id: CollectionId,
    /// The snapshot the file's own header must name: a v1 data file's; none for a part, which
    /// snapshots share and which any of them may have written.
    snapshot_id: Option<SnapshotId>,
    /// Data or tombstones (a v1 data file is data).
    kind: PartKind,
    /// Where the manifest lists it (0 for a v1 data file): a tombstone part hides ids in the
    /// data parts before it.
    position: usize,
    /// A data part's id index, where it has one.
    index: Option<IndexFile>,
}

/// Whether `index` (a part's) is none, or an id index of collection `c`.
fn index_in(index: Option<&IndexFile>, c: CollectionId) -> bool {
    index.is_none_or(|i| matches!(Key::parse(&i.key), Some(Key::Index(ic, _)) if ic == c))
}

/// A file of a committed snapshot, as its commit marker describes it: for tools outside akidb
/// that read a snapshot's Parquet files themselves (docs/READING.md).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredFile {
    /// Its key in the store.
    pub key: String,
    /// Its format (a v2 part is always Parquet).
    pub format: SnapshotFormat,
    /// Documents.
    pub rows: u64,
    /// Bytes.
    pub size_bytes: u64,
    /// SHA-256 of its bytes; absent in v1 snapshots from before checksums.
    pub checksum_sha256: Option<Sha256Digest>,
    /// Data, or tombstones: ids that no longer hold in the data files before it
    /// (docs/FORMAT.md, "The content rule").
    pub kind: PartKind,
    /// A data part's id index, where it has one (docs/FORMAT.md, "Id index").
    pub index: Option<IndexFile>,
}

impl From<&Claim> for StoredFile {
    fn from(claim: &Claim) -> Self {
        StoredFile {
            key: claim.key.clone(),
            format: claim.format,
            rows: claim.rows,
            size_bytes: claim.size_bytes,
            checksum_sha256: claim.checksum,
            kind: claim.kind,
            index: claim.index.clone(),
        }
    }
}

/// The files of a committed snapshot, in order: its data file (v1) or its parts (v2).
pub(crate) struct SnapshotFiles {
    /// The snapshot.
    target: Target,
    /// Its data files, in order.
    files: Vec<DataFile>,
    /// Its tombstone parts, in order.
    tombstones: Vec<DataFile>,
    /// What the commit marker says of every file, in its order.
    described: Vec<StoredFile>,
    /// The documents the data files yield once the tombstones are applied: the snapshot's
    /// count, unless only a shard is read.
    expected_rows: Option<u64>,
}

impl SnapshotFiles {
    /// The files `metadata` names, each with what it promises of them. A manifest that names
    /// a key outside its collection's parts is corrupted.
    pub(crate) fn of(store: SnapshotStore, metadata: &SnapshotMetadata) -> Result<Self> {
        let (c, s) = (metadata.collection_id, metadata.snapshot_id);
        let target = Target::snapshot(c, s);
        let claims = if metadata.is_manifest() {
            metadata
                .parts
                .iter()
                .enumerate()
                .map(|(position, part)| match Key::parse(&part.key) {
                    Some(Key::Part(pc, _, kind))
                        if pc == c && part.kind == kind && index_in(part.index.as_ref(), c) =>
                    {
                        Ok(Claim {
                            key: part.key.clone(),
                            format: SnapshotFormat::Parquet,
                            size_bytes: part.size_bytes,
                            checksum: Some(part.checksum_sha256),
                            rows: part.rows,
                            dimension: metadata.dimension,
                            collection_id: c,
                            snapshot_id: None,
                            kind,
                            position,
                            index: part.index.clone(),
                        })
                    }
                    _ => Err(Error::corruption(
                        target,
                        format!(
                            "the manifest names {}{}, which is not a {:?} part of collection {c} \
                             and its index",
                            part.key,
                            (part.index.as_ref())
                                .map_or(String::new(), |i| format!(" ({})", i.key)),
                            part.kind
                        ),
                    )),
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            vec![Claim {
                key: keys::data_key(c, s, metadata.format),
                format: metadata.format,
                size_bytes: metadata.size_bytes,
                checksum: metadata.checksum_sha256,
                rows: metadata.vector_count,
                dimension: metadata.dimension,
                collection_id: c,
                snapshot_id: Some(s),
                kind: PartKind::Data,
                position: 0,
                index: None,
            }]
        };
        let described = claims.iter().map(StoredFile::from).collect();
        let span = Span::current();
        let marker = keys::metadata_key(c, s);
        let (files, tombstones) = claims
            .into_iter()
            .map(|claim| DataFile {
                store: store.clone(),
                target,
                marker: marker.clone(),
                claim,
                span: span.clone(),
            })
            .partition(|file| file.claim.kind == PartKind::Data);
        Ok(SnapshotFiles {
            target,
            files,
            tombstones,
            described,
            expected_rows: Some(metadata.vector_count),
        })
    }

    /// Checks every file's size and SHA-256 against the commit marker, decoding nothing: what
    /// can be verified of an encrypted snapshot without its key.
    pub(crate) async fn check_stored_bytes(self) -> Result<()> {
        for file in self.files.iter().chain(&self.tombstones) {
            file.checked_len().await?;
            let Some(expected) = file.claim.checksum else {
                continue;
            };
            let digest = file.digest().await?;
            if digest != expected {
                return Err(file.corruption(format!(
                    "SHA-256 of {} is {digest}, the metadata says {expected}",
                    file.claim.key
                )));
            }
        }
        Ok(())
    }

    /// What the commit marker says of each file, in order, tombstone parts included.
    pub(crate) fn described(&self) -> Vec<StoredFile> {
        self.described.clone()
    }

    /// The documents and bytes of the data files to be read, before tombstones.
    pub(crate) fn data_size(&self) -> (u64, u64) {
        self.files.iter().fold((0, 0), |(rows, bytes), f| {
            (rows + f.claim.rows, bytes + f.claim.size_bytes)
        })
    }

    /// Only the data files at these positions of the manifest, with every tombstone part.
    pub(crate) fn only(mut self, positions: &std::collections::BTreeSet<usize>) -> Self {
        self.files.retain(|f| positions.contains(&f.claim.position));
        self.expected_rows = None;
        self
    }

    /// Only the data files of `shard` (counted among data files), with every tombstone part.
    pub(crate) fn shard(mut self, shard: Shard) -> Self {
        let mut position = 0;
        self.files.retain(|_| {
            position += 1;
            shard.holds(position - 1)
        });
        if shard != Shard::ALL {
            self.expected_rows = None;
        }
        self
    }

    /// The rows of every data file in order, each file checked as [`DataFile::stream`] checks
    /// it and filtered by the tombstone parts after it, the next one's footer read while the
    /// one before is restored. The tombstone parts that matter are read (and checked) first.
    /// `on_verified` runs once, after the last batch of the last file passed every check, and
    /// the count of a whole snapshot matched its manifest's.
    pub(crate) async fn stream<T: Row>(
        self,
        on_verified: impl FnOnce() + Send + 'static,
    ) -> Result<RowStream<T>> {
        let SnapshotFiles {
            target,
            files,
            tombstones,
            expected_rows,
            ..
        } = self;
        let Some(first) = files.first().map(|f| f.claim.position) else {
            on_verified();
            return Ok(stream::empty().boxed());
        };
        let hiding = Hiding::read(tombstones, first).await?;
        let rows = stream::iter(files)
            .map(move |file| {
                let hidden = hiding.of(file.claim.position);
                async move {
                    let rows = file.stream::<T>(|_| {}).await?;
                    let Some(hidden) = hidden else {
                        return Ok(rows);
                    };
                    let keep = move |row: &RowKey<'_>| !hidden.contains(row.id);
                    Ok(rows
                        .map(move |batch| {
                            batch.and_then(|b| {
                                T::retain(b, &keep).map_err(|e| Error::codec(target, e))
                            })
                        })
                        .boxed())
                }
            })
            .buffered(2)
            .try_flatten()
            .boxed();
        let state = (rows, 0u64, Some(on_verified));
        Ok(
            stream::try_unfold(state, move |(mut rows, yielded, mut done)| async move {
                match rows.try_next().await? {
                    Some(batch) => {
                        let yielded = yielded + T::row_count(&batch) as u64;
                        Ok(Some((batch, (rows, yielded, done))))
                    }
                    None => {
                        if let Some(expected) = expected_rows.filter(|&e| e != yielded) {
                            return Err(Error::corruption(
                                target,
                                format!(
                                    "its parts hold {yielded} documents once tombstones are \
                                     applied, but the manifest says {expected}"
                                ),
                            ));
                        }
                        if let Some(on_verified) = done.take() {
                            on_verified();
                        }
                        Ok(None)
                    }
                }
            })
            .boxed(),
        )
    }

    /// What the footer of a snapshot of one Parquet file says (a v1 snapshot, or a v2 snapshot
    /// of one part), checked against the commit marker; `None` for JSON or several parts.
    pub(crate) async fn info(mut self) -> Result<Option<SnapshotInfo>> {
        match (
            self.files.pop(),
            self.files.is_empty() && self.tombstones.is_empty(),
        ) {
            (Some(file), true) => file.info().await,
            _ => Ok(None),
        }
    }

    /// The one file of a snapshot, as stored, after checking its size and SHA-256.
    pub(crate) async fn bytes(mut self) -> Result<Bytes> {
        if !self.tombstones.is_empty() {
            return Err(Error::Input {
                target: self.target,
                source: "the snapshot has tombstone parts, so no one file holds its documents: \
                         restore its documents instead"
                    .into(),
            });
        }
        match (self.files.pop(), self.files.is_empty()) {
            (Some(file), true) => file.bytes().await,
            (Some(file), false) => Err(Error::Input {
                target: file.target,
                source: format!(
                    "the snapshot is {} parts, not one file: restore its documents instead",
                    self.files.len() + 1
                )
                .into(),
            }),
            (None, _) => Err(Error::Internal {
                reason: "a snapshot of no files".to_owned(),
            }),
        }
    }
}

/// One stored file of a committed snapshot, with what the commit marker promises of it.
#[derive(Clone)]
pub(crate) struct DataFile {
    store: SnapshotStore,
    /// The snapshot being read.
    target: Target,
    /// Its commit marker's key: whether it still exists tells a deleted snapshot from a
    /// damaged one.
    marker: String,
    claim: Claim,
    /// The operation's span, current where the file was opened: the parent of the events of
    /// the stream, which its consumer polls outside that span.
    span: Span,
}

impl DataFile {
    fn target(&self) -> Target {
        self.target
    }

    fn corruption(&self, reason: impl Into<String>) -> Error {
        Error::corruption(self.target(), reason)
    }

    /// The data file's length, after checking it against the metadata.
    async fn checked_len(&self) -> Result<u64> {
        let len = match self.store.size_of(self.target(), &self.claim.key).await {
            Ok(len) => len,
            Err(e) => return Err(self.missing(e).await),
        };
        if len != self.claim.size_bytes {
            return Err(self.corruption(format!(
                "{} holds {len} bytes but the metadata says {}",
                self.claim.key, self.claim.size_bytes
            )));
        }
        Ok(len)
    }

    /// Opens the stream: checks the size, reads the footer and checks it against the metadata.
    /// `on_verified` runs once, with the file's SHA-256, after the last batch passed every
    /// check.
    async fn stream<T: Row>(
        self,
        on_verified: impl FnOnce(Sha256Digest) + Send + 'static,
    ) -> Result<RowStream<T>> {
        let len = self.checked_len().await?;
        match self.claim.format {
            SnapshotFormat::Parquet => self.parquet(len, on_verified).await,
            SnapshotFormat::Json => self.json(on_verified).await,
            other => Err(self.corruption(format!(
                "the metadata names format {other:?}, which this version cannot read"
            ))),
        }
    }

    /// What a Parquet data file's footer says, checked against the metadata, without reading
    /// any row group; `None` for a JSON snapshot.
    async fn info(self) -> Result<Option<SnapshotInfo>> {
        let len = self.checked_len().await?;
        if self.claim.format != SnapshotFormat::Parquet {
            return Ok(None);
        }
        let (_, _, footer) = self.footer(len).await?;
        Ok(Some(footer.info().clone()))
    }

    /// A tombstone part, read whole, its size and SHA-256 checked, then decoded.
    async fn tombstones(self) -> Result<Tombstones> {
        let len = self.checked_len().await?;
        let bytes = self.read(0..len).await?;
        let limits = *self.store.limits();
        let file = Arc::new(self);
        let mut verifier = Verifier::new(Arc::clone(&file));
        verifier.hash(&bytes);
        verifier.check_digest()?;
        let target = file.target();
        let read = blocking(move || decode_tombstones(bytes, &limits))
            .await?
            .map_err(|e| Error::codec(target, e))?;
        if read.ids.len() as u64 != file.claim.rows {
            return Err(file.corruption(format!(
                "{} holds {} tombstones but the manifest says {}",
                file.claim.key,
                read.ids.len(),
                file.claim.rows
            )));
        }
        Ok(read)
    }

    /// The whole data file, after checking its size and SHA-256.
    async fn bytes(self) -> Result<Bytes> {
        let len = self.checked_len().await?;
        let bytes = self.read(0..len).await?;
        let mut verifier = Verifier::new(Arc::new(self));
        verifier.hash(&bytes);
        verifier.check_digest()?;
        Ok(bytes)
    }

    /// Reads the tail and parses the footer: the tail, its length, and the footer checked
    /// against the metadata.
    async fn footer(&self, len: u64) -> Result<(Bytes, u64, Box<ParquetFooter>)> {
        let (tail, tail_len, footer) = self.unchecked_footer(len).await?;
        self.check_footer(&footer)?;
        Ok((tail, tail_len, footer))
    }

    /// Reads the tail and parses the footer, without comparing it with the metadata.
    async fn unchecked_footer(&self, len: u64) -> Result<(Bytes, u64, Box<ParquetFooter>)> {
        let target = self.target();
        let limits = *self.store.limits();
        let started = Instant::now();
        let mut tail_len = ParquetFooter::SUGGESTED_TAIL_BYTES.min(len);
        loop {
            let tail = self.read(len - tail_len..len).await?;
            let parsed =
                match ParquetFooter::parse_with_keys(tail.clone(), len, &limits, self.store.keys())
                {
                    Ok(parsed) => parsed,
                    Err(e) => return Err(self.blame(Error::codec(target, e)).await),
                };
            match parsed {
                FooterParse::Complete(footer) => {
                    tracing::info!(parent: &self.span, bytes = tail_len,
                        duration_ms = spans::millis(started), "footer read");
                    return Ok((tail, tail_len, footer));
                }
                FooterParse::NeedTail(needed) => tail_len = needed,
            }
        }
    }

    async fn parquet<T: Row>(
        self,
        len: u64,
        on_verified: impl FnOnce(Sha256Digest) + Send + 'static,
    ) -> Result<RowStream<T>> {
        let (tail, tail_len, mut footer) = self.footer(len).await?;
        let (tail, tail_len) = self.with_page_index(&footer, len, tail, tail_len).await?;
        let plan = ReadPlan::of(&footer, len, tail_len).map_err(|r| self.corruption(r))?;

        // With fewer row groups than cores, each group is decoded in parts on several cores,
        // cut where the offset index (in the tail) says a vector page begins. The index is
        // checked with the rest of the file, by the SHA-256 at the stream's end.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let parts_per_group = footer.parts_per_group(cores);
        if parts_per_group > 1 {
            footer.load_offset_index(tail.clone());
        }
        let footer: Arc<ParquetFooter> = Arc::from(footer);
        let file = Arc::new(self);
        let tail_start = len - tail_len;
        let reads = stream::iter(plan.row_groups.into_iter().enumerate())
            .map({
                let file = Arc::clone(&file);
                let tail = tail.clone();
                move |(index, segment)| {
                    let file = Arc::clone(&file);
                    let tail = tail.clone();
                    async move {
                        let bytes = if segment.read.start >= tail_start {
                            let at = (segment.read.start - tail_start) as usize;
                            tail.slice(at..at + (segment.read.end - segment.read.start) as usize)
                        } else {
                            file.read(segment.read.clone()).await?
                        };
                        Ok::<_, Error>((index, segment.group_in_read, bytes))
                    }
                }
            })
            .buffered(READ_AHEAD);
        let decodes = reads
            .map_ok({
                let file = Arc::clone(&file);
                move |(index, group_in_read, bytes)| {
                    let group = bytes.slice(group_in_read);
                    // What was read goes with the group's first part, to be hashed once, in
                    // order.
                    let mut to_hash = Some(bytes);
                    let footer = Arc::clone(&footer);
                    let file = Arc::clone(&file);
                    let parts = footer.row_group_parts(index, parts_per_group);
                    stream::iter(parts).map(move |rows| {
                        let (footer, file, group) =
                            (Arc::clone(&footer), Arc::clone(&file), group.clone());
                        let hashed = to_hash.take().unwrap_or_default();
                        Ok(async move {
                            let started = Instant::now();
                            let docs = blocking(move || {
                                footer.decode_row_group_rows::<T>(index, rows, group)
                            })
                            .await?
                            .map_err(|e| Error::codec(file.target(), e))?;
                            tracing::debug!(parent: &file.span, row_group = index,
                                rows = T::row_count(&docs), duration_ms = spans::millis(started),
                                "row group decoded");
                            Ok::<_, Error>((hashed, docs))
                        })
                    })
                }
            })
            .try_flatten()
            .try_buffered(READ_AHEAD.max(parts_per_group));

        let rest = plan.rest;
        let trailing = tail.slice((rest.start - tail_start) as usize..);
        let checks = Verifier::new(Arc::clone(&file));
        let at_end = move |verifier: &mut Verifier| verifier.hash(&trailing);
        Ok(checked(decodes, checks, at_end, on_verified))
    }

    /// `tail` (the file's last `tail_len` bytes) grown back to the end of the last row group,
    /// so that it holds the page index, which lies between the row groups and the footer and
    /// outgrows a first tail read in files of many small pages.
    async fn with_page_index(
        &self,
        footer: &ParquetFooter,
        len: u64,
        tail: Bytes,
        tail_len: u64,
    ) -> Result<(Bytes, u64)> {
        let tail_start = len - tail_len;
        let data_end = (footer.info().row_groups.iter())
            .map(|rg| rg.byte_range.end)
            .max()
            .unwrap_or(0);
        if data_end == 0 || data_end >= tail_start {
            return Ok((tail, tail_len));
        }
        let gap = self.read(data_end..tail_start).await?;
        let mut whole = Vec::with_capacity(gap.len() + tail.len());
        whole.extend_from_slice(&gap);
        whole.extend_from_slice(&tail);
        Ok((Bytes::from(whole), len - data_end))
    }

    async fn json<T: Row>(
        self,
        on_verified: impl FnOnce(Sha256Digest) + Send + 'static,
    ) -> Result<RowStream<T>> {
        let bytes = self.read(0..self.claim.size_bytes).await?;
        let target = self.target();
        let file = Arc::new(self);
        let mut verifier = Verifier::new(Arc::clone(&file));
        verifier.hash(&bytes);
        let snapshot = match blocking(move || decode_json(&bytes)).await? {
            Ok(snapshot) => snapshot,
            Err(e) => return Err(file.blame(Error::codec(target, e)).await),
        };
        file.check_ids(snapshot.header.collection_id, snapshot.header.snapshot_id)?;
        let dimension = snapshot.documents.first().map(VectorDocument::dimension);
        if dimension.is_some_and(|d| d != file.claim.dimension as usize) {
            return Err(file.corruption(format!(
                "the file holds vectors of dimension {} but the metadata says {}",
                dimension.unwrap_or_default(),
                file.claim.dimension
            )));
        }
        let batch_rows = Encoding::Json.batch_rows();
        let mut docs = snapshot.documents.into_iter();
        let batches = std::iter::from_fn(move || {
            let batch: Vec<_> = docs.by_ref().take(batch_rows).collect();
            (!batch.is_empty()).then_some(batch)
        });
        let reads = stream::iter(batches.map(move |b| {
            let rows = T::from_documents(b).map_err(|e| Error::codec(target, e))?;
            Ok((Bytes::new(), rows))
        }));
        Ok(checked(reads, verifier, |_| {}, on_verified))
    }

    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        match self
            .store
            .read_range(self.target(), &self.claim.key, range)
            .await
        {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(self.missing(e).await),
        }
    }

    /// What a file not found means: the snapshot was deleted while it was being read (its
    /// commit marker is gone too), or it is damaged (the marker is still there).
    async fn missing(&self, err: Error) -> Error {
        self.missing_file(err, &self.claim.key).await
    }

    /// [`missing`](Self::missing), of the file at `key` that the part's entry names.
    async fn missing_file(&self, err: Error, key: &str) -> Error {
        if !matches!(err, Error::NotFound { .. }) {
            return err;
        }
        match self.store.operator().exists(&self.marker).await {
            Ok(false) => Error::NotFound {
                target: self.target(),
                key: self.marker.clone(),
            },
            _ => self.corruption(format!("the metadata file exists but {key} is missing")),
        }
    }

    /// What a reader's failure means. A file whose bytes are not the ones committed is
    /// damaged, whatever the reader tripped on (a flipped bit in the footer can read as an
    /// unknown codec, a newer schema version or a huge length), so that is the error; the
    /// reader's own error stands only for the committed bytes, which this version cannot read.
    /// Costs one more read of the file, on failure only.
    async fn blame(&self, err: Error) -> Error {
        let reader_failed =
            matches!(err, Error::Codec { .. }) && err.kind() != ErrorKind::DataCorruption;
        let Some(expected) = self.claim.checksum.filter(|_| reader_failed) else {
            return err;
        };
        match self.digest().await {
            Ok(digest) if digest != expected => self.corruption(format!(
                "SHA-256 of {} is {digest}, the metadata says {expected}; reading it failed: {err}",
                self.claim.key
            )),
            _ => err,
        }
    }

    /// The SHA-256 of the data file, read again in parts.
    async fn digest(&self) -> Result<Sha256Digest> {
        let (target, key) = (self.target(), &self.claim.key);
        match self.store.digest(target, key, self.claim.size_bytes).await {
            Ok(digest) => Ok(digest),
            Err(e) => Err(self.missing(e).await),
        }
    }

    fn check_ids(&self, collection_id: CollectionId, snapshot_id: SnapshotId) -> Result<()> {
        let claim = &self.claim;
        if collection_id != claim.collection_id
            || claim.snapshot_id.is_some_and(|s| s != snapshot_id)
        {
            return Err(self.corruption(format!(
                "{} belongs to snapshot {snapshot_id} of collection {collection_id}",
                claim.key
            )));
        }
        Ok(())
    }

    fn check_footer(&self, footer: &ParquetFooter) -> Result<()> {
        let info = footer.info();
        let claim = &self.claim;
        // A v1 data file is its snapshot's own. A part may have been written by any snapshot
        // of any collection, or by another tool and imported: its SHA-256 in the manifest
        // pins it, not its footer keys.
        if claim.snapshot_id.is_some() {
            let Some(header) = &info.header else {
                return Err(self.corruption(format!(
                    "{} has no akidb.* footer keys, which every v1 data file has",
                    claim.key
                )));
            };
            self.check_ids(header.collection_id, header.snapshot_id)?;
        }
        if info.vector_count != claim.rows || (claim.rows > 0 && info.dimension != claim.dimension)
        {
            return Err(self.corruption(format!(
                "{} holds {} vectors of dimension {} but the metadata says {} of dimension {}",
                claim.key, info.vector_count, info.dimension, claim.rows, claim.dimension
            )));
        }
        Ok(())
    }
}

/// What a restore yields rows as.
pub(crate) trait Row: DecodedRow + Send + 'static {}
impl<T: DecodedRow + Send + 'static> Row for T {}

/// Which ranges to read so every byte is read once, in order.
struct ReadPlan {
    row_groups: Vec<Segment>,
    /// From the end of the last row group to the end of the file (within the tail).
    rest: Range<u64>,
}

struct Segment {
    /// What to read: from the end of the previous segment to the end of this row group.
    read: Range<u64>,
    /// Where the row group sits in what was read.
    group_in_read: Range<usize>,
}

impl ReadPlan {
    fn of(footer: &ParquetFooter, len: u64, tail_len: u64) -> Result<ReadPlan, String> {
        let mut cursor = 0;
        let mut row_groups = Vec::new();
        for (i, rg) in footer.info().row_groups.iter().enumerate() {
            let range = &rg.byte_range;
            if range.start < cursor {
                return Err(format!(
                    "row group {i} starts at byte {} inside what precedes it",
                    range.start
                ));
            }
            row_groups.push(Segment {
                read: cursor..range.end,
                group_in_read: (range.start - cursor) as usize..(range.end - cursor) as usize,
            });
            cursor = range.end;
        }
        if cursor < len - tail_len {
            // The footer ends the file, so row groups end where the tail begins; a gap means
            // a file this layout did not write.
            return Err(format!(
                "{} bytes between the last row group and the footer",
                len - tail_len - cursor
            ));
        }
        Ok(ReadPlan {
            row_groups,
            rest: cursor..len,
        })
    }
}

/// The checks that need every byte and every row: SHA-256, document count.
struct Verifier {
    file: Arc<DataFile>,
    hasher: HashingWriter<std::io::Sink>,
    rows: u64,
}

impl Verifier {
    fn new(file: Arc<DataFile>) -> Self {
        Verifier {
            file,
            hasher: HashingWriter::new(std::io::sink()),
            rows: 0,
        }
    }

    fn hash(&mut self, bytes: &[u8]) {
        // Writing to a sink never fails.
        let _ = self.hasher.write_all(bytes);
        self.file.store.count_download(bytes.len() as u64);
    }

    /// Every check: the document count, then the SHA-256, which it returns.
    fn finish(self) -> Result<Sha256Digest> {
        let claim = &self.file.claim;
        if self.rows != claim.rows {
            return Err(self.file.corruption(format!(
                "decoded {} documents of {} but the metadata says {}",
                self.rows, claim.key, claim.rows
            )));
        }
        self.check_digest()
    }

    /// The SHA-256 of what was hashed, checked against the metadata's.
    fn check_digest(self) -> Result<Sha256Digest> {
        let (_, digest, _) = self.hasher.finish();
        match self.file.claim.checksum {
            Some(expected) if expected != digest => Err(self.file.corruption(format!(
                "SHA-256 of {} is {digest}, the metadata says {expected}",
                self.file.claim.key
            ))),
            _ => Ok(digest),
        }
    }
}

/// Hashes and counts what `reads` yields; after the last batch runs `at_end`, the final
/// checks, then `on_verified`; stops at the first error.
fn checked<T: Row>(
    reads: impl futures::Stream<Item = Result<(Bytes, Vec<T>)>> + Send + 'static,
    verifier: Verifier,
    at_end: impl FnOnce(&mut Verifier) + Send + 'static,
    on_verified: impl FnOnce(Sha256Digest) + Send + 'static,
) -> RowStream<T> {
    let state = (reads.boxed(), verifier, (at_end, on_verified));
    stream::try_unfold(state, |(mut reads, mut verifier, ends)| async move {
        let next = match reads.try_next().await {
            Ok(next) => next,
            Err(e) => return Err(verifier.file.blame(e).await),
        };
        match next {
            Some((bytes, docs)) => {
                verifier.hash(&bytes);
                verifier.rows += T::row_count(&docs) as u64;
                Ok(Some((docs, (reads, verifier, ends))))
            }
            None => {
                let (at_end, on_verified) = ends;
                at_end(&mut verifier);
                on_verified(verifier.finish()?);
                Ok(None)
            }
        }
    })
    .boxed()
}
