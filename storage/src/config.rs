//! Configuration: the `[storage]` table of DESIGN.md, read from TOML.

use std::path::PathBuf;
use std::time::Duration;

use akidb_snapshot_codec::{KeyRing, MasterKey, ParquetConfig, SnapshotFormat};
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

/// The environment variable a master key is read from when no file is named.
pub const ENCRYPTION_KEY_ENV: &str = "AKIDB_ENCRYPTION_KEY";

/// Client-side encryption of new snapshots, and the key to read encrypted ones
/// (`[storage.encryption]`, docs/ENCRYPTION.md). The key itself is never in the configuration:
/// it is read from `key_file`, or else from the environment variable `key_env`, as 32, 48 or
/// 64 hexadecimal digits.
///
/// ```
/// use akidb_snapshot::StorageBackendConfig;
///
/// let config = StorageBackendConfig::from_toml_str(r#"
///     [storage.encryption]
///     key_id = "backups-2026"
///     key_file = "/etc/akidb/master.key"
/// "#).unwrap();
/// let encryption = config.encryption.unwrap();
/// assert_eq!(encryption.key_id, "backups-2026");
/// assert_eq!(encryption.key_env, "AKIDB_ENCRYPTION_KEY");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EncryptionConfig {
    /// The master key's id, recorded in every file and manifest it encrypts.
    pub key_id: String,
    /// A file holding the master key. Default: none, so the key is read from `key_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// The environment variable holding the master key when there is no `key_file`. Default
    /// [`ENCRYPTION_KEY_ENV`].
    #[serde(default = "default_key_env")]
    pub key_env: String,
}

fn default_key_env() -> String {
    ENCRYPTION_KEY_ENV.to_owned()
}

impl EncryptionConfig {
    /// Encryption under the key `key_id`, read from `key_file` or, without one, from
    /// [`ENCRYPTION_KEY_ENV`].
    pub fn new(key_id: impl Into<String>, key_file: Option<PathBuf>) -> Self {
        EncryptionConfig {
            key_id: key_id.into(),
            key_file,
            key_env: default_key_env(),
        }
    }

    /// Reads the master key. A [`Config`](Error::Config) error names the file or variable and
    /// what is wrong with it, never the key.
    pub fn master_key(&self) -> Result<MasterKey> {
        let (hex, from) = match &self.key_file {
            Some(path) => (
                std::fs::read_to_string(path).map_err(|e| {
                    Error::config_from(
                        format!(
                            "cannot read the encryption key file {}: {e}",
                            path.display()
                        ),
                        e,
                    )
                })?,
                format!("the key file {}", path.display()),
            ),
            None => (
                std::env::var(&self.key_env).map_err(|_| {
                    Error::config(format!(
                        "encryption key `{}` is to be read from the environment variable {}, \
                         which is not set: set it, or name a key file",
                        self.key_id, self.key_env
                    ))
                })?,
                format!("the environment variable {}", self.key_env),
            ),
        };
        MasterKey::from_hex(&self.key_id, &hex).map_err(|e| {
            // The codec calls a bad key invalid input; here it is a bad setting.
            let why = match &e {
                akidb_snapshot_codec::Error::Validation { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            Error::config_from(format!("{from}: {why}"), e)
        })
    }
}

/// S3's own encryption at rest of every object written (`[storage.server_side_encryption]`,
/// docs/ENCRYPTION.md): the bucket's servers encrypt what they store, and decrypt it for anyone
/// the bucket's policy lets read it. Unlike `[storage.encryption]`, it does not protect a
/// snapshot from a reader of the bucket, only the disks it lies on.
///
/// ```
/// use akidb_snapshot::{ServerSideEncryption, StorageBackendConfig};
///
/// let config = StorageBackendConfig::from_toml_str(r#"
///     [storage]
///     uri = "s3://bucket/backups"
///     [storage.server_side_encryption]
///     kind = "sse-kms"
///     kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd"
/// "#).unwrap();
/// let sse = config.server_side_encryption.unwrap();
/// assert_eq!(sse, ServerSideEncryption::Kms {
///     kms_key_id: Some("arn:aws:kms:eu-west-1:111122223333:key/1234abcd".into()) });
/// assert_eq!(sse.algorithm(), "aws:kms");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
#[non_exhaustive]
pub enum ServerSideEncryption {
    /// SSE-S3: keys S3 manages (`AES256`).
    #[serde(rename = "sse-s3")]
    S3,
    /// SSE-KMS: a KMS key, the bucket's AWS-managed key unless `kms_key_id` names one.
    #[serde(rename = "sse-kms")]
    Kms {
        /// The KMS key's id or ARN.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kms_key_id: Option<String>,
    },
}

impl ServerSideEncryption {
    /// S3's name of the algorithm: `AES256` or `aws:kms`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            ServerSideEncryption::S3 => "AES256",
            ServerSideEncryption::Kms { .. } => "aws:kms",
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
    /// The store: `file://PATH`, `memory://`, `s3://bucket/prefix?region=…&endpoint=…`,
    /// `gs://bucket/prefix` or `azblob://container/prefix` (docs/CONFIGURATION.md).
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
    /// Client-side encryption of new snapshots, and the key to read them. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionConfig>,
    /// More master keys to read encrypted snapshots with (`[[storage.read_keys]]`): those older
    /// snapshots were encrypted under before `encryption` moved to a new key. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_keys: Vec<EncryptionConfig>,
    /// S3 server-side encryption of every object written (S3 stores only). Default: none, so
    /// the bucket's default encryption applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The storage class of every object written: S3's (`STANDARD_IA`, `INTELLIGENT_TIERING`,
    /// `GLACIER_IR`, …; not `GLACIER` or `DEEP_ARCHIVE`, whose objects cannot be read until
    /// restored) or Cloud Storage's (`NEARLINE`, `COLDLINE`, `ARCHIVE`). Default: none, so the
    /// bucket's default class applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
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
            encryption: None,
            read_keys: Vec::new(),
            server_side_encryption: None,
            storage_class: None,
        }
    }
}

impl StorageBackendConfig {
    /// The default configuration on another store.
    pub fn with_uri(uri: impl Into<String>) -> Self {
        StorageBackendConfig {
            uri: uri.into(),
            ..Self::default()
        }
    }

    /// The layout new Parquet snapshots are written in.
    pub fn layout(&self) -> Layout {
        Layout {
            format_version: self.format_version,
            part_rows: self.part_rows,
            auto_compact_percent: self.auto_compact_percent,
        }
    }

    /// Every master key this configuration names: the key of `encryption` and the
    /// `read_keys`, each read from its file or variable. What a reader of encrypted files
    /// outside a store (a local snapshot file) opens them with.
    pub fn key_ring(&self) -> Result<KeyRing> {
        let keys = self.encryption.iter().chain(&self.read_keys);
        keys.map(EncryptionConfig::master_key)
            .try_fold(KeyRing::default(), |ring, key| Ok(ring.with(key?)))
    }

    /// The configurations of the two ends of a copy from this store to the store `to`: the
    /// source, only read, without the settings of what is written (storage class, S3
    /// encryption at rest); the destination with them, its URI `to`, and no
    /// `[storage.encryption]`, as a copy stores the files as they are. Retries and timeouts
    /// are the same at both ends.
    ///
    /// ```
    /// use akidb_snapshot::StorageBackendConfig;
    ///
    /// let mut config = StorageBackendConfig::with_uri("file://./akidb-snapshots");
    /// config.storage_class = Some("STANDARD_IA".into());
    /// let (from, to) = config.copy_between("s3://offsite/akidb");
    /// assert_eq!((from.uri.as_str(), from.storage_class), ("file://./akidb-snapshots", None));
    /// assert_eq!((to.uri.as_str(), to.storage_class.as_deref()), ("s3://offsite/akidb", Some("STANDARD_IA")));
    /// ```
    pub fn copy_between(&self, to: &str) -> (StorageBackendConfig, StorageBackendConfig) {
        let from = StorageBackendConfig {
            storage_class: None,
            server_side_encryption: None,
            ..self.clone()
        };
        let to = StorageBackendConfig {
            uri: to.to_owned(),
            encryption: None,
            read_keys: Vec::new(),
            ..self.clone()
        };
        (from, to)
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
        if self.encryption.is_some() && self.snapshotter_type == SnapshotterType::Json {
            return Err(Error::config(
                "[storage.encryption]: JSON snapshots cannot be encrypted; set snapshotter_type \
                 = \"parquet\"",
            ));
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
