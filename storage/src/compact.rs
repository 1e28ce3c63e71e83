//! Compaction: a snapshot's content written again with fewer parts and no tombstones
//! (docs/INCREMENTAL.md, "Compaction"). Parts are immutable, so a compaction is a new snapshot,
//! whose parent is the one compacted: the data parts that tombstones hide rows of, or that are
//! small, are rewritten into fresh parts; the others are reused as they are; the tombstone parts
//! are dropped, as nothing they hide is left. A create on a base compacts by itself once the
//! share of hidden rows passes [`Layout::auto_compact_percent`](crate::Layout).

use std::collections::BTreeSet;
use std::time::Instant;

use akidb_snapshot_codec::{
    CollectionId, PartEntry, PartKind, SnapshotHeader, SnapshotId, SnapshotMetadata,
};
use arrow_array::RecordBatch;
use futures::stream::{self, TryStreamExt};
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::base::reserve_parts;
use crate::encoder::{Batch, Encoding};
use crate::error::{Error, Result, Target};
use crate::read::SnapshotFiles;
use crate::store::{SnapshotStore, now};
use crate::write::keys_of;

/// What a compaction wrote: the compacted snapshot's parts, in order, and the keys of the files
/// it wrote for them.
pub(crate) struct Compacted {
    pub(crate) parts: Vec<PartEntry>,
    pub(crate) written: Vec<String>,
    /// Data parts rewritten, and tombstone parts dropped.
    rewritten: usize,
    dropped: usize,
}

impl SnapshotStore {
    /// Compacts snapshot `snapshot_id` of collection `collection_id` (format v2) into a new
    /// snapshot of the same content, whose parent it is: its data parts that tombstones hide
    /// rows of (or that have no id index to tell), and its small ones (under half of
    /// `part_rows`, when there are two or more), are rewritten into fresh parts after the
    /// others, which are reused as they are; its tombstone parts are dropped. Returns the new
    /// snapshot, or the snapshot itself when it is compact already (no tombstones, at most one
    /// small part). The snapshot compacted is left as it is: delete it, or let retention do so.
    ///
    /// Its parts are recorded under `pending/` before they are relied on, as for a create on a
    /// base, so a delete of it and a gc meanwhile cannot take them.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use akidb_snapshot::{Change, Encoding, SnapshotStore};
    /// use akidb_snapshot::codec::{CollectionId, ParquetConfig, PartKind, VectorDocument};
    /// use futures::stream;
    /// use uuid::Uuid;
    ///
    /// let store = SnapshotStore::new(opendal::Operator::new(
    ///     opendal::services::Memory::default()).unwrap());
    /// let encoding = Encoding::Parquet(ParquetConfig::default());
    /// let collection = CollectionId::from_uuid(Uuid::now_v7());
    /// let docs: Vec<VectorDocument> =
    ///     (1..=20u128).map(|i| VectorDocument::new(Uuid::from_u128(i), vec![i as f32])).collect();
    /// let base = store.create_snapshot_stream(collection, &encoding, stream::iter([docs])).await?;
    /// let deletes = Change::Update { deletes: vec![Uuid::from_u128(2)] };
    /// let none = stream::empty::<Result<Vec<VectorDocument>, std::io::Error>>();
    /// let updated = store.try_create_on_stream(collection, base.snapshot_id, deletes, &encoding,
    ///     none).await?;
    /// assert_eq!(updated.parts[1].kind, PartKind::Tombstones);
    ///
    /// let compacted = store.compact_snapshot(collection, updated.snapshot_id, &encoding).await?;
    /// assert_eq!(compacted.parent_snapshot_id, Some(updated.snapshot_id));
    /// assert_eq!((compacted.parts.len(), compacted.parts[0].rows), (1, 19));
    /// assert_eq!(compacted.vector_count, updated.vector_count);
    /// # Ok::<(), akidb_snapshot::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn compact_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        encoding: &Encoding,
    ) -> Result<SnapshotMetadata> {
        let header =
            SnapshotHeader::new(collection_id, SnapshotId::from_uuid(Uuid::now_v7()), now());
        let span = tracing::info_span!("compact_snapshot", %collection_id,
            snapshot_id = %header.snapshot_id, base = %snapshot_id,
            vector_count = Empty, size_bytes = Empty, duration_ms = Empty);
        let operation = span.clone();
        async move {
            let started = Instant::now();
            let target = Target::snapshot(collection_id, header.snapshot_id);
            if !matches!(encoding, Encoding::Parquet(_)) {
                return Err(Error::validation(
                    target,
                    "a compaction writes Parquet parts: the store is configured for JSON",
                ));
            }
            let base = reserve_parts(self, target, snapshot_id).await?;
            let compacted = match self.compact_parts(header, encoding, &base).await {
                Ok(Some(compacted)) => compacted,
                Ok(None) => {
                    self.remove_pending(target).await;
                    tracing::info!("compact already");
                    return Ok(base);
                }
                Err(e) => {
                    self.remove_pending(target).await;
                    return Err(e);
                }
            };
            let manifest = self.manifest_of_compacted(header, &base, compacted.parts, snapshot_id);
            let manifest = match manifest {
                Ok(manifest) => manifest,
                Err(e) => {
                    self.remove_uncommitted(&compacted.written).await;
                    self.remove_pending(target).await;
                    return Err(e);
                }
            };
            tracing::info!(
                rewritten = compacted.rewritten,
                tombstones_dropped = compacted.dropped,
                parts = manifest.parts.len(),
                "parts compacted"
            );
            self.commit_created(
                &manifest,
                &compacted.written,
                &operation,
                started,
                "snapshot compacted",
            )
            .await?;
            Ok(manifest)
        }
        .instrument(span)
        .await
    }

    /// A create's `manifest` (not committed yet, made from `parent`, with the files `written`
    /// for it), compacted if tombstones hide more of its stored rows than
    /// [`Layout::auto_compact_percent`](crate::Layout) allows. Files the create wrote that the
    /// compacted manifest no longer names (its tombstone part) are removed. A compaction that
    /// fails leaves the create as it was: compaction only saves reading.
    pub(crate) async fn compacted_if_due(
        &self,
        encoding: &Encoding,
        manifest: SnapshotMetadata,
        written: Vec<String>,
        parent: SnapshotId,
    ) -> Result<(SnapshotMetadata, Vec<String>)> {
        let stored: u64 = (manifest.parts.iter())
            .filter(|p| p.kind == PartKind::Data)
            .map(|p| p.rows)
            .sum();
        let hidden = stored.saturating_sub(manifest.vector_count);
        if !self.layout().compacts(stored, hidden) {
            return Ok((manifest, written));
        }
        let header = SnapshotHeader::new(
            manifest.collection_id,
            manifest.snapshot_id,
            manifest.created_at,
        );
        let compacted = match self.compact_parts(header, encoding, &manifest).await {
            Ok(Some(compacted)) => compacted,
            Ok(None) => return Ok((manifest, written)),
            Err(e) => {
                tracing::warn!(error = %e, hidden, stored,
                    "compaction failed: the snapshot is written uncompacted");
                return Ok((manifest, written));
            }
        };
        let compact = match self.manifest_of_compacted(header, &manifest, compacted.parts, parent) {
            Ok(compact) => compact,
            Err(e) => {
                tracing::warn!(error = %e, "compaction failed: the snapshot is written uncompacted");
                self.remove_uncommitted(&compacted.written).await;
                return Ok((manifest, written));
            }
        };
        let named: BTreeSet<String> = keys_of(&compact.parts).into_iter().collect();
        let (kept, unnamed): (Vec<String>, Vec<String>) =
            written.into_iter().partition(|key| named.contains(key));
        self.remove_uncommitted(&unnamed).await;
        tracing::info!(
            hidden,
            stored,
            rewritten = compacted.rewritten,
            tombstones_dropped = compacted.dropped,
            "compacted on create"
        );
        Ok((compact, kept.into_iter().chain(compacted.written).collect()))
    }

    /// The manifest of `header`'s snapshot of `parts`, the compacted form of `base`, whose
    /// compression and dimension it keeps, made from `parent`.
    pub(crate) fn manifest_of_compacted(
        &self,
        header: SnapshotHeader,
        base: &SnapshotMetadata,
        parts: Vec<PartEntry>,
        parent: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        SnapshotMetadata::manifest(
            &header,
            base.compression,
            base.dimension,
            parts,
            Some(parent),
        )
        .map_err(|e| Error::codec(target, e))
    }

    /// The parts of `manifest` (committed, or a create's about to be) compacted for the
    /// snapshot `header` names: the data parts to rewrite written again, after those kept,
    /// and no tombstone part. `None` if there is nothing to compact, or nothing would be left.
    /// On failure, what it wrote is removed.
    pub(crate) async fn compact_parts(
        &self,
        header: SnapshotHeader,
        encoding: &Encoding,
        manifest: &SnapshotMetadata,
    ) -> Result<Option<Compacted>> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        let counted = SnapshotFiles::of(self.clone(), manifest)?
            .hidden_rows()
            .await?;
        let small_below = self.layout().part_rows / 2;
        let small = counted.iter().filter(|(_, rows, _)| *rows < small_below);
        let merge_small = small.count() >= 2;
        let rewrite: BTreeSet<usize> = (counted.iter())
            .filter(|(_, rows, hidden)| *hidden != Some(0) || (merge_small && *rows < small_below))
            .map(|(position, _, _)| *position)
            .collect();
        let dropped = (manifest.parts.iter())
            .filter(|p| p.kind == PartKind::Tombstones)
            .count();
        if rewrite.is_empty() && dropped == 0 {
            return Ok(None);
        }
        let rows = SnapshotFiles::of(self.clone(), manifest)?
            .only(&rewrite)
            .stream::<RecordBatch>(|| {})
            .await?;
        let batches = rows
            .map_ok(|batches| stream::iter(batches.into_iter().map(|b| Ok(Batch::Arrow(b)))))
            .try_flatten();
        let (written, _) = self.write_parts(header, encoding, batches, true).await?;
        let kept = (manifest.parts.iter().enumerate())
            .filter(|(position, p)| p.kind == PartKind::Data && !rewrite.contains(position))
            .map(|(_, p)| p.clone());
        let parts: Vec<PartEntry> = kept.chain(written.iter().cloned()).collect();
        if parts.is_empty() {
            tracing::info!(%target, "compaction would leave no part: not compacted");
            return Ok(None);
        }
        Ok(Some(Compacted {
            parts,
            written: keys_of(&written),
            rewritten: rewrite.len(),
            dropped,
        }))
    }
}
