//! Configuration: the `[storage]` table of DESIGN.md, read from TOML.

use std::path::Path;
use std::time::Duration;

use akidb_snapshot_codec::{ParquetConfig, SnapshotFormat};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::layout::Layout;

/// The store used when none is configured: a folder beside the working directory.
pub const DEFAULT_URI: &str = "file://./akidb-snapshots";

/// Which snapshotter writes new snapshots. Restores follow each snapshot's own format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SnapshotterType {
    /// Parquet files (the default).
    #[default]
    Parquet,
    /// The legacy JSON format.
    Json,
}

impl SnapshotterType {
    /// The file format this snapshotter writes.
    pub fn format(self) -> SnapshotFormat {
        match self {
            SnapshotterType::Parquet => SnapshotFormat::Parquet,
            SnapshotterType::Json => SnapshotFormat::Json,
        }
    }
}

/// How transient store failures are retried (opendal's `RetryLayer`: exponential backoff with
/// jitter; not-found, permission and corruption errors are never retried).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt. Default 4.
    pub max_retries: usize,
    /// The first backoff, in milliseconds. Default 200.
    pub min_delay_ms: u64,
    /// The longest backoff, in milliseconds. Default 10,000.
    pub max_delay_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 4,
            min_delay_ms: 200,
            max_delay_ms: 10_000,
        }
    }
}

impl RetryConfig {
    /// The first backoff.
    pub fn min_delay(&self) -> Duration {
        Duration::from_millis(self.min_delay_ms)
    }

    /// The longest backoff.
    pub fn max_delay(&self) -> Duration {
        Duration::from_millis(self.max_delay_ms)
    }
}

/// Per-request time limits (opendal's `TimeoutLayer`, applied to each attempt, inside the
/// retries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TimeoutConfig {
    /// Metadata requests (stat, delete), in seconds. Default 30.
    pub request_secs: u64,
    /// Each read, write or list call, in seconds. Default 60.
    pub io_secs: u64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            request_secs: 30,
            io_secs: 60,
        }
    }
}

/// Where snapshots are stored and how new ones are written.
///
/// Read from the `[storage]` table of a TOML file, exactly as DESIGN.md shows; every field has
/// a default, so an empty table is the embedded default store with Parquet snapshots.
///
/// ```
/// use akidb_snapshot::{StorageBackendConfig, SnapshotterType};
/// use akidb_snapshot::codec::Compression;
///
/// let config = StorageBackendConfig::from_toml_str(r#"
///     [storage]
///     uri = "memory://"
///     snapshotter_type = "parquet"
///
///     [storage.parquet]
///     compression = "snappy"
///     row_group_size = 5000
///     enable_dictionary = true
/// "#).unwrap();
/// assert_eq!(config.uri, "memory://");
/// assert_eq!(config.snapshotter_type, SnapshotterType::Parquet);
/// assert_eq!(config.parquet.compression(), Compression::Snappy);
/// assert_eq!(config.parquet.row_group_size(), 5000);
///
/// let default = StorageBackendConfig::from_toml_str("").unwrap();
/// assert_eq!(default.uri, "file://./akidb-snapshots");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StorageBackendConfig {
    /// The store: `file://PATH`, `memory://` or `s3://bucket/prefix?region=…&endpoint=…`.
    /// Default [`DEFAULT_URI`].
    pub uri: String,
    /// Which format new snapshots are written in. Default Parquet.
    pub snapshotter_type: SnapshotterType,
    /// The layout of new Parquet snapshots: 2 (the default), a manifest of parts; 1, one data
    /// file, for readers older than format v2.
    pub format_version: u32,
    /// The most documents a part of a format v2 snapshot holds. Default
    /// [`DEFAULT_PART_ROWS`](crate::DEFAULT_PART_ROWS).
    pub part_rows: u64,
    /// How many parts of a create are in flight at once. Default: the number of cores.
    pub concurrency: Option<usize>,
    /// A create on a base compacts the new snapshot when tombstones would hide more than this
    /// percent of its stored rows; 0 never does. Default
    /// [`DEFAULT_AUTO_COMPACT_PERCENT`](crate::DEFAULT_AUTO_COMPACT_PERCENT).
    pub auto_compact_percent: u32,
    /// How Parquet snapshots are written.
    pub parquet: ParquetConfig,
    /// Retries of transient store failures.
    pub retry: RetryConfig,
    /// Time limits per request.
    pub timeout: TimeoutConfig,
}

impl Default for StorageBackendConfig {
    fn default() -> Self {
        StorageBackendConfig {
            uri: DEFAULT_URI.to_owned(),
            snapshotter_type: SnapshotterType::default(),
            format_version: Layout::default().format_version,
            part_rows: Layout::default().part_rows,
            concurrency: None,
            auto_compact_percent: Layout::default().auto_compact_percent,
            parquet: ParquetConfig::default(),
            retry: RetryConfig::default(),
            timeout: TimeoutConfig::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    storage: StorageBackendConfig,
}

impl StorageBackendConfig {
    /// The default configuration on another store.
    pub fn with_uri(uri: impl Into<String>) -> Self {
        StorageBackendConfig {
            uri: uri.into(),
            ..Self::default()
        }
    }

    /// Parses a TOML document with a `[storage]` table. Unknown keys are errors, so a typo
    /// never silently falls back to a default.
    pub fn from_toml_str(toml: &str) -> Result<Self> {
        let file: ConfigFile = toml::from_str(toml)
            .map_err(|e| Error::config_from(format!("the TOML is not valid: {e}"), e))?;
        file.storage.validate()?;
        Ok(file.storage)
    }

    /// Reads and parses a TOML file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config_from(format!("cannot read {}: {e}", path.display()), e))?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::Config { reason, source } => Error::Config {
                reason: format!("{}: {reason}", path.display()),
                source,
            },
            other => other,
        })
    }

    /// The layout new Parquet snapshots are written in.
    pub fn layout(&self) -> Layout {
        Layout {
            format_version: self.format_version,
            part_rows: self.part_rows,
            auto_compact_percent: self.auto_compact_percent,
        }
    }

    /// Checks the values a TOML parse cannot.
    pub fn validate(&self) -> Result<()> {
        self.layout().validate().map_err(|e| match e {
            Error::Config { reason, source } => Error::Config {
                reason: format!("[storage]: {reason}"),
                source,
            },
            other => other,
        })?;
        self.parquet
            .validate()
            .map_err(|e| Error::config_from(format!("[storage.parquet]: {e}"), e))?;
        if self.concurrency == Some(0) {
            return Err(Error::config("[storage]: concurrency must be at least 1"));
        }
        if self.retry.min_delay_ms > self.retry.max_delay_ms {
            return Err(Error::config(format!(
                "[storage.retry]: min_delay_ms ({}) exceeds max_delay_ms ({})",
                self.retry.min_delay_ms, self.retry.max_delay_ms
            )));
        }
        if self.timeout.request_secs == 0 || self.timeout.io_secs == 0 {
            return Err(Error::config(
                "[storage.timeout]: request_secs and io_secs must be at least 1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn design_md_example_parses() {
        let config = StorageBackendConfig::from_toml_str(
            r#"
[storage]
uri = "file://./akidb-snapshots"   # the embedded default; or s3://bucket/prefix, memory://
snapshotter_type = "parquet"       # or "json"

[storage.parquet]
compression = "zstd"               # "snappy", "lz4", "none"
row_group_size = 10000
enable_dictionary = true           # for external_id and metadata_json, never for vectors
"#,
        )
        .unwrap();
        assert_eq!(config, StorageBackendConfig::default());
    }

    #[test]
    fn json_snapshotter_and_retry_settings() {
        let config = StorageBackendConfig::from_toml_str(
            "[storage]\nsnapshotter_type = \"json\"\n[storage.retry]\nmax_retries = 0\n",
        )
        .unwrap();
        assert_eq!(config.snapshotter_type, SnapshotterType::Json);
        assert_eq!(config.retry.max_retries, 0);
        assert_eq!(config.retry.max_delay_ms, 10_000);
    }

    /// The documented example holds every key at its default.
    #[test]
    fn configuration_md_example_is_the_default() {
        let doc = include_str!("../../docs/CONFIGURATION.md");
        let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
        let toml = &doc[start..start + doc[start..].find("```").unwrap()];
        let config = StorageBackendConfig::from_toml_str(toml).unwrap();
        assert_eq!(config, StorageBackendConfig::default());
    }

    #[test]
    fn layout_settings() {
        let config =
            StorageBackendConfig::from_toml_str("[storage]\nformat_version = 1\npart_rows = 500\n")
                .unwrap();
        assert_eq!(config.layout(), Layout::v1().with_part_rows(500));
        assert_eq!(StorageBackendConfig::default().layout(), Layout::default());
    }

    #[test]
    fn typos_and_bad_values_are_config_errors() {
        for (toml, needle) in [
            ("[storage]\nurl = \"memory://\"", "unknown field `url`"),
            ("[storage]\nsnapshotter_type = \"csv\"", "csv"),
            ("[storage.parquet]\nrow_group_size = 0", "row_group_size"),
            ("[storage.parquet]\ncompression = \"gzip\"", "gzip"),
            ("[storage.timeout]\nio_secs = 0", "io_secs"),
            ("[storage]\nformat_version = 3", "format_version 3"),
            ("[storage]\npart_rows = 0", "part_rows"),
            (
                "[storage]\nauto_compact_percent = 100",
                "auto_compact_percent",
            ),
            ("[storage]\nconcurrency = 0", "concurrency"),
            ("[storage]\nuri = 3", "uri"),
        ] {
            let err = StorageBackendConfig::from_toml_str(toml).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{toml}");
            assert!(err.to_string().contains(needle), "{toml}: {err}");
        }
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = StorageBackendConfig::from_toml_file("/nonexistent/akidb.toml").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("/nonexistent/akidb.toml"), "{err}");
    }
}
