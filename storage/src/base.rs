//! Creates that build on another snapshot, its base: an append (new documents only) and an
//! update (upserts and deletes). The base's parts are reused as they are; the create records
//! them under `pending/` before it relies on them (docs/FORMAT.md, "Append"), reads the base's
//! ids, and writes only what changed: a tombstone part for the ids it replaces or deletes, and
//! data parts for the documents it adds.

use std::sync::{Arc, Mutex, PoisonError};

use akidb_snapshot_codec::{
    DocumentRef, PartEntry, PartKind, SnapshotHeader, SnapshotId, SnapshotMetadata,
    encode_tombstones,
};
use futures::stream::{Stream, StreamExt, TryStreamExt};
use uuid::Uuid;

use crate::encoder::Batch;
use crate::error::{Error, Result, Target};
use crate::ids::{IdSet, ids_of};
use crate::keys;
use crate::metrics;
use crate::store::{SnapshotStore, blocking};

/// What a create does to its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Adds documents; one already in the base is refused.
    Append,
    /// Adds documents and replaces those already in the base, and removes the base's documents
    /// with these ids (an id the base does not hold is ignored).
    Update { deletes: Vec<Uuid> },
}

/// The snapshot a create builds on, its parts recorded under `pending/` for the create.
pub(crate) struct Base {
    metadata: SnapshotMetadata,
    ids: IdSet,
    change: Change,
    deletes: IdSet,
    /// Ids of the input that the base holds (an update replaces them), as they are met.
    replaced: Arc<Mutex<Vec<Uuid>>>,
}

impl Base {
    /// Records the parts of snapshot `base` for the create of `target`, then checks that the
    /// base still exists (in this order: see gc.rs) and reads its ids. On failure the record
    /// is removed.
    pub(crate) async fn reserve(
        store: &SnapshotStore,
        target: Target,
        base: SnapshotId,
        change: Change,
    ) -> Result<Base> {
        let (Some(collection_id), Some(snapshot_id)) = (target.collection_id, target.snapshot_id)
        else {
            return Err(Error::Internal {
                reason: "a create on a base for no snapshot".to_owned(),
            });
        };
        let metadata = store.metadata(collection_id, base).await?;
        if !metadata.is_manifest() {
            return Err(Error::validation(
                target,
                format!(
                    "base snapshot {base} is format v1, one file that cannot be shared: `snapshot \
                     migrate --from-format parquet-v1 --to-format parquet` makes it parts"
                ),
            ));
        }
        store.record_reused(target, &metadata).await?;
        let reserved = async {
            let again = store.metadata(collection_id, base).await?;
            if again != metadata {
                return Err(Error::corruption(
                    target,
                    format!("the manifest of base snapshot {base} changed while it was read"),
                ));
            }
            let mut ids = IdSet::default();
            let mut rows = store.restore_snapshot_arrow(collection_id, base).await?;
            while let Some(batches) = rows.try_next().await? {
                for batch in &batches {
                    ids_of(batch).for_each(|id| {
                        ids.insert(id);
                    });
                }
            }
            tracing::info!(%base, parts = metadata.parts.len(), ids = ids.len(),
                "base reserved");
            let mut deletes = IdSet::default();
            if let Change::Update { deletes: listed } = &change {
                listed.iter().for_each(|&id| {
                    deletes.insert(id);
                });
            }
            Ok(Base {
                metadata,
                ids,
                change,
                deletes,
                replaced: Arc::default(),
            })
        }
        .await;
        if reserved.is_err() {
            store.remove_pending(collection_id, snapshot_id).await;
        }
        reserved
    }

    pub(crate) fn id(&self) -> SnapshotId {
        self.metadata.snapshot_id
    }

    pub(crate) fn dimension(&self) -> u32 {
        self.metadata.dimension
    }

    /// The base's parts, which the new manifest lists first.
    pub(crate) fn parts(&self) -> Vec<PartEntry> {
        self.metadata.parts.clone()
    }

    /// Whether an update may write no document (only deletes); an append must write one.
    pub(crate) fn may_be_empty(&self) -> bool {
        matches!(self.change, Change::Update { .. })
    }

    /// `batches`, checked against the base: no id twice in the input, none both upserted and
    /// deleted, and, for an append, none the base holds. An update notes the ids it replaces.
    pub(crate) fn incoming<'a>(
        &'a self,
        target: Target,
        batches: impl Stream<Item = Result<Batch>> + Send + 'a,
    ) -> impl Stream<Item = Result<Batch>> + Send + 'a {
        let mut seen = IdSet::default();
        let mut position = 0u64;
        batches.map(move |batch| {
            let batch = batch?;
            let refuse = |row: usize, id: Uuid, reason: String| Error::Codec {
                target,
                source: akidb_snapshot_codec::Error::Validation {
                    document: DocumentRef::new(position + row as u64, id),
                    reason,
                },
            };
            let mut replaced = Vec::new();
            for (row, id) in batch.ids().enumerate() {
                if !seen.insert(id) {
                    return Err(refuse(
                        row,
                        id,
                        "its id came before in the input".to_owned(),
                    ));
                }
                if self.deletes.contains(id) {
                    return Err(refuse(row, id, "its id is also one to delete".to_owned()));
                }
                if self.ids.contains(id) {
                    if self.change == Change::Append {
                        return Err(refuse(
                            row,
                            id,
                            format!(
                                "it is in base snapshot {} already: an append adds new \
                                 documents only",
                                self.id()
                            ),
                        ));
                    }
                    replaced.push(id);
                }
            }
            (self.replaced.lock().unwrap_or_else(PoisonError::into_inner)).extend(replaced);
            position += batch.len() as u64;
            Ok(batch)
        })
    }

    /// Writes the tombstone part of what the create replaced and deleted, if anything: the
    /// replaced ids, and the deleted ones that the base holds. Returns its entry.
    pub(crate) async fn write_tombstones(
        &self,
        store: &SnapshotStore,
        header: SnapshotHeader,
    ) -> Result<Option<PartEntry>> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        let mut hidden =
            std::mem::take(&mut *self.replaced.lock().unwrap_or_else(PoisonError::into_inner));
        if let Change::Update { deletes } = &self.change {
            let held: Vec<Uuid> = deletes
                .iter()
                .copied()
                .filter(|&id| self.ids.contains(id))
                .collect();
            if held.len() < deletes.len() {
                tracing::info!(
                    ignored = deletes.len() - held.len(),
                    "ids to delete that the base does not hold"
                );
            }
            hidden.extend(held);
        }
        if hidden.is_empty() {
            return Ok(None);
        }
        let (bytes, summary) = blocking(move || encode_tombstones(hidden, &header))
            .await?
            .map_err(|e| Error::codec(target, e))?;
        let key = keys::part_key(header.collection_id, Uuid::now_v7(), PartKind::Tombstones);
        let len = bytes.len() as u64;
        store
            .operator()
            .write_with(&key, bytes)
            .if_not_exists(true)
            .await
            .map_err(|e| Error::store(target, "write", &key, e))?;
        metrics::record_upload(store.scheme(), len);
        Ok(Some(PartEntry::new(key, PartKind::Tombstones, &summary)))
    }
}
