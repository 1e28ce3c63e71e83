//! The key layout of DESIGN.md, in one place:
//!
//! ```text
//! snapshots/{collection_id}/{snapshot_id}.metadata.json   commit marker, written last: a v1
//!                                                          snapshot's metadata, or a v2 manifest
//! snapshots/{collection_id}/{snapshot_id}.parquet         a v1 snapshot's data (or .json)
//! parts/{collection_id}/{part_id}.parquet                 a v2 data part, immutable
//! parts/{collection_id}/{part_id}.tombstones.parquet      a v2 tombstone part, immutable
//! parts/{collection_id}/{part_id}.ids.parquet             a data part's id index, immutable
//! pending/{collection_id}/{snapshot_id}/…                 a v2 create in progress
//! .akidb-tmp/…                                             a local store's files being written
//! ```

use akidb_snapshot_codec::{CollectionId, PartKind, SnapshotFormat, SnapshotId};
use uuid::Uuid;

/// The folder every snapshot's commit marker (and a v1 snapshot's data) lives under.
pub(crate) const ROOT: &str = "snapshots/";

/// The folder of every v2 part, of every snapshot: never read by glob.
pub(crate) const PARTS_ROOT: &str = "parts/";

/// The folder of creates in progress: never listed as snapshots.
pub(crate) const PENDING_ROOT: &str = "pending/";

const TOMBSTONES_SUFFIX: &str = ".tombstones.parquet";
const INDEX_SUFFIX: &str = ".ids.parquet";
const PART_SUFFIX: &str = ".parquet";

const METADATA_SUFFIX: &str = ".metadata.json";

/// Where a local store writes a file before renaming it into place, so a crash never leaves a
/// half-written file under [`ROOT`].
pub(crate) const TEMP_DIR: &str = ".akidb-tmp/";

/// `snapshots/{collection_id}/`
pub(crate) fn collection_prefix(collection_id: CollectionId) -> String {
    format!("{ROOT}{collection_id}/")
}

/// `snapshots/{collection_id}/{snapshot_id}.metadata.json`
pub(crate) fn metadata_key(collection_id: CollectionId, snapshot_id: SnapshotId) -> String {
    format!("{ROOT}{collection_id}/{snapshot_id}{METADATA_SUFFIX}")
}

/// `snapshots/{collection_id}/{snapshot_id}.{parquet|json}`
pub(crate) fn data_key(
    collection_id: CollectionId,
    snapshot_id: SnapshotId,
    format: SnapshotFormat,
) -> String {
    format!("{ROOT}{collection_id}/{snapshot_id}.{}", format.extension())
}

/// `parts/{collection_id}/{part_id}.parquet`, or `.tombstones.parquet`
pub(crate) fn part_key(collection_id: CollectionId, part_id: Uuid, kind: PartKind) -> String {
    let suffix = match kind {
        PartKind::Tombstones => TOMBSTONES_SUFFIX,
        _ => PART_SUFFIX,
    };
    format!("{PARTS_ROOT}{collection_id}/{part_id}{suffix}")
}

/// `parts/{collection_id}/{part_id}.ids.parquet`: the id index of data part `part_id`.
pub(crate) fn index_key(collection_id: CollectionId, part_id: Uuid) -> String {
    format!("{PARTS_ROOT}{collection_id}/{part_id}{INDEX_SUFFIX}")
}

/// `pending/{collection_id}/{snapshot_id}/`: the records of a create in progress.
pub(crate) fn pending_prefix(collection_id: CollectionId, snapshot_id: SnapshotId) -> String {
    format!("{PENDING_ROOT}{collection_id}/{snapshot_id}/")
}

/// `pending/{collection_id}/{snapshot_id}/begin.json`: a snapshot begun for many writers.
pub(crate) fn begin_key(collection_id: CollectionId, snapshot_id: SnapshotId) -> String {
    format!("{}begin.json", pending_prefix(collection_id, snapshot_id))
}

/// `pending/{collection_id}/{snapshot_id}/shard-{index}.json`: the parts a shard's writer wrote.
pub(crate) fn receipt_key(
    collection_id: CollectionId,
    snapshot_id: SnapshotId,
    index: u32,
) -> String {
    format!(
        "{}shard-{index}.json",
        pending_prefix(collection_id, snapshot_id)
    )
}

/// `pending/{collection_id}/{snapshot_id}/reused.json`: the parts of another snapshot that a
/// create builds on, recorded before it relies on them.
pub(crate) fn reused_key(collection_id: CollectionId, snapshot_id: SnapshotId) -> String {
    format!("{}reused.json", pending_prefix(collection_id, snapshot_id))
}

/// `pending/{collection_id}/{snapshot_id}/copy.json`: the files a copy into this store relies
/// on, before the snapshot's commit marker is written here.
pub(crate) fn copy_key(collection_id: CollectionId, snapshot_id: SnapshotId) -> String {
    format!("{}copy.json", pending_prefix(collection_id, snapshot_id))
}

/// What a key under [`ROOT`] or [`PARTS_ROOT`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Metadata(CollectionId, SnapshotId),
    Data(CollectionId, SnapshotId, SnapshotFormat),
    Part(CollectionId, Uuid, PartKind),
    /// The id index of a data part.
    Index(CollectionId, Uuid),
    /// A record of a pending snapshot.
    Pending(CollectionId, SnapshotId),
}

impl Key {
    /// Parses a key; `None` for anything this layout did not write.
    pub(crate) fn parse(key: &str) -> Option<Key> {
        if let Some(rest) = key.strip_prefix(PARTS_ROOT) {
            return Self::parse_part(rest);
        }
        if let Some(rest) = key.strip_prefix(PENDING_ROOT) {
            let mut names = rest.split('/');
            let collection = names.next()?.parse().ok()?;
            let snapshot = names.next()?.parse().ok()?;
            let record = names.next()?;
            return (!record.is_empty() && names.next().is_none())
                .then_some(Key::Pending(collection, snapshot));
        }
        let rest = key.strip_prefix(ROOT)?;
        let (collection, file) = rest.split_once('/')?;
        let collection: CollectionId = collection.parse().ok()?;
        if let Some(snapshot) = file.strip_suffix(METADATA_SUFFIX) {
            return Some(Key::Metadata(collection, snapshot.parse().ok()?));
        }
        let (snapshot, extension) = file.rsplit_once('.')?;
        let format = [SnapshotFormat::Parquet, SnapshotFormat::Json]
            .into_iter()
            .find(|f| f.extension() == extension)?;
        Some(Key::Data(collection, snapshot.parse().ok()?, format))
    }

    fn parse_part(rest: &str) -> Option<Key> {
        let (collection, file) = rest.split_once('/')?;
        let collection: CollectionId = collection.parse().ok()?;
        // Only the hyphenated lowercase form this layout writes: a key is a name, and two
        // spellings of one id would be two parts.
        let id = |part: &str| {
            Uuid::try_parse(part)
                .ok()
                .filter(|id| id.hyphenated().to_string() == part)
        };
        if let Some(part) = file.strip_suffix(INDEX_SUFFIX) {
            return Some(Key::Index(collection, id(part)?));
        }
        let (part, kind) = match file.strip_suffix(TOMBSTONES_SUFFIX) {
            Some(part) => (part, PartKind::Tombstones),
            None => (file.strip_suffix(PART_SUFFIX)?, PartKind::Data),
        };
        Some(Key::Part(collection, id(part)?, kind))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn keys_parse_back() {
        let c = CollectionId::from_uuid(Uuid::from_u128(1));
        let s = SnapshotId::from_uuid(Uuid::from_u128(2));
        assert_eq!(Key::parse(&metadata_key(c, s)), Some(Key::Metadata(c, s)));
        for format in [SnapshotFormat::Parquet, SnapshotFormat::Json] {
            assert_eq!(
                Key::parse(&data_key(c, s, format)),
                Some(Key::Data(c, s, format))
            );
        }
        assert!(metadata_key(c, s).starts_with(&collection_prefix(c)));
        assert_eq!(Key::parse(&begin_key(c, s)), Some(Key::Pending(c, s)));
        assert_eq!(Key::parse(&receipt_key(c, s, 4)), Some(Key::Pending(c, s)));
        assert_eq!(Key::parse(&reused_key(c, s)), Some(Key::Pending(c, s)));
        let p = Uuid::from_u128(3);
        for kind in [PartKind::Data, PartKind::Tombstones] {
            assert_eq!(
                Key::parse(&part_key(c, p, kind)),
                Some(Key::Part(c, p, kind))
            );
        }
        assert_eq!(Key::parse(&index_key(c, p)), Some(Key::Index(c, p)));
    }

    #[test]
    fn foreign_keys_are_ignored() {
        for key in [
            "snapshots/",
            "other/00000000-0000-0000-0000-000000000001/x.parquet",
            "snapshots/not-a-uuid/00000000-0000-0000-0000-000000000002.parquet",
            "snapshots/00000000-0000-0000-0000-000000000001/readme.txt",
            "snapshots/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002.csv",
            "parts/00000000-0000-0000-0000-000000000001/00000000000000000000000000000002.parquet",
            "parts/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002.csv",
            "parts/00000000-0000-0000-0000-000000000001/x/00000000-0000-0000-0000-000000000002.parquet",
        ] {
            assert_eq!(Key::parse(key), None, "{key}");
        }
    }
}
