//! The metadata file (`{snapshot_id}.metadata.json`): the commit marker that describes a
//! snapshot's data file.

use serde::{Deserialize, Serialize};

use crate::checksum::Sha256Digest;
use crate::config::Compression;
use crate::encryption::EncryptionInfo;
use crate::error::{Error, Result};
use crate::manifest::{self, DIGEST_FIELD, MANIFEST_VERSION, PartEntry, PartKind};
use crate::model::{CollectionId, SnapshotId, Timestamp};
use crate::schema::SCHEMA_VERSION;
use crate::summary::FileSummary;

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
    /// The schema version of the metadata file: 1 for a v1 snapshot (one data file, whose
    /// schema version this also is), [`MANIFEST_VERSION`] for a manifest of parts.
    #[serde(default = "first_schema_version")]
    pub schema_version: u32,
    /// The parts of a v2 snapshot, in order; empty for a v1 snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartEntry>,
    /// The snapshot a v2 snapshot was made from, whose parts it may share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_snapshot_id: Option<SnapshotId>,
    /// SHA-256 of a manifest's own content (of its JSON without this field, keys sorted, no
    /// whitespace); absent in a v1 metadata file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<Sha256Digest>,
    /// How the snapshot's data is encrypted: that of its data file, or of every data part, which
    /// all share it (docs/ENCRYPTION.md). Absent for a snapshot that is not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionInfo>,
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
            parts: Vec::new(),
            parent_snapshot_id: None,
            manifest_sha256: None,
            encryption: summary.encryption.clone(),
        }
    }

    /// The manifest of a v2 snapshot made of `parts`, in order, whose documents have
    /// `dimension`: counts and sizes are summed from the parts (a tombstone removes one document
    /// of an earlier part), and the manifest's digest is computed. A validation error if the
    /// parts do not make a snapshot (none, an empty one, more tombstones than documents), or
    /// for a `created_at` outside RFC 3339's years.
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
    /// let (_, summary) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
    /// let parts = vec![
    ///     PartEntry::new("parts/a.parquet", PartKind::Data, &summary),
    ///     PartEntry::new("parts/b.parquet", PartKind::Data, &summary),
    /// ];
    /// let manifest =
    ///     SnapshotMetadata::manifest(&header, Compression::default(), 2, parts, None).unwrap();
    /// assert_eq!((manifest.vector_count, manifest.schema_version), (2, MANIFEST_VERSION));
    /// let read = SnapshotMetadata::from_json(&manifest.to_json().unwrap()).unwrap();
    /// assert_eq!(read, manifest);
    /// ```
    pub fn manifest(
        header: &SnapshotHeader,
        compression: Compression,
        dimension: u32,
        parts: Vec<PartEntry>,
        parent_snapshot_id: Option<SnapshotId>,
    ) -> Result<Self> {
        let invalid = |why: String| {
            Error::validation(
                crate::error::DocumentRef::NONE,
                format!("the parts do not make a snapshot: {why}"),
            )
        };
        let (data, tombstones) = manifest::row_counts(&parts);
        let encryption = parts
            .iter()
            .find(|p| p.kind == PartKind::Data)
            .and_then(|p| p.encryption.clone());
        let mut metadata = SnapshotMetadata {
            snapshot_id: header.snapshot_id,
            collection_id: header.collection_id,
            vector_count: data.saturating_sub(tombstones),
            dimension,
            created_at: header.created_at,
            size_bytes: parts.iter().map(|p| p.size_bytes).sum(),
            compression,
            format: SnapshotFormat::Parquet,
            checksum_sha256: None,
            schema_version: MANIFEST_VERSION,
            parts,
            parent_snapshot_id,
            manifest_sha256: None,
            encryption,
        };
        check_fields(&metadata).map_err(invalid)?;
        let content = serde_json::to_value(&metadata).map_err(|e| invalid(e.to_string()))?;
        metadata.manifest_sha256 = Some(manifest::content_digest(&content));
        Ok(metadata)
    }

    /// Whether this is a v2 snapshot's manifest (a list of parts) rather than the metadata of
    /// one v1 data file.
    pub fn is_manifest(&self) -> bool {
        self.schema_version >= MANIFEST_VERSION
    }

    /// The bytes the snapshot's files take in the store: a v1 snapshot's data file, or a v2
    /// snapshot's parts and their id indexes ([`size_bytes`](Self::size_bytes) counts the parts
    /// only). Parts may be shared with other snapshots.
    ///
    /// ```
    /// use akidb_snapshot_codec::*;
    /// use uuid::Uuid;
    ///
    /// let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    ///     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let part = FileSummary::read(3, 2, 100, Sha256Digest::of(b"part"));
    /// let index = FileSummary::read(3, 0, 40, Sha256Digest::of(b"index"));
    /// let parts = vec![PartEntry::new("parts/c/p.parquet", PartKind::Data, &part)
    ///     .with_index("parts/c/p.ids.parquet", &index)];
    /// let m = SnapshotMetadata::manifest(&header, Compression::default(), 2, parts, None)?;
    /// assert_eq!((m.size_bytes, m.stored_bytes()), (100, 140));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn stored_bytes(&self) -> u64 {
        if self.is_manifest() {
            self.parts.iter().map(PartEntry::stored_bytes).sum()
        } else {
            self.size_bytes
        }
    }

    /// Parses and checks a metadata file. Unreadable JSON, missing fields and malformed values
    /// are [`Error::DataCorruption`]; a newer schema version is
    /// [`Error::UnsupportedSchemaVersion`].
    ///
    /// A manifest (version 2) is checked whole: its SHA-256 against its content, then its
    /// counts and sizes against its parts; a v1 file must list no parts.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let invalid = |e| Error::corruption_from("the metadata file is not valid", e);
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(invalid)?;
        // Read before the fields, which a newer version may have changed.
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64);
        if let Some(found) = version.filter(|&v| v > u64::from(MANIFEST_VERSION)) {
            return Err(Error::UnsupportedSchemaVersion {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: MANIFEST_VERSION,
            });
        }
        let metadata = SnapshotMetadata::deserialize(&value).map_err(invalid)?;
        if metadata.is_manifest() {
            check_manifest(&value, &metadata)?;
        } else if !metadata.parts.is_empty() || metadata.manifest_sha256.is_some() {
            return Err(Error::corruption(
                "the metadata file is of version 1 but lists parts, which only a manifest has",
            ));
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

/// Checks a manifest as read: its digest against its content, then that its fields agree.
fn check_manifest(value: &serde_json::Value, manifest: &SnapshotMetadata) -> Result<()> {
    let Some(recorded) = manifest.manifest_sha256 else {
        return Err(Error::corruption(format!(
            "the manifest has no `{DIGEST_FIELD}`, so its content cannot be trusted"
        )));
    };
    let computed = manifest::content_digest(value);
    if computed != recorded {
        return Err(Error::corruption(format!(
            "the manifest's content hashes to {computed} but it records {recorded}: it was \
             changed or damaged after it was written"
        )));
    }
    check_fields(manifest)
        .map_err(|why| Error::corruption(format!("the manifest is inconsistent: {why}")))
}

/// What a manifest's fields must agree on, for its writer and its readers alike: why not, if
/// they do not.
fn check_fields(manifest: &SnapshotMetadata) -> std::result::Result<(), String> {
    let bad = Err;
    if manifest.format != SnapshotFormat::Parquet {
        return bad(format!(
            "its parts are Parquet but it says format {:?}",
            manifest.format
        ));
    }
    if manifest.parts.is_empty() {
        return bad("it lists no parts".to_owned());
    }
    if manifest.checksum_sha256.is_some() {
        return bad("it has a data file checksum, which only a v1 snapshot has".to_owned());
    }
    if let Some(part) = manifest.parts.iter().find(|p| p.rows == 0) {
        return bad(format!("part {} has no rows", part.key));
    }
    let data_parts = manifest.parts.iter().filter(|p| p.kind == PartKind::Data);
    if let Some(part) = data_parts
        .clone()
        .find(|p| p.encryption != manifest.encryption)
    {
        let said = |e: &Option<EncryptionInfo>| {
            e.as_ref().map_or("not encrypted".to_owned(), |e| {
                format!("encrypted under key `{}`", e.key_id)
            })
        };
        return bad(format!(
            "part {} is {} but the snapshot is {}: every data part of a snapshot is encrypted \
             alike",
            part.key,
            said(&part.encryption),
            said(&manifest.encryption)
        ));
    }
    if let Some(part) = manifest
        .parts
        .iter()
        .find(|p| p.kind != PartKind::Data && p.encryption.is_some())
    {
        return bad(format!(
            "part {} is encrypted but holds no documents",
            part.key
        ));
    }
    for part in &manifest.parts {
        match &part.index {
            Some(_) if part.kind != PartKind::Data => {
                return bad(format!(
                    "part {} has an id index but no documents",
                    part.key
                ));
            }
            Some(index) if index.key == part.key => {
                return bad(format!("part {} is its own id index", part.key));
            }
            _ => {}
        }
    }
    let size: u64 = manifest.parts.iter().map(|p| p.size_bytes).sum();
    if size != manifest.size_bytes {
        return bad(format!(
            "its parts hold {size} bytes, but it says {}",
            manifest.size_bytes
        ));
    }
    let (data, tombstones) = manifest::row_counts(&manifest.parts);
    if data < tombstones || data - tombstones != manifest.vector_count {
        return bad(format!(
            "its parts hold {data} documents and {tombstones} tombstones, but it says {} \
             documents",
            manifest.vector_count
        ));
    }
    if manifest.dimension == 0 {
        return bad("it declares vectors of dimension 0".to_owned());
    }
    Ok(())
}
