//! Commit markers: the metadata file that makes a snapshot exist (a v1 snapshot's metadata, or
//! a v2 snapshot's manifest), written last and never over another; reading them, listing them,
//! and deleting a snapshot by removing its marker first.

use std::time::Instant;

use akidb_snapshot_codec::{CollectionId, SnapshotFormat, SnapshotId, SnapshotMetadata};
use futures::stream::{self, StreamExt};
use tracing::field::Empty;

use crate::error::{Error, Result, Target};
use crate::keys::{self, Key};
use crate::metrics;
use crate::spans;
use crate::store::SnapshotStore;

/// Metadata files read at once by `list`.
const LIST_READ_AHEAD: usize = 16;

impl SnapshotStore {
    /// Writes the metadata file, which makes the snapshot exist; never over an existing one.
    ///
    /// The metadata file may have been written although the reply was lost (or a retry then
    /// found it, `AlreadyExists`): its snapshot id is new, so a file there that says what was
    /// to be committed is this commit's, and it succeeded. Where the commit surely did not
    /// land, the files `written` are removed; where that cannot be told, they are left for gc,
    /// which removes only files no commit marker names.
    pub(crate) async fn commit(
        &self,
        metadata: &SnapshotMetadata,
        written: &[String],
    ) -> Result<()> {
        let failure = match self.write_marker(metadata).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        match self
            .metadata(metadata.collection_id, metadata.snapshot_id)
            .await
        {
            Ok(found) if found == *metadata => {
                tracing::warn!(error = %failure, "the commit reported a failure but landed");
                Ok(())
            }
            Err(Error::NotFound { .. }) => {
                self.remove_uncommitted(written).await;
                Err(failure)
            }
            _ => Err(failure),
        }
    }

    /// Commits a snapshot whose files `written` this operation made (as [`commit`](Self::commit)
    /// does), then counts it as created and closes the operation's span, `started` then, with
    /// `what` happened.
    pub(crate) async fn commit_created(
        &self,
        metadata: &SnapshotMetadata,
        written: &[String],
        operation: &tracing::Span,
        started: Instant,
        what: &'static str,
    ) -> Result<()> {
        let committing = Instant::now();
        self.commit(metadata, written).await?;
        tracing::info!(
            duration_ms = spans::millis(committing),
            "metadata committed"
        );
        metrics::record_create(metadata, started.elapsed());
        spans::record_snapshot(operation, metadata);
        spans::finish(operation, started, what);
        Ok(())
    }

    async fn write_marker(&self, metadata: &SnapshotMetadata) -> Result<()> {
        let target = Target::snapshot(metadata.collection_id, metadata.snapshot_id);
        let key = keys::metadata_key(metadata.collection_id, metadata.snapshot_id);
        let json = metadata.to_json().map_err(|e| Error::codec(target, e))?;
        let len = json.len() as u64;
        self.operator()
            .write_with(&key, json)
            .if_not_exists(true)
            .await
            .map_err(|e| Error::store(target, "write", &key, e))?;
        metrics::record_upload(self.scheme(), len);
        Ok(())
    }

    /// Removes files written for a snapshot that will not be committed; what cannot be removed
    /// is left to gc, which removes only files no commit marker names.
    pub(crate) async fn remove_uncommitted(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.operator().delete(key).await {
                tracing::warn!(%key, error = %e,
                    "could not remove an uncommitted file; gc will remove it");
            }
        }
    }

    /// The metadata of a committed snapshot.
    pub async fn metadata(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let target = Target::snapshot(collection_id, snapshot_id);
        let key = keys::metadata_key(collection_id, snapshot_id);
        let bytes = self.read_all(target, &key).await?;
        let metadata = SnapshotMetadata::from_json(&bytes).map_err(|e| Error::codec(target, e))?;
        if metadata.collection_id != collection_id || metadata.snapshot_id != snapshot_id {
            return Err(Error::corruption(
                target,
                format!(
                    "{key} describes snapshot {} of collection {}",
                    metadata.snapshot_id, metadata.collection_id
                ),
            ));
        }
        Ok(metadata)
    }

    /// The metadata of a committed snapshot, as the first phase of an operation on it: logged
    /// with its time, and what it says recorded on the operation's span.
    pub(crate) async fn read_metadata(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<SnapshotMetadata> {
        let started = Instant::now();
        let metadata = self.metadata(collection_id, snapshot_id).await?;
        spans::record_snapshot(&tracing::Span::current(), &metadata);
        tracing::info!(duration_ms = spans::millis(started), "metadata read");
        Ok(metadata)
    }

    /// The newest committed snapshot of a collection; [`Error::NotFound`] if it has none.
    pub async fn latest_snapshot(&self, collection_id: CollectionId) -> Result<SnapshotMetadata> {
        self.list_snapshots(collection_id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound {
                target: Target::collection(collection_id),
                key: keys::collection_prefix(collection_id),
            })
    }

    /// Committed snapshots of a collection, newest first. A metadata file that cannot be read
    /// is reported with a warning and left out: it does not describe a usable snapshot.
    #[tracing::instrument(skip_all, fields(%collection_id, snapshots = Empty,
        duration_ms = Empty))]
    pub async fn list_snapshots(
        &self,
        collection_id: CollectionId,
    ) -> Result<Vec<SnapshotMetadata>> {
        let started = Instant::now();
        let target = Target::collection(collection_id);
        let prefix = keys::collection_prefix(collection_id);
        let entries = self
            .operator()
            .list(&prefix)
            .await
            .map_err(|e| Error::store(target, "list", &prefix, e))?;
        // The futures are made up front (not polled): a closure over `self` inside the stream
        // would make the trait's future fail the `Send` check.
        let reads: Vec<_> = entries
            .iter()
            .filter_map(|entry| match Key::parse(entry.path()) {
                Some(Key::Metadata(c, s)) if c == collection_id => Some(s),
                _ => None,
            })
            .map(|s| self.metadata(collection_id, s))
            .collect();
        let read: Vec<Result<SnapshotMetadata>> = stream::iter(reads)
            .buffer_unordered(LIST_READ_AHEAD)
            .collect()
            .await;
        let mut snapshots = Vec::with_capacity(read.len());
        for metadata in read {
            match metadata {
                Ok(m) => snapshots.push(m),
                // Deleted between the listing and the read.
                Err(Error::NotFound { .. }) => {}
                Err(e @ Error::Storage { .. }) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable metadata file"),
            }
        }
        snapshots.sort_by(|a, b| {
            (b.created_at, b.snapshot_id.as_uuid()).cmp(&(a.created_at, a.snapshot_id.as_uuid()))
        });
        let span = tracing::Span::current();
        span.record("snapshots", snapshots.len());
        spans::finish(&span, started, "snapshots listed");
        Ok(snapshots)
    }

    /// The collections with at least one snapshot's folder in the store, sorted.
    pub async fn list_collections(&self) -> Result<Vec<CollectionId>> {
        let entries = self
            .operator()
            .list(keys::ROOT)
            .await
            .map_err(|e| Error::store(Target::default(), "list", keys::ROOT, e))?;
        let mut collections: Vec<CollectionId> = entries
            .iter()
            .filter_map(|e| {
                e.path()
                    .strip_prefix(keys::ROOT)?
                    .strip_suffix('/')?
                    .parse()
                    .ok()
            })
            .collect();
        collections.sort_by_key(|c| *c.as_uuid());
        collections.dedup();
        Ok(collections)
    }

    /// Deletes a snapshot: its commit marker first, so it stops existing at once. A v1
    /// snapshot's data file goes next; a v2 snapshot's parts stay, since other snapshots may
    /// share them, until [`gc`](Self::gc) finds that no snapshot names them.
    /// [`Error::NotFound`] if the snapshot does not exist. Once the marker is gone the delete
    /// has happened: a data file that then cannot be removed is logged and left for gc, not
    /// reported as a failure the caller would retry into `NotFound`.
    #[tracing::instrument(skip_all, fields(%collection_id, %snapshot_id,
        vector_count = Empty, size_bytes = Empty, duration_ms = Empty))]
    pub async fn delete_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
    ) -> Result<()> {
        let started = Instant::now();
        let target = Target::snapshot(collection_id, snapshot_id);
        let key = keys::metadata_key(collection_id, snapshot_id);
        let data_keys: Vec<String> = match self.metadata(collection_id, snapshot_id).await {
            Ok(m) => {
                spans::record_snapshot(&tracing::Span::current(), &m);
                if m.is_manifest() {
                    Vec::new()
                } else {
                    vec![keys::data_key(collection_id, snapshot_id, m.format)]
                }
            }
            Err(e @ (Error::NotFound { .. } | Error::Storage { .. })) => return Err(e),
            // An unreadable metadata file still names a snapshot: remove both possible files.
            Err(_) => [SnapshotFormat::Parquet, SnapshotFormat::Json]
                .into_iter()
                .map(|f| keys::data_key(collection_id, snapshot_id, f))
                .collect(),
        };
        self.operator()
            .delete(&key)
            .await
            .map_err(|e| Error::store(target, "delete", &key, e))?;
        for data in data_keys {
            if let Err(e) = self.operator().delete(&data).await {
                tracing::warn!(key = %data, error = %e,
                    "could not remove a deleted snapshot's data file; gc will remove it");
            }
        }
        spans::finish(&tracing::Span::current(), started, "snapshot deleted");
        Ok(())
    }
}
