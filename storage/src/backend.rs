//! `StorageBackend`: a configured store and the snapshotter that writes to it.

use std::sync::Arc;

use opendal::Operator;

use crate::config::{SnapshotterType, StorageBackendConfig};
use crate::encoder::Encoding;
use crate::error::Result;
use crate::snapshotter::{JsonSnapshotter, ParquetSnapshotter, Snapshotter};
use crate::store::SnapshotStore;
use crate::uri::{StoreUri, with_layers};

/// A store opened from a [`StorageBackendConfig`], with the snapshotter its
/// `snapshotter_type` names.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use akidb_snapshot::{StorageBackend, StorageBackendConfig};
/// use akidb_snapshot::codec::{CollectionId, VectorDocument};
/// use uuid::Uuid;
///
/// let config = StorageBackendConfig::from_toml_str(
///     "[storage]\nuri = \"memory://\"\nsnapshotter_type = \"json\"").unwrap();
/// let backend = StorageBackend::from_config(config).unwrap();
/// let snapshotter = backend.snapshotter();
///
/// let collection = CollectionId::from_uuid(Uuid::now_v7());
/// let id = snapshotter
///     .create_snapshot(collection, vec![VectorDocument::new(Uuid::now_v7(), vec![1.0])])
///     .await.unwrap();
/// let listed = backend.store().list_snapshots(collection).await.unwrap();
/// assert_eq!(listed[0].snapshot_id, id);
/// assert_eq!(listed[0].format, akidb_snapshot::codec::SnapshotFormat::Json);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct StorageBackend {
    config: StorageBackendConfig,
    store: SnapshotStore,
}

impl StorageBackend {
    /// Opens the store at `uri` with every other setting at its default.
    pub fn open(uri: &str) -> Result<Self> {
        Self::from_config(StorageBackendConfig::with_uri(uri))
    }

    /// Opens the store the configuration names, with retries and timeouts.
    pub fn from_config(config: StorageBackendConfig) -> Result<Self> {
        config.validate()?;
        let op = StoreUri::parse(&config.uri)?.open(&config)?;
        Self::with_operator(op, config)
    }

    /// A store on an operator the caller built: any opendal service, or one with layers of
    /// its own (the reliability tests inject faults this way). The configuration's retries,
    /// timeouts and snapshotter are applied as [`from_config`](Self::from_config) applies
    /// them; its `uri` is not opened.
    ///
    /// ```
    /// use akidb_snapshot::{StorageBackend, StorageBackendConfig};
    ///
    /// let op = opendal::Operator::new(opendal::services::Memory::default()).unwrap();
    /// let mut config = StorageBackendConfig::with_uri("memory://");
    /// config.retry.max_retries = 5;
    /// let backend = StorageBackend::with_operator(op, config).unwrap();
    /// assert_eq!(backend.config().retry.max_retries, 5);
    /// assert_eq!(backend.store().operator().info().scheme(), "memory");
    /// ```
    pub fn with_operator(op: Operator, config: StorageBackendConfig) -> Result<Self> {
        config.validate()?;
        let mut store = SnapshotStore::new(with_layers(op, &config)).with_layout(config.layout());
        if let Some(parts) = config.concurrency {
            store = store.with_concurrency(parts);
        }
        let keys = config.key_ring()?;
        if let Some(key) = (config.encryption.as_ref()).and_then(|e| keys.get(&e.key_id)) {
            store = store.with_encryption(key.clone());
        }
        store = store.with_keys(keys);
        Ok(StorageBackend { config, store })
    }

    /// The configured snapshotter, on this backend's store (made when asked: a caller of the
    /// store's own methods, as akidb-cli and the C API are, never needs one).
    pub fn snapshotter(&self) -> Arc<dyn Snapshotter> {
        match self.encoding() {
            Encoding::Parquet(parquet) => {
                Arc::new(ParquetSnapshotter::on(self.store.clone(), parquet))
            }
            Encoding::Json => Arc::new(JsonSnapshotter::on(self.store.clone())),
        }
    }

    /// The store, for streaming, verification, retention and gc.
    pub fn store(&self) -> &SnapshotStore {
        &self.store
    }

    /// How the configured snapshotter writes.
    pub fn encoding(&self) -> Encoding {
        encoding(&self.config)
    }

    /// Where a tool outside akidb (DuckDB, pyarrow, Spark) reads the object at `key` of this
    /// store: an absolute path for `file://`, an `s3://` URL for S3.
    ///
    /// ```
    /// use akidb_snapshot::{StorageBackend, StorageBackendConfig};
    ///
    /// let op = opendal::Operator::new(opendal::services::Memory::default()).unwrap();
    /// let config = StorageBackendConfig::with_uri("s3://bucket/backups?region=eu-west-1");
    /// let backend = StorageBackend::with_operator(op, config).unwrap();
    /// assert_eq!(backend.location_of("parts/x.parquet").unwrap(), "s3://bucket/backups/parts/x.parquet");
    /// ```
    pub fn location_of(&self, key: &str) -> Result<String> {
        Ok(StoreUri::parse(&self.config.uri)?.location_of(key))
    }

    /// The key of what `location` names in this store: the inverse of
    /// [`location_of`](Self::location_of). A location with a scheme (`file://`, `s3://`,
    /// `memory://`) or an absolute path must lie under the store's root; anything else is taken
    /// as a key, relative to the root.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) for a location outside the store.
    ///
    /// ```
    /// use akidb_snapshot::{StorageBackend, StorageBackendConfig};
    ///
    /// let op = opendal::Operator::new(opendal::services::Memory::default()).unwrap();
    /// let config = StorageBackendConfig::with_uri("s3://bucket/backups?region=eu-west-1");
    /// let backend = StorageBackend::with_operator(op, config).unwrap();
    /// assert_eq!(backend.key_of("s3://bucket/backups/spark/a.parquet").unwrap(), "spark/a.parquet");
    /// assert_eq!(backend.key_of("spark/a.parquet").unwrap(), "spark/a.parquet");
    /// assert!(backend.key_of("s3://other-bucket/a.parquet").is_err());
    /// ```
    pub fn key_of(&self, location: &str) -> Result<String> {
        StoreUri::parse(&self.config.uri)?
            .key_of(location)
            .ok_or_else(|| {
                crate::Error::config(format!(
                    "{location} is not in the store {}: name a file under it, by its location \
                     or by its key relative to the store's root",
                    self.location_of("").unwrap_or_default()
                ))
            })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &StorageBackendConfig {
        &self.config
    }
}

fn encoding(config: &StorageBackendConfig) -> Encoding {
    match config.snapshotter_type {
        SnapshotterType::Parquet => Encoding::Parquet(config.parquet.clone()),
        SnapshotterType::Json => Encoding::Json,
    }
}
