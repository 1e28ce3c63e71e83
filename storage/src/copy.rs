//! Copying snapshots to another store (another bucket, region or cloud): file by file, each
//! checked by its SHA-256 at the destination, the commit marker written there last, so the copy
//! exists at the destination only once it is whole. A rerun after a crash keeps the files
//! already there and whole; a snapshot built on another copies only the parts the destination
//! lacks. The source is only read.

use std::time::Instant;

use akidb_snapshot_codec::{CollectionId, HashingWriter, Sha256Digest, SnapshotId};
use serde::{Deserialize, Serialize};
use tracing::field::Empty;

use crate::error::{Error, Result, Target};
use crate::keys;
use crate::metrics;
use crate::spans;
use crate::store::SnapshotStore;

/// Bytes read from the source and written to the destination at a time.
pub(crate) const COPY_CHUNK_BYTES: u64 = 8 * 1024 * 1024;

/// What copying one snapshot did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CopiedSnapshot {
    /// The collection.
    pub collection_id: CollectionId,
    /// The snapshot, under the same id at the destination.
    pub snapshot_id: SnapshotId,
    /// Files written to the destination.
    pub files_copied: usize,
    /// Files the destination held already, whole, and kept: parts of a snapshot copied before
    /// that this one builds on, or files an interrupted copy wrote.
    pub files_present: usize,
    /// Bytes written to the destination.
    pub bytes_copied: u64,
    /// The destination had the snapshot committed already; nothing was written.
    pub already_committed: bool,
}

/// The record at the destination of a copy in progress: while it is younger than gc's grace
/// period, gc there keeps the files it names, committed or not, so that a rerun can rely on
/// what an interrupted run wrote.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CopyRecord {
    /// Where the snapshot is copied from.
    pub(crate) source: String,
    /// The keys of its files.
    pub(crate) files: Vec<String>,
}

/// A file of a snapshot to copy, as its commit marker describes it.
struct Wanted {
    key: String,
    size_bytes: u64,
    /// Absent only for a v1 data file written before checksums: then the bytes read from the
    /// source are what the destination must hold.
    checksum: Option<Sha256Digest>,
}

impl SnapshotStore {
    /// Copies snapshot `snapshot_id` of `collection_id` to the store `to`, under the same keys:
    /// each file that `to` lacks is streamed across, hashed on the way and read back at `to`
    /// to check its SHA-256, and the commit marker is written last. Files `to` already holds
    /// are checked the same way and kept; one that is damaged is replaced. Nothing here writes
    /// to `self`.
    ///
    /// Safe to interrupt and repeat: until the marker is written the snapshot does not exist
    /// at `to`, and a rerun copies only what is missing. A snapshot already committed at `to`
    /// is left as it is.
    ///
    /// Encrypted snapshots are copied as stored, still encrypted: no key is needed.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the source has no such snapshot; [`Error::DataCorruption`] if a
    /// source file is not what its commit marker says (nothing is committed at `to`), or the
    /// copy read back at `to` is not; [`Error::AlreadyExists`] if `to` holds a different
    /// snapshot under the same id.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use akidb_snapshot::{Encoding, SnapshotStore};
    /// use akidb_snapshot::codec::{CollectionId, ParquetConfig, VectorDocument};
    /// use futures::{stream, TryStreamExt};
    /// use uuid::Uuid;
    ///
    /// let memory = || opendal::Operator::new(opendal::services::Memory::default()).unwrap();
    /// let (here, offsite) = (SnapshotStore::new(memory()), SnapshotStore::new(memory()));
    /// let collection = CollectionId::from_uuid(Uuid::now_v7());
    /// let docs = vec![VectorDocument::new(Uuid::now_v7(), vec![1.0, 2.0])];
    /// let id = here
    ///     .create_snapshot_stream(collection, &Encoding::Parquet(ParquetConfig::default()),
    ///         stream::iter([docs.clone()]))
    ///     .await.unwrap()
    ///     .snapshot_id;
    ///
    /// // The part and its id index, then the manifest.
    /// let copied = here.copy_snapshot(collection, id, &offsite).await.unwrap();
    /// assert_eq!((copied.files_copied, copied.already_committed), (2, false));
    /// let restored: Vec<_> = offsite.restore_snapshot_stream(collection, id)
    ///     .await.unwrap().try_concat().await.unwrap();
    /// assert_eq!(restored, docs);
    ///
    /// // Again: it is there already.
    /// let again = here.copy_snapshot(collection, id, &offsite).await.unwrap();
    /// assert!(again.already_committed);
    /// # });
    /// ```
    #[tracing::instrument(skip_all, fields(%collection_id, %snapshot_id, files_copied = Empty,
        files_present = Empty, bytes_copied = Empty, duration_ms = Empty))]
    pub async fn copy_snapshot(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        to: &SnapshotStore,
    ) -> Result<CopiedSnapshot> {
        let started = Instant::now();
        let target = Target::snapshot(collection_id, snapshot_id);
        let (metadata, files) = self.snapshot_files(collection_id, snapshot_id).await?;
        let mut copied = CopiedSnapshot {
            collection_id,
            snapshot_id,
            files_copied: 0,
            files_present: 0,
            bytes_copied: 0,
            already_committed: false,
        };
        match to.metadata(collection_id, snapshot_id).await {
            Ok(found) if found == metadata => {
                copied.already_committed = true;
                return Ok(copied);
            }
            Ok(_) => {
                return Err(Error::AlreadyExists {
                    target,
                    key: keys::metadata_key(collection_id, snapshot_id),
                });
            }
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let wanted: Vec<Wanted> = files
            .iter()
            .flat_map(|file| {
                let index = file.index.as_ref().map(|index| Wanted {
                    key: index.key.clone(),
                    size_bytes: index.size_bytes,
                    checksum: Some(index.checksum_sha256),
                });
                let data = Wanted {
                    key: file.key.clone(),
                    size_bytes: file.size_bytes,
                    checksum: file.checksum_sha256,
                };
                std::iter::once(data).chain(index)
            })
            .collect();
        let record = CopyRecord {
            source: {
                let info = self.operator().info();
                format!("{}://{}{}", info.scheme(), info.name(), info.root())
            },
            files: wanted.iter().map(|w| w.key.clone()).collect(),
        };
        to.record_copy(target, &record).await?;
        for file in &wanted {
            match self.copy_file(target, file, to).await? {
                Some(bytes) => {
                    copied.files_copied += 1;
                    copied.bytes_copied += bytes;
                }
                None => copied.files_present += 1,
            }
        }
        // Files copied are not removed if the commit fails: a rerun keeps them.
        to.commit(&metadata, &[]).await?;
        let span = tracing::Span::current();
        span.record("files_copied", copied.files_copied);
        span.record("files_present", copied.files_present);
        span.record("bytes_copied", copied.bytes_copied);
        spans::finish(&span, started, "snapshot copied");
        Ok(copied)
    }

    /// Copies every snapshot of `collection_id` to `to`, oldest first, so that each one built
    /// on an older one copies only its own new parts; `each` hears of each snapshot as it is
    /// done. Stops at the first failure; what was copied stays, and a rerun goes on from there.
    pub async fn copy_collection(
        &self,
        collection_id: CollectionId,
        to: &SnapshotStore,
        mut each: impl FnMut(&CopiedSnapshot),
    ) -> Result<Vec<CopiedSnapshot>> {
        let mut snapshots = self.list_snapshots(collection_id).await?;
        snapshots.reverse();
        let mut copied = Vec::with_capacity(snapshots.len());
        for snapshot in snapshots {
            let one = self
                .copy_snapshot(collection_id, snapshot.snapshot_id, to)
                .await?;
            each(&one);
            copied.push(one);
        }
        Ok(copied)
    }

    /// Puts `file` at `to`: `None` if `to` holds it whole already, else the bytes copied.
    async fn copy_file(
        &self,
        target: Target,
        file: &Wanted,
        to: &SnapshotStore,
    ) -> Result<Option<u64>> {
        match to.operator().stat(&file.key).await {
            Ok(meta) => {
                let whole = meta.content_length() == file.size_bytes
                    && match file.checksum {
                        Some(expected) => {
                            to.digest(target, &file.key, file.size_bytes).await? == expected
                        }
                        // Unchecked against the source, so copied again.
                        None => false,
                    };
                if whole {
                    return Ok(None);
                }
                tracing::warn!(key = %file.key,
                    "the destination holds a damaged or partial copy: replacing it");
                to.operator()
                    .delete(&file.key)
                    .await
                    .map_err(|e| Error::store(target, "delete", &file.key, e))?;
            }
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::store(target, "stat", &file.key, e)),
        }
        let read = stream_between(self, to, target, &file.key, &file.key, file.size_bytes).await?;
        if let Some(expected) = file.checksum.filter(|expected| *expected != read) {
            // The source is damaged; the destination's copy of it must not stay.
            to.remove_uncommitted(std::slice::from_ref(&file.key)).await;
            return Err(Error::corruption(
                target,
                format!(
                    "SHA-256 of {} at the source is {read}, its commit marker says {expected}: \
                     nothing was committed at the destination",
                    file.key
                ),
            ));
        }
        let written = to.digest(target, &file.key, file.size_bytes).await?;
        if written != read {
            return Err(Error::corruption(
                target,
                format!(
                    "SHA-256 of {} read back at the destination is {written}, {read} was \
                     written: run the copy again to replace it",
                    file.key
                ),
            ));
        }
        Ok(Some(file.size_bytes))
    }
}

/// Streams `size` bytes at `from_key` of `from` to `to_key` of `to`, a chunk at a time, never
/// over an existing file; returns the SHA-256 of the bytes read. On failure the upload is
/// aborted.
pub(crate) async fn stream_between(
    from: &SnapshotStore,
    to: &SnapshotStore,
    target: Target,
    from_key: &str,
    to_key: &str,
    size: u64,
) -> Result<Sha256Digest> {
    let mut writer = to
        .operator()
        .writer_with(to_key)
        .chunk(COPY_CHUNK_BYTES as usize)
        .if_not_exists(true)
        .await
        .map_err(|e| Error::store(target, "write", to_key, e))?;
    let mut hasher = HashingWriter::new(std::io::sink());
    let mut at = 0;
    let streamed: Result<()> = async {
        while at < size {
            let end = (at + COPY_CHUNK_BYTES).min(size);
            let chunk = from.read_range(target, from_key, at..end).await?;
            from.count_download(chunk.len() as u64);
            // Writing to a sink never fails.
            let _ = std::io::Write::write_all(&mut hasher, &chunk);
            writer
                .write(chunk)
                .await
                .map_err(|e| Error::store(target, "write", to_key, e))?;
            at = end;
        }
        writer
            .close()
            .await
            .map_err(|e| Error::store(target, "write", to_key, e))?;
        Ok(())
    }
    .await;
    if let Err(e) = streamed {
        if let Err(abort) = writer.abort().await {
            tracing::warn!(key = %to_key, error = %abort,
                "could not abort a partial copy; a rerun or gc replaces it");
        }
        return Err(e);
    }
    metrics::record_upload(to.scheme(), size);
    Ok(hasher.finish().1)
}
