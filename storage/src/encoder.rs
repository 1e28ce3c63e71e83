//! Encoding rows into a file's bytes, off the async threads.
//!
//! The codec's writers are synchronous and CPU-bound, so each batch is encoded on tokio's
//! blocking pool into a [`Spool`], whose bytes the writer (write.rs) then hands to the store.
//! Batches are cut to at most one row group, so the spool holds about one row group's bytes.

use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use akidb_snapshot_codec::{
    Compression, ContentHash, DecodedRow, DocumentValidator, FileSummary, JsonWriter, MasterKey,
    ParquetConfig, ParquetWriter, SnapshotFormat, SnapshotHeader, VectorDocument,
    batch_content_hashes,
};
use arrow_array::RecordBatch;
use bytes::Bytes;
use opendal::Buffer;
use uuid::Uuid;

use crate::error::{Error, Result, Target};
use crate::ids::IdSet;
use crate::store::blocking;

/// How new snapshots are written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Encoding {
    /// Parquet, with this configuration.
    Parquet(ParquetConfig),
    /// The legacy JSON format.
    Json,
}

impl Encoding {
    /// The file format written.
    pub fn format(&self) -> SnapshotFormat {
        match self {
            Encoding::Parquet(_) => SnapshotFormat::Parquet,
            Encoding::Json => SnapshotFormat::Json,
        }
    }

    /// The compression the metadata file records.
    pub fn compression(&self) -> Compression {
        match self {
            Encoding::Parquet(config) => config.compression(),
            Encoding::Json => Compression::None,
        }
    }

    /// How many documents are handed to the encoder at a time (and read from an input per
    /// batch): a Parquet row group, or 10,000 for JSON.
    pub fn batch_rows(&self) -> usize {
        match self {
            Encoding::Parquet(config) => config.row_group_size(),
            Encoding::Json => 10_000,
        }
    }
}

/// Rows on their way to the encoder, owned so they can cross into the blocking pool without a
/// copy: a slice of documents behind an `Arc` (the `Vec` entry points hand over the caller's
/// vector once and encode it piece by piece), or an Arrow batch, whose buffers are shared.
#[derive(Debug, Clone)]
pub(crate) enum Batch {
    Documents {
        docs: Arc<Vec<VectorDocument>>,
        range: Range<usize>,
    },
    Arrow(RecordBatch),
}

impl Batch {
    /// `docs` cut into batches of at most `rows` documents.
    pub(crate) fn split(docs: Vec<VectorDocument>, rows: usize) -> impl Iterator<Item = Batch> {
        let len = docs.len();
        let docs = Arc::new(docs);
        (0..len)
            .step_by(rows.max(1))
            .map(move |start| Batch::Documents {
                docs: Arc::clone(&docs),
                range: start..(start + rows).min(len),
            })
    }

    /// The ids of its rows, in order.
    pub(crate) fn ids(&self) -> Box<dyn Iterator<Item = Uuid> + '_> {
        match self {
            Batch::Documents { docs, range } => {
                Box::new(docs[range.clone()].iter().map(|d| d.document_id))
            }
            Batch::Arrow(batch) => Box::new(crate::ids::ids_of(batch)),
        }
    }

    /// The id and content hash of each row, in order.
    pub(crate) fn content_hashes(&self) -> akidb_snapshot_codec::Result<Vec<(Uuid, ContentHash)>> {
        match self {
            Batch::Documents { docs, range } => Ok((docs[range.clone()].iter())
                .map(|d| (d.document_id, ContentHash::of(d)))
                .collect()),
            Batch::Arrow(batch) => batch_content_hashes(batch),
        }
    }

    /// Only the rows whose id `keep` holds, in order (the batch itself if it keeps them all),
    /// or `None` if it keeps none.
    pub(crate) fn retain(self, keep: &IdSet) -> akidb_snapshot_codec::Result<Option<Batch>> {
        if keep.is_empty() {
            return Ok(None);
        }
        if keep.len() == self.len() {
            return Ok(Some(self));
        }
        Ok(match self {
            Batch::Documents { docs, range } => {
                let kept: Vec<VectorDocument> = (docs[range].iter())
                    .filter(|d| keep.contains(d.document_id))
                    .cloned()
                    .collect();
                Some(Batch::Documents {
                    range: 0..kept.len(),
                    docs: Arc::new(kept),
                })
            }
            Batch::Arrow(batch) => DecodedRow::retain(vec![batch], &|row| keep.contains(row.id))?
                .into_iter()
                .next()
                .map(Batch::Arrow),
        })
    }

    /// How many rows the batch holds.
    pub(crate) fn len(&self) -> usize {
        match self {
            Batch::Documents { range, .. } => range.len(),
            Batch::Arrow(batch) => batch.num_rows(),
        }
    }

    /// The first `rows` rows and the rest, sharing the same documents or buffers.
    pub(crate) fn split_at(self, rows: usize) -> (Batch, Batch) {
        match self {
            Batch::Documents { docs, range } => {
                let cut = range.start + rows.min(range.len());
                let rest = Batch::Documents {
                    docs: Arc::clone(&docs),
                    range: cut..range.end,
                };
                let head = Batch::Documents {
                    docs,
                    range: range.start..cut,
                };
                (head, rest)
            }
            Batch::Arrow(batch) => {
                let cut = rows.min(batch.num_rows());
                let rest = batch.slice(cut, batch.num_rows() - cut);
                (Batch::Arrow(batch.slice(0, cut)), Batch::Arrow(rest))
            }
        }
    }

    /// `batch` cut into batches of at most `rows` rows (slices, which share its buffers).
    pub(crate) fn split_arrow(batch: RecordBatch, rows: usize) -> impl Iterator<Item = Batch> {
        let len = batch.num_rows();
        (0..len)
            .step_by(rows.max(1))
            .map(move |start| Batch::Arrow(batch.slice(start, rows.min(len - start))))
    }
}

/// An `io::Write` whose bytes the async side takes out between batches. It keeps them in
/// chunks of [`SPOOL_CHUNK_BYTES`] rather than one growing vector: doubling a vector to hold
/// two row groups of incompressible floats would copy them again and again and leave up to
/// twice their size allocated at the peak of a create.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spool(Arc<Mutex<Chunks>>);

#[derive(Debug, Default)]
struct Chunks {
    full: Vec<Bytes>,
    filling: Vec<u8>,
}

const SPOOL_CHUNK_BYTES: usize = 1 << 20;

impl Spool {
    /// Everything written since the last call, in order.
    pub(crate) fn take(&self) -> Buffer {
        let mut chunks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let filling = std::mem::take(&mut chunks.filling);
        if !filling.is_empty() {
            chunks.full.push(Bytes::from(filling));
        }
        Buffer::from(std::mem::take(&mut chunks.full))
    }
}

impl io::Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut chunks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rest = buf;
        while !rest.is_empty() {
            if chunks.filling.capacity() == 0 {
                chunks.filling.reserve_exact(SPOOL_CHUNK_BYTES);
            }
            let room = chunks.filling.capacity() - chunks.filling.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            chunks.filling.extend_from_slice(now);
            rest = later;
            if chunks.filling.len() == chunks.filling.capacity() {
                let full = Bytes::from(std::mem::take(&mut chunks.filling));
                chunks.full.push(full);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An id index file and its summary.
pub(crate) type IndexBytes = (Vec<u8>, FileSummary);

/// One of the codec's streaming writers, over a [`Spool`].
pub(crate) enum Encoder {
    Parquet(ParquetWriter<Spool>),
    Json(JsonWriter<Spool>),
}

impl Encoder {
    /// An encoder of the file of `header` into `spool`, encrypted under `encryption` where
    /// given (Parquet only: a JSON snapshot cannot be encrypted).
    pub(crate) fn new(
        encoding: &Encoding,
        header: SnapshotHeader,
        spool: Spool,
        encryption: Option<&MasterKey>,
    ) -> Result<Self> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        match (encoding, encryption) {
            (Encoding::Parquet(config), key) => {
                ParquetWriter::try_new(spool, header, config.clone())
                    .and_then(|writer| match key {
                        Some(key) => writer.with_encryption(key.clone()),
                        None => Ok(writer),
                    })
                    .map(Encoder::Parquet)
            }
            (Encoding::Json, None) => JsonWriter::try_new(spool, header).map(Encoder::Json),
            (Encoding::Json, Some(_)) => {
                return Err(Error::validation(
                    target,
                    "a JSON snapshot cannot be encrypted: write encrypted snapshots as Parquet",
                ));
            }
        }
        .map_err(|e| Error::codec(target, e))
    }

    /// What the next part of the same input is checked with, to hand to
    /// [`continuing`](Self::continuing): errors then name documents by their position in the
    /// whole input, and the dimension must stay the same.
    pub(crate) fn next_part(&self) -> Option<DocumentValidator> {
        match self {
            Encoder::Parquet(w) => Some(w.validator().next_file()),
            Encoder::Json(_) => None,
        }
    }

    /// This encoder, checking as [`next_part`](Self::next_part) of the previous part said.
    pub(crate) fn continuing(self, validator: Option<DocumentValidator>) -> Self {
        match (self, validator) {
            (Encoder::Parquet(w), Some(v)) => Encoder::Parquet(w.continuing(v)),
            (this, _) => this,
        }
    }

    /// Encodes `batch` on the blocking pool.
    pub(crate) async fn write(
        self,
        batch: Batch,
    ) -> Result<(Self, akidb_snapshot_codec::Result<()>)> {
        blocking(move || {
            let mut encoder = self;
            let result = match (&mut encoder, &batch) {
                (Encoder::Parquet(w), Batch::Documents { docs, range }) => {
                    w.write(&docs[range.clone()])
                }
                (Encoder::Parquet(w), Batch::Arrow(b)) => w.write_batch(b),
                (Encoder::Json(w), Batch::Documents { docs, range }) => {
                    w.write(&docs[range.clone()])
                }
                (Encoder::Json(w), Batch::Arrow(b)) => w.write_batch(b),
            };
            (encoder, result)
        })
        .await
    }

    /// This encoder, gathering the file's id index as it writes (Parquet only).
    pub(crate) fn indexed(self) -> Self {
        match self {
            Encoder::Parquet(w) => Encoder::Parquet(w.with_id_index()),
            json => json,
        }
    }

    /// Writes the rest and the footer on the blocking pool; then, if the encoder is
    /// [`indexed`](Self::indexed), the id index file of the snapshot `header` names.
    pub(crate) async fn finish(
        self,
        header: SnapshotHeader,
    ) -> Result<akidb_snapshot_codec::Result<(FileSummary, Option<IndexBytes>)>> {
        blocking(move || match self {
            Encoder::Parquet(mut w) => {
                let index = w.take_id_index();
                let (_, summary) = w.finish()?;
                let index = index.map(|i| i.finish(&header, &summary)).transpose()?;
                Ok((summary, index))
            }
            Encoder::Json(w) => w.finish().map(|(_, summary)| (summary, None)),
        })
        .await
    }
}
