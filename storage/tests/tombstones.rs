//! The content rule of format v2 (docs/FORMAT.md): a restore yields every row of a manifest's
//! data parts except a row whose id a tombstone part listed after that row's part holds. The
//! manifests here are made by hand, as a later writer (an incremental create) will make them.

mod support;

use akidb_snapshot::codec::{
    Compression, ParquetConfig, PartEntry, PartKind, SnapshotHeader, SnapshotId, SnapshotMetadata,
    Timestamp, VectorDocument, encode_parquet, encode_tombstones,
};
use akidb_snapshot::{ErrorKind, Shard, StorageBackend};
use arrow_array::RecordBatch;
use futures::TryStreamExt;
use support::{TestStore, collection, docs};
use uuid::Uuid;

/// The store and a collection with snapshot A: 60 documents in parts of 25.
struct Fixture {
    backend: StorageBackend,
    header: SnapshotHeader,
    old: Vec<VectorDocument>,
    parts: Vec<PartEntry>,
}

impl Fixture {
    async fn new() -> Self {
        let mut config = TestStore::memory().config();
        config.part_rows = 25;
        let backend = StorageBackend::from_config(config).unwrap();
        let c = collection();
        let old = docs(60, 8, 1);
        let a = backend
            .snapshotter()
            .create_snapshot(c, old.clone())
            .await
            .unwrap();
        let parts = backend.store().metadata(c, a).await.unwrap().parts;
        assert_eq!(parts.len(), 3);
        let header = SnapshotHeader::new(
            c,
            SnapshotId::from_uuid(Uuid::now_v7()),
            Timestamp::from_millis(0),
        );
        Fixture {
            backend,
            header,
            old,
            parts,
        }
    }

    /// Writes a part of `kind` (`bytes` and its summary) and returns its entry.
    async fn put(
        &self,
        kind: PartKind,
        bytes: Vec<u8>,
        summary: &akidb_snapshot::codec::FileSummary,
    ) -> PartEntry {
        let suffix = if kind == PartKind::Tombstones {
            ".tombstones.parquet"
        } else {
            ".parquet"
        };
        let key = format!(
            "parts/{}/{}{suffix}",
            self.header.collection_id,
            Uuid::now_v7()
        );
        self.backend
            .store()
            .operator()
            .write(&key, bytes)
            .await
            .unwrap();
        PartEntry::new(key, kind, summary)
    }

    async fn tombstones(&self, ids: &[Uuid]) -> PartEntry {
        let (bytes, summary) = encode_tombstones(ids.iter().copied(), &self.header).unwrap();
        self.put(PartKind::Tombstones, bytes, &summary).await
    }

    async fn data(&self, docs: &[VectorDocument]) -> PartEntry {
        let (bytes, summary) =
            encode_parquet(docs, &self.header, &ParquetConfig::default()).unwrap();
        self.put(PartKind::Data, bytes, &summary).await
    }

    /// Commits a snapshot of `parts` under a new id; returns the id.
    async fn commit(&self, parts: Vec<PartEntry>) -> SnapshotId {
        let header = SnapshotHeader::new(
            self.header.collection_id,
            SnapshotId::from_uuid(Uuid::now_v7()),
            Timestamp::from_millis(0),
        );
        let manifest =
            SnapshotMetadata::manifest(&header, Compression::default(), 8, parts, None).unwrap();
        let key = format!(
            "snapshots/{}/{}.metadata.json",
            header.collection_id, header.snapshot_id
        );
        (self.backend.store().operator())
            .write(&key, manifest.to_json().unwrap())
            .await
            .unwrap();
        header.snapshot_id
    }
}

#[tokio::test]
async fn a_tombstone_hides_ids_in_the_parts_before_it_only() {
    let f = Fixture::new().await;
    let c = f.header.collection_id;
    let mut replaced = f.old[30].clone();
    replaced.vector = vec![9.0; 8];
    let mut new = docs(5, 8, 2);
    new.push(replaced.clone());
    // A, then: d3 and d30 gone from the parts before, d30 again (replaced) and five new ones.
    let hide = f
        .tombstones(&[f.old[3].document_id, f.old[30].document_id])
        .await;
    let parts = vec![
        f.parts[0].clone(),
        f.parts[1].clone(),
        hide,
        f.parts[2].clone(),
        f.data(&new).await,
    ];
    let s = f.commit(parts).await;
    let store = f.backend.store();
    assert_eq!(store.metadata(c, s).await.unwrap().vector_count, 64);

    let mut expected: Vec<VectorDocument> = f.old.clone();
    expected.retain(|d| {
        d.document_id != f.old[3].document_id && d.document_id != f.old[30].document_id
    });
    expected.extend(new.clone());
    let restored = f
        .backend
        .snapshotter()
        .restore_snapshot(c, s)
        .await
        .unwrap();
    assert_eq!(restored, expected);
    let batches: Vec<Vec<RecordBatch>> = store
        .restore_snapshot_arrow(c, s)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        batches
            .iter()
            .flatten()
            .map(RecordBatch::num_rows)
            .sum::<usize>(),
        64
    );
    store.verify_snapshot(c, s).await.unwrap();

    // Shards are counted among data parts, and each applies the tombstones after its parts.
    let mut shards = Vec::new();
    for i in 0..2 {
        let shard: Shard = format!("{i}/2").parse().unwrap();
        let rows: Vec<Vec<VectorDocument>> = store
            .restore_shard_stream(c, s, shard)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        shards.push(rows.concat());
    }
    assert_eq!(shards[0].len(), 24 + 10, "parts 0 and 2");
    assert_eq!(shards[1].len(), 24 + 6, "parts 1 and 3");
    let mut all: Vec<Uuid> = shards.concat().iter().map(|d| d.document_id).collect();
    let mut ids: Vec<Uuid> = expected.iter().map(|d| d.document_id).collect();
    all.sort();
    ids.sort();
    assert_eq!(all, ids, "the shards together are the snapshot");

    // Other tools are told every file and its kind; no one file holds the snapshot.
    let (_, files) = store.snapshot_files(c, s).await.unwrap();
    let kinds: Vec<PartKind> = files.iter().map(|f| f.kind).collect();
    use PartKind::{Data, Tombstones};
    assert_eq!(kinds, [Data, Data, Tombstones, Data, Data]);
    let err = store.read_data_file(c, s).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input, "{err}");
}

#[tokio::test]
async fn tombstones_that_disagree_with_the_manifest_or_are_damaged_are_refused() {
    let f = Fixture::new().await;
    let c = f.header.collection_id;
    let store = f.backend.store();

    // A tombstone of an id only in a later part hides nothing: the count is one short.
    let late = f.tombstones(&[f.old[55].document_id]).await;
    let s = f
        .commit(vec![
            f.parts[0].clone(),
            f.parts[1].clone(),
            late,
            f.parts[2].clone(),
        ])
        .await;
    let err = store.verify_snapshot(c, s).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    assert!(
        err.to_string().contains("once tombstones are applied"),
        "{err}"
    );

    // A damaged tombstone part fails by its SHA-256, before any row is yielded.
    let hide = f.tombstones(&[f.old[1].document_id]).await;
    let mut bytes = store.operator().read(&hide.key).await.unwrap().to_vec();
    bytes[20] ^= 1;
    store.operator().write(&hide.key, bytes).await.unwrap();
    let s = f.commit(vec![f.parts[0].clone(), hide]).await;
    let err = store.restore_snapshot_stream(c, s).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    assert!(err.to_string().contains("SHA-256"), "{err}");
}
