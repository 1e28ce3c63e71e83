//! Adopting Parquet files written elsewhere (Spark, DuckDB, pyarrow) in the snapshot schema as
//! the parts of a new snapshot, without rewriting them: each is copied into `parts/` (a
//! server-side copy where the store has one), read whole and checked as a restore checks a
//! part, hashed, given its id index (gathered in the same read), and named by the manifest that
//! commits the snapshot.

use std::time::Instant;

use akidb_snapshot_codec::{
    CollectionId, Compression, IdIndexBuilder, PartEntry, PartKind, SnapshotHeader, SnapshotId,
    SnapshotMetadata, columns,
};
use arrow_array::RecordBatch;
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::copy::stream_between;
use crate::error::{Error, ErrorKind, Result, Target};
use crate::ids::{IdSet, ids_of};
use crate::keys;
use crate::metrics;
use crate::store::{SnapshotStore, blocking, now};

impl SnapshotStore {
    /// Makes a snapshot of collection `collection_id` from Parquet files already in the store,
    /// written by another tool in the snapshot schema (docs/FORMAT.md), without rewriting them.
    /// `sources` are keys relative to the store's root; the snapshot's parts are copies of them
    /// under `parts/`, in the order given, and the sources stay where they are.
    ///
    /// Such files need no `akidb.*` footer keys and may mark every column optional; each is
    /// read whole and checked as a restore checks a part (types, dimension, a value wherever
    /// the schema needs one), the dimension must agree across files, and no document id may
    /// appear twice. Checking ids holds every id of the snapshot in memory: 16 bytes and a
    /// little more per document.
    ///
    /// # Errors
    ///
    /// [`Error::Import`] naming the source and, where one is known, the column and row, for a
    /// file that is missing or does not fit; store failures as for any create. Nothing is
    /// committed then, and the copies made so far are removed.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use akidb_snapshot::{Encoding, SnapshotStore};
    /// use akidb_snapshot::codec::{CollectionId, ParquetConfig, VectorDocument};
    /// use uuid::Uuid;
    ///
    /// let store = SnapshotStore::new(opendal::Operator::new(
    ///     opendal::services::Memory::default()).unwrap());
    /// let collection = CollectionId::from_uuid(Uuid::now_v7());
    /// // Parquet written elsewhere: here, a part of another snapshot.
    /// let docs = vec![VectorDocument::new(Uuid::now_v7(), vec![1.0, 2.0])];
    /// let other = store.create_snapshot_stream(collection,
    ///     &Encoding::Parquet(ParquetConfig::default()),
    ///     futures::stream::iter([docs.clone()])).await?;
    ///
    /// let imported = store.import_parts(collection, &[other.parts[0].key.clone()]).await?;
    /// assert_eq!((imported.vector_count, imported.dimension), (1, 2));
    /// assert_ne!(imported.parts[0].key, other.parts[0].key);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn import_parts(
        &self,
        collection_id: CollectionId,
        sources: &[String],
    ) -> Result<SnapshotMetadata> {
        let header =
            SnapshotHeader::new(collection_id, SnapshotId::from_uuid(Uuid::now_v7()), now());
        let span = tracing::info_span!("import_snapshot", %collection_id,
            snapshot_id = %header.snapshot_id, files = sources.len(),
            vector_count = Empty, size_bytes = Empty, duration_ms = Empty);
        let operation = span.clone();
        async move {
            let started = Instant::now();
            let mut copied = Vec::new();
            let adopted = self.adopt_all(header, sources, &mut copied).await;
            let manifest = match adopted {
                Ok(manifest) => manifest,
                Err(e) => {
                    self.remove_uncommitted(&copied).await;
                    return Err(e);
                }
            };
            self.commit_created(&manifest, &copied, &operation, started, "snapshot imported")
                .await?;
            Ok(manifest)
        }
        .instrument(span)
        .await
    }

    /// Copies and checks every source in turn; `copied` collects the parts written, for the
    /// caller to remove on failure. Returns the manifest to commit.
    async fn adopt_all(
        &self,
        header: SnapshotHeader,
        sources: &[String],
        copied: &mut Vec<String>,
    ) -> Result<SnapshotMetadata> {
        let target = Target::snapshot(header.collection_id, header.snapshot_id);
        if sources.is_empty() {
            return Err(Error::validation(
                target,
                "no files to import: name at least one",
            ));
        }
        let mut ids = IdSet::default();
        let mut parts = Vec::with_capacity(sources.len());
        let mut first: Option<(&str, u32, Option<Compression>)> = None;
        for source in sources {
            let not_importable = |e: Error| importing(target, source, e);
            if let Some(twice) = sources.iter().filter(|s| *s == source).nth(1) {
                return Err(not_importable(Error::validation(
                    target,
                    format!("{twice} is named twice"),
                )));
            }
            let part_id = Uuid::now_v7();
            let key = keys::part_key(header.collection_id, part_id, PartKind::Data);
            self.copy_object(target, source, &key)
                .await
                .map_err(not_importable)?;
            copied.push(key.clone());
            let mut row = 0;
            // The part's id index, gathered in the same read, as a create writes one.
            let mut index = IdIndexBuilder::new();
            let (summary, compression) = self
                .read_new_part(target, &key, |batch| {
                    index
                        .push_batch(row, batch)
                        .map_err(|e| Error::codec(target, e))?;
                    add_distinct(&mut ids, batch, &mut row)
                        .map_err(|reason| Error::validation(target, reason))
                })
                .await
                .map_err(not_importable)?;
            match first {
                None => first = Some((source, summary.dimension, compression)),
                Some((first, dimension, _)) if dimension != summary.dimension => {
                    return Err(not_importable(Error::validation(
                        target,
                        format!(
                            "its vectors have dimension {}, those of {first} {dimension}",
                            summary.dimension
                        ),
                    )));
                }
                Some(_) => {}
            }
            let index_key = keys::index_key(header.collection_id, part_id);
            let part_summary = summary.clone();
            let (bytes, index_summary) = blocking(move || index.finish(&header, &part_summary))
                .await?
                .map_err(|e| not_importable(Error::codec(target, e)))?;
            copied.push(index_key.clone());
            let len = bytes.len() as u64;
            self.operator()
                .write_with(&index_key, bytes)
                .if_not_exists(true)
                .await
                .map_err(|e| Error::store(target, "write", &index_key, e))?;
            metrics::record_upload(self.scheme(), len);
            tracing::info!(%source, part = %key, rows = summary.vector_count,
                bytes = summary.size_bytes, "file adopted");
            parts.push(
                PartEntry::new(key, PartKind::Data, &summary).with_index(index_key, &index_summary),
            );
        }
        let (dimension, compression) = first
            .map(|(_, d, c)| (d, c.unwrap_or(Compression::None)))
            .unwrap_or((0, Compression::None));
        SnapshotMetadata::manifest(&header, compression, dimension, parts, None)
            .map_err(|e| Error::codec(target, e))
    }

    /// Copies `source` to `key`: by the store itself where it can (S3's CopyObject, a local
    /// file copy), else through this process a chunk at a time.
    async fn copy_object(&self, target: Target, source: &str, key: &str) -> Result<()> {
        let op = self.operator();
        if op.info().capability().copy {
            op.copy(source, key)
                .await
                .map_err(|e| Error::store(target, "copy", source, e))?;
            return Ok(());
        }
        let size = self.size_of(target, source).await?;
        // The file is hashed when it is read whole, after the copy.
        stream_between(self, self, target, source, key, size).await?;
        Ok(())
    }
}

/// What a failure while adopting `source` means for the import: the file's problem, named by
/// it, unless the store itself failed.
fn importing(target: Target, source: &str, err: Error) -> Error {
    let import = |kind: ErrorKind, reason: String| Error::Import {
        target,
        key: source.to_owned(),
        kind,
        reason,
    };
    match err {
        Error::NotFound { .. } => import(ErrorKind::NotFound, "there is no such file".to_owned()),
        Error::Codec { source, .. } => {
            let kind = source.kind().into();
            import(kind, source.to_string())
        }
        // A file that is not what its own footer says is not a part, not a damaged snapshot.
        Error::DataCorruption { reason, .. } => import(ErrorKind::Decoding, reason),
        other => other,
    }
}

/// Adds the ids of `batch`, whose first row is row `*row` of its file, to `ids`, refusing one
/// already there; advances `*row`.
fn add_distinct(ids: &mut IdSet, batch: &RecordBatch, row: &mut u64) -> Result<(), String> {
    for id in ids_of(batch) {
        if !ids.insert(id) {
            return Err(format!(
                "row {row}: `{}` {id} appears again (a snapshot holds each document once)",
                columns::DOCUMENT_ID
            ));
        }
        *row += 1;
    }
    Ok(())
}
