//! Reading and checking a snapshot's footer before any data is decoded.
//!
//! parquet trusts the footer: a column chunk whose offset or length is out of range trips an
//! assertion inside it (arrow-rs issue 6255), and sizes it declares become allocations. So every
//! range is checked against the file's length, and every count against [`Limits`], here, first.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::{
    ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData,
};
use parquet::file::page_index::offset_index::PageLocation;
use parquet::file::statistics::Statistics;
use parquet::schema::types::Type as ParquetType;

use super::slice::FileSlice;
use crate::config::{Compression, Limits};
use crate::encryption::{EncryptionInfo, KeyRing};
use crate::error::{Error, Result};
use crate::metadata::SnapshotHeader;
use crate::model::{CollectionId, SnapshotId, Timestamp};
use crate::schema::{SCHEMA_VERSION, arrow_schema, columns, footer_keys};

const MAGIC: &[u8; 4] = b"PAR1";
/// The magic of a file whose footer is encrypted.
const ENCRYPTED_MAGIC: &[u8; 4] = b"PARE";
/// The fixed tail of a Parquet file: a 4-byte footer length and the magic.
const FOOTER_TAIL: u64 = 8;
/// Footer keys that are not shown in [`SnapshotInfo::footer`]: parquet's own copy of the Arrow
/// schema, base64, as long as it is unreadable.
const HIDDEN_FOOTER_KEYS: &[&str] = &["ARROW:schema"];

/// What a snapshot file's footer says, read without decoding any vector.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SnapshotInfo {
    /// Collection, snapshot and creation time, from the `akidb.*` footer keys; `None` for a
    /// file another tool wrote in the snapshot schema without them (Spark cannot write them),
    /// whose count comes from its row groups and dimension from its columns.
    pub header: Option<SnapshotHeader>,
    /// The file's schema version ([`SCHEMA_VERSION`] for a file without footer keys, which is
    /// read as that schema).
    pub schema_version: u32,
    /// Documents in the file.
    pub vector_count: u64,
    /// Their dimension.
    pub dimension: u32,
    /// The vector column's compression (Parquet does not record a zstd level, so zstd reads as
    /// the default level). `None` for a codec this crate does not write.
    pub compression: Option<Compression>,
    /// The row groups, in file order.
    pub row_groups: Vec<RowGroupInfo>,
    /// The file's length in bytes.
    pub file_bytes: u64,
    /// How the file is encrypted, where it is (Parquet modular encryption,
    /// docs/ENCRYPTION.md).
    pub encryption: Option<EncryptionInfo>,
    /// Bytes of column data as stored (compressed), all row groups.
    pub compressed_bytes: u64,
    /// Bytes of column data before compression, all row groups.
    pub uncompressed_bytes: u64,
    /// The writer that made the file, as it names itself.
    pub created_by: Option<String>,
    /// Every footer key-value pair, `akidb.*` and others, except parquet's encoded Arrow schema.
    pub footer: BTreeMap<String, String>,
}

/// One row group of a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RowGroupInfo {
    /// Documents in the row group.
    pub rows: u64,
    /// Where its column chunks lie in the file: what a ranged read must fetch to decode it.
    pub byte_range: Range<u64>,
    /// Its column data as stored.
    pub compressed_bytes: u64,
    /// Its column data before compression.
    pub uncompressed_bytes: u64,
}

/// The result of [`ParquetFooter::parse`] on the tail of a file.
#[derive(Debug)]
pub enum FooterParse {
    /// The tail held the whole footer.
    Complete(Box<ParquetFooter>),
    /// The footer is longer: fetch this many bytes from the end of the file and parse again.
    /// Always more than the tail given and no more than the file holds, so a loop that fetches
    /// it ends after one more read.
    NeedTail(u64),
}

/// A snapshot file's footer, parsed and checked: the file can be decoded one row group at a
/// time from byte ranges fetched separately (the sans-I/O shape of parquet's push decoder).
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// # let docs: Vec<_> = (0..30u128).map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![1.0; 4])).collect();
/// let config = ParquetConfig::default().with_row_group_size(10);
/// let (file, _) = encode_parquet(&docs, &header, &config).unwrap();
/// let file_len = file.len() as u64;
///
/// // Fetch a tail, as a ranged read would, and parse the footer from it.
/// let tail_len = ParquetFooter::SUGGESTED_TAIL_BYTES.min(file_len);
/// let tail = bytes::Bytes::copy_from_slice(&file[(file_len - tail_len) as usize..]);
/// let FooterParse::Complete(footer) = ParquetFooter::parse(tail, file_len, &Limits::default())
///     .unwrap() else { panic!("the tail holds the footer") };
/// assert_eq!(footer.info().row_groups.len(), 3);
///
/// // Then each row group from its own range.
/// let range = footer.info().row_groups[1].byte_range.clone();
/// let chunk = bytes::Bytes::copy_from_slice(&file[range.start as usize..range.end as usize]);
/// let rows = footer.decode_row_group::<VectorDocument>(1, chunk).unwrap();
/// assert_eq!(rows, docs[10..20]);
/// ```
#[derive(Debug, Clone)]
pub struct ParquetFooter {
    info: SnapshotInfo,
    arrow: ArrowReaderMetadata,
    /// The first row of every vector page, per row group, once the offset index is loaded
    /// (whole-file decoding only): where a row group can be cut into parts that share no page.
    vector_pages: Vec<Vec<usize>>,
}

impl ParquetFooter {
    /// A tail read of this size holds the whole footer of most snapshots (about 2 KB for one
    /// row group, plus about 1 KB per further row group).
    pub const SUGGESTED_TAIL_BYTES: u64 = 64 * 1024;

    /// Parses the footer from `tail`, the last `tail.len()` bytes of a file of `file_len` bytes.
    /// An encrypted file is refused with [`Error::EncryptionKey`]: see
    /// [`parse_with_keys`](Self::parse_with_keys).
    pub fn parse(tail: Bytes, file_len: u64, limits: &Limits) -> Result<FooterParse> {
        Self::parse_with_keys(tail, file_len, limits, &KeyRing::default())
    }

    /// As [`parse`](Self::parse), for a file that may be encrypted (docs/ENCRYPTION.md): its
    /// data key is unwrapped with the master key of `keys` that its key material names, and
    /// the footer keeps it to decrypt pages. Fails with [`Error::EncryptionKey`] if `keys` has
    /// no key of that id, or a different key under it.
    pub fn parse_with_keys(
        tail: Bytes,
        file_len: u64,
        limits: &Limits,
        keys: &KeyRing,
    ) -> Result<FooterParse> {
        super::guard(|| {
            if tail.len() as u64 > file_len {
                return Err(Error::corruption(format!(
                    "a tail of {} bytes was given for a file of {file_len} bytes",
                    tail.len()
                )));
            }
            let declared = declared_tail(&tail, file_len)?;
            let Some(at) = tail.len().checked_sub(declared.len as usize) else {
                return Ok(FooterParse::NeedTail(declared.len));
            };
            let (metadata, encryption) = if declared.encrypted {
                let (metadata, info) =
                    super::encrypted::decrypt_footer(tail.slice(at..), file_len, keys)?;
                (metadata, Some(info))
            } else {
                let footer = &tail[at..tail.len() - FOOTER_TAIL as usize];
                (decode_footer(footer)?, None)
            };
            Self::check(metadata, file_len, limits, encryption)
                .map(|f| FooterParse::Complete(Box::new(f)))
        })
    }

    /// Parses the footer of a whole file, which may be encrypted under a key of `keys`.
    pub(crate) fn of_file(file: &Bytes, limits: &Limits, keys: &KeyRing) -> Result<Self> {
        check_head(file)?;
        Self::parse_with_keys(file.clone(), file.len() as u64, limits, keys)?.whole_file(file.len())
    }

    /// Whether the file is encrypted: its pages are AES-GCM modules, not Thrift headers.
    pub(crate) fn encrypted(&self) -> bool {
        self.info.encryption.is_some()
    }

    /// What the footer says.
    pub fn info(&self) -> &SnapshotInfo {
        &self.info
    }

    pub(crate) fn arrow(&self) -> &ArrowReaderMetadata {
        &self.arrow
    }

    fn check(
        metadata: ParquetMetaData,
        file_len: u64,
        limits: &Limits,
        encryption: Option<EncryptionInfo>,
    ) -> Result<Self> {
        let file = metadata.file_metadata();
        let footer: BTreeMap<String, String> = file
            .key_value_metadata()
            .into_iter()
            .flatten()
            .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
            .collect();
        let created_by = file.created_by().map(str::to_owned);
        let file_rows = u64::try_from(file.num_rows())
            .map_err(|_| Error::corruption("the footer declares a negative row count"))?;
        Limits::check("the document count", "max_rows", file_rows, limits.max_rows)?;
        let keys = match FooterKeys::read(&footer)? {
            Some(keys) => keys,
            None => FooterKeys::of_foreign(&metadata, file_rows, created_by.as_deref())?,
        };
        Limits::check(
            "the vector dimension",
            "max_dimension",
            keys.dimension.into(),
            limits.max_dimension.into(),
        )?;
        if file_rows != keys.vector_count {
            return Err(Error::corruption(format!(
                "the footer says {} documents (akidb.vector_count) but the file holds {file_rows} rows",
                keys.vector_count
            )));
        }

        let row_groups =
            check_row_groups(&metadata, Some(keys.dimension), file_rows, file_len, limits)?;

        let compression = metadata
            .row_groups()
            .first()
            .and_then(|rg| rg.columns().iter().find(|c| is_vector(c)))
            .and_then(|c| Compression::from_parquet(c.compression()));

        let arrow = reader_metadata(metadata, keys.dimension)?;

        let info = SnapshotInfo {
            header: keys.header,
            schema_version: keys.schema_version,
            vector_count: keys.vector_count,
            dimension: keys.dimension,
            compression,
            compressed_bytes: row_groups.iter().map(|rg| rg.compressed_bytes).sum(),
            uncompressed_bytes: row_groups.iter().map(|rg| rg.uncompressed_bytes).sum(),
            row_groups,
            file_bytes: file_len,
            encryption,
            created_by,
            footer: footer
                .into_iter()
                .filter(|(k, _)| !HIDDEN_FOOTER_KEYS.contains(&k.as_str()))
                .collect(),
        };
        Ok(ParquetFooter {
            info,
            arrow,
            vector_pages: Vec::new(),
        })
    }

    /// Loads the offset index from `tail`, the last `tail.len()` bytes of the file (the tail
    /// the footer was parsed from holds it, in a file this codec wrote), so that
    /// [`row_group_parts`](Self::row_group_parts) can cut a row group where a vector page
    /// begins. Any problem with the index (absent, outside `tail`, unreadable, inconsistent)
    /// leaves the footer as it was, and row groups stay whole.
    ///
    /// The index is not covered by any check until the file's SHA-256 is: a damaged index that
    /// still looks consistent would shift rows between parts. Rows decoded in parts are to be
    /// trusted once the file's checksum holds, as a restore stream does at its end.
    ///
    /// ```
    /// use akidb_snapshot_codec::*;
    /// use uuid::Uuid;
    ///
    /// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    /// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let docs: Vec<_> = (0..10_000u128).map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![i as f32; 128])).collect();
    /// let (file, _) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
    /// let tail_len = (ParquetFooter::SUGGESTED_TAIL_BYTES as usize).min(file.len());
    /// let tail = bytes::Bytes::copy_from_slice(&file[file.len() - tail_len..]);
    /// let FooterParse::Complete(mut footer) = ParquetFooter::parse(tail.clone(), file.len() as u64, &Limits::default())
    ///     .unwrap() else { panic!("the tail holds the footer") };
    /// assert_eq!(footer.row_group_parts(0, 2), [0..10_000]);
    ///
    /// footer.load_offset_index(tail);
    /// let parts = footer.row_group_parts(0, 2);
    /// assert_eq!(parts.len(), 2);
    /// let range = footer.info().row_groups[0].byte_range.clone();
    /// let group = bytes::Bytes::copy_from_slice(&file[range.start as usize..range.end as usize]);
    /// let second: Vec<VectorDocument> = footer.decode_row_group_rows(0, parts[1].clone(), group).unwrap();
    /// assert_eq!(second, docs[parts[1].clone()]);
    /// ```
    pub fn load_offset_index(&mut self, tail: Bytes) {
        let file_len = self.info.file_bytes;
        let tail = file_len
            .checked_sub(tail.len() as u64)
            .and_then(|start| FileSlice::new(start, tail, file_len));
        if let Some(tail) = tail {
            self.load_offset_index_from(&tail, false);
        }
    }

    /// Loads the offset index from the bytes held by `file`; see
    /// [`load_offset_index`](Self::load_offset_index). With `column_index`, the column index
    /// too (page statistics), which parquet parses without the codec's walk first: only from
    /// bytes whose checksum held.
    pub(crate) fn load_offset_index_from(&mut self, file: &FileSlice, column_index: bool) {
        let metadata = self.arrow.metadata();
        let in_file = |range: Option<Range<u64>>| range.is_some_and(|r| file.holds(&r));
        let all_in_file = metadata
            .row_groups()
            .iter()
            .flat_map(|rg| rg.columns())
            .all(|c| in_file(c.offset_index_range()));
        if !all_in_file {
            return;
        }
        let mut reader = ParquetMetaDataReader::new_with_metadata(metadata.as_ref().clone())
            .with_offset_index_policy(PageIndexPolicy::Optional)
            .with_column_index_policy(if column_index {
                PageIndexPolicy::Optional
            } else {
                PageIndexPolicy::Skip
            });
        let Ok(with_index) = reader
            .read_page_indexes(file)
            .and_then(|()| reader.finish())
        else {
            return;
        };
        if with_index.page_index().is_none() {
            return;
        }
        let mut vector_pages = Vec::with_capacity(self.info.row_groups.len());
        for (i, (rg, rg_meta)) in self
            .info
            .row_groups
            .iter()
            .zip(metadata.row_groups())
            .enumerate()
        {
            let page_index = with_index.page_index_for_row_group(i);
            for (c, column) in rg_meta.columns().iter().enumerate() {
                let Some(pages) = page_index.offset_index(c).map(|o| o.page_locations()) else {
                    return;
                };
                let Some(starts) = checked_page_starts(pages, column, rg.rows) else {
                    return;
                };
                if c == crate::schema::index::VECTOR {
                    vector_pages.push(starts);
                }
            }
        }
        if let Ok(arrow) = reader_metadata(with_index, self.info.dimension) {
            self.arrow = arrow;
            self.vector_pages = vector_pages;
        }
    }

    /// The first row of each vector page of row group `index`, if the offset index is loaded.
    pub(crate) fn vector_pages(&self, index: usize) -> Option<&[usize]> {
        self.vector_pages.get(index).map(Vec::as_slice)
    }
}

/// The first row of each page, if the offset index of `column` is consistent: first rows
/// strictly increasing from 0 and inside the row group, pages inside the column chunk.
fn checked_page_starts(
    pages: &[PageLocation],
    column: &ColumnChunkMetaData,
    rows: u64,
) -> Option<Vec<usize>> {
    let start = chunk_start(column);
    let chunk_end = start.checked_add(column.compressed_size())?;
    let mut starts = Vec::with_capacity(pages.len());
    for page in pages {
        let end = page.offset.checked_add(page.compressed_page_size.into())?;
        let first = u64::try_from(page.first_row_index).ok()?;
        let increasing = starts
            .last()
            .map_or(first == 0, |&last| first > last as u64);
        let empty = page.compressed_page_size <= 0;
        if page.offset < start || end > chunk_end || !increasing || first >= rows || empty {
            return None;
        }
        starts.push(usize::try_from(first).ok()?);
    }
    Some(starts).filter(|s| !s.is_empty())
}

/// Where a column chunk's first page starts: its dictionary page if it has one. The quantity
/// parquet's `ColumnChunkMetaData::byte_range` asserts on, read here without asserting.
pub(super) fn chunk_start(column: &ColumnChunkMetaData) -> i64 {
    column
        .dictionary_page_offset()
        .unwrap_or_else(|| column.data_page_offset())
}

/// Whether `column` is the vector column's leaf, by its path (the schema is not checked yet).
fn is_vector(column: &ColumnChunkMetaData) -> bool {
    column.column_path().parts().first().map(String::as_str) == Some(columns::VECTOR)
}

/// How parquet is to read a snapshot: with our own schema, which makes it check the file's
/// columns against it and coerce a plain LIST (from a writer that embedded no Arrow schema) to
/// the fixed-size list. What other writers of the same schema do differently is allowed for
/// ([`reader_schema`]).
fn reader_metadata(metadata: ParquetMetaData, dimension: u32) -> Result<ArrowReaderMetadata> {
    let schema = reader_schema(
        &arrow_schema(dimension as i32),
        metadata.file_metadata().schema_descr().root_schema(),
    );
    let options = ArrowReaderOptions::new()
        .with_schema(schema)
        .with_skip_arrow_metadata(true);
    // parquet's words, which name the column and both types, are the message itself.
    ArrowReaderMetadata::try_new(Arc::new(metadata), options).map_err(|e| {
        Error::decoding(format!(
            "the file's columns are not those of an akidb snapshot ({e})"
        ))
    })
}

/// The snapshot schema as the file at `root` stores it. pyarrow, DuckDB, Polars and Spark write
/// every column optional and list elements nullable, so each field is nullable where the file's
/// column is optional (a null where a value is needed is refused per batch, where the row is
/// known). Polars and Spark have no fixed-size binary type and write `document_id` as a plain
/// `BYTE_ARRAY`, which is read as `Binary` and held to 16 bytes a value per batch
/// ([`with_fixed_ids`](crate::record_batch::with_fixed_ids)).
pub(crate) fn reader_schema(schema: &SchemaRef, root: &ParquetType) -> SchemaRef {
    let top = if root.is_group() {
        root.get_fields()
    } else {
        &[]
    };
    let column = |name: &str| top.iter().find(|t| t.name() == name);
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| {
            let file = column(field.name());
            let nullable = file.is_some_and(|t| t.is_optional());
            match (field.data_type(), file) {
                (DataType::FixedSizeBinary(_), Some(id))
                    if !id.is_group() && id.get_physical_type() == PhysicalType::BYTE_ARRAY =>
                {
                    Field::new(field.name(), DataType::Binary, nullable)
                }
                (DataType::FixedSizeList(element, size), Some(list)) => {
                    let element = element
                        .as_ref()
                        .clone()
                        .with_nullable(list_element_is_optional(list));
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(DataType::FixedSizeList(Arc::new(element), *size))
                        .with_nullable(nullable)
                }
                _ => field.as_ref().clone().with_nullable(nullable),
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Whether the element of a three-level Parquet LIST (`group (LIST) { repeated group list {
/// element } }`) is optional; a two-level list's repeated leaf is never null.
fn list_element_is_optional(list: &ParquetType) -> bool {
    let child = |t: &ParquetType| {
        t.is_group()
            .then(|| t.get_fields().first().cloned())
            .flatten()
    };
    child(list)
        .and_then(|repeated| child(&repeated))
        .is_some_and(|element| element.is_optional())
}

/// Reads a snapshot's footer from a whole file in memory, without decoding any vector.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// let header = SnapshotHeader::new(
///     CollectionId::from_uuid(Uuid::from_u128(1)),
///     SnapshotId::from_uuid(Uuid::from_u128(2)),
///     Timestamp::from_millis(0),
/// );
/// let docs = vec![VectorDocument::new(Uuid::from_u128(3), vec![1.0, 2.0, 3.0])];
/// let (bytes, _) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
/// let info = inspect_parquet(&bytes, &Limits::default()).unwrap();
/// assert_eq!((info.vector_count, info.dimension), (1, 3));
/// assert_eq!(info.header, Some(header));
/// assert_eq!(info.compression, Some(Compression::default()));
/// assert_eq!(info.footer["akidb.schema_version"], "1");
/// ```
pub fn inspect_parquet(file: &[u8], limits: &Limits) -> Result<SnapshotInfo> {
    inspect_parquet_with_keys(file, limits, &KeyRing::default())
}

/// As [`inspect_parquet`], for a file that may be encrypted under a key of `keys`.
pub fn inspect_parquet_with_keys(
    file: &[u8],
    limits: &Limits,
    keys: &KeyRing,
) -> Result<SnapshotInfo> {
    check_head(file)?;
    // Only the footer is copied, not the file.
    let needed = declared_tail(file, file.len() as u64)?.len as usize;
    let tail = Bytes::copy_from_slice(&file[file.len() - needed..]);
    let footer = ParquetFooter::parse_with_keys(tail, file.len() as u64, limits, keys)?
        .whole_file(file.len())?;
    Ok(footer.info)
}

/// The metadata of a whole Parquet file that is not a snapshot's data file (a tombstone part),
/// checked as a data file's is before parquet reads it: every column chunk inside the file,
/// every row group within `limits`, the row counts consistent, every page header walked
/// ([`pages`](crate::pages)).
pub(crate) fn checked_metadata(file: &[u8], limits: &Limits) -> Result<ParquetMetaData> {
    check_head(file)?;
    let (metadata, row_groups) = checked_footer(file, file.len() as u64, limits)?;
    // Every page header too, as a data file's row group is before it is decoded.
    for (i, (rg, checked)) in metadata.row_groups().iter().zip(&row_groups).enumerate() {
        for column in rg.columns() {
            let bad = |why: String| {
                let path = column.column_path().string();
                Error::corruption(format!("row group {i}, column {path}: {why}"))
            };
            // check_row_group put the chunk inside the file.
            let start = chunk_start(column) as usize;
            let chunk = file
                .get(start..start.saturating_add(column.compressed_size() as usize))
                .ok_or_else(|| bad("its bytes lie beyond the file".to_owned()))?;
            crate::pages::check_pages(chunk, checked.uncompressed_bytes, false).map_err(bad)?;
        }
    }
    Ok(metadata)
}

/// The metadata of a Parquet file that is not a snapshot's data file, from `tail`, its last
/// bytes, once their SHA-256 held (an id index read by ranges): checked as
/// [`checked_metadata`] checks it but for the page headers, which a reader checks as it
/// fetches pages; with the page index, which the tail holds.
pub(crate) fn checked_tail_metadata(
    tail: &Bytes,
    file_len: u64,
    limits: &Limits,
) -> Result<ParquetMetaData> {
    let (metadata, _) = checked_footer(tail, file_len, limits)?;
    let start = file_len.saturating_sub(tail.len() as u64);
    let slice = FileSlice::new(start, tail.clone(), file_len)
        .ok_or_else(|| Error::corruption("the tail is longer than the file"))?;
    let mut reader = ParquetMetaDataReader::new_with_metadata(metadata)
        .with_offset_index_policy(PageIndexPolicy::Required)
        .with_column_index_policy(PageIndexPolicy::Optional);
    reader
        .read_page_indexes(&slice)
        .and_then(|()| reader.finish())
        .map_err(|e| Error::corruption_from("the file's page index is unreadable", e))
}

/// The footer at the end of `tail` (the last bytes of a file of `file_len` bytes), with its
/// row groups checked against the file's length and `limits`.
fn checked_footer(
    tail: &[u8],
    file_len: u64,
    limits: &Limits,
) -> Result<(ParquetMetaData, Vec<RowGroupInfo>)> {
    let needed = declared_tail(tail, file_len)?.plain()? as usize;
    let at = tail.len().checked_sub(needed).ok_or_else(|| {
        Error::corruption(format!(
            "the footer claims {needed} bytes, more than the {} read",
            tail.len()
        ))
    })?;
    let metadata = decode_footer(&tail[at..tail.len() - FOOTER_TAIL as usize])?;
    let rows = u64::try_from(metadata.file_metadata().num_rows())
        .map_err(|_| Error::corruption("the footer declares a negative row count"))?;
    Limits::check("the row count", "max_rows", rows, limits.max_rows)?;
    let row_groups = check_row_groups(&metadata, None, rows, file_len, limits)?;
    Ok((metadata, row_groups))
}

/// The footer's Thrift (without the length and magic after it), walked by the codec's own
/// reader before parquet decodes it.
fn decode_footer(footer: &[u8]) -> Result<ParquetMetaData> {
    super::file_metadata::check_file_metadata(footer)
        .map_err(|why| Error::corruption(format!("the Parquet footer is unreadable: {why}")))?;
    ParquetMetaDataReader::decode_metadata(footer)
        .map_err(|e| Error::corruption_from("the Parquet footer is unreadable", e))
}

/// Every row group checked ([`check_row_group`]), and their rows summed against the `rows` the
/// file declares.
fn check_row_groups(
    metadata: &ParquetMetaData,
    dimension: Option<u32>,
    rows: u64,
    file_len: u64,
    limits: &Limits,
) -> Result<Vec<RowGroupInfo>> {
    let row_groups = (metadata.row_groups().iter().enumerate())
        .map(|(i, rg)| check_row_group(i, rg, dimension, file_len, limits))
        .collect::<Result<Vec<_>>>()?;
    let in_groups = row_groups
        .iter()
        .fold(0u64, |sum, rg| sum.saturating_add(rg.rows));
    if in_groups != rows {
        return Err(Error::corruption(format!(
            "the row groups hold {in_groups} rows but the file declares {rows}"
        )));
    }
    Ok(row_groups)
}

impl FooterParse {
    /// The footer, when the tail parsed was all of it a file has.
    fn whole_file(self, file_len: usize) -> Result<ParquetFooter> {
        match self {
            FooterParse::Complete(footer) => Ok(*footer),
            // declared_tail refuses a footer longer than the file before this can happen.
            FooterParse::NeedTail(needed) => Err(Error::corruption(format!(
                "the footer claims {needed} bytes, more than the file's {file_len}"
            ))),
        }
    }
}

/// What the last bytes of a file say of its footer.
struct DeclaredTail {
    /// How many bytes from the end of the file hold the footer, its length and magic.
    len: u64,
    /// Whether the magic is `PARE`: the footer is encrypted.
    encrypted: bool,
}

impl DeclaredTail {
    /// The length of a tail that is not encrypted: the files other than data parts never are.
    fn plain(self) -> Result<u64> {
        if self.encrypted {
            return Err(Error::decoding(
                "the file is encrypted, and only a snapshot's data files are",
            ));
        }
        Ok(self.len)
    }
}

/// How many bytes from the end of the file hold its footer, by the length `tail` declares, and
/// whether it is encrypted.
fn declared_tail(tail: &[u8], file_len: u64) -> Result<DeclaredTail> {
    if file_len < MAGIC.len() as u64 + FOOTER_TAIL || tail.len() < FOOTER_TAIL as usize {
        return Err(Error::corruption(format!(
            "{file_len} bytes is too short for a Parquet file; it is empty or truncated"
        )));
    }
    let (length, magic) = tail[tail.len() - FOOTER_TAIL as usize..].split_at(4);
    let encrypted = match magic {
        m if m == MAGIC => false,
        m if m == ENCRYPTED_MAGIC && cfg!(feature = "encryption") => true,
        m if m == ENCRYPTED_MAGIC => {
            return Err(Error::decoding(
                "the Parquet file is encrypted, and this build of akidb-snapshot-codec has no \
                 `encryption` feature",
            ));
        }
        _ => {
            return Err(Error::corruption(
                "the file does not end with the Parquet magic `PAR1`: it is not Parquet, or it is truncated",
            ));
        }
    };
    let footer_len = u32::from_le_bytes([length[0], length[1], length[2], length[3]]);
    let needed = u64::from(footer_len) + FOOTER_TAIL;
    if needed > file_len - MAGIC.len() as u64 {
        return Err(Error::corruption(format!(
            "the footer claims {footer_len} bytes, more than the file's {file_len}; the file is truncated"
        )));
    }
    Ok(DeclaredTail {
        len: needed,
        encrypted,
    })
}

/// Checks the leading magic of a whole file.
fn check_head(file: &[u8]) -> Result<()> {
    if file.len() >= MAGIC.len() && !file.starts_with(MAGIC) && !file.starts_with(ENCRYPTED_MAGIC) {
        return Err(Error::corruption(
            "the file does not start with the Parquet magic `PAR1`: its beginning is damaged",
        ));
    }
    Ok(())
}

/// Checks row group `index` against the file's length and `limits`, and, given the dimension of
/// a data file, the float count of its vector column.
fn check_row_group(
    index: usize,
    rg: &RowGroupMetaData,
    dimension: Option<u32>,
    file_len: u64,
    limits: &Limits,
) -> Result<RowGroupInfo> {
    let bad = |what: String| Error::corruption(format!("row group {index}: {what}"));
    let rows = u64::try_from(rg.num_rows()).map_err(|_| bad("negative row count".into()))?;
    let mut start = u64::MAX;
    let mut end = 0u64;
    let mut compressed = 0u64;
    let mut uncompressed = 0u64;
    for column in rg.columns() {
        let path = column.column_path().string();
        let offset = u64::try_from(chunk_start(column))
            .map_err(|_| bad(format!("column {path} starts at a negative offset")))?;
        let length = u64::try_from(column.compressed_size())
            .map_err(|_| bad(format!("column {path} has a negative length")))?;
        let chunk_end = offset
            .checked_add(length)
            .filter(|&e| e <= file_len)
            .ok_or_else(|| {
                bad(format!(
                    "column {path} lies at {offset}..+{length}, beyond the file's {file_len} bytes"
                ))
            })?;
        check_compression(column, &path)?;
        let raw = u64::try_from(column.uncompressed_size())
            .map_err(|_| bad(format!("column {path} has a negative uncompressed size")))?;
        if let Some(dimension) = dimension.filter(|_| is_vector(column))
            && u64::try_from(column.num_values()).ok() != rows.checked_mul(dimension.into())
        {
            return Err(bad(format!(
                "the vector column holds {} floats, not {rows} rows × dimension {dimension}",
                column.num_values()
            )));
        }
        start = start.min(offset);
        end = end.max(chunk_end);
        compressed += length;
        uncompressed = uncompressed.saturating_add(raw);
    }
    Limits::check(
        "a row group's uncompressed size",
        "max_row_group_bytes",
        uncompressed,
        limits.max_row_group_bytes,
    )?;
    Ok(RowGroupInfo {
        rows,
        byte_range: start.min(end)..end,
        compressed_bytes: compressed,
        uncompressed_bytes: uncompressed,
    })
}

/// Refuses a column chunk this build cannot decompress before any page is read: otherwise the
/// file would look damaged when it is only compressed with a codec left out of this build (the
/// browser's smaller variants) or one akidb-snapshot never reads (gzip, brotli).
fn check_compression(column: &ColumnChunkMetaData, path: &str) -> Result<()> {
    match Compression::from_parquet(column.compression()) {
        Some(c) if c.is_supported() => Ok(()),
        Some(c) => Err(Error::decoding(format!(
            "column {path} is compressed with {name}, which this build of akidb-snapshot-codec \
             was compiled without; enable its `{name}` feature",
            name = c.name()
        ))),
        None => Err(Error::decoding(format!(
            "column {path} is compressed with {}, which akidb-snapshot does not read; rewrite \
             the file with zstd, snappy, lz4 or no compression",
            column.compression()
        ))),
    }
}

/// What the `akidb.*` footer keys say, or what stands for them in a file without them.
struct FooterKeys {
    header: Option<SnapshotHeader>,
    schema_version: u32,
    vector_count: u64,
    dimension: u32,
}

impl FooterKeys {
    /// The keys, parsed; `None` when the footer holds no `akidb.*` key at all (a file written
    /// elsewhere in the snapshot schema). A footer with some keys but not all is damaged.
    fn read(footer: &BTreeMap<String, String>) -> Result<Option<Self>> {
        if !footer.keys().any(|k| k.starts_with("akidb.")) {
            return Ok(None);
        }
        let get = |key: &'static str| {
            footer
                .get(key)
                .map(String::as_str)
                .ok_or_else(|| Error::decoding(format!("the footer key `{key}` is missing")))
        };
        let schema_version: u32 = parse_key(
            footer_keys::SCHEMA_VERSION,
            get(footer_keys::SCHEMA_VERSION)?,
        )?;
        if schema_version > SCHEMA_VERSION {
            return Err(Error::UnsupportedSchemaVersion {
                found: schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        let collection_id: CollectionId =
            parse_key(footer_keys::COLLECTION_ID, get(footer_keys::COLLECTION_ID)?)?;
        let snapshot_id: SnapshotId =
            parse_key(footer_keys::SNAPSHOT_ID, get(footer_keys::SNAPSHOT_ID)?)?;
        let created_at: Timestamp =
            parse_key(footer_keys::CREATED_AT, get(footer_keys::CREATED_AT)?)?;
        let vector_count = parse_key(footer_keys::VECTOR_COUNT, get(footer_keys::VECTOR_COUNT)?)?;
        let dimension: u32 = parse_key(footer_keys::DIMENSION, get(footer_keys::DIMENSION)?)?;
        check_dimension(dimension, "the footer declares")?;
        Ok(Some(FooterKeys {
            header: Some(SnapshotHeader::new(collection_id, snapshot_id, created_at)),
            schema_version,
            vector_count,
            dimension,
        }))
    }

    /// For a file without footer keys: its rows, and the dimension its columns say, from the
    /// statistics of the `dimension` column where the writer kept them (every writer does by
    /// default), else from the number of floats in the first row group that has rows. Either
    /// is checked again against every row group and row, as for any file.
    fn of_foreign(metadata: &ParquetMetaData, rows: u64, created_by: Option<&str>) -> Result<Self> {
        let not_a_snapshot = |why: String| {
            Error::decoding(format!(
                "the Parquet file (written by {}) has no `akidb.*` footer keys, and {why}",
                created_by.unwrap_or("an unnamed writer")
            ))
        };
        let top = |c: &ColumnChunkMetaData| c.column_path().parts().first().cloned();
        let mut from_stats = None;
        let mut from_floats = None;
        for rg in metadata.row_groups().iter().filter(|rg| rg.num_rows() > 0) {
            for column in rg.columns() {
                match top(column).as_deref() {
                    Some(columns::DIMENSION) => {
                        if let Some(Statistics::Int32(s)) = column.statistics()
                            && let (Some(&min), Some(&max)) = (s.min_opt(), s.max_opt())
                        {
                            if min != max || from_stats.is_some_and(|d| d != i64::from(min)) {
                                return Err(not_a_snapshot(format!(
                                    "its `{}` column holds more than one value ({min} to {max}), so its \
                                     vectors are not all one length",
                                    columns::DIMENSION
                                )));
                            }
                            from_stats = Some(i64::from(min));
                        }
                    }
                    Some(columns::VECTOR) if from_floats.is_none() => {
                        from_floats = Some(column.num_values() / rg.num_rows().max(1));
                    }
                    _ => {}
                }
            }
        }
        let Some(dimension) = from_stats.or(from_floats) else {
            return Err(not_a_snapshot(format!(
                "{}, so the dimension of its vectors is unknown",
                if rows == 0 {
                    "no rows".to_owned()
                } else {
                    format!("no `{}` column", columns::VECTOR)
                }
            )));
        };
        let dimension = u32::try_from(dimension).unwrap_or(0);
        check_dimension(dimension, "its columns declare")?;
        Ok(FooterKeys {
            header: None,
            schema_version: SCHEMA_VERSION,
            vector_count: rows,
            dimension,
        })
    }
}

fn check_dimension(dimension: u32, who: &str) -> Result<()> {
    if dimension == 0 || dimension > i32::MAX as u32 {
        return Err(Error::corruption(format!(
            "{who} vectors of dimension {dimension}"
        )));
    }
    Ok(())
}

pub(crate) fn parse_key<T: std::str::FromStr>(key: &str, value: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| {
        let shown: String = value.chars().take(80).collect();
        Error::corruption(format!("the footer key `{key}` holds `{shown}`: {e}"))
    })
}
