//! The codec in memory: encode documents to Parquet bytes, decode bytes, inspect a footer.

use akidb_snapshot_codec::{
    self as codec, CollectionId, Compression, Limits, ParquetConfig, SnapshotHeader, SnapshotId,
    Timestamp,
};

use crate::documents::{akidb_bytes, akidb_documents, akidb_documents_view};
use crate::error::{Failure, akidb_error, akidb_result, guard};
use crate::handle::into_handle;
use crate::marshal;

/// A Parquet compression codec.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum akidb_compression {
    /// No compression.
    AKIDB_COMPRESSION_NONE = 0,
    /// Snappy.
    AKIDB_COMPRESSION_SNAPPY = 1,
    /// LZ4 (Parquet's LZ4_RAW).
    AKIDB_COMPRESSION_LZ4 = 2,
    /// Zstandard, at `compression_level`.
    AKIDB_COMPRESSION_ZSTD = 3,
    /// Column chunks use different codecs (a file not written by akidb-snapshot).
    AKIDB_COMPRESSION_MIXED = 4,
}

impl akidb_compression {
    pub(crate) fn of(compression: Option<Compression>) -> (Self, i32) {
        match compression {
            Some(Compression::None) => (Self::AKIDB_COMPRESSION_NONE, 0),
            Some(Compression::Snappy) => (Self::AKIDB_COMPRESSION_SNAPPY, 0),
            Some(Compression::Lz4) => (Self::AKIDB_COMPRESSION_LZ4, 0),
            Some(Compression::Zstd { level }) => (Self::AKIDB_COMPRESSION_ZSTD, level),
            _ => (Self::AKIDB_COMPRESSION_MIXED, 0),
        }
    }
}

/// How a Parquet snapshot is written. A NULL `akidb_parquet_options*` means the defaults: zstd
/// level 1, 10,000 rows per row group, dictionary encoding on.
#[repr(C)]
pub struct akidb_parquet_options {
    /// The codec; `AKIDB_COMPRESSION_MIXED` is refused.
    pub compression: u32,
    /// The zstd level (1 to 22); 0 for the default, 1. Ignored by other codecs.
    pub compression_level: i32,
    /// Documents per row group; 0 for the default, 10,000.
    pub row_group_size: usize,
    /// Dictionary-encode external ids and metadata (never vectors).
    pub enable_dictionary: bool,
}

impl akidb_parquet_options {
    /// The codec's configuration for `options`, NULL meaning the defaults.
    pub(crate) fn config(options: *const akidb_parquet_options) -> Result<ParquetConfig, Failure> {
        // SAFETY: the header documents NULL or a valid options struct for the call.
        let Some(options) = (unsafe { options.as_ref() }) else {
            return Ok(ParquetConfig::default());
        };
        use akidb_compression::*;
        let compression = match options.compression {
            c if c == AKIDB_COMPRESSION_NONE as u32 => Compression::None,
            c if c == AKIDB_COMPRESSION_SNAPPY as u32 => Compression::Snappy,
            c if c == AKIDB_COMPRESSION_LZ4 as u32 => Compression::Lz4,
            c if c == AKIDB_COMPRESSION_ZSTD as u32 => Compression::Zstd {
                level: if options.compression_level == 0 {
                    1
                } else {
                    options.compression_level
                },
            },
            other => {
                return Err(Failure::invalid(format!(
                    "options->compression is {other}, not an AKIDB_COMPRESSION_* a writer accepts"
                )));
            }
        };
        let mut config = ParquetConfig::default()
            .with_compression(compression)
            .with_dictionary(options.enable_dictionary);
        if options.row_group_size > 0 {
            config = config.with_row_group_size(options.row_group_size);
        }
        config.validate()?;
        Ok(config)
    }
}

/// What a snapshot file's footer says.
#[repr(C)]
pub struct akidb_snapshot_info {
    /// The collection's UUID; all zero (the nil UUID), as are `snapshot_id` and
    /// `created_at_ms`, for a file another tool wrote without the `akidb.*` footer keys.
    pub collection_id: [u8; 16],
    /// The snapshot's UUID.
    pub snapshot_id: [u8; 16],
    /// When the snapshot was made, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// How many documents.
    pub vector_count: u64,
    /// The length of every vector.
    pub dimension: u32,
    /// The akidb schema version.
    pub schema_version: u32,
    /// An `akidb_compression`.
    pub compression: u32,
    /// 0: a Parquet file does not record its zstd level (the metadata file does).
    pub compression_level: i32,
    /// How many row groups.
    pub row_groups: u64,
    /// The file's size in bytes.
    pub file_bytes: u64,
}

/// Encodes `docs` as a Parquet snapshot file of collection `collection_id`, snapshot
/// `snapshot_id`, made at `created_at_ms`, with `options` (NULL for the defaults). On success,
/// `*bytes_out` is a new buffer the caller frees with `akidb_bytes_free`.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_encode_parquet(
    docs: *const akidb_documents_view,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    created_at_ms: i64,
    options: *const akidb_parquet_options,
    bytes_out: *mut *mut akidb_bytes,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let out = marshal::out(bytes_out, "bytes_out")?;
        let docs = marshal::reference(docs, "docs")?.to_documents()?;
        let header = header(collection_id, snapshot_id, created_at_ms)?;
        let config = akidb_parquet_options::config(options)?;
        let (data, _) = codec::encode_parquet(&docs, &header, &config)?;
        *out = into_handle(akidb_bytes { data });
        Ok(())
    })
}

/// The header of a snapshot to encode, from the arguments that name it.
pub(crate) fn header(
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    created_at_ms: i64,
) -> Result<SnapshotHeader, Failure> {
    Ok(SnapshotHeader::new(
        CollectionId::from_uuid(marshal::uuid(collection_id, "collection_id")?),
        SnapshotId::from_uuid(marshal::uuid(snapshot_id, "snapshot_id")?),
        Timestamp::from_millis(created_at_ms),
    ))
}

/// Decodes a whole Parquet snapshot file of `len` bytes. On success, `*docs_out` is new
/// documents the caller frees with `akidb_documents_free`.
///
/// # Safety
/// `data` holds `len` readable bytes; the other pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_decode_parquet(
    data: *const u8,
    len: usize,
    docs_out: *mut *mut akidb_documents,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let out = marshal::out(docs_out, "docs_out")?;
        let bytes = marshal::bytes(data, len, "data")?;
        let docs = codec::decode_parquet(bytes::Bytes::copy_from_slice(bytes), &Limits::default())?;
        *out = into_handle(akidb_documents::from_documents(docs)?);
        Ok(())
    })
}

/// Reads a Parquet snapshot file's footer into `*info_out`, without decoding any vector.
///
/// # Safety
/// `data` holds `len` readable bytes; the other pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_inspect_parquet(
    data: *const u8,
    len: usize,
    info_out: *mut akidb_snapshot_info,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let out = marshal::out(info_out, "info_out")?;
        let info = codec::inspect_parquet(marshal::bytes(data, len, "data")?, &Limits::default())?;
        let (compression, _) = akidb_compression::of(info.compression);
        let header = info.header.as_ref();
        *out = akidb_snapshot_info {
            collection_id: header.map_or([0; 16], |h| h.collection_id.as_uuid().into_bytes()),
            snapshot_id: header.map_or([0; 16], |h| h.snapshot_id.as_uuid().into_bytes()),
            created_at_ms: header.map_or(0, |h| h.created_at.as_millis()),
            vector_count: info.vector_count,
            dimension: info.dimension,
            schema_version: info.schema_version,
            compression: compression as u32,
            compression_level: 0,
            row_groups: info.row_groups.len() as u64,
            file_bytes: info.file_bytes,
        };
        Ok(())
    })
}
