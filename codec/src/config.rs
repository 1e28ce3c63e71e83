//! How a snapshot is written ([`ParquetConfig`]) and how much a reader accepts ([`Limits`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{DocumentRef, Error, Result};

/// The compression of a snapshot's data pages.
///
/// The text form, used in TOML configuration and in metadata files, is `none`, `snappy`, `lz4`,
/// `zstd` (the default level) or `zstd(N)` for a level from 1 to 22.
///
/// ```
/// use akidb_snapshot_codec::Compression;
///
/// assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::default());
/// assert_eq!("zstd(9)".parse::<Compression>().unwrap(), Compression::Zstd { level: 9 });
/// assert_eq!(Compression::Zstd { level: 9 }.to_string(), "zstd(9)");
/// assert!("gzip".parse::<Compression>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Stored as is.
    None,
    /// Snappy: fast, modest ratio.
    Snappy,
    /// LZ4 (Parquet's `LZ4_RAW`): fastest to decode.
    Lz4,
    /// Zstandard at `level` (1 to 22): the best ratio. The default.
    Zstd {
        /// 1 (fastest) to 22 (smallest).
        level: i32,
    },
}

impl Compression {
    /// The zstd level used when none is named. Once the floats' bytes are split by stream,
    /// higher levels make embedding files no smaller and slower (docs/BENCHMARKS.md).
    pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

    /// The codec's name without a level: `none`, `snappy`, `lz4` or `zstd`.
    pub fn name(&self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd { .. } => "zstd",
        }
    }

    /// Whether this build can write and read this compression.
    pub fn is_supported(&self) -> bool {
        match self {
            Compression::None => true,
            Compression::Snappy => cfg!(feature = "snappy"),
            Compression::Lz4 => cfg!(feature = "lz4"),
            Compression::Zstd { .. } => cfg!(feature = "zstd"),
        }
    }

    pub(crate) fn to_parquet(self) -> Result<parquet::basic::Compression> {
        use parquet::basic::{Compression as P, ZstdLevel};
        let unsupported = || {
            Error::validation(
                DocumentRef::NONE,
                format!(
                    "this build of akidb-snapshot-codec has no `{}` support; enable its cargo feature",
                    self.name()
                ),
            )
        };
        if !self.is_supported() {
            return Err(unsupported());
        }
        Ok(match self {
            Compression::None => P::UNCOMPRESSED,
            Compression::Snappy => P::SNAPPY,
            Compression::Lz4 => P::LZ4_RAW,
            Compression::Zstd { level } => P::ZSTD(ZstdLevel::try_new(level).map_err(|_| {
                Error::validation(
                    DocumentRef::NONE,
                    format!("zstd level {level} is out of range; use 1 to 22"),
                )
            })?),
        })
    }

    /// What a file's footer says, as far as it can be said: the level is not stored in Parquet.
    pub(crate) fn from_parquet(c: parquet::basic::Compression) -> Option<Self> {
        use parquet::basic::Compression as P;
        match c {
            P::UNCOMPRESSED => Some(Compression::None),
            P::SNAPPY => Some(Compression::Snappy),
            P::LZ4 | P::LZ4_RAW => Some(Compression::Lz4),
            P::ZSTD(_) => Some(Compression::default()),
            _ => None,
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd {
            level: Self::DEFAULT_ZSTD_LEVEL,
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::Zstd { level } if *level != Self::DEFAULT_ZSTD_LEVEL => {
                write!(f, "zstd({level})")
            }
            other => f.write_str(other.name()),
        }
    }
}

/// The error of parsing a [`Compression`] or [`VectorEncoding`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`; expected one of {expected}")]
pub struct ParseConfigError {
    what: &'static str,
    given: String,
    expected: &'static str,
}

impl FromStr for Compression {
    type Err = ParseConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseConfigError {
            what: "compression",
            given: s.to_owned(),
            expected: "none, snappy, lz4, zstd, zstd(1) … zstd(22)",
        };
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "none" | "uncompressed" => Ok(Compression::None),
            "snappy" => Ok(Compression::Snappy),
            "lz4" | "lz4_raw" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::default()),
            other => {
                let level = other
                    .strip_prefix("zstd(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .and_then(|n| n.trim().parse::<i32>().ok())
                    .filter(|n| (1..=22).contains(n))
                    .ok_or_else(err)?;
                Ok(Compression::Zstd { level })
            }
        }
    }
}

impl Serialize for Compression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How the vector floats are laid out in their pages before compression.
///
/// ```
/// use akidb_snapshot_codec::VectorEncoding;
///
/// assert_eq!(VectorEncoding::default(), VectorEncoding::ByteStreamSplit);
/// assert_eq!("plain".parse::<VectorEncoding>().unwrap(), VectorEncoding::Plain);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VectorEncoding {
    /// The floats as they are in memory.
    Plain,
    /// Parquet's `BYTE_STREAM_SPLIT`: the first bytes of every float, then the second bytes, and
    /// so on. Sign and exponent bytes of embeddings repeat, so the compressor finds them; on real
    /// embeddings this makes zstd files 8.7% smaller (docs/BENCHMARKS.md). The default.
    #[default]
    ByteStreamSplit,
}

impl FromStr for VectorEncoding {
    type Err = ParseConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "plain" => Ok(VectorEncoding::Plain),
            "byte_stream_split" => Ok(VectorEncoding::ByteStreamSplit),
            _ => Err(ParseConfigError {
                what: "vector encoding",
                given: s.to_owned(),
                expected: "plain, byte_stream_split",
            }),
        }
    }
}

/// How a Parquet snapshot is written.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `compression` | `zstd` (level 1) | page compression of every column |
/// | `row_group_size` | 10,000 | rows per row group: the unit of streaming and of parallel work; a writer holds about one row group in memory |
/// | `enable_dictionary` | `true` | dictionary-encode `external_id` and `metadata_json` (never the vectors) |
/// | `vector_encoding` | `byte_stream_split` | layout of the vector floats |
/// | `page_bytes` | 32,768 | target size of a vector page; other columns' pages target a quarter of it. A partial restore reads a page per column for each document it wants, so smaller pages read less; larger ones compress a little better |
///
/// It reads from TOML or JSON with those names; missing settings take their defaults.
///
/// ```
/// use akidb_snapshot_codec::{Compression, ParquetConfig};
///
/// let config = ParquetConfig::default()
///     .with_compression(Compression::Snappy)
///     .with_row_group_size(5_000);
/// assert_eq!(config.compression(), Compression::Snappy);
/// assert_eq!(config.row_group_size(), 5_000);
/// assert!(config.enable_dictionary());
///
/// let from_text: ParquetConfig =
///     serde_json::from_str(r#"{"compression": "lz4", "row_group_size": 100}"#).unwrap();
/// assert_eq!(from_text.compression(), Compression::Lz4);
/// assert_eq!(from_text.row_group_size(), 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParquetConfig {
    compression: Compression,
    row_group_size: usize,
    enable_dictionary: bool,
    vector_encoding: VectorEncoding,
    page_bytes: usize,
}

impl ParquetConfig {
    /// The default number of rows per row group.
    pub const DEFAULT_ROW_GROUP_SIZE: usize = 10_000;

    /// The default target size of a vector page, in bytes.
    pub const DEFAULT_PAGE_BYTES: usize = 32 * 1024;

    /// The smallest and largest `page_bytes` accepted.
    const PAGE_BYTES: std::ops::RangeInclusive<usize> = 1024..=(64 << 20);

    /// Sets the compression.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets the rows per row group (at least 1).
    pub fn with_row_group_size(mut self, rows: usize) -> Self {
        self.row_group_size = rows;
        self
    }

    /// Turns dictionary encoding of `external_id` and `metadata_json` on or off.
    pub fn with_dictionary(mut self, enable: bool) -> Self {
        self.enable_dictionary = enable;
        self
    }

    /// Sets the layout of the vector floats.
    pub fn with_vector_encoding(mut self, encoding: VectorEncoding) -> Self {
        self.vector_encoding = encoding;
        self
    }

    /// Sets the target size of a vector page, in bytes (1 KiB to 64 MiB).
    pub fn with_page_bytes(mut self, bytes: usize) -> Self {
        self.page_bytes = bytes;
        self
    }

    /// The target size of a vector page, in bytes.
    pub fn page_bytes(&self) -> usize {
        self.page_bytes
    }

    /// The compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Rows per row group.
    pub fn row_group_size(&self) -> usize {
        self.row_group_size
    }

    /// Whether `external_id` and `metadata_json` are dictionary-encoded.
    pub fn enable_dictionary(&self) -> bool {
        self.enable_dictionary
    }

    /// The layout of the vector floats.
    pub fn vector_encoding(&self) -> VectorEncoding {
        self.vector_encoding
    }

    /// Checks the settings that can be wrong: a zero row group size, a zstd level out of range, a
    /// compression this build lacks.
    pub fn validate(&self) -> Result<()> {
        if !Self::PAGE_BYTES.contains(&self.page_bytes) {
            return Err(Error::validation(
                DocumentRef::NONE,
                format!(
                    "page_bytes must be between {} and {} (the default is {}), not {}",
                    Self::PAGE_BYTES.start(),
                    Self::PAGE_BYTES.end(),
                    Self::DEFAULT_PAGE_BYTES,
                    self.page_bytes
                ),
            ));
        }
        if self.row_group_size == 0 {
            return Err(Error::validation(
                DocumentRef::NONE,
                "row_group_size must be at least 1 (the default is 10000)",
            ));
        }
        self.compression.to_parquet().map(drop)
    }
}

impl Default for ParquetConfig {
    fn default() -> Self {
        ParquetConfig {
            compression: Compression::default(),
            row_group_size: Self::DEFAULT_ROW_GROUP_SIZE,
            enable_dictionary: true,
            vector_encoding: VectorEncoding::default(),
            page_bytes: Self::DEFAULT_PAGE_BYTES,
        }
    }
}

/// The size of the Arrow batches the codec converts documents to and from: about 1 MiB of
/// vectors. Cache-sized batches are reused by the allocator instead of being mapped and faulted in
/// afresh; on 10,000 × 512 this made decoding three times faster than one batch per row group
/// (docs/BENCHMARKS.md). It also keeps a hostile footer's row count from sizing an allocation.
pub(crate) const ARROW_BATCH_BYTES: usize = 1 << 20;

/// Rows in one Arrow batch of vectors of `dimension` floats.
pub(crate) fn arrow_batch_rows(dimension: usize) -> usize {
    (ARROW_BATCH_BYTES / (dimension.max(1) * 4)).max(1)
}

/// Bounds on what a reader accepts from a file, checked against what the file declares before
/// anything is allocated for it. A file from storage someone else controls is untrusted.
///
/// | limit | default |
/// |---|---|
/// | `max_rows` | 2^32 documents |
/// | `max_dimension` | 65,536 floats per vector |
/// | `max_row_group_bytes` | 2 GiB uncompressed per row group |
///
/// ```
/// use akidb_snapshot_codec::Limits;
///
/// let mut limits = Limits::default();
/// limits.max_dimension = 4_096;
/// assert_eq!(limits.max_rows, 1 << 32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most documents a file may declare.
    pub max_rows: u64,
    /// The largest vector dimension a file may declare.
    pub max_dimension: u32,
    /// The largest uncompressed size a row group may declare: what a streaming reader holds.
    pub max_row_group_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 1 << 32,
            max_dimension: 65_536,
            max_row_group_bytes: 2 << 30,
        }
    }
}

impl Limits {
    /// Fails with [`Error::LimitExceeded`] if `value` is above `limit`.
    pub(crate) fn check(
        what: &'static str,
        field: &'static str,
        value: u64,
        limit: u64,
    ) -> Result<()> {
        if value > limit {
            return Err(Error::LimitExceeded {
                what,
                field,
                value,
                limit,
            });
        }
        Ok(())
    }
}
