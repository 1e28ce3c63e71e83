//! Many writers, one snapshot, and shards of a restore: `akidb_store_begin`, a
//! `akidb_store_create_shard` per writer, `akidb_store_commit` (or `akidb_store_abort`), and
//! `akidb_store_restore_shard`. The rules live in the storage crate; this marshals.

use storage::Shard;

use crate::documents::{akidb_documents, akidb_documents_view};
use crate::error::{Failure, akidb_error, akidb_result, guard};
use crate::handle::into_handle;
use crate::marshal;
use crate::store::{collection, snapshot_of, store};

/// Shard `index` of `count`, or an invalid-argument failure.
pub(crate) fn shard(index: u32, count: u32) -> Result<Shard, Failure> {
    Shard::new(index, count).ok_or_else(|| {
        Failure::invalid(format!(
            "shard {index} of {count} does not exist: shards are numbered from 0 to count - 1"
        ))
    })
}

/// Begins a snapshot that `shards` writers create together, one shard each
/// (`akidb_store_create_shard`), and `akidb_store_commit` makes exist; writes its UUID to
/// `snapshot_id_out`. Until committed it is never listed.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_begin(
    store_ptr: *const crate::store::akidb_store,
    collection_id: *const [u8; 16],
    shards: u32,
    snapshot_id_out: *mut [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let store = store(store_ptr)?;
        let c = collection(collection_id)?;
        let out = marshal::out(snapshot_id_out, "snapshot_id_out")?;
        let id = store
            .runtime
            .block_on(store.backend.store().begin_snapshot(c, shards))?;
        *out = id.as_uuid().into_bytes();
        Ok(())
    })
}

/// Writes shard `shard_index` of `shard_count` of the begun snapshot `snapshot_id` from `docs`.
/// A shard is written once: `AKIDB_ERR_ALREADY_EXISTS` the second time.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_create_shard(
    store_ptr: *const crate::store::akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    shard_index: u32,
    shard_count: u32,
    docs: *const akidb_documents_view,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        let shard = shard(shard_index, shard_count)?;
        let docs = marshal::reference(docs, "docs")?.to_documents()?;
        let encoding = store.backend.encoding();
        let batches = futures::stream::iter([Ok::<_, std::convert::Infallible>(docs)]);
        let create = store
            .backend
            .store()
            .try_create_shard_stream(c, s, shard, &encoding, batches);
        store.runtime.block_on(create)?;
        Ok(())
    })
}

/// Commits a begun snapshot once every shard is written. `AKIDB_ERR_VALIDATION`, naming them,
/// while shards are missing or when their dimensions disagree. Its pending records stay until
/// `akidb_store_gc` finds them older than its grace period.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_commit(
    store_ptr: *const crate::store::akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        store
            .runtime
            .block_on(store.backend.store().commit_snapshot(c, s))?;
        Ok(())
    })
}

/// Discards a begun snapshot: the parts its shards wrote and its pending records.
/// `AKIDB_ERR_ALREADY_EXISTS` once it is committed (delete it instead).
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_abort(
    store_ptr: *const crate::store::akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        store
            .runtime
            .block_on(store.backend.store().abort_snapshot(c, s))?;
        Ok(())
    })
}

/// Restores shard `shard_index` of `shard_count` of a snapshot: its parts at positions
/// `shard_index`, `shard_index + shard_count`, …; the shards together hold every document once.
/// On success, `*docs_out` is new documents the caller frees with `akidb_documents_free`.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_restore_shard(
    store_ptr: *const crate::store::akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    shard_index: u32,
    shard_count: u32,
    docs_out: *mut *mut akidb_documents,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        let shard = shard(shard_index, shard_count)?;
        let out = marshal::out(docs_out, "docs_out")?;
        let restore = async {
            use futures::TryStreamExt;
            let batches = store
                .backend
                .store()
                .restore_shard_stream(c, s, shard)
                .await?;
            batches.try_concat().await
        };
        let docs = store.runtime.block_on(restore)?;
        *out = into_handle(akidb_documents::from_documents(docs)?);
        Ok(())
    })
}
