//! The key layout of DESIGN.md, in one place:
//!
//! ```text
//! snapshots/{collection_id}/{snapshot_id}.parquet         data (or .json)
//! snapshots/{collection_id}/{snapshot_id}.metadata.json   commit marker, written last
//! .akidb-tmp/…                                             a local store's files being written
//! ```

use akidb_snapshot_codec::{CollectionId, SnapshotFormat, SnapshotId};

/// The folder every snapshot lives under.
pub(crate) const ROOT: &str = "snapshots/";

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

/// What a key under [`ROOT`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Metadata(CollectionId, SnapshotId),
    Data(CollectionId, SnapshotId, SnapshotFormat),
}

impl Key {
    /// Parses a key; `None` for anything this layout did not write.
    pub(crate) fn parse(key: &str) -> Option<Key> {
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
    }

    #[test]
    fn foreign_keys_are_ignored() {
        for key in [
            "snapshots/",
            "other/00000000-0000-0000-0000-000000000001/x.parquet",
            "snapshots/not-a-uuid/00000000-0000-0000-0000-000000000002.parquet",
            "snapshots/00000000-0000-0000-0000-000000000001/readme.txt",
            "snapshots/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002.csv",
        ] {
            assert_eq!(Key::parse(key), None, "{key}");
        }
    }
}
