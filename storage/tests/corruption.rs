//! Damage done to committed snapshots: bit flips at many offsets of the data file (a v1
//! snapshot's, or a v2 snapshot's part), truncation, appended bytes, another snapshot's file in
//! its place, an edited metadata file or manifest. Every restore fails with `DataCorruption` (or
//! `NotFound` where a file is gone); none returns data, none panics.
//!
//! `AKIDB_CORRUPTION_FLIPS` sets how many bit flips each format gets (default 240).

mod support;

use akidb_snapshot::codec::{CollectionId, SnapshotId, VectorDocument};
use akidb_snapshot::{ErrorKind, SnapshotterType, StorageBackend};
use futures::TryStreamExt;
use serde_json::{Value, json};
use support::{TestStore, collection, docs, record};

/// One way to damage a snapshot.
#[derive(Debug, Clone)]
enum Damage {
    /// Flips one bit of the data file.
    Flip { at: usize, bit: u8 },
    /// Cuts the data file to this many bytes.
    Truncate(usize),
    /// Adds bytes to the end of the data file.
    Append(Vec<u8>),
    /// Puts another snapshot's data file (of the same format) in its place.
    Replace(&'static str),
    /// Removes the data file.
    MissingData,
    /// Removes the metadata file.
    MissingMetadata,
    /// Sets a field of the metadata file.
    Edit(&'static str, Value),
    /// Writes this as the metadata file.
    MetadataText(&'static str),
}

/// A snapshot under test, its pristine files, and the files of its neighbours.
struct Victim {
    backend: StorageBackend,
    c: CollectionId,
    id: SnapshotId,
    input: Vec<VectorDocument>,
    data_key: String,
    metadata_key: String,
    data: Vec<u8>,
    metadata: Vec<u8>,
    sibling: Vec<u8>,
    stranger: Vec<u8>,
}

impl Victim {
    async fn new(backend: StorageBackend) -> Victim {
        let snapshotter = backend.snapshotter();
        let c = collection();
        let input = docs(2_000, 16, 13);
        let id = snapshotter.create_snapshot(c, input.clone()).await.unwrap();
        // Same collection, same documents: only the ids in the file tell them apart.
        let sibling = snapshotter.create_snapshot(c, input.clone()).await.unwrap();
        let other = collection();
        let stranger = snapshotter
            .create_snapshot(other, input.clone())
            .await
            .unwrap();

        let store = backend.store();
        let data_key = data_key(&backend, c, id).await;
        let metadata_key = format!("snapshots/{c}/{id}.metadata.json");
        let op = store.operator();
        let read = |key: String| async move { op.read(&key).await.unwrap().to_vec() };
        Victim {
            data: read(data_key.clone()).await,
            metadata: read(metadata_key.clone()).await,
            sibling: read(self::data_key(&backend, c, sibling).await).await,
            stranger: read(self::data_key(&backend, other, stranger).await).await,
            backend,
            c,
            id,
            input,
            data_key,
            metadata_key,
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) {
        let op = self.backend.store().operator();
        op.delete(key).await.unwrap();
        support::put(op, key, &bytes).await;
    }

    /// The pristine files, then `damage`.
    async fn damage(&self, damage: &Damage) {
        self.put(&self.data_key, self.data.clone()).await;
        self.put(&self.metadata_key, self.metadata.clone()).await;
        let op = self.backend.store().operator();
        let mut data = self.data.clone();
        match damage {
            Damage::Flip { at, bit } => data[*at] ^= 1 << bit,
            Damage::Truncate(len) => data.truncate(*len),
            Damage::Append(tail) => data.extend_from_slice(tail),
            Damage::Replace("sibling") => data = self.sibling.clone(),
            Damage::Replace(_) => data = self.stranger.clone(),
            Damage::MissingData => return op.delete(&self.data_key).await.unwrap(),
            Damage::MissingMetadata => return op.delete(&self.metadata_key).await.unwrap(),
            Damage::Edit(field, value) => {
                let mut m: Value = serde_json::from_slice(&self.metadata).unwrap();
                m[field] = value.clone();
                return self
                    .put(&self.metadata_key, serde_json::to_vec(&m).unwrap())
                    .await;
            }
            Damage::MetadataText(text) => {
                return self.put(&self.metadata_key, text.as_bytes().to_vec()).await;
            }
        }
        self.put(&self.data_key, data).await;
    }

    /// Every way of reading the snapshot fails with a kind that says it is damaged or gone.
    async fn assert_refused(&self, what: &str) {
        let (c, id) = (self.c, self.id);
        let store = self.backend.store();
        let errors = [
            self.backend
                .snapshotter()
                .restore_snapshot(c, id)
                .await
                .err(),
            store.verify_snapshot(c, id).await.err(),
            match store.restore_snapshot_stream(c, id).await {
                Ok(stream) => stream.try_concat().await.err(),
                Err(e) => Some(e),
            },
        ];
        for (how, err) in ["restore", "verify", "stream"].iter().zip(errors) {
            let err = err.unwrap_or_else(|| panic!("{what}: {how} returned data"));
            assert!(
                matches!(err.kind(), ErrorKind::DataCorruption | ErrorKind::NotFound),
                "{what}: {how} failed as {:?}: {err}",
                err.kind()
            );
        }
    }
}

/// The file a snapshot's documents are in: a v1 snapshot's data file, or the first part of a
/// v2 snapshot (all of it, at the sizes here).
async fn data_key(backend: &StorageBackend, c: CollectionId, id: SnapshotId) -> String {
    let m = backend.store().metadata(c, id).await.unwrap();
    match m.parts.first() {
        Some(part) => part.key.clone(),
        None => format!("snapshots/{c}/{id}.{}", m.format.extension()),
    }
}

fn flips(len: usize) -> Vec<Damage> {
    let count: usize = std::env::var("AKIDB_CORRUPTION_FLIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240);
    // Half spread over the whole file, half over its last KiB, where the footer and its
    // lengths and offsets are.
    let tail = len.saturating_sub(1024);
    (0..count)
        .map(|i| {
            let at = if i % 2 == 0 {
                i * len / count
            } else {
                tail + (i * 1024 / count) % (len - tail)
            };
            Damage::Flip {
                at,
                bit: (i % 8) as u8,
            }
        })
        .collect()
}

fn matrix(len: usize) -> Vec<Damage> {
    let mut all = flips(len);
    all.extend([0, 1, 4, len / 2, len - 8, len - 1].map(Damage::Truncate));
    all.extend([vec![0], vec![0x50; 1024], b"PAR1".to_vec()].map(Damage::Append));
    all.extend([
        Damage::Replace("sibling"),
        Damage::Replace("stranger"),
        Damage::MissingData,
        Damage::MissingMetadata,
        Damage::Edit("size_bytes", json!(len + 1)),
        Damage::Edit("size_bytes", json!(len - 1)),
        Damage::Edit("vector_count", json!(1_999)),
        Damage::Edit("vector_count", json!(2_001)),
        Damage::Edit("dimension", json!(15)),
        Damage::Edit("checksum_sha256", json!("00".repeat(32))),
        Damage::Edit(
            "snapshot_id",
            json!(SnapshotId::from_uuid(uuid::Uuid::now_v7())),
        ),
        Damage::Edit("collection_id", json!(collection())),
        Damage::Edit("format", json!("avro")),
        Damage::MetadataText("{ not json"),
        Damage::MetadataText(""),
    ]);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_damage_is_refused_and_nothing_wrong_is_returned() {
    let mut figures = Vec::new();
    for (format, version) in [
        (SnapshotterType::Parquet, 2),
        (SnapshotterType::Parquet, 1),
        (SnapshotterType::Json, 1),
    ] {
        let store = TestStore::memory();
        let mut config = store.config();
        config.snapshotter_type = format;
        config.format_version = version;
        let victim = Victim::new(StorageBackend::from_config(config).unwrap()).await;
        let damages = matrix(victim.data.len());
        for damage in &damages {
            victim.damage(damage).await;
            victim
                .assert_refused(&format!("{format:?} v{version} {damage:?}"))
                .await;
        }
        let flipped = damages
            .iter()
            .filter(|d| matches!(d, Damage::Flip { .. }))
            .count();
        figures.push(format!(
            "{format:?} v{version}: {} damaged ({flipped} bit flips), {} reads refused, 0 \
             returned data",
            damages.len(),
            3 * damages.len()
        ));

        // The pristine files restore: what was refused was the damage.
        victim.damage(&Damage::Append(Vec::new())).await;
        let snapshotter = victim.backend.snapshotter();
        let restored = snapshotter.restore_snapshot(victim.c, victim.id).await;
        assert_eq!(restored.unwrap(), victim.input);
    }
    record("corruption", &figures.join("; "));
}

/// The same on every store kind, for the damage a disk or a botched copy does most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_is_refused_on_every_store() {
    for store in TestStore::all() {
        let victim = Victim::new(store.backend()).await;
        let len = victim.data.len();
        for damage in [
            Damage::Flip {
                at: len / 2,
                bit: 6,
            },
            Damage::Truncate(len - 100),
            Damage::MissingData,
        ] {
            victim.damage(&damage).await;
            victim
                .assert_refused(&format!("{} {damage:?}", store.name))
                .await;
        }
    }
}
