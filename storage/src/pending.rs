//! Many writers, one snapshot (format v2): `begin` records a snapshot of N shards under
//! `pending/`; each worker writes the parts of its shard and a receipt that lists them; `commit`
//! writes the manifest from the receipts once every shard is there; `abort` discards the
//! attempt. Nothing under `pending/` is ever listed, and gc keeps the parts a young pending
//! snapshot's receipts name (docs/FORMAT.md, "Many writers").

use std::collections::BTreeMap;
use std::time::Instant;

use akidb_snapshot_codec::{
    CollectionId, Compression, PartEntry, SnapshotHeader, SnapshotId, SnapshotMetadata, Timestamp,
    VectorDocument,
};
use arrow_array::RecordBatch;
use futures::stream::Stream;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use uuid::Uuid;

use crate::copy::CopyRecord;
use crate::encoder::{Batch, Encoding};
use crate::error::{BoxError, Error, Result, Target};
use crate::keys;
use crate::metrics;
use crate::shard::Shard;
use crate::spans;
use crate::store::{SnapshotStore, now};
use crate::write::{input_errors, keys_of, split_batches};

/// What `begin` records: the snapshot every shard writes into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Begun {
    collection_id: CollectionId,
    snapshot_id: SnapshotId,
    /// How many shards the snapshot is written in.
    shards: u32,
    created_at: Timestamp,
}

/// What a shard's writer leaves under `pending/` once its parts are written: the parts, in
/// order, for `commit` to list in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShardReceipt {
    /// Which shard.
    pub shard: u32,
    /// Of how many.
    pub shards: u32,
    /// Its parts, in input order.
    pub parts: Vec<PartEntry>,
    /// The documents' dimension.
    pub dimension: u32,
    /// Its documents.
    pub vector_count: u64,
    /// How its parts are compressed.
    pub compression: Compression,
}

/// What a create that builds on another snapshot (an append) records before it relies on that
/// snapshot's parts: while the record is younger than gc's grace period, gc keeps them, even
/// if the base is deleted meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Reused {
    pub(crate) base_snapshot_id: SnapshotId,
    /// The keys of the files of the base's parts: each part and its id index.
    pub(crate) parts: Vec<String>,
}

impl SnapshotStore {
    /// Begins a snapshot that `shards` writers create together, one shard each
    /// ([`try_create_shard_stream`](Self::try_create_shard_stream)), and
    /// [`commit_snapshot`](Self::commit_snapshot) makes exist. Returns its id. Until then it is
    /// never listed; [`abort_snapshot`](Self::abort_snapshot) discards it, and gc removes it
    /// once it is older than gc's grace period.
    pub async fn begin_snapshot(
        &self,
        collection_id: CollectionId,
        shards: u32,
    ) -> Result<SnapshotId> {
        let snapshot_id = SnapshotId::from_uuid(Uuid::now_v7());
        let target = Target::snapshot(collection_id, snapshot_id);
        if shards == 0 {
            return Err(Error::validation(
                target,
                "a snapshot needs at least one shard",
            ));
        }
        let begun = Begun {
            collection_id,
            snapshot_id,
            shards,
            created_at: now(),
        };
        let key = keys::begin_key(collection_id, snapshot_id);
        self.write_record(target, &key, &begun).await?;
        tracing::info!(%collection_id, %snapshot_id, shards, "snapshot begun");
        Ok(snapshot_id)
    }

    /// Writes shard `shard` of the begun snapshot `snapshot_id` from a stream of document
    /// batches: its parts, as a create writes them, then its receipt. A shard is written once:
    /// [`Error::AlreadyExists`] if its receipt is there (abort, then begin again, to redo it).
    pub async fn try_create_shard_stream<S, E>(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
        encoding: &Encoding,
        batches: S,
    ) -> Result<ShardReceipt>
    where
        S: Stream<Item = std::result::Result<Vec<VectorDocument>, E>> + Send,
        E: Into<BoxError>,
    {
        let batches = split_batches(batches, encoding.batch_rows(), Batch::split);
        self.create_shard(collection_id, snapshot_id, shard, encoding, batches)
            .await
    }

    /// As [`try_create_shard_stream`](Self::try_create_shard_stream), from Arrow batches.
    pub async fn try_create_shard_arrow<S, E>(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
        encoding: &Encoding,
        batches: S,
    ) -> Result<ShardReceipt>
    where
        S: Stream<Item = std::result::Result<RecordBatch, E>> + Send,
        E: Into<BoxError>,
    {
        let batches = split_batches(batches, encoding.batch_rows(), Batch::split_arrow);
        self.create_shard(collection_id, snapshot_id, shard, encoding, batches)
            .await
    }

    async fn create_shard<S, E>(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
        encoding: &Encoding,
        batches: S,
    ) -> Result<ShardReceipt>
    where
        S: Stream<Item = std::result::Result<Batch, E>> + Send,
        E: Into<BoxError>,
    {
        let target = Target::snapshot(collection_id, snapshot_id);
        let span = tracing::info_span!("create_shard", %collection_id, %snapshot_id, %shard);
        async move {
            let started = Instant::now();
            if !matches!(encoding, Encoding::Parquet(_)) {
                return Err(Error::validation(
                    target,
                    "shards are Parquet parts: the JSON format cannot be written by many writers",
                ));
            }
            let begun = self.begun(collection_id, snapshot_id).await?;
            if begun.shards != shard.count() {
                return Err(Error::validation(
                    target,
                    format!(
                        "the snapshot was begun with {} shards, not {} (shard {shard})",
                        begun.shards,
                        shard.count()
                    ),
                ));
            }
            let receipt_key = keys::receipt_key(collection_id, snapshot_id, shard.index());
            if self.exists(target, &receipt_key).await? {
                return Err(Error::AlreadyExists {
                    target,
                    key: receipt_key,
                });
            }
            let header = SnapshotHeader::new(collection_id, snapshot_id, begun.created_at);
            let batches = input_errors(target, batches);
            let (parts, dimension) = self.write_parts(header, encoding, batches, false).await?;
            let receipt = ShardReceipt {
                shard: shard.index(),
                shards: shard.count(),
                vector_count: parts.iter().map(|p| p.rows).sum(),
                parts,
                dimension,
                compression: encoding.compression(),
            };
            if let Err(e) = self.write_record(target, &receipt_key, &receipt).await {
                self.remove_uncommitted(&keys_of(&receipt.parts)).await;
                return Err(e);
            }
            tracing::info!(
                rows = receipt.vector_count,
                parts = receipt.parts.len(),
                duration_ms = spans::millis(started),
                "shard written"
            );
            Ok(receipt)
        }
        .instrument(span)
        .await
    }

    /// Commits a begun snapshot: its manifest lists the parts of every shard, shard 0's first.
    /// Refuses, naming them, while shards are missing, and refuses shards whose dimension
    /// disagrees. [`Error::AlreadyExists`] if the snapshot is committed already.
    ///
    /// The pending records stay until gc removes them, once older than its grace period: a gc
    /// that listed the manifests just before this commit still finds the parts through them.
    pub async fn commit_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let target = Target::snapshot(collection_id, snapshot_id);
        let span = tracing::info_span!("commit_snapshot", %collection_id, %snapshot_id);
        async move {
            let started = Instant::now();
            self.refuse_committed(collection_id, snapshot_id).await?;
            let begun = self.begun(collection_id, snapshot_id).await?;
            let receipts = self.receipts(collection_id, snapshot_id).await?;
            let missing: Vec<String> = (0..begun.shards)
                .filter(|i| !receipts.contains_key(i))
                .map(|i| i.to_string())
                .collect();
            if !missing.is_empty() {
                return Err(Error::validation(
                    target,
                    format!(
                        "shard(s) {} of {} have not been written: run their creates (--shard \
                         INDEX/{}), or abort the snapshot",
                        missing.join(", "),
                        begun.shards,
                        begun.shards
                    ),
                ));
            }
            let first = receipts
                .values()
                .next()
                .map(|r| (r.dimension, r.compression));
            let (dimension, compression) = first.unwrap_or_default();
            if let Some(odd) = receipts.values().find(|r| r.dimension != dimension) {
                return Err(Error::validation(
                    target,
                    format!(
                        "shard {} holds vectors of dimension {}, shard 0 of dimension {dimension}",
                        odd.shard, odd.dimension
                    ),
                ));
            }
            let parts: Vec<PartEntry> = receipts.into_values().flat_map(|r| r.parts).collect();
            let header = SnapshotHeader::new(collection_id, snapshot_id, begun.created_at);
            let manifest = SnapshotMetadata::manifest(&header, compression, dimension, parts, None)
                .map_err(|e| Error::codec(target, e))?;
            // The parts stay on failure: the receipts still name them, for a retry or abort.
            self.commit(&manifest, &[]).await?;
            metrics::record_create(&manifest, started.elapsed());
            tracing::info!(
                rows = manifest.vector_count,
                parts = manifest.parts.len(),
                duration_ms = spans::millis(started),
                "snapshot committed"
            );
            Ok(manifest)
        }
        .instrument(span)
        .await
    }

    /// Discards a begun snapshot: the parts its shards wrote and its pending records.
    /// [`Error::NotFound`] if nothing is pending under that id, [`Error::AlreadyExists`] if it
    /// is committed (delete it instead).
    pub async fn abort_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<()> {
        self.refuse_committed(collection_id, snapshot_id).await?;
        self.begun(collection_id, snapshot_id).await?;
        let parts = self.pending_parts(collection_id, snapshot_id).await?;
        self.remove_uncommitted(&parts).await;
        self.remove_pending(Target::snapshot(collection_id, snapshot_id))
            .await;
        tracing::info!(%collection_id, %snapshot_id, parts = parts.len(), "snapshot aborted");
        Ok(())
    }

    /// [`Error::AlreadyExists`] if the snapshot is committed.
    async fn refuse_committed(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<()> {
        let target = Target::snapshot(collection_id, snapshot_id);
        let marker = keys::metadata_key(collection_id, snapshot_id);
        if self.exists(target, &marker).await? {
            return Err(Error::AlreadyExists {
                target,
                key: marker,
            });
        }
        Ok(())
    }

    /// The keys of the parts that the records of a pending snapshot name: those its shards
    /// wrote, and those of a base it builds on.
    pub(crate) async fn pending_parts(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<Vec<String>> {
        let mut parts: Vec<String> = self
            .receipts(collection_id, snapshot_id)
            .await?
            .into_values()
            .flat_map(|r| keys_of(&r.parts))
            .collect();
        let target = Target::snapshot(collection_id, snapshot_id);
        match self
            .read_record::<Reused>(target, &keys::reused_key(collection_id, snapshot_id))
            .await
        {
            Ok(reused) => parts.extend(reused.parts),
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        match self
            .read_record::<CopyRecord>(target, &keys::copy_key(collection_id, snapshot_id))
            .await
        {
            Ok(copy) => parts.extend(copy.files),
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(parts)
    }

    /// Records, at the destination of a copy, the files it relies on. Written anew by each
    /// run, so that the record's age, by which gc judges it, is the latest run's.
    pub(crate) async fn record_copy(&self, target: Target, record: &CopyRecord) -> Result<()> {
        let (Some(c), Some(s)) = (target.collection_id, target.snapshot_id) else {
            return Err(Error::Internal {
                reason: "a copy of no snapshot".to_owned(),
            });
        };
        let key = keys::copy_key(c, s);
        let json = serde_json::to_vec_pretty(record).map_err(|e| Error::Internal {
            reason: format!("{key} cannot be written as JSON: {e}"),
        })?;
        self.operator()
            .write_with(&key, json)
            .content_type("application/json")
            .await
            .map_err(|e| Error::store(target, "write", &key, e))?;
        Ok(())
    }

    /// Records that the snapshot `target` being created relies on the parts of `base`.
    pub(crate) async fn record_reused(
        &self,
        target: Target,
        base: &SnapshotMetadata,
    ) -> Result<()> {
        let (Some(c), Some(s)) = (target.collection_id, target.snapshot_id) else {
            return Err(Error::Internal {
                reason: "parts reused for no snapshot".to_owned(),
            });
        };
        let record = Reused {
            base_snapshot_id: base.snapshot_id,
            parts: keys_of(&base.parts),
        };
        self.write_record(target, &keys::reused_key(c, s), &record)
            .await
    }

    async fn begun(&self, collection_id: CollectionId, snapshot_id: SnapshotId) -> Result<Begun> {
        let target = Target::snapshot(collection_id, snapshot_id);
        let key = keys::begin_key(collection_id, snapshot_id);
        let begun: Begun = self.read_record(target, &key).await?;
        if begun.collection_id != collection_id || begun.snapshot_id != snapshot_id {
            return Err(Error::corruption(
                target,
                format!(
                    "{key} describes snapshot {} of collection {}",
                    begun.snapshot_id, begun.collection_id
                ),
            ));
        }
        Ok(begun)
    }

    /// The receipts written so far, by shard.
    async fn receipts(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<BTreeMap<u32, ShardReceipt>> {
        let target = Target::snapshot(collection_id, snapshot_id);
        let prefix = keys::pending_prefix(collection_id, snapshot_id);
        let entries = self
            .operator()
            .list(&prefix)
            .await
            .map_err(|e| Error::store(target, "list", &prefix, e))?;
        let mut receipts = BTreeMap::new();
        for entry in entries {
            let name = entry.path().strip_prefix(&prefix).unwrap_or_default();
            if name.starts_with("shard-") && name.ends_with(".json") {
                let receipt: ShardReceipt = self.read_record(target, entry.path()).await?;
                receipts.insert(receipt.shard, receipt);
            }
        }
        Ok(receipts)
    }

    /// Removes a pending snapshot's records; what cannot be removed gc removes later.
    pub(crate) async fn remove_pending(&self, target: Target) {
        let (Some(collection_id), Some(snapshot_id)) = (target.collection_id, target.snapshot_id)
        else {
            return;
        };
        let prefix = keys::pending_prefix(collection_id, snapshot_id);
        if let Err(e) = self.operator().delete_with(&prefix).recursive(true).await {
            tracing::warn!(%prefix, error = %e, "could not remove pending records; gc will");
        }
    }

    async fn write_record<T: Serialize>(
        &self,
        target: Target,
        key: &str,
        record: &T,
    ) -> Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(|e| Error::Internal {
            reason: format!("{key} cannot be written as JSON: {e}"),
        })?;
        self.operator()
            .write_with(key, json)
            .if_not_exists(true)
            .await
            .map_err(|e| Error::store(target, "write", key, e))?;
        Ok(())
    }

    async fn read_record<T: for<'de> Deserialize<'de>>(
        &self,
        target: Target,
        key: &str,
    ) -> Result<T> {
        let bytes = self.read_all(target, key).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::corruption(target, format!("{key} is not a valid record: {e}")))
    }

    async fn exists(&self, target: Target, key: &str) -> Result<bool> {
        self.operator()
            .exists(key)
            .await
            .map_err(|e| Error::store(target, "stat", key, e))
    }
}
