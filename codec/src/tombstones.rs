//! Tombstone parts of format v2: the ids that no longer hold in the data parts listed before
//! them in a manifest (docs/FORMAT.md, "Tombstone parts"). A Parquet file of one column,
//! `document_id`, the ids sorted and distinct, with footer keys that say what it is.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, RecordBatch};
use arrow_buffer::Buffer;
use arrow_schema::extension::Uuid as UuidExtension;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use uuid::Uuid;

use crate::config::Limits;
use crate::decode::guard;
use crate::error::{DocumentRef, Error, Result};
use crate::id_file::{IdFile, IdFileKind, IdFileLayout, open_id_file, write_id_file};
use crate::metadata::SnapshotHeader;
use crate::record_batch::with_fixed_ids;
use crate::schema::{columns, footer_keys};
use crate::summary::FileSummary;

/// What the `akidb.kind` footer key of a tombstone part says.
pub const TOMBSTONES_KIND: &str = "tombstones";

const KIND: IdFileKind = IdFileKind {
    key: TOMBSTONES_KIND,
    name: "a tombstone part",
};

/// The ids of a tombstone part, sorted and distinct, and the snapshot that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tombstones {
    /// Collection, snapshot and creation time of the snapshot that wrote the part.
    pub header: SnapshotHeader,
    /// The ids, in ascending order, none twice.
    pub ids: Vec<Uuid>,
}

impl Tombstones {
    /// Whether `id` is one of the ids.
    pub fn contains(&self, id: &Uuid) -> bool {
        self.ids.binary_search(id).is_ok()
    }
}

/// The Arrow schema of a tombstone part: one non-null UUID column.
fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(columns::DOCUMENT_ID, DataType::FixedSizeBinary(16), false)
            .with_extension_type(UuidExtension),
    ]))
}

/// Writes a tombstone part of `ids` (in any order, repeats allowed: the file holds each once,
/// sorted) for the snapshot `header` names, compressed with zstd.
///
/// # Errors
///
/// [`Error::Validation`] for no ids, or the nil UUID, which is no document's id.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
///     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let ids = [Uuid::from_u128(9), Uuid::from_u128(3), Uuid::from_u128(9)];
/// let (file, summary) = encode_tombstones(ids, &header)?;
/// assert_eq!(summary.vector_count, 2);
///
/// let back = decode_tombstones(file.into(), &Limits::default())?;
/// assert_eq!(back.ids, [Uuid::from_u128(3), Uuid::from_u128(9)]);
/// assert!(back.contains(&Uuid::from_u128(9)) && !back.contains(&Uuid::from_u128(4)));
/// assert_eq!(back.header, header);
/// # Ok::<(), Error>(())
/// ```
pub fn encode_tombstones(
    ids: impl IntoIterator<Item = Uuid>,
    header: &SnapshotHeader,
) -> Result<(Vec<u8>, FileSummary)> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(Error::validation(
            DocumentRef::NONE,
            "a tombstone part needs at least one id, and none were given",
        ));
    }
    if ids[0].is_nil() {
        return Err(crate::error::nil_id(DocumentRef::NONE, "a tombstone is"));
    }
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.into_bytes()).collect();
    let array = FixedSizeBinaryArray::new(16, Buffer::from_vec(bytes), None);
    let batch = RecordBatch::try_new(schema(), vec![Arc::new(array) as ArrayRef])
        .map_err(|e| Error::encoding("could not build the tombstones' batch", e))?;
    // One row group: a tombstone part is read whole.
    write_id_file(
        KIND,
        header,
        &batch,
        Vec::new(),
        IdFileLayout {
            row_group_rows: ids.len(),
            page_rows: None,
            id_filter: None,
        },
    )
}

/// Reads a tombstone part: its footer is checked as a data file's is (every range inside the
/// file, every size within `limits`, every page header) before parquet reads it, then its ids.
/// Its one column must be required and plain-encoded, as [`encode_tombstones`] writes it.
///
/// # Errors
///
/// [`Error::Decoding`] for a Parquet file that is not a tombstone part (another `akidb.kind`, or
/// other columns); [`Error::DataCorruption`] for a damaged one: ids not in ascending order or
/// repeated, a count that disagrees with the footer, unreadable Parquet.
pub fn decode_tombstones(file: Bytes, limits: &Limits) -> Result<Tombstones> {
    guard(|| {
        let IdFile { footer, rows } = open_id_file(file, limits, KIND, &schema())?;
        let (header, count) = (footer.header, footer.count);
        let mut ids: Vec<Uuid> = Vec::new();
        for batch in rows {
            let batch =
                batch.map_err(|e| Error::corruption_from("the tombstone part is unreadable", e))?;
            let batch = with_fixed_ids(batch, ids.len() as u64)?;
            let column = batch.column(0).as_fixed_size_binary_opt().ok_or_else(|| {
                Error::decoding("the tombstone part's `document_id` is not 16-byte ids")
            })?;
            if column.null_count() > 0 {
                return Err(Error::corruption("the tombstone part holds a null id"));
            }
            for id in column.iter().flatten() {
                let id = Uuid::from_slice(id).map_err(|e| Error::corruption(e.to_string()))?;
                if ids.last().is_some_and(|last| *last >= id) {
                    return Err(Error::corruption(format!(
                        "the tombstone part's ids are not in ascending order at row {} ({id})",
                        ids.len()
                    )));
                }
                ids.push(id);
            }
        }
        if ids.len() as u64 != count {
            return Err(Error::corruption(format!(
                "the footer says {count} tombstones ({}) but the file holds {}",
                footer_keys::VECTOR_COUNT,
                ids.len()
            )));
        }
        Ok(Tombstones { header, ids })
    })
}
