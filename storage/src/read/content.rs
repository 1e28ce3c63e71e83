//! A snapshot's content as document ids and content hashes, for a create that builds on it
//! (base.rs): read from the id indexes of its data parts, without a vector; a part with no
//! index (written before indexes existed) is read whole instead. Tombstones apply as they
//! do for a restore (docs/FORMAT.md, "The content rule").

use akidb_snapshot_codec::{
    ContentHash, IndexFile, Sha256Digest, batch_content_hashes, decode_id_index,
};
use arrow_array::RecordBatch;
use futures::stream::{self, StreamExt, TryStreamExt};
use uuid::Uuid;

use super::{DataFile, Hiding, READ_AHEAD, SnapshotFiles};
use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::store::blocking;

/// The documents of a snapshot: each one's id and the hash of its content.
pub(crate) type Content = IdMap<ContentHash>;

/// How a snapshot's content was found: data parts whose id index was read, and those read
/// whole for want of one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sources {
    pub(crate) indexed: usize,
    pub(crate) read: usize,
}

impl SnapshotFiles {
    /// The snapshot's content: the ids and content hashes of its data parts, from their id
    /// indexes (each checked against its manifest entry and its part's SHA-256) or, where a
    /// part has none, from the part itself, checked as a restore checks it.
    pub(crate) async fn content(self) -> Result<(Content, Sources)> {
        let SnapshotFiles {
            target,
            files,
            tombstones,
            expected_rows,
            ..
        } = self;
        let hiding = Hiding::read(tombstones, 0).await?;
        let capacity = usize::try_from(expected_rows.unwrap_or(0)).unwrap_or(0);
        let mut content = Content::with_capacity_and_hasher(capacity, Default::default());
        let mut sources = Sources::default();
        let mut parts = stream::iter(files)
            .map(DataFile::content_rows)
            .buffered(READ_AHEAD);
        while let Some((position, rows, indexed)) = parts.try_next().await? {
            if indexed {
                sources.indexed += 1;
            } else {
                sources.read += 1;
            }
            let hidden = hiding.of(position);
            for (id, hash) in rows {
                if hidden.as_ref().is_some_and(|h| h.contains(id)) {
                    continue;
                }
                if content.insert(id, hash).is_some() {
                    return Err(Error::corruption(
                        target,
                        format!(
                            "document {id} is in two of its data parts once tombstones are \
                             applied, and a snapshot holds each id once"
                        ),
                    ));
                }
            }
        }
        if let Some(expected) = expected_rows.filter(|&e| e != content.len() as u64) {
            return Err(Error::corruption(
                target,
                format!(
                    "its parts hold {} documents once tombstones are applied, but the manifest \
                     says {expected}",
                    content.len()
                ),
            ));
        }
        Ok((content, sources))
    }
}

impl SnapshotFiles {
    /// Reads every data part's id index and checks it: its size and SHA-256 against the
    /// manifest, the part it describes (SHA-256 and rows) against the part's entry, and its
    /// own rules (docs/FORMAT.md, "Id index"). Returns how many there are.
    pub(crate) async fn check_indexes(self) -> Result<usize> {
        let mut checked = 0;
        for file in &self.files {
            if let Some(index) = &file.claim.index {
                file.indexed_rows(index).await?;
                checked += 1;
            }
        }
        Ok(checked)
    }

    /// For each data part, in order: its position in the manifest, its rows, and how many of
    /// them the tombstone parts after it hide; `None` for a part without an id index, whose
    /// ids are not known without reading it.
    pub(crate) async fn hidden_rows(self) -> Result<Vec<(usize, u64, Option<u64>)>> {
        let SnapshotFiles {
            files, tombstones, ..
        } = self;
        let hiding = Hiding::read(tombstones, 0).await?;
        let mut counted = Vec::with_capacity(files.len());
        for file in files {
            let (position, rows) = (file.claim.position, file.claim.rows);
            let Some(index) = file.claim.index.clone() else {
                counted.push((position, rows, None));
                continue;
            };
            let hidden = match hiding.of(position) {
                None => 0,
                Some(ids) => (file.indexed_rows(&index).await?.iter())
                    .filter(|(id, _)| ids.contains(*id))
                    .count() as u64,
            };
            counted.push((position, rows, Some(hidden)));
        }
        Ok(counted)
    }
}

impl DataFile {
    /// The id and content hash of each of the part's rows, from its id index if it has one;
    /// with the part's position in the manifest, and whether the index was read.
    async fn content_rows(self) -> Result<(usize, Vec<(Uuid, ContentHash)>, bool)> {
        let position = self.claim.position;
        match self.claim.index.clone() {
            Some(index) => Ok((position, self.indexed_rows(&index).await?, true)),
            None => {
                let target = self.target();
                let mut batches = self.stream::<RecordBatch>(|_| {}).await?;
                let mut rows = Vec::new();
                while let Some(batch) = batches.try_next().await? {
                    let hashed = blocking(move || {
                        (batch.iter())
                            .map(batch_content_hashes)
                            .collect::<akidb_snapshot_codec::Result<Vec<_>>>()
                    })
                    .await?
                    .map_err(|e| Error::codec(target, e))?;
                    rows.extend(hashed.into_iter().flatten());
                }
                Ok((position, rows, false))
            }
        }
    }

    /// The part's id index, read whole; its size, SHA-256, count and the part it describes
    /// checked against the manifest.
    async fn indexed_rows(&self, index: &IndexFile) -> Result<Vec<(Uuid, ContentHash)>> {
        let target = self.target();
        let key = index.key.as_str();
        let len = match self.store.size_of(target, key).await {
            Ok(len) => len,
            Err(e) => return Err(self.missing_file(e, key).await),
        };
        if len != index.size_bytes {
            return Err(self.corruption(format!(
                "{key} holds {len} bytes but the manifest says {}",
                index.size_bytes
            )));
        }
        let bytes = match self.store.read_range(target, key, 0..len).await {
            Ok(bytes) => bytes,
            Err(e) => return Err(self.missing_file(e, key).await),
        };
        let limits = *self.store.limits();
        let (digest, read) =
            blocking(move || (Sha256Digest::of(&bytes), decode_id_index(bytes, &limits))).await?;
        if digest != index.checksum_sha256 {
            return Err(self.corruption(format!(
                "SHA-256 of {key} is {digest}, the manifest says {}",
                index.checksum_sha256
            )));
        }
        let read = read.map_err(|e| Error::codec(target, e))?;
        if Some(read.part_checksum) != self.claim.checksum || read.len() as u64 != self.claim.rows {
            return Err(self.corruption(format!(
                "{key} describes a part of {} rows with SHA-256 {}, but its part {} has {} rows",
                read.len(),
                read.part_checksum,
                self.claim.key,
                self.claim.rows
            )));
        }
        Ok(read.rows().iter().map(|r| (r.id, r.hash)).collect())
    }
}

impl crate::store::SnapshotStore {
    /// The content of the committed snapshot `metadata` describes, and how it was found.
    pub(crate) async fn content_of(
        &self,
        metadata: &akidb_snapshot_codec::SnapshotMetadata,
    ) -> Result<(Content, Sources)> {
        SnapshotFiles::of(self.clone(), metadata)?.content().await
    }
}
