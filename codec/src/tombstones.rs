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
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use uuid::Uuid;

use crate::checksum::HashingWriter;
use crate::config::{Compression, Limits};
use crate::decode::{checked_metadata, guard, parse_key as parse, reader_schema};
use crate::error::{DocumentRef, Error, Result};
use crate::metadata::SnapshotHeader;
use crate::model::{CollectionId, SnapshotId, Timestamp};
use crate::record_batch::with_fixed_ids;
use crate::schema::{SCHEMA_VERSION, columns, footer_keys};
use crate::summary::FileSummary;

/// What the `akidb.kind` footer key of a tombstone part says.
pub const TOMBSTONES_KIND: &str = "tombstones";

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
    let footer = [
        (footer_keys::SCHEMA_VERSION, SCHEMA_VERSION.to_string()),
        (footer_keys::KIND, TOMBSTONES_KIND.to_owned()),
        (footer_keys::COLLECTION_ID, header.collection_id.to_string()),
        (footer_keys::SNAPSHOT_ID, header.snapshot_id.to_string()),
        (footer_keys::CREATED_AT, header.created_at_rfc3339()?),
        (footer_keys::VECTOR_COUNT, ids.len().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| KeyValue::new(k.to_owned(), v))
    .collect();
    let props = WriterProperties::builder()
        .set_created_by(concat!("akidb-snapshot-codec ", env!("CARGO_PKG_VERSION")).to_owned())
        .set_compression(Compression::default().to_parquet()?)
        .set_key_value_metadata(Some(footer))
        .set_dictionary_enabled(false)
        .build();
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.into_bytes()).collect();
    let array = FixedSizeBinaryArray::new(16, Buffer::from_vec(bytes), None);
    let batch = RecordBatch::try_new(schema(), vec![Arc::new(array) as ArrayRef])
        .map_err(|e| Error::encoding("could not build the tombstones' batch", e))?;
    let mut sink = HashingWriter::new(Vec::new());
    let mut writer = ArrowWriter::try_new(&mut sink, schema(), Some(props))
        .map_err(|e| Error::encoding("could not start the tombstone part", e))?;
    writer
        .write(&batch)
        .map_err(|e| Error::encoding("could not write the tombstones", e))?;
    writer
        .close()
        .map_err(|e| Error::encoding("could not finish the tombstone part", e))?;
    let (file, summary) = FileSummary::of(sink, ids.len() as u64, 0);
    Ok((file, summary))
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
        let metadata = checked_metadata(&file, limits)?;
        // A required column has no definition levels, whose decoder panics on levels that run
        // past their buffer (docs/FUZZING.md, finding 4).
        let descr = metadata.file_metadata().schema_descr();
        if descr.num_columns() != 1 || descr.column(0).max_def_level() != 0 {
            return Err(Error::decoding(format!(
                "the file's columns are not those of a tombstone part: one required `{}`",
                columns::DOCUMENT_ID
            )));
        }
        // Ids are distinct, so a dictionary saves nothing; refusing one keeps parquet's
        // dictionary decoder, which panics on a key beyond its dictionary, away from hostile
        // bytes (the page walk already refused dictionary-encoded pages without a dictionary).
        let dictionary = (metadata.row_groups().iter())
            .flat_map(|rg| rg.columns())
            .any(|c| c.dictionary_page_offset().is_some());
        if dictionary {
            return Err(Error::decoding(
                "the tombstone part is dictionary-encoded; tombstone parts are written plain",
            ));
        }
        let keys: std::collections::BTreeMap<&str, &str> = metadata
            .file_metadata()
            .key_value_metadata()
            .into_iter()
            .flatten()
            .filter_map(|kv| Some((kv.key.as_str(), kv.value.as_deref()?)))
            .collect();
        let get = |key: &'static str| {
            keys.get(key)
                .copied()
                .ok_or_else(|| Error::decoding(format!("the footer key `{key}` is missing")))
        };
        let kind = keys.get(footer_keys::KIND).copied().ok_or_else(|| {
            Error::decoding(format!(
                "the file has no `{}` footer key: it is not a tombstone part",
                footer_keys::KIND
            ))
        })?;
        if kind != TOMBSTONES_KIND {
            return Err(Error::decoding(format!(
                "the file says it is `{kind}` ({}), not a tombstone part",
                footer_keys::KIND
            )));
        }
        let version: u32 = parse(
            footer_keys::SCHEMA_VERSION,
            get(footer_keys::SCHEMA_VERSION)?,
        )?;
        if version > SCHEMA_VERSION {
            return Err(Error::UnsupportedSchemaVersion {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let header = SnapshotHeader::new(
            parse::<CollectionId>(footer_keys::COLLECTION_ID, get(footer_keys::COLLECTION_ID)?)?,
            parse::<SnapshotId>(footer_keys::SNAPSHOT_ID, get(footer_keys::SNAPSHOT_ID)?)?,
            parse::<Timestamp>(footer_keys::CREATED_AT, get(footer_keys::CREATED_AT)?)?,
        );
        let count: u64 = parse(footer_keys::VECTOR_COUNT, get(footer_keys::VECTOR_COUNT)?)?;
        // As for data files: a column other writers made optional, or plain BYTE_ARRAY ids,
        // are read, and each value held to what the schema needs.
        let root = metadata.file_metadata().schema_descr().root_schema();
        let options = ArrowReaderOptions::new()
            .with_schema(reader_schema(&schema(), root))
            .with_skip_arrow_metadata(true);
        let arrow = ArrowReaderMetadata::try_new(Arc::new(metadata), options).map_err(|e| {
            Error::decoding(format!(
                "the file's columns are not those of a tombstone part ({e})"
            ))
        })?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, arrow)
            .build()
            .map_err(|e| Error::corruption_from("the tombstone part is unreadable", e))?;
        let mut ids: Vec<Uuid> = Vec::new();
        for batch in reader {
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
