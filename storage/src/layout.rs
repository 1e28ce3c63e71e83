//! How new snapshots are laid out in the store: format v2's manifest of parts, or format v1's
//! one data file (DESIGN.md, "Format v2"; docs/FORMAT.md).

use crate::error::{Error, Result};

/// How many documents a part holds at most, by default: docs/DECISIONS.md says why.
pub const DEFAULT_PART_ROWS: u64 = 100_000;

/// The share of stored rows, in percent, that tombstones may hide before a create on a base
/// compacts, by default. A restore reads every stored row of a snapshot's data parts, hidden or
/// not, so at 15 it reads at most 1 / 0.85 ≈ 1.18 times the rows it returns (docs/INCREMENTAL.md,
/// "Compaction").
pub const DEFAULT_AUTO_COMPACT_PERCENT: u32 = 15;

/// How a store lays out the Parquet snapshots it creates. JSON snapshots are always one file
/// (format v1). Every snapshot restores whatever layout it was written in.
///
/// ```
/// use akidb_snapshot::Layout;
///
/// let layout = Layout::default();
/// assert_eq!((layout.format_version, layout.part_rows), (2, 100_000));
/// assert_eq!(layout.auto_compact_percent, 15);
/// assert_eq!(Layout::default().with_part_rows(5_000).part_rows, 5_000);
/// assert_eq!(Layout::v1().format_version, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Layout {
    /// 2 (the default): a manifest of immutable parts. 1: one data file per snapshot, for
    /// readers older than format v2.
    pub format_version: u32,
    /// The most documents a part holds. Default [`DEFAULT_PART_ROWS`].
    pub part_rows: u64,
    /// A create on a base compacts the new snapshot when tombstones would hide more than this
    /// percent of its stored rows; 0 never does. Default [`DEFAULT_AUTO_COMPACT_PERCENT`].
    pub auto_compact_percent: u32,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            format_version: 2,
            part_rows: DEFAULT_PART_ROWS,
            auto_compact_percent: DEFAULT_AUTO_COMPACT_PERCENT,
        }
    }
}

impl Layout {
    /// Format v1: one data file per snapshot.
    pub fn v1() -> Self {
        Layout {
            format_version: 1,
            ..Layout::default()
        }
    }

    /// Parts of at most `rows` documents.
    pub fn with_part_rows(mut self, rows: u64) -> Self {
        self.part_rows = rows;
        self
    }

    /// Compacts when tombstones hide more than `percent` of the stored rows (0: never).
    pub fn with_auto_compact_percent(mut self, percent: u32) -> Self {
        self.auto_compact_percent = percent;
        self
    }

    /// Whether a snapshot of `stored` rows in its data parts, `hidden` of them by tombstones,
    /// is to be compacted.
    pub(crate) fn compacts(&self, stored: u64, hidden: u64) -> bool {
        self.auto_compact_percent > 0
            && u128::from(hidden) * 100 > u128::from(stored) * u128::from(self.auto_compact_percent)
    }

    /// A configuration error for a version this crate does not write, parts of no rows, or a
    /// compaction share of 100% or more.
    pub fn validate(&self) -> Result<()> {
        if !(1..=2).contains(&self.format_version) {
            return Err(Error::config(format!(
                "format_version {} is not one this version writes (1 or 2)",
                self.format_version
            )));
        }
        if self.part_rows == 0 {
            return Err(Error::config("part_rows must be at least 1"));
        }
        if self.auto_compact_percent >= 100 {
            return Err(Error::config(format!(
                "auto_compact_percent {} is not below 100 (0 turns automatic compaction off)",
                self.auto_compact_percent
            )));
        }
        Ok(())
    }
}
