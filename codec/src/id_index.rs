//! The id index of a data part (docs/FORMAT.md, "Id index"): for each of the part's documents,
//! its id, its row in the part and its [`ContentHash`], sorted by id. A create compares a full
//! export with its base from the indexes alone, without reading a vector; a reader that wants a
//! few documents finds their rows (and so their row groups) without reading the part.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, Int64Array, RecordBatch};
use arrow_buffer::Buffer;
use arrow_schema::extension::Uuid as UuidExtension;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use uuid::Uuid;

use crate::checksum::Sha256Digest;
use crate::config::Limits;
use crate::content_hash::ContentHash;
use crate::decode::{guard, parse_key};
use crate::error::{DocumentRef, Error, Result};
use crate::id_file::{IdFile, IdFileKind, IdFileLayout, open_id_file, write_id_file};
use crate::metadata::SnapshotHeader;
use crate::model::VectorDocument;
use crate::record_batch::{Origin, SnapshotColumns, with_fixed_ids};
use crate::schema::{columns, footer_keys};
use crate::summary::FileSummary;

/// What the `akidb.kind` footer key of an id index says.
pub const ID_INDEX_KIND: &str = "ids";

pub(crate) const KIND: IdFileKind = IdFileKind {
    key: ID_INDEX_KIND,
    name: "an id index",
};

/// The column of a row's position in its part.
const ROW: &str = "row";
/// The column of a row's content hash.
const CONTENT_HASH: &str = "content_hash";

/// Ids per row group: a part of the default size (and up to ten times it) is one, with one
/// Bloom filter.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// Ids per page: a reader looking up an id fetches one page of ids and one of rows, about
/// 6 KB, chosen by the `document_id` page statistics.
const PAGE_ROWS: usize = 256;

/// The false-positive rate of the Bloom filter of each row group's ids, which a reader looking
/// for a few ids in every part of a snapshot checks before fetching any page: 1%, about 10 bits
/// an id (128 KB for a part of 100,000), in the index's tail.
const ID_FILTER_FPP: f64 = 0.01;

pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(columns::DOCUMENT_ID, DataType::FixedSizeBinary(16), false)
            .with_extension_type(UuidExtension),
        Field::new(ROW, DataType::Int64, false),
        Field::new(CONTENT_HASH, DataType::FixedSizeBinary(16), false),
    ]))
}

/// One document of a data part, as its id index holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexedRow {
    /// The document's id.
    pub id: Uuid,
    /// Its row in the part, from 0.
    pub row: u64,
    /// The hash of its content.
    pub hash: ContentHash,
}

/// The ids and content hashes of a data part's rows, gathered in row order as the part is
/// written ([`ParquetWriter::with_id_index`](crate::ParquetWriter::with_id_index)) or read.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let docs = vec![
///     VectorDocument::new(Uuid::from_u128(9), vec![1.0]),
///     VectorDocument::new(Uuid::from_u128(4), vec![2.0]),
/// ];
/// let mut writer = ParquetWriter::try_new(Vec::new(), header, ParquetConfig::default())?
///     .with_id_index();
/// writer.write(&docs)?;
/// let index = writer.take_id_index().expect("asked for");
/// let (part, part_summary) = writer.finish()?;
///
/// let (file, _) = index.finish(&header, &part_summary)?;
/// let read = decode_id_index(file.into(), &Limits::default())?;
/// assert_eq!(read.part_checksum, Sha256Digest::of(&part));
/// let found = read.get(&Uuid::from_u128(4)).unwrap();
/// assert_eq!((found.row, found.hash), (1, ContentHash::of(&docs[1])));
/// assert!(read.get(&Uuid::from_u128(5)).is_none());
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct IdIndexBuilder {
    /// The input position of the first row, for errors that name a document.
    first: Option<u64>,
    ids: Vec<Uuid>,
    hashes: Vec<ContentHash>,
    /// Reused to lay out each row's content.
    scratch: Vec<u8>,
}

impl IdIndexBuilder {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `docs`, the next rows of the part; `first` is the position of the first of them in
    /// the whole input, which errors name.
    pub fn push_documents(&mut self, first: u64, docs: &[VectorDocument]) {
        self.first.get_or_insert(first);
        for doc in docs {
            self.ids.push(doc.document_id);
            self.hashes
                .push(ContentHash::of_document(&mut self.scratch, doc));
        }
    }

    /// Adds the rows of `batch`, the next of the part, in the form
    /// [`ParquetWriter::write_batch`](crate::ParquetWriter::write_batch) takes. `first` is as
    /// for [`push_documents`](Self::push_documents).
    pub fn push_batch(&mut self, first: u64, batch: &RecordBatch) -> Result<()> {
        let columns = SnapshotColumns::of(batch, Origin::Caller { first })?;
        self.push_columns(first, &columns);
        Ok(())
    }

    pub(crate) fn push_columns(&mut self, first: u64, columns: &SnapshotColumns<'_>) {
        self.first.get_or_insert(first);
        for row in 0..columns.rows() {
            self.ids.push(columns.id(row));
            self.hashes
                .push(ContentHash::of_row(&mut self.scratch, columns, row));
        }
    }

    /// The rows gathered so far.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no row was gathered.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The rows, in row order.
    pub fn rows(&self) -> impl Iterator<Item = IndexedRow> + '_ {
        (self.ids.iter().zip(&self.hashes).enumerate()).map(|(row, (&id, &hash))| IndexedRow {
            id,
            row: row as u64,
            hash,
        })
    }

    /// Writes the index file of the part `part` summarises (its rows must be those gathered),
    /// for the snapshot `header` names.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for an id twice in the part, which a snapshot never holds, or a
    /// count that is not the part's.
    pub fn finish(
        self,
        header: &SnapshotHeader,
        part: &FileSummary,
    ) -> Result<(Vec<u8>, FileSummary)> {
        if self.ids.len() as u64 != part.vector_count {
            return Err(Error::validation(
                DocumentRef::NONE,
                format!(
                    "the id index holds {} rows, but its part {}",
                    self.ids.len(),
                    part.vector_count
                ),
            ));
        }
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_unstable_by_key(|&row| self.ids[row as usize]);
        if let Some(pair) = order
            .windows(2)
            .find(|pair| self.ids[pair[0] as usize] == self.ids[pair[1] as usize])
        {
            let later = pair[0].max(pair[1]) as u64;
            let id = self.ids[later as usize];
            return Err(Error::validation(
                DocumentRef::new(self.first.unwrap_or_default() + later, id),
                "its id came before in the input: a snapshot holds each id once",
            ));
        }
        let ids: Vec<u8> = (order.iter())
            .flat_map(|&row| self.ids[row as usize].into_bytes())
            .collect();
        let hashes: Vec<u8> = (order.iter())
            .flat_map(|&row| self.hashes[row as usize].to_bytes())
            .collect();
        let rows = Int64Array::from_iter_values(order.iter().map(|&row| i64::from(row)));
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(FixedSizeBinaryArray::new(16, Buffer::from_vec(ids), None)) as ArrayRef,
                Arc::new(rows),
                Arc::new(FixedSizeBinaryArray::new(
                    16,
                    Buffer::from_vec(hashes),
                    None,
                )),
            ],
        )
        .map_err(|e| Error::encoding("could not build the id index's batch", e))?;
        let mut extra = vec![(footer_keys::PART_SHA256, part.checksum_sha256.to_string())];
        if let Some(layout) = &part.layout {
            extra.push((footer_keys::PART_LAYOUT, layout.to_text()));
        }
        let layout = IdFileLayout {
            row_group_rows: ROW_GROUP_ROWS,
            page_rows: Some(PAGE_ROWS),
            id_filter: Some(ID_FILTER_FPP),
        };
        write_id_file(KIND, header, &batch, extra, layout)
    }
}

/// A data part's id index, read: its rows sorted by id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdIndex {
    /// Collection, snapshot and creation time of the snapshot that wrote it.
    pub header: SnapshotHeader,
    /// The SHA-256 of the data part it describes.
    pub part_checksum: Sha256Digest,
    rows: Vec<IndexedRow>,
}

impl IdIndex {
    /// The row of document `id`, if the part holds it.
    pub fn get(&self, id: &Uuid) -> Option<&IndexedRow> {
        let at = self.rows.binary_search_by_key(id, |r| r.id).ok()?;
        self.rows.get(at)
    }

    /// Every row, sorted by id.
    pub fn rows(&self) -> &[IndexedRow] {
        &self.rows
    }

    /// How many documents the part holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the part holds no document (a valid index never says so).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Reads an id index, checked as a tombstone part is (footer ranges, limits, page headers)
/// before parquet reads it.
///
/// # Errors
///
/// [`Error::Decoding`] for a Parquet file that is not an id index; [`Error::DataCorruption`]
/// for a damaged one: ids not in ascending order, rows that are not each of `0..count` once, a
/// count that disagrees with the footer, unreadable Parquet.
pub fn decode_id_index(file: Bytes, limits: &Limits) -> Result<IdIndex> {
    guard(|| {
        let IdFile {
            footer,
            rows: batches,
        } = open_id_file(file, limits, KIND, &schema())?;
        let part_checksum = parse_key(
            footer_keys::PART_SHA256,
            footer.key(footer_keys::PART_SHA256)?,
        )?;
        let (header, count) = (footer.header, footer.count);
        let mut rows: Vec<IndexedRow> = Vec::new();
        for batch in batches {
            let batch =
                batch.map_err(|e| Error::corruption_from("the id index is unreadable", e))?;
            let batch = with_fixed_ids(batch, rows.len() as u64)?;
            let fixed = |at: usize, name: &str| {
                batch.column(at).as_fixed_size_binary_opt().ok_or_else(|| {
                    Error::decoding(format!("the id index's `{name}` is not 16-byte values"))
                })
            };
            let ids = fixed(0, columns::DOCUMENT_ID)?;
            let hashes = fixed(2, CONTENT_HASH)?;
            let positions = (batch.column(1).as_primitive_opt::<Int64Type>())
                .ok_or_else(|| Error::decoding("the id index's `row` is not Int64"))?;
            if hashes.value_length() != 16 || ids.value_length() != 16 {
                return Err(Error::decoding("the id index's values are not 16 bytes"));
            }
            if batch.columns().iter().any(|c| c.null_count() > 0) {
                return Err(Error::corruption("the id index holds a null"));
            }
            for i in 0..batch.num_rows() {
                let id =
                    Uuid::from_slice(ids.value(i)).map_err(|e| Error::corruption(e.to_string()))?;
                if rows.last().is_some_and(|last| last.id >= id) {
                    return Err(Error::corruption(format!(
                        "the id index's ids are not in ascending order at entry {} ({id})",
                        rows.len()
                    )));
                }
                let mut hash = [0; 16];
                hash.copy_from_slice(hashes.value(i));
                rows.push(IndexedRow {
                    id,
                    row: u64::try_from(positions.value(i)).unwrap_or(u64::MAX),
                    hash: ContentHash::from_bytes(hash),
                });
            }
        }
        if rows.len() as u64 != count {
            return Err(Error::corruption(format!(
                "the footer says {count} entries ({}) but the id index holds {}",
                footer_keys::VECTOR_COUNT,
                rows.len()
            )));
        }
        let mut seen = vec![false; rows.len()];
        for entry in &rows {
            match usize::try_from(entry.row)
                .ok()
                .and_then(|r| seen.get_mut(r))
            {
                Some(seen) if !*seen => *seen = true,
                _ => {
                    return Err(Error::corruption(format!(
                        "the id index gives document {} row {}, which is not one of its part's \
                         {} rows or is given twice",
                        entry.id, entry.row, count
                    )));
                }
            }
        }
        Ok(IdIndex {
            header,
            part_checksum,
            rows,
        })
    })
}
