//! What snapshots take in the store when they share parts: each snapshot's own bytes, those no
//! other snapshot names, which deleting it (and then gc) frees.

use std::collections::HashMap;

use akidb_snapshot_codec::{PartEntry, SnapshotMetadata};

/// The bytes of each of `snapshots` that none of the others names, in their order: what
/// deleting it would free once gc has run. A v1 or JSON snapshot's data file is its own; a v2
/// snapshot's part counts only if no other of `snapshots` lists it. Give every snapshot of a
/// collection, as [`list_snapshots`](crate::SnapshotStore::list_snapshots) returns them, or
/// the figures count parts as unshared that a snapshot left out names.
///
/// ```
/// use akidb_snapshot::exclusive_bytes;
/// use akidb_snapshot::codec::*;
/// use uuid::Uuid;
///
/// let part = |n: u128, size: u64| {
///     let summary = FileSummary::read(1, 2, size, Sha256Digest::of(&[n as u8]));
///     PartEntry::new(format!("parts/c/{}.parquet", Uuid::from_u128(n)), PartKind::Data, &summary)
/// };
/// let header = |n| SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
///     SnapshotId::from_uuid(Uuid::from_u128(n)), Timestamp::from_millis(0));
/// let a = SnapshotMetadata::manifest(&header(2), Compression::default(), 2,
///     vec![part(10, 100), part(11, 50)], None)?;
/// let b = SnapshotMetadata::manifest(&header(3), Compression::default(), 2,
///     vec![part(10, 100), part(12, 7)], None)?;
/// assert_eq!(exclusive_bytes(&[a, b]), [50, 7]);
/// # Ok::<(), akidb_snapshot::codec::Error>(())
/// ```
pub fn exclusive_bytes(snapshots: &[SnapshotMetadata]) -> Vec<u64> {
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for m in snapshots {
        for part in &m.parts {
            *holders.entry(part.key.as_str()).or_default() += 1;
        }
    }
    snapshots
        .iter()
        .map(|m| {
            if !m.is_manifest() {
                return m.size_bytes;
            }
            (m.parts.iter())
                .filter(|p| holders.get(p.key.as_str()) == Some(&1))
                .map(PartEntry::stored_bytes)
                .sum()
        })
        .collect()
}
