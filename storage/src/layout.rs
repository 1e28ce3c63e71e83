//! How new snapshots are laid out in the store: format v2's manifest of parts, or format v1's
//! one data file (DESIGN.md, "Format v2"; docs/FORMAT.md).

use crate::error::{Error, Result};

/// How many documents a part holds at most, by default: docs/DECISIONS.md says why.
pub const DEFAULT_PART_ROWS: u64 = 100_000;

/// How a store lays out the Parquet snapshots it creates. JSON snapshots are always one file
/// (format v1). Every snapshot restores whatever layout it was written in.
///
/// ```
/// use akidb_snapshot::Layout;
///
/// let layout = Layout::default();
/// assert_eq!((layout.format_version, layout.part_rows), (2, 100_000));
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
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            format_version: 2,
            part_rows: DEFAULT_PART_ROWS,
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

    /// A configuration error for a version this crate does not write, or parts of no rows.
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
        Ok(())
    }
}
