//! Creates that build on another snapshot, its base: an append (new documents only), an
//! update (upserts and deletes) and a full export compared with the base. The base's parts are
//! reused as they are; the create records them under `pending/` before it relies on them
//! (docs/FORMAT.md, "Append"), reads the base's content from its id indexes (ids and content
//! hashes, no vectors), and writes only what changed: a tombstone part for the ids it replaces
//! or deletes, and data parts for the documents it adds.

use std::sync::{Arc, Mutex, PoisonError};

use akidb_snapshot_codec::{
    ContentHash, DocumentRef, DocumentValidator, MasterKey, PartEntry, PartKind, SnapshotFormat,
    SnapshotHeader, SnapshotId, SnapshotMetadata, encode_tombstones,
};
use futures::stream::{Stream, StreamExt, TryStreamExt};
use uuid::Uuid;

use crate::encoder::Batch;
use crate::error::{Error, Result, Target};
use crate::ids::IdSet;
use crate::keys;
use crate::metrics;
use crate::read::Content;
use crate::store::{SnapshotStore, blocking};

/// What a create on a base snapshot does with its input
/// ([`SnapshotStore::try_create_on_stream`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The input is new documents; one whose id the base holds is refused.
    Append,
    /// The input is upserts: each adds a document or replaces the base's document of the same
    /// id; and the base's documents with an id in `deletes` are removed (an id the base does
    /// not hold is ignored; one also upserted is refused). Nothing at all makes a snapshot of
    /// the base's parts.
    Update {
        /// Ids of the base's documents to remove.
        deletes: Vec<Uuid>,
    },
    /// The input is the collection's whole content, a full export: a document the base holds
    /// with the same content (by [`ContentHash`]) is left out, a changed one is replaced, and
    /// the base's documents the input lacks are removed. An export identical to its base
    /// writes a manifest and nothing else; an empty one is refused.
    Export,
}

/// The snapshot a create builds on, its parts recorded under `pending/` for the create.
pub(crate) struct Base {
    metadata: SnapshotMetadata,
    content: Content,
    change: Change,
    deletes: IdSet,
    /// Ids of the input that the base holds (an update replaces them), as they are met.
    replaced: Arc<Mutex<Vec<Uuid>>>,
    /// Every id of the input so far.
    seen: Arc<Mutex<IdSet>>,
    /// The input's documents, checked as they come, so that an error names the document by
    /// its place in the input even where an export then leaves it out.
    validator: Arc<Mutex<DocumentValidator>>,
}

impl Base {
    /// Reserves snapshot `base` for the create of `target` ([`reserve_parts`]) and reads its
    /// content. On failure the record is removed.
    pub(crate) async fn reserve(
        store: &SnapshotStore,
        target: Target,
        base: SnapshotId,
        change: Change,
    ) -> Result<Base> {
        let metadata = reserve_parts(store, target, base).await?;
        let reserved = async {
            let (content, sources) = store.content_of(&metadata).await?;
            tracing::info!(%base, parts = metadata.parts.len(), documents = content.len(),
                indexes_read = sources.indexed, parts_read_whole = sources.read, "base reserved");
            let mut deletes = IdSet::default();
            if let Change::Update { deletes: listed } = &change {
                listed.iter().for_each(|&id| {
                    deletes.insert(id);
                });
            }
            Ok(Base {
                metadata,
                content,
                change,
                deletes,
                replaced: Arc::default(),
                seen: Arc::default(),
                validator: Arc::new(Mutex::new(DocumentValidator::new(SnapshotFormat::Parquet))),
            })
        }
        .await;
        if reserved.is_err() {
            store.remove_pending(target).await;
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

    /// Whether the create may write no document: an update that only deletes, an export with
    /// nothing new. An append must write one.
    pub(crate) fn may_be_empty(&self) -> bool {
        self.change != Change::Append
    }

    /// `batches`, checked against the base: no id twice in the input, none both upserted and
    /// deleted, and, for an append, none the base holds. An update notes the ids it replaces;
    /// an export also leaves out the documents the base holds unchanged.
    pub(crate) fn incoming<'a>(
        &'a self,
        target: Target,
        batches: impl Stream<Item = Result<Batch>> + Send + 'a,
    ) -> impl Stream<Item = Result<Batch>> + Send + 'a {
        let mut position = 0u64;
        batches
            .map(move |batch| {
                let batch = batch?;
                let first = position;
                position += batch.len() as u64;
                self.check(target, first, batch)
            })
            .try_filter_map(|batch| std::future::ready(Ok(batch)))
    }

    /// [`incoming`](Self::incoming) for one batch, whose first row is at `position` in the
    /// input: the batch, with only what an export changes, or `None` if that is nothing.
    fn check(&self, target: Target, position: u64, batch: Batch) -> Result<Option<Batch>> {
        let refuse = |row: usize, id: Uuid, reason: String| Error::Codec {
            target,
            source: akidb_snapshot_codec::Error::Validation {
                document: DocumentRef::new(position + row as u64, id),
                reason,
            },
        };
        let mut validator = self
            .validator
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &batch {
            Batch::Documents { docs, range } => validator.check(&docs[range.clone()]),
            Batch::Arrow(b) => validator.check_arrow(b),
        }
        .map_err(|e| Error::codec(target, e))?;
        if let Some(dimension) = validator.dimension()
            && dimension != self.dimension() as usize
            && let Some(id) = batch.ids().next()
        {
            return Err(refuse(
                0,
                id,
                format!(
                    "its vector has dimension {dimension}, those of base snapshot {} {}",
                    self.id(),
                    self.dimension()
                ),
            ));
        }
        drop(validator);
        let rows: Vec<(Uuid, Option<ContentHash>)> = if self.change == Change::Export {
            (batch.content_hashes())
                .map_err(|e| Error::codec(target, e))?
                .into_iter()
                .map(|(id, hash)| (id, Some(hash)))
                .collect()
        } else {
            batch.ids().map(|id| (id, None)).collect()
        };
        let mut replaced = Vec::new();
        let mut changed = IdSet::with_capacity(rows.len());
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for (row, (id, hash)) in rows.into_iter().enumerate() {
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
            match (self.content.get(&id), &self.change) {
                (None, _) => {}
                (Some(_), Change::Append) => {
                    return Err(refuse(
                        row,
                        id,
                        format!(
                            "it is in base snapshot {} already: an append adds new documents only",
                            self.id()
                        ),
                    ));
                }
                (Some(held), Change::Export) if Some(*held) == hash => continue,
                (Some(_), _) => replaced.push(id),
            }
            changed.insert(id);
        }
        drop(seen);
        (self.replaced.lock().unwrap_or_else(PoisonError::into_inner)).extend(replaced);
        batch.retain(&changed).map_err(|e| Error::codec(target, e))
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
                .filter(|id| self.content.contains_key(id))
                .collect();
            if held.len() < deletes.len() {
                tracing::info!(
                    ignored = deletes.len() - held.len(),
                    "ids to delete that the base does not hold"
                );
            }
            hidden.extend(held);
        }
        if self.change == Change::Export {
            let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if seen.is_empty() {
                return Err(Error::validation(
                    target,
                    "the export holds no documents; a snapshot holds at least one",
                ));
            }
            let gone = (self.content.keys()).filter(|&&id| !seen.contains(id));
            hidden.extend(gone);
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

/// Records the parts of snapshot `base` (format v2) under `pending/` for the create of
/// `target`, then checks that the base still exists, unchanged: in this order, a delete of the
/// base and a gc meanwhile cannot take its parts (see gc.rs). Returns the base's manifest; on
/// failure the record is removed.
/// Refuses a base that is encrypted otherwise than this store encrypts new parts: a snapshot's
/// data parts are all encrypted alike (docs/ENCRYPTION.md), so the new ones could not join it.
fn check_encryption(store: &SnapshotStore, target: Target, base: &SnapshotMetadata) -> Result<()> {
    let base_key = base.encryption.as_ref().map(|e| e.key_id.as_str());
    let new_key = store.encryption().map(MasterKey::id);
    if base_key == new_key {
        return Ok(());
    }
    let said = |key: Option<&str>| {
        key.map_or("not encrypted".to_owned(), |k| {
            format!("encrypted under key `{k}`")
        })
    };
    Err(Error::validation(
        target,
        format!(
            "base snapshot {} is {}, but new parts would be {}: a snapshot's parts are all \
             encrypted alike. Create a full snapshot instead (no base), or give the base's key",
            base.snapshot_id,
            said(base_key),
            said(new_key)
        ),
    ))
}

pub(crate) async fn reserve_parts(
    store: &SnapshotStore,
    target: Target,
    base: SnapshotId,
) -> Result<SnapshotMetadata> {
    let Some(collection_id) = target.collection_id else {
        return Err(Error::Internal {
            reason: "a create on a base for no collection".to_owned(),
        });
    };
    let metadata = store.metadata(collection_id, base).await?;
    check_encryption(store, target, &metadata)?;
    if !metadata.is_manifest() {
        return Err(Error::validation(
            target,
            format!(
                "snapshot {base} is format v1, one file that cannot be shared: `snapshot \
                 migrate --from-format parquet-v1 --to-format parquet` makes it parts"
            ),
        ));
    }
    store.record_reused(target, &metadata).await?;
    match store.metadata(collection_id, base).await {
        Ok(again) if again == metadata => Ok(metadata),
        Ok(_) => {
            store.remove_pending(target).await;
            Err(Error::corruption(
                target,
                format!("the manifest of snapshot {base} changed while it was read"),
            ))
        }
        Err(e) => {
            store.remove_pending(target).await;
            Err(e)
        }
    }
}
