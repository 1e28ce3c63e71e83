//! Snapshots built on another, its base, whose parts they share: `akidb_store_append` (new
//! documents), `akidb_store_update` (upserts and deletes from a change the host knows),
//! `akidb_store_create_incremental` (a full export, compared with the base), and
//! `akidb_store_compact`. The rules live in the storage crate (`Change`, `compact_snapshot`);
//! this marshals.

use std::convert::Infallible;

use storage::Change;
use storage::codec::VectorDocument;
use uuid::Uuid;

use crate::documents::akidb_documents_view;
use crate::error::{Failure, akidb_error, akidb_result, guard};
use crate::marshal;
use crate::store::{akidb_store, snapshot_of};

/// Creates a snapshot of collection `collection_id` that holds the documents of snapshot
/// `base_id` (its parts shared, not rewritten) and then `docs`, each of which must be new to
/// the base (`AKIDB_ERR_VALIDATION` naming it otherwise). Writes the new snapshot's UUID to
/// `snapshot_id_out`. The base must be format v2; the store is configured for it.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_append(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    base_id: *const [u8; 16],
    docs: *const akidb_documents_view,
    snapshot_id_out: *mut [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let docs = marshal::reference(docs, "docs")?.to_documents()?;
        create_on(
            store_ptr,
            collection_id,
            base_id,
            Change::Append,
            docs,
            snapshot_id_out,
        )
    })
}

/// Creates a snapshot of collection `collection_id` from snapshot `base_id` and a change:
/// `upserts` (NULL for none) add documents, replacing the base's document of the same id, and
/// the `delete_count` UUIDs at `delete_ids` (NULL when 0) remove the base's documents with those
/// ids (an id the base does not hold is ignored). Only the change is written; the base's parts
/// are shared. Writes the new snapshot's UUID to `snapshot_id_out`.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says; `delete_ids` holds
/// `delete_count` UUIDs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_update(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    base_id: *const [u8; 16],
    upserts: *const akidb_documents_view,
    delete_ids: *const [u8; 16],
    delete_count: usize,
    snapshot_id_out: *mut [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        // SAFETY: as the header documents, NULL or valid for the call.
        let upserts = match unsafe { upserts.as_ref() } {
            Some(view) => view.to_documents()?,
            None => Vec::new(),
        };
        let change = Change::Update {
            deletes: deletes(delete_ids, delete_count)?,
        };
        create_on(
            store_ptr,
            collection_id,
            base_id,
            change,
            upserts,
            snapshot_id_out,
        )
    })
}

/// Creates a snapshot of collection `collection_id` whose content is exactly `docs`, a full
/// export, written as an increment on snapshot `base_id`: documents the base holds unchanged
/// (same id, vector bits, external id, metadata and inserted_at) are not written again, changed
/// ones are replaced, and the base's documents missing from `docs` are removed. An export
/// identical to its base writes only a manifest. Writes the new snapshot's UUID to
/// `snapshot_id_out`.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_create_incremental(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    base_id: *const [u8; 16],
    docs: *const akidb_documents_view,
    snapshot_id_out: *mut [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let docs = marshal::reference(docs, "docs")?.to_documents()?;
        create_on(
            store_ptr,
            collection_id,
            base_id,
            Change::Export,
            docs,
            snapshot_id_out,
        )
    })
}

/// Compacts snapshot `snapshot_id` of collection `collection_id` into a new snapshot of the same
/// content without tombstones (only the parts tombstones touch are rewritten) and writes the new
/// snapshot's UUID to `snapshot_id_out`: the snapshot's own UUID when it is compact already. A
/// create on a base also compacts by itself past the store's `auto_compact_percent`.
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_compact(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    snapshot_id_out: *mut [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (store, c, s) = snapshot_of(store_ptr, collection_id, snapshot_id)?;
        let out = marshal::out(snapshot_id_out, "snapshot_id_out")?;
        let encoding = store.backend.encoding();
        let compacted = store
            .runtime
            .block_on(store.backend.store().compact_snapshot(c, s, &encoding))?;
        *out = compacted.snapshot_id.as_uuid().into_bytes();
        Ok(())
    })
}

/// The create of the three creating entry points above, once their input is marshalled.
fn create_on(
    store_ptr: *const akidb_store,
    collection_id: *const [u8; 16],
    base_id: *const [u8; 16],
    change: Change,
    docs: Vec<VectorDocument>,
    snapshot_id_out: *mut [u8; 16],
) -> Result<(), Failure> {
    let (store, c, base) = snapshot_of(store_ptr, collection_id, base_id)?;
    let out = marshal::out(snapshot_id_out, "snapshot_id_out")?;
    let encoding = store.backend.encoding();
    let docs = futures::stream::iter(std::iter::once(Ok::<_, Infallible>(docs)));
    let created = store
        .runtime
        .block_on((store.backend.store()).try_create_on_stream(c, base, change, &encoding, docs))?;
    *out = created.snapshot_id.as_uuid().into_bytes();
    Ok(())
}

/// The ids to delete: `count` UUIDs at `ids`, which may be NULL only when `count` is 0.
fn deletes(ids: *const [u8; 16], count: usize) -> Result<Vec<Uuid>, Failure> {
    marshal::uuids(ids, count, "delete_ids")
}
