//! The metadata file (`{snapshot_id}.metadata.json`): the commit marker that describes a
//! snapshot's data file.

use serde::{Deserialize, Serialize};

use crate::checksum::Sha256Digest;
use crate::config::Compression;
use crate::error::{Error, Result};
use crate::model::{CollectionId, SnapshotId, Timestamp};
use crate::schema::SCHEMA_VERSION;

/// The format of a snapshot's data file.
///
/// ```
/// use akidb_snapshot_codec::SnapshotFormat;
///
/// assert_eq!(SnapshotFormat::Parquet.extension(), "parquet");
/// assert_eq!(serde_json::to_string(&SnapshotFormat::Json).unwrap(), r#""json""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SnapshotFormat {
    /// The legacy JSON format (docs/JSON_FORMAT.md). A metadata file without `format` is one.
    #[default]
    Json,
    /// Parquet, the current format.
    Parquet,
}

impl SnapshotFormat {
    /// The data file's extension: `json` or `parquet`.
    pub fn extension(&self) -> &'static str {
        match self {
            SnapshotFormat::Json => "json",
            SnapshotFormat::Parquet => "parquet",
        }
    }
}

/// What identifies a snapshot inside its own data file (the Parquet footer, the JSON header), so
/// that a file that strays from its metadata can be recognised.
///
/// ```
/// use akidb_snapshot_codec::{CollectionId, SnapshotHeader, SnapshotId, Timestamp};
/// use uuid::Uuid;
///
/// let header = SnapshotHeader::new(
///     CollectionId::from_uuid(Uuid::from_u128(1)),
///     SnapshotId::from_uuid(Uuid::from_u128(2)),
///     Timestamp::from_millis(0),
/// );
/// assert_eq!(header.created_at.to_string(), "1970-01-01T00:00:00.000Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The collection the snapshot belongs to.
    pub collection_id: CollectionId,
    /// The snapshot's id.
    pub snapshot_id: SnapshotId,
    /// When the snapshot was taken.
    pub created_at: Timestamp,
}

impl SnapshotHeader {
    /// A header from its three parts.
    pub fn new(
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        created_at: Timestamp,
    ) -> Self {
        SnapshotHeader {
            collection_id,
            snapshot_id,
            created_at,
        }
    }

    /// Checks what a writer needs of a header before it writes anything: ids that are not the
    /// nil UUID, and a `created_at` that RFC 3339 can write.
    pub(crate) fn check(&self) -> Result<()> {
        for (name, nil) in [
            ("collection_id", self.collection_id.as_uuid().is_nil()),
            ("snapshot_id", self.snapshot_id.as_uuid().is_nil()),
        ] {
            if nil {
                return Err(crate::error::nil_id(crate::error::DocumentRef::NONE, name));
            }
        }
        self.created_at_rfc3339().map(drop)
    }

    /// `created_at` as RFC 3339, as the file headers store it; a validation error outside the
    /// years 0 to 9999 that RFC 3339 can write.
    pub(crate) fn created_at_rfc3339(&self) -> Result<String> {
        self.created_at.to_rfc3339().ok_or_else(|| {
            Error::validation(
                crate::error::DocumentRef::NONE,
                format!(
                    "created_at ({}) is outside the years 0 to 9999 that RFC 3339 can write",
                    self.created_at
                ),
            )
        })
    }
}

/// What a writer reports when it has finished a data file: everything the metadata file needs
/// that only the written bytes can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileSummary {
    /// Documents written.
    pub vector_count: u64,
    /// Their dimension.
    pub dimension: u32,
    /// Bytes written.
    pub size_bytes: u64,
    /// SHA-256 of the bytes written.
    pub checksum_sha256: Sha256Digest,
}

impl FileSummary {
    /// The summary of a file written through `sink`, which counted and hashed every byte; the
    /// sink's inner writer is handed back beside it.
    pub(crate) fn of<W: std::io::Write>(
        sink: crate::checksum::HashingWriter<W>,
        vector_count: u64,
        dimension: u32,
    ) -> (W, Self) {
        let (inner, checksum_sha256, size_bytes) = sink.finish();
        let summary = FileSummary {
            vector_count,
            dimension,
            size_bytes,
            checksum_sha256,
        };
        (inner, summary)
    }
}

/// The metadata file of a snapshot, written after its data file: a snapshot exists once this
/// file does.
///
/// Reading is backward compatible: a file without `format` is a JSON snapshot, and files from
/// before checksums have none.
///
/// ```
/// use akidb_snapshot_codec::{SnapshotFormat, SnapshotMetadata};
///
/// let old = br#"{
///     "snapshot_id": "0192f0c1-5d0e-7c3a-9b7e-1f2a3b4c5d6e",
///     "collection_id": "0192f0c1-0000-7000-8000-000000000001",
///     "vector_count": 3, "dimension": 4, "created_at": "2024-05-01T12:00:00Z",
///     "size_bytes": 512, "compression": "none"
/// }"#;
/// let metadata = SnapshotMetadata::from_json(old).unwrap();
/// assert_eq!(metadata.format, SnapshotFormat::Json);
/// assert_eq!(metadata.checksum_sha256, None);
/// assert_eq!(metadata.schema_version, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotMetadata {
    /// The snapshot's id.
    pub snapshot_id: SnapshotId,
    /// Its collection.
    pub collection_id: CollectionId,
    /// Documents in the snapshot.
    pub vector_count: u64,
    /// Their dimension.
    pub dimension: u32,
    /// When the snapshot was taken (RFC 3339).
    pub created_at: Timestamp,
    /// Size of the data file in bytes.
    pub size_bytes: u64,
    /// The data file's compression (`none` for JSON).
    pub compression: Compression,
    /// The data file's format.
    #[serde(default)]
    pub format: SnapshotFormat,
    /// SHA-256 of the data file, lowercase hex; absent in snapshots from before checksums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<Sha256Digest>,
    /// The schema version of the data file.
    #[serde(default = "first_schema_version")]
    pub schema_version: u32,
}

fn first_schema_version() -> u32 {
    1
}

impl SnapshotMetadata {
    /// The metadata of a data file just written with `header`.
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
    /// let docs = vec![VectorDocument::new(Uuid::from_u128(3), vec![1.0, 2.0])];
    /// let (bytes, summary) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
    /// let metadata = SnapshotMetadata::new(
    ///     &header, SnapshotFormat::Parquet, Compression::default(), &summary);
    /// assert_eq!(metadata.size_bytes, bytes.len() as u64);
    /// assert_eq!(metadata.vector_count, 1);
    /// ```
    pub fn new(
        header: &SnapshotHeader,
        format: SnapshotFormat,
        compression: Compression,
        summary: &FileSummary,
    ) -> Self {
        SnapshotMetadata {
            snapshot_id: header.snapshot_id,
            collection_id: header.collection_id,
            vector_count: summary.vector_count,
            dimension: summary.dimension,
            created_at: header.created_at,
            size_bytes: summary.size_bytes,
            compression,
            format,
            checksum_sha256: Some(summary.checksum_sha256),
            schema_version: SCHEMA_VERSION,
        }
    }

    /// Parses and checks a metadata file. Unreadable JSON, missing fields and malformed values
    /// are [`Error::DataCorruption`]; a newer schema version is
    /// [`Error::UnsupportedSchemaVersion`].
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let metadata: SnapshotMetadata = serde_json::from_slice(bytes)
            .map_err(|e| Error::corruption_from("the metadata file is not valid", e))?;
        if metadata.schema_version > SCHEMA_VERSION {
            return Err(Error::UnsupportedSchemaVersion {
                found: metadata.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        if metadata.vector_count > 0 && metadata.dimension == 0 {
            return Err(Error::corruption(
                "the metadata file declares vectors of dimension 0",
            ));
        }
        Ok(metadata)
    }

    /// The metadata file's bytes: pretty JSON, so a person can read it in a bucket browser.
    /// Fails only for a `created_at` outside RFC 3339's range (years 0 to 9999).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| {
            Error::validation(
                crate::error::DocumentRef::NONE,
                format!("the snapshot metadata cannot be written as JSON: {e}"),
            )
        })
    }
}
