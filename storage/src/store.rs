//! The store: one opendal `Operator`, the limits files are read with and the layout new
//! snapshots are written in, and the reads every operation shares. The operations live by
//! concept, each an `impl SnapshotStore` of its own that depends on this module and not the
//! other way round: write.rs (create), read.rs (restore, verify, inspect), commit.rs (commit
//! markers, list, delete), pending.rs (many writers), gc.rs, retention.rs.

use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use akidb_snapshot_codec::{KeyRing, Limits, MasterKey, Timestamp};
use bytes::{Bytes, BytesMut};
use opendal::Operator;

use crate::error::{Error, Result, Target};
use crate::layout::Layout;
use crate::metrics;

/// Snapshots in one store: create, restore, list, delete, verify and garbage collection, each
/// following the commit protocol. Cheap to clone; clones share the store.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use akidb_snapshot::{Encoding, SnapshotStore};
/// use akidb_snapshot::codec::{CollectionId, ParquetConfig, VectorDocument};
/// use futures::{stream, TryStreamExt};
/// use uuid::Uuid;
///
/// let store = SnapshotStore::new(opendal::Operator::new(
///     opendal::services::Memory::default()).unwrap());
/// let collection = CollectionId::from_uuid(Uuid::now_v7());
/// let batches = (0..3).map(|b| {
///     (0..100).map(|i| VectorDocument::new(Uuid::now_v7(), vec![(b * 100 + i) as f32; 8]))
///         .collect::<Vec<_>>()
/// });
/// let metadata = store
///     .create_snapshot_stream(collection, &Encoding::Parquet(ParquetConfig::default()),
///         stream::iter(batches))
///     .await.unwrap();
/// assert_eq!(metadata.vector_count, 300);
///
/// let restored: Vec<_> = store.restore_snapshot_stream(collection, metadata.snapshot_id)
///     .await.unwrap().try_concat().await.unwrap();
/// assert_eq!(restored[150].vector, vec![150.0; 8]);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    op: Operator,
    limits: Limits,
    layout: Layout,
    concurrency: usize,
    scheme: &'static str,
    /// The master key new snapshots are encrypted under, if they are.
    encryption: Option<MasterKey>,
    /// The master keys encrypted snapshots are read with: the key above, and any older ones.
    keys: Arc<KeyRing>,
}

/// Bytes read at a time to hash a file.
const DIGEST_READ_BYTES: u64 = 8 * 1024 * 1024;

impl SnapshotStore {
    /// Snapshots in the store `op` reaches, read with the codec's default [`Limits`].
    pub fn new(op: Operator) -> Self {
        let scheme = op.info().scheme();
        SnapshotStore {
            op,
            limits: Limits::default(),
            layout: Layout::default(),
            concurrency: default_concurrency(),
            scheme,
            encryption: None,
            keys: Arc::default(),
        }
    }

    /// Encrypts new snapshots under `master` (docs/ENCRYPTION.md): each data part under a data
    /// key of its own, wrapped under `master`. Snapshots are read with it too.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use akidb_snapshot::{Encoding, ErrorKind, SnapshotStore};
    /// use akidb_snapshot::codec::{CollectionId, MasterKey, ParquetConfig, VectorDocument};
    /// use futures::{stream, TryStreamExt};
    /// use uuid::Uuid;
    ///
    /// let op = opendal::Operator::new(opendal::services::Memory::default()).unwrap();
    /// let key = MasterKey::from_hex("backups", &"4b".repeat(32)).unwrap();
    /// let store = SnapshotStore::new(op.clone()).with_encryption(key);
    /// let collection = CollectionId::from_uuid(Uuid::now_v7());
    /// let docs = vec![VectorDocument::new(Uuid::now_v7(), vec![1.0; 4])];
    /// let metadata = store
    ///     .create_snapshot_stream(collection, &Encoding::Parquet(ParquetConfig::default()),
    ///         stream::iter([docs.clone()]))
    ///     .await.unwrap();
    /// assert_eq!(metadata.encryption.as_ref().unwrap().key_id, "backups");
    ///
    /// let restored: Vec<_> = store.restore_snapshot_stream(collection, metadata.snapshot_id)
    ///     .await.unwrap().try_concat().await.unwrap();
    /// assert_eq!(restored, docs);
    ///
    /// // Without the key the error names the key it needs.
    /// let keyless = SnapshotStore::new(op);
    /// let err = keyless.restore_snapshot_stream(collection, metadata.snapshot_id)
    ///     .await.unwrap().try_concat().await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::EncryptionKey);
    /// assert!(err.to_string().contains("`backups`"));
    /// # });
    /// ```
    pub fn with_encryption(mut self, master: MasterKey) -> Self {
        Arc::make_mut(&mut self.keys).insert(master.clone());
        self.encryption = Some(master);
        self
    }

    /// Reads encrypted snapshots with these master keys too: keys that older snapshots were
    /// encrypted under, after new ones moved to another ([`with_encryption`](Self::with_encryption)).
    pub fn with_keys(mut self, keys: KeyRing) -> Self {
        let ring = Arc::make_mut(&mut self.keys);
        for key in keys.iter() {
            ring.insert(key.clone());
        }
        self
    }

    /// The master key new snapshots are encrypted under, if any.
    pub fn encryption(&self) -> Option<&MasterKey> {
        self.encryption.as_ref()
    }

    /// The master keys encrypted snapshots are read with.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Whether this store can decrypt the snapshot `metadata` describes: it is not encrypted,
    /// or its master key is among [`keys`](Self::keys).
    pub fn can_decrypt(&self, metadata: &akidb_snapshot_codec::SnapshotMetadata) -> bool {
        (metadata.encryption.as_ref()).is_none_or(|e| self.keys.get(&e.key_id).is_some())
    }

    /// Keeps up to `parts` parts of a create in flight at once (one filling while the others
    /// complete their uploads) instead of the default, the number of cores.
    pub fn with_concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// How many parts of a create are in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Writes new Parquet snapshots in this layout instead of the default (format v2, parts of
    /// [`DEFAULT_PART_ROWS`](crate::DEFAULT_PART_ROWS)).
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// The layout new Parquet snapshots are written in.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The store's scheme (`fs`, `s3`, `memory`), as metrics label it.
    pub(crate) fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Reads files with these limits instead (raise them for trusted files larger than the
    /// defaults).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits files are read with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The opendal operator, with its layers.
    pub fn operator(&self) -> &Operator {
        &self.op
    }

    pub(crate) async fn size_of(&self, target: Target, key: &str) -> Result<u64> {
        match self.op.stat(key).await {
            Ok(meta) => Ok(meta.content_length()),
            Err(e) => Err(Error::store(target, "stat", key, e)),
        }
    }

    pub(crate) async fn read_range(
        &self,
        target: Target,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes> {
        let expected = range.end - range.start;
        // Copied chunk by chunk into one buffer, each chunk freed as it is copied: collecting
        // the chunks first and joining them after held the range twice, and fresh pages are
        // what a large read costs most on a VM (docs/BENCHMARKS.md).
        let mut bytes = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
        self.op
            .reader(key)
            .await
            .map_err(|e| Error::store(target, "read", key, e))?
            .read_into(&mut bytes, range)
            .await
            .map_err(|e| Error::store(target, "read", key, e))?;
        let bytes = bytes.freeze();
        if bytes.len() as u64 != expected {
            return Err(Error::corruption(
                target,
                format!(
                    "{key} changed while being read: asked for {expected} bytes, got {}",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    pub(crate) async fn read_all(&self, target: Target, key: &str) -> Result<Bytes> {
        let bytes = self
            .op
            .read(key)
            .await
            .map_err(|e| Error::store(target, "read", key, e))?
            .to_bytes();
        self.count_download(bytes.len() as u64);
        Ok(bytes)
    }

    /// The SHA-256 of the `size` bytes at `key`, read a range at a time.
    pub(crate) async fn digest(
        &self,
        target: Target,
        key: &str,
        size: u64,
    ) -> Result<akidb_snapshot_codec::Sha256Digest> {
        let mut hasher = akidb_snapshot_codec::HashingWriter::new(std::io::sink());
        let mut at = 0;
        while at < size {
            let end = (at + DIGEST_READ_BYTES).min(size);
            // Writing to a sink never fails.
            let _ = std::io::Write::write_all(
                &mut hasher,
                &self.read_range(target, key, at..end).await?,
            );
            at = end;
        }
        Ok(hasher.finish().1)
    }

    pub(crate) fn count_download(&self, bytes: u64) {
        metrics::record_download(self.scheme, bytes);
    }
}

pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(millis)
}

/// Runs CPU-bound codec work off the async threads. The codec catches its own panics at its
/// boundary, so a failure here (a panic that escaped, or a runtime shutting down) is reported
/// as [`Error::Internal`] rather than raised in the caller.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal {
            reason: format!("a codec task did not complete: {e}"),
        })
}

/// The default concurrency: the number of cores.
pub(crate) fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}
