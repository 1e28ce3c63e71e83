//! Format v2: a snapshot is a manifest of immutable parts. The manifest is the snapshot's
//! metadata file with `schema_version` 2 and the list of its parts, each a Parquet file of the
//! v1 schema; it carries the SHA-256 of its own content, so a damaged manifest is detected and
//! never trusted (docs/FORMAT.md, "Format v2").

use serde::{Deserialize, Serialize};

use crate::checksum::Sha256Digest;
use crate::encryption::EncryptionInfo;
use crate::summary::FileSummary;

/// The `schema_version` of a manifest: the newest metadata file this crate reads and writes.
/// A v1 metadata file (version 1) describes one data file.
pub const MANIFEST_VERSION: u32 = 2;

/// The field holding the manifest's own SHA-256.
pub(crate) const DIGEST_FIELD: &str = "manifest_sha256";

/// What a part holds.
///
/// ```
/// use akidb_snapshot_codec::PartKind;
///
/// assert_eq!(serde_json::to_string(&PartKind::Tombstones).unwrap(), r#""tombstones""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PartKind {
    /// Documents, in the snapshot schema.
    Data,
    /// Ids of documents of earlier parts that the snapshot no longer holds.
    Tombstones,
}

/// One part of a v2 snapshot, as its manifest lists it.
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
/// let part = PartEntry::new("parts/c/p.parquet", PartKind::Data, &summary);
/// assert_eq!((part.rows, part.size_bytes), (1, bytes.len() as u64));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartEntry {
    /// Where the part is, relative to the store's root.
    pub key: String,
    /// What it holds.
    pub kind: PartKind,
    /// Its rows: documents, or ids for tombstones.
    pub rows: u64,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub checksum_sha256: Sha256Digest,
    /// A data part's id index, where it has one (parts written before indexes existed have
    /// none): its ids and content hashes, for diffs and lookups that need no vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<IndexFile>,
    /// How the part is encrypted, where it is (docs/ENCRYPTION.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionInfo>,
}

/// A part's id index, as its manifest entry names it (docs/FORMAT.md, "Id index").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IndexFile {
    /// Where it is, relative to the store's root.
    pub key: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub checksum_sha256: Sha256Digest,
    /// Its tail (page index and footer), so a reader can look up a few ids from it and the
    /// pages it names without reading the whole index; absent in indexes written before
    /// partial restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<FileTail>,
}

/// The tail of a file: its last `bytes` bytes (page index and footer) and their SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileTail {
    /// Its length in bytes.
    pub bytes: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: Sha256Digest,
}

impl PartEntry {
    /// The entry of a part written at `key`, as its writer summed it up.
    pub fn new(key: impl Into<String>, kind: PartKind, summary: &FileSummary) -> Self {
        PartEntry {
            key: key.into(),
            kind,
            rows: summary.vector_count,
            size_bytes: summary.size_bytes,
            checksum_sha256: summary.checksum_sha256,
            index: None,
            encryption: summary.encryption.clone(),
        }
    }

    /// This entry with the id index written at `key`, as
    /// [`IdIndexBuilder::finish`](crate::IdIndexBuilder::finish) summed it up.
    pub fn with_index(mut self, key: impl Into<String>, summary: &FileSummary) -> Self {
        self.index = Some(IndexFile {
            key: key.into(),
            size_bytes: summary.size_bytes,
            checksum_sha256: summary.checksum_sha256,
            tail: summary.layout.as_ref().map(|layout| FileTail {
                bytes: layout.tail_bytes,
                sha256: layout.tail_sha256,
            }),
        });
        self
    }

    /// The keys of the files the entry names: the part, then its index if it has one.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str()).chain(self.index.as_ref().map(|i| i.key.as_str()))
    }

    /// The bytes of the files the entry names: the part's, and its index's.
    pub fn stored_bytes(&self) -> u64 {
        self.size_bytes + self.index.as_ref().map_or(0, |i| i.size_bytes)
    }
}

/// The SHA-256 of a metadata file's content without its digest field: of its JSON with the
/// keys sorted and no whitespace, so that it holds however the file is laid out and whatever
/// fields a later minor version adds.
pub(crate) fn content_digest(value: &serde_json::Value) -> Sha256Digest {
    let mut value = value.clone();
    if let Some(fields) = value.as_object_mut() {
        fields.remove(DIGEST_FIELD);
    }
    // serde_json's maps are sorted by key (no `preserve_order`), and a `Value` always
    // serializes.
    Sha256Digest::of(&serde_json::to_vec(&value).unwrap_or_default())
}

/// Rows of data parts and of tombstone parts.
pub(crate) fn row_counts(parts: &[PartEntry]) -> (u64, u64) {
    parts
        .iter()
        .fold((0, 0), |(data, tombstones), p| match p.kind {
            PartKind::Data => (data + p.rows, tombstones),
            PartKind::Tombstones => (data, tombstones + p.rows),
        })
}
