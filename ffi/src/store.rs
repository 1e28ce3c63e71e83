//! Stores from C: a handle owns a storage backend and the runtime its blocking calls run on.

use std::ffi::c_char;
use std::time::Duration;

use akidb_snapshot_codec::{CollectionId, SnapshotFormat, SnapshotId, SnapshotMetadata};
use storage::{RetentionPolicy, StorageBackend, StorageBackendConfig};

use crate::codec::akidb_compression;
use crate::documents::{akidb_documents, akidb_documents_view};
use crate::error::{Failure, akidb_error, akidb_result, guard};
use crate::handle::into_handle;
use crate::marshal;

/// An open store. Thread-safe: any number of threads may call the `akidb_store_*` functions on
/// one store at once. Free with `akidb_store_free` once no call is running.
pub struct akidb_store {
    pub(crate) backend: StorageBackend,
    pub(crate) runtime: tokio::runtime::Runtime,
}

impl akidb_store {
    fn open(config: StorageBackendConfig) -> Result<*mut akidb_store, Failure> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Failure::new(
                    akidb_result::AKIDB_ERR_INTERNAL,
                    format!("cannot start a runtime: {e}"),
                )
            })?;
        // opendal's HTTP client needs the runtime when the store is built.
        let backend = runtime.block_on(async { StorageBackend::from_config(config) })?;
        Ok(into_handle(akidb_store { backend, runtime }))
    }
}

/// The format of a snapshot's data file.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum akidb_format {
    /// The legacy JSON format.
    AKIDB_FORMAT_JSON = 0,
    /// Parquet.
    AKIDB_FORMAT_PARQUET = 1,
}

/// A committed snapshot's metadata file.
#[repr(C)]
pub struct akidb_snapshot_metadata {
    /// The snapshot's UUID (v7: it sorts by creation time).
    pub snapshot_id: [u8; 16],
    /// The collection's UUID.
    pub collection_id: [u8; 16],
    /// How many documents.
    pub vector_count: u64,
    /// The length of every vector.
    pub dimension: u32,
    /// An `akidb_format`.
    pub format: u32,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Its size in bytes: the data file's (format v1), or the sum of its parts' (format v2).
    pub size_bytes: u64,
    /// An `akidb_compression`.
    pub compression: u32,
    /// The zstd level, when `compression` is `AKIDB_COMPRESSION_ZSTD`.
    pub compression_level: i32,
    /// The SHA-256 of the data file, when `has_checksum`.
    pub checksum_sha256: [u8; 32],
    /// Whether `checksum_sha256` is set: only a format v1 snapshot has one data file to hash
    /// (and those written before Parquet may lack it); each part of a format v2 snapshot has its
    /// own, which every restore checks.
    pub has_checksum: bool,
    /// The metadata's schema version: 1 for one data file, 2 for a manifest of parts.
    pub schema_version: u32,
    /// How many parts a format v2 snapshot has; 0 for a format v1 snapshot.
    pub part_count: u64,
}

impl From<&SnapshotMetadata> for akidb_snapshot_metadata {
    fn from(m: &SnapshotMetadata) -> Self {
        let (compression, compression_level) = akidb_compression::of(Some(m.compression));
        akidb_snapshot_metadata {
            snapshot_id: m.snapshot_id.as_uuid().into_bytes(),
            collection_id: m.collection_id.as_uuid().into_bytes(),
            vector_count: m.vector_count,
            dimension: m.dimension,
            format: match m.format {
                SnapshotFormat::Parquet => akidb_format::AKIDB_FORMAT_PARQUET,
                _ => akidb_format::AKIDB_FORMAT_JSON,
            } as u32,
            created_at_ms: m.created_at.as_millis(),
            size_bytes: m.size_bytes,
            compression: compression as u32,
            compression_level,
            checksum_sha256: m.checksum_sha256.map_or([0; 32], |c| *c.as_bytes()),
            has_checksum: m.checksum_sha256.is_some(),
            schema_version: m.schema_version,
            part_count: m.parts.len() as u64,
        }
    }
}

/// Snapshots, newest first. Free with `akidb_snapshot_list_free`.
pub struct akidb_snapshot_list {
    items: Vec<akidb_snapshot_metadata>,
}

pub(crate) fn store<'a>(store: *const akidb_store) -> Result<&'a akidb_store, Failure> {
    marshal::reference(store, "store")
}

pub(crate) fn collection(id: *const [u8; 16]) -> Result<CollectionId, Failure> {
    marshal::uuid(id, "collection_id").map(CollectionId::from_uuid)
}

pub(crate) fn snapshot(id: *const [u8; 16]) -> Result<SnapshotId, Failure> {
    marshal::uuid(id, "snapshot_id").map(SnapshotId::from_uuid)
}

/// The store, collection and snapshot an entry point names, each checked.
pub(crate) fn snapshot_of<'a>(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
) -> Result<(&'a akidb_store, CollectionId, SnapshotId), Failure> {
    Ok((
        store(store_ptr)?,
        collection(collection_id)?,
        snapshot(snapshot_id)?,
    ))
}

/// Opens the store at `uri` (`file://PATH`, `s3://bucket/prefix?…`, `gs://bucket/prefix`,
/// `azblob://container/prefix`, `memory://`; docs/CONFIGURATION.md) with the
/// default configuration. On success, `*store_out` is a new store; free it with
/// `akidb_store_free`.
///
/// # Safety
/// `uri` is a NUL-terminated string; the other pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_open(
    uri: *const c_char,
    store_out: *mut *mut akidb_store,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let out = marshal::out(store_out, "store_out")?;
        *out = akidb_store::open(StorageBackendConfig::with_uri(marshal::string(uri, "uri")?))?;
        Ok(())
    })
}

/// Opens the store a TOML document with a `[storage]` table describes (see
/// docs/CONFIGURATION.md). On success, `*store_out` is a new store.
///
/// # Safety
/// `toml` is a NUL-terminated string; the other pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_open_toml(
    toml: *const c_char,
    store_out: *mut *mut akidb_store,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let out = marshal::out(store_out, "store_out")?;
        let config = StorageBackendConfig::from_toml_str(marshal::string(toml, "toml")?)?;
        *out = akidb_store::open(config)?;
        Ok(())
    })
}

/// Closes a store. NULL is accepted. No call on it may be running.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_free(store: *mut akidb_store) {
    // SAFETY: the header documents NULL or a handle from this library, freed once.
    unsafe { crate::handle::free_handle(store) }
}

/// Creates a snapshot of `docs` in collection `collection_id` (the configured format), and
/// writes its new UUID to `snapshot_id_out`. Blocks until the snapshot is committed.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_create(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    docs: *const akidb_documents_view,
    snapshot_id_out: *mut [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let store = store(store_ptr)?;
        let collection = collection(collection_id)?;
        let out = marshal::out(snapshot_id_out, "snapshot_id_out")?;
        let docs = marshal::reference(docs, "docs")?.to_documents()?;
        let snapshotter = store.backend.snapshotter();
        let id = store
            .runtime
            .block_on(snapshotter.create_snapshot(collection, docs))?;
        *out = id.as_uuid().into_bytes();
        Ok(())
    })
}

/// Restores a snapshot (size, SHA-256, count and dimension checked). On success, `*docs_out`
/// is new documents the caller frees with `akidb_documents_free`.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_restore(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    docs_out: *mut *mut akidb_documents,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        let out = marshal::out(docs_out, "docs_out")?;
        let snapshotter = store.backend.snapshotter();
        let docs = store.runtime.block_on(snapshotter.restore_snapshot(c, s))?;
        *out = into_handle(akidb_documents::from_documents(docs)?);
        Ok(())
    })
}

/// Lists a collection's committed snapshots, newest first. On success, `*list_out` is a new
/// list the caller frees with `akidb_snapshot_list_free`.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_list(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    list_out: *mut *mut akidb_snapshot_list,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let store = store(store_ptr)?;
        let c = collection(collection_id)?;
        let out = marshal::out(list_out, "list_out")?;
        let listed = store
            .runtime
            .block_on(store.backend.store().list_snapshots(c))?;
        let items = listed.iter().map(akidb_snapshot_metadata::from).collect();
        *out = into_handle(akidb_snapshot_list { items });
        Ok(())
    })
}

/// Deletes a snapshot: its metadata file first, then a v1 snapshot's data file (a v2
/// snapshot's parts, which other snapshots may share, go with `akidb_store_gc`).
/// `AKIDB_ERR_NOT_FOUND` if it does not exist.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_delete(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        store
            .runtime
            .block_on(store.backend.store().delete_snapshot(c, s))?;
        Ok(())
    })
}

/// Checks a snapshot completely (size, SHA-256, every row group, count, dimension) without
/// keeping its documents. `AKIDB_OK` only when every check holds; then, if `metadata_out` is not
/// NULL, its metadata is written there.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_verify(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    metadata_out: *mut akidb_snapshot_metadata,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        let metadata = store
            .runtime
            .block_on(store.backend.store().verify_snapshot(c, s))?;
        // SAFETY: NULL or writable storage for one struct.
        if let Some(out) = unsafe { metadata_out.as_mut() } {
            *out = akidb_snapshot_metadata::from(&metadata);
        }
        Ok(())
    })
}

/// Which snapshots `akidb_store_prune` deletes: those beyond the newest `keep_last`, or older
/// than `max_age_secs`, never the newest `min_count`. A negative `keep_last` or `max_age_secs`
/// turns that rule off.
#[repr(C)]
pub struct akidb_retention {
    /// Keep at most this many of the newest; negative for no limit.
    pub keep_last: i64,
    /// Delete those created more than this many seconds ago; negative for no limit.
    pub max_age_secs: i64,
    /// Never delete the newest this many.
    pub min_count: u64,
    /// Report what would be deleted and delete nothing.
    pub dry_run: bool,
}

/// Applies a retention policy to a collection; writes how many snapshots were (or, with
/// `dry_run`, would be) deleted to `deleted_out` when it is not NULL.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_prune(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    policy: *const akidb_retention,
    deleted_out: *mut usize,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let store = store(store_ptr)?;
        let c = collection(collection_id)?;
        let policy_in = marshal::reference(policy, "policy")?;
        let mut policy = RetentionPolicy::default()
            .with_min_count(usize::try_from(policy_in.min_count).unwrap_or(usize::MAX));
        if let Ok(n) = usize::try_from(policy_in.keep_last) {
            policy = policy.with_keep_last(n);
        }
        if let Ok(secs) = u64::try_from(policy_in.max_age_secs) {
            policy = policy.with_max_age(Duration::from_secs(secs));
        }
        let deleted = store
            .runtime
            .block_on(
                store
                    .backend
                    .store()
                    .apply_retention(c, &policy, policy_in.dry_run),
            )?;
        // SAFETY: NULL or writable storage for one size_t.
        if let Some(out) = unsafe { deleted_out.as_mut() } {
            *out = deleted.len();
        }
        Ok(())
    })
}

/// How many snapshots are in the list; 0 for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_snapshot_list_len(list: *const akidb_snapshot_list) -> usize {
    // SAFETY: NULL or a pointer from this library, not yet freed.
    unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
}

/// Snapshot `index` of the list (0 is the newest), owned by the list; NULL for an index out of
/// range or a NULL list.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_snapshot_list_get(
    list: *const akidb_snapshot_list,
    index: usize,
) -> *const akidb_snapshot_metadata {
    // SAFETY: as above.
    unsafe { list.as_ref() }
        .and_then(|l| l.items.get(index))
        .map_or(std::ptr::null(), |m| m as *const _)
}

/// Frees a list. NULL is accepted.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_snapshot_list_free(list: *mut akidb_snapshot_list) {
    // SAFETY: the header documents NULL or a handle from this library, freed once.
    unsafe { crate::handle::free_handle(list) }
}

/// Removes what no snapshot needs, across the whole store, once older than `grace_secs`
/// seconds: v2 parts no manifest names (a deleted snapshot's, an interrupted create's),
/// abandoned pending snapshots and v1 data files without a metadata file. Writes how many files
/// were removed to `removed_out` when it is not NULL. `grace_secs` must exceed the longest
/// create.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_gc(
    store_ptr: *const akidb_store,
    grace_secs: u64,
    removed_out: *mut usize,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let store = store(store_ptr)?;
        let gc = store.backend.store().gc(Duration::from_secs(grace_secs));
        let removed = store.runtime.block_on(gc)?;
        // SAFETY: NULL or writable storage for one size_t.
        if let Some(out) = unsafe { removed_out.as_mut() } {
            *out = removed.len();
        }
        Ok(())
    })
}
