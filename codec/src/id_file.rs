//! What tombstone parts and id indexes share: a Parquet file of required, plain-encoded columns
//! keyed by `document_id`, whose footer says what it is (`akidb.kind`), which snapshot wrote it
//! and how many rows it holds. One writer and one guarded reader serve both.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::checksum::HashingWriter;
use crate::config::{Compression, Limits};
use crate::decode::{checked_metadata, parse_key as parse, reader_schema};
use crate::error::{Error, Result};
use crate::metadata::SnapshotHeader;
use crate::model::{CollectionId, SnapshotId, Timestamp};
use crate::schema::{SCHEMA_VERSION, footer_keys};
use crate::summary::FileSummary;

/// What an id file is: the value of its `akidb.kind` footer key, and how messages name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdFileKind {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
}

/// Writes `batch` (of `schema`, whose every column is required) as an id file of `kind` for the
/// snapshot `header` names, compressed with zstd, with `extra` footer keys, in row groups of
/// `row_group_rows`. Statistics stay on: a reader looking for a few ids skips the row groups
/// whose `document_id` range misses them.
pub(crate) fn write_id_file(
    kind: IdFileKind,
    header: &SnapshotHeader,
    batch: &RecordBatch,
    extra: Vec<(&'static str, String)>,
    row_group_rows: usize,
) -> Result<(Vec<u8>, FileSummary)> {
    let rows = batch.num_rows();
    let footer = [
        (footer_keys::SCHEMA_VERSION, SCHEMA_VERSION.to_string()),
        (footer_keys::KIND, kind.key.to_owned()),
        (footer_keys::COLLECTION_ID, header.collection_id.to_string()),
        (footer_keys::SNAPSHOT_ID, header.snapshot_id.to_string()),
        (footer_keys::CREATED_AT, header.created_at_rfc3339()?),
        (footer_keys::VECTOR_COUNT, rows.to_string()),
    ]
    .into_iter()
    .chain(extra)
    .map(|(k, v)| KeyValue::new(k.to_owned(), v))
    .collect();
    let props = WriterProperties::builder()
        .set_created_by(concat!("akidb-snapshot-codec ", env!("CARGO_PKG_VERSION")).to_owned())
        .set_compression(Compression::default().to_parquet()?)
        .set_key_value_metadata(Some(footer))
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .build();
    let failed = |what: &str| format!("could not {what} the {}", kind.name);
    let mut sink = HashingWriter::new(Vec::new());
    let mut writer = ArrowWriter::try_new(&mut sink, batch.schema(), Some(props))
        .map_err(|e| Error::encoding(failed("start"), e))?;
    writer
        .write(batch)
        .map_err(|e| Error::encoding(failed("write"), e))?;
    writer
        .close()
        .map_err(|e| Error::encoding(failed("finish"), e))?;
    let (file, summary) = FileSummary::of(sink, rows as u64, 0);
    Ok((file, summary))
}

/// An id file's footer, checked, and a reader of its rows.
pub(crate) struct IdFile {
    /// Collection, snapshot and creation time of the snapshot that wrote it.
    pub(crate) header: SnapshotHeader,
    /// The rows its footer says it holds.
    pub(crate) count: u64,
    /// Every footer key, for those only one kind has.
    pub(crate) keys: BTreeMap<String, String>,
    pub(crate) rows: ParquetRecordBatchReader,
}

impl IdFile {
    /// A footer key that must be there.
    pub(crate) fn key(&self, key: &'static str) -> Result<&str> {
        self.keys
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::decoding(format!("the footer key `{key}` is missing")))
    }
}

/// Opens an id file of `kind` whose columns are those of `schema`. Its footer is checked as a
/// data file's is (every range inside the file, every size within `limits`, every page header)
/// before parquet reads it. Call inside [`guard`](crate::decode::guard).
pub(crate) fn open_id_file(
    file: Bytes,
    limits: &Limits,
    kind: IdFileKind,
    schema: &SchemaRef,
) -> Result<IdFile> {
    let metadata = checked_metadata(&file, limits)?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    // Required columns have no definition levels, whose decoder panics on levels that run past
    // their buffer (docs/FUZZING.md, finding 4).
    let descr = metadata.file_metadata().schema_descr();
    let columns_match = descr.num_columns() == names.len()
        && (0..names.len())
            .all(|i| descr.column(i).max_def_level() == 0 && descr.column(i).name() == names[i]);
    if !columns_match {
        return Err(Error::decoding(format!(
            "the file's columns are not those of {}: required `{}`",
            kind.name,
            names.join("`, `")
        )));
    }
    // Ids are distinct, so a dictionary saves nothing; refusing one keeps parquet's dictionary
    // decoder, which panics on a key beyond its dictionary, away from hostile bytes (the page
    // walk already refused dictionary-encoded pages without a dictionary).
    let dictionary = (metadata.row_groups().iter())
        .flat_map(|rg| rg.columns())
        .any(|c| c.dictionary_page_offset().is_some());
    if dictionary {
        return Err(Error::decoding(format!(
            "the file is dictionary-encoded; {} is written plain",
            kind.name
        )));
    }
    let keys: BTreeMap<String, String> = (metadata.file_metadata().key_value_metadata())
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
        .collect();
    match keys.get(footer_keys::KIND) {
        None => {
            return Err(Error::decoding(format!(
                "the file has no `{}` footer key: it is not {}",
                footer_keys::KIND,
                kind.name
            )));
        }
        Some(found) if found != kind.key => {
            return Err(Error::decoding(format!(
                "the file says it is `{found}` ({}), not {}",
                footer_keys::KIND,
                kind.name
            )));
        }
        Some(_) => {}
    }
    let get = |key: &'static str| {
        keys.get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::decoding(format!("the footer key `{key}` is missing")))
    };
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
    // As for data files: a `document_id` other writers stored as plain BYTE_ARRAY is read, and
    // each value held to what the schema needs.
    let root = metadata.file_metadata().schema_descr().root_schema();
    let options = ArrowReaderOptions::new()
        .with_schema(reader_schema(schema, root))
        .with_skip_arrow_metadata(true);
    let arrow = ArrowReaderMetadata::try_new(Arc::new(metadata), options).map_err(|e| {
        Error::decoding(format!(
            "the file's columns are not those of {} ({e})",
            kind.name
        ))
    })?;
    let rows = ParquetRecordBatchReaderBuilder::new_with_metadata(file, arrow)
        .build()
        .map_err(|e| Error::corruption_from(format!("the {} is unreadable", kind.name), e))?;
    Ok(IdFile {
        header,
        count,
        keys,
        rows,
    })
}
