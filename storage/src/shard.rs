//! Shards: a deterministic share of a snapshot's parts, so that N workers restore a snapshot
//! together, each its own part of it, with nothing missing and nothing twice.

use std::fmt;
use std::str::FromStr;

use akidb_snapshot_codec::{PartEntry, PartKind, SnapshotMetadata};

/// Shard `index` of `count` (counted from 0, as Kubernetes' indexed jobs number their pods): the
/// parts at positions `index`, `index + count`, `index + 2 × count`, … of the manifest. A v1
/// snapshot is one part, which shard 0 holds.
///
/// ```
/// use akidb_snapshot::Shard;
///
/// let shard: Shard = "1/3".parse().unwrap();
/// assert_eq!((shard.index(), shard.count()), (1, 3));
/// assert!(shard.holds(4) && !shard.holds(3));
/// assert!("3/3".parse::<Shard>().is_err());
/// assert_eq!(Shard::ALL.to_string(), "0/1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// The whole snapshot.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Self> {
        (index < count).then_some(Shard { index, count })
    }

    /// Its index, from 0.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many shards there are.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// How many documents this shard of the snapshot `metadata` describes holds.
    pub fn rows_of(&self, metadata: &SnapshotMetadata) -> u64 {
        if !metadata.is_manifest() {
            return if self.holds(0) {
                metadata.vector_count
            } else {
                0
            };
        }
        let (data, tombstones): (Vec<_>, Vec<_>) = metadata
            .parts
            .iter()
            .enumerate()
            .filter(|(position, _)| self.holds(*position))
            .map(|(_, part)| part)
            .partition(|part| part.kind == PartKind::Data);
        let rows = |parts: Vec<&PartEntry>| parts.iter().map(|p| p.rows).sum::<u64>();
        rows(data).saturating_sub(rows(tombstones))
    }

    /// Whether the part at `position` in the manifest (from 0) is this shard's.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count as usize == self.index as usize
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why a text is not a shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a shard: write INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4")]
pub struct ParseShardError(String);

impl FromStr for Shard {
    type Err = ParseShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseShardError(s.chars().take(40).collect());
        let (index, count) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (index.trim().parse(), count.trim().parse());
        match (index, count) {
            (Ok(index), Ok(count)) => Shard::new(index, count).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}
