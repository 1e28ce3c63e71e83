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
use parquet::file::metadata::{KeyValue, ParquetMetaData};
use parquet::file::properties::{BloomFilterPosition, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::config::{Compression, Limits};
use crate::decode::{checked_metadata, parse_key as parse, reader_schema};
use crate::error::{Error, Result};
use crate::hashing::HashingWriter;
use crate::metadata::SnapshotHeader;
use crate::model::{CollectionId, SnapshotId, Timestamp};
use crate::page_checksums::FileLayout;
use crate::schema::{SCHEMA_VERSION, columns, footer_keys};
use crate::summary::FileSummary;

/// What an id file is: the value of its `akidb.kind` footer key, and how messages name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdFileKind {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
}

/// How an id file is cut into row groups and pages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdFileLayout {
    pub(crate) row_group_rows: usize,
    /// Rows per page, where a reader fetches single pages (an id index); else parquet's
    /// default page size.
    pub(crate) page_rows: Option<usize>,
    /// The false-positive rate of a Bloom filter of `document_id` in each row group, where a
    /// reader probes for ids the file may not hold (an id index). Written after the last page,
    /// so that it is part of the file's tail.
    pub(crate) id_filter: Option<f64>,
}

/// Writes `batch` (of `schema`, whose every column is required) as an id file of `kind` for the
/// snapshot `header` names, compressed with zstd, with `extra` footer keys, cut as `layout`
/// says. Statistics stay on: a reader looking for a few ids skips the row groups (and, with
/// the page index, the pages) whose `document_id` range misses them. The file's own pages
/// and their checksums are recorded in its footer ([`footer_keys::PAGES`]).
pub(crate) fn write_id_file(
    kind: IdFileKind,
    header: &SnapshotHeader,
    batch: &RecordBatch,
    extra: Vec<(&'static str, String)>,
    layout: IdFileLayout,
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
    let mut props = WriterProperties::builder()
        .set_created_by(concat!("akidb-snapshot-codec ", env!("CARGO_PKG_VERSION")).to_owned())
        .set_compression(Compression::default().to_parquet()?)
        .set_key_value_metadata(Some(footer))
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(layout.row_group_rows.max(1)));
    if let Some(page_rows) = layout.page_rows {
        // Columns without levels end a page only between write batches.
        props = props
            .set_data_page_row_count_limit(page_rows.max(1))
            .set_write_batch_size(page_rows.max(1));
    }
    if let Some(fpp) = layout.id_filter {
        let column = ColumnPath::from(columns::DOCUMENT_ID);
        props = props
            .set_bloom_filter_position(BloomFilterPosition::End)
            .set_column_bloom_filter_enabled(column.clone(), true)
            .set_column_bloom_filter_fpp(column.clone(), fpp)
            .set_column_bloom_filter_max_ndv(column, rows.min(layout.row_group_rows).max(1) as u64);
    }
    let failed = |what: &str| format!("could not {what} the {}", kind.name);
    let mut sink = HashingWriter::walking_pages(Vec::new());
    let mut writer = ArrowWriter::try_new(&mut sink, batch.schema(), Some(props.build()))
        .map_err(|e| Error::encoding(failed("start"), e))?;
    writer
        .write(batch)
        .map_err(|e| Error::encoding(failed("write"), e))?;
    writer
        .flush()
        .and_then(|()| writer.sync().map_err(Into::into))
        .map_err(|e| Error::encoding(failed("write"), e))?;
    // Every page has reached the sink: record them before the footer is written.
    writer.inner_mut().end_pages()?;
    let pages = FileLayout::of_pages(writer.inner().pages().to_vec());
    writer.append_key_value_metadata(KeyValue::new(
        footer_keys::PAGES.to_owned(),
        pages.to_text(),
    ));
    writer
        .close()
        .map_err(|e| Error::encoding(failed("finish"), e))?;
    let (file, summary) = FileSummary::of(sink, rows as u64, 0);
    Ok((file, summary))
}

/// An id file's footer, checked.
#[derive(Debug, Clone)]
pub(crate) struct IdFileFooter {
    /// Collection, snapshot and creation time of the snapshot that wrote it.
    pub(crate) header: SnapshotHeader,
    /// The rows its footer says it holds.
    pub(crate) count: u64,
    /// Every footer key, for those only one kind has.
    pub(crate) keys: BTreeMap<String, String>,
    /// Its metadata, as parquet reads it with the columns of the kind's schema.
    pub(crate) arrow: ArrowReaderMetadata,
}

impl IdFileFooter {
    /// A footer key that must be there.
    pub(crate) fn key(&self, key: &'static str) -> Result<&str> {
        self.keys
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::decoding(format!("the footer key `{key}` is missing")))
    }
}

/// An id file's footer, checked, and a reader of its rows.
pub(crate) struct IdFile {
    pub(crate) footer: IdFileFooter,
    pub(crate) rows: ParquetRecordBatchReader,
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
    let footer = check_id_file(checked_metadata(&file, limits)?, kind, schema)?;
    let rows = ParquetRecordBatchReaderBuilder::new_with_metadata(file, footer.arrow.clone())
        .build()
        .map_err(|e| Error::corruption_from(format!("the {} is unreadable", kind.name), e))?;
    Ok(IdFile { footer, rows })
}

/// Checks that `metadata` is the footer of an id file of `kind` whose columns are those of
/// `schema`: required columns of those names, plain-encoded, the kind's footer keys.
pub(crate) fn check_id_file(
    metadata: ParquetMetaData,
    kind: IdFileKind,
    schema: &SchemaRef,
) -> Result<IdFileFooter> {
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
    Ok(IdFileFooter {
        header,
        count,
        keys,
        arrow,
    })
}
