//! Format v2: snapshots written as parts of at most `part_rows` documents and a manifest,
//! restored in manifest order through every API, verified part by part, and collected by gc
//! once no manifest names them; format v1 still written where configured.

mod support;

use std::time::Duration;

use akidb_snapshot::codec::{
    CollectionId, PartEntry, PartKind, SnapshotId, SnapshotMetadata, VectorDocument,
    inspect_parquet,
};
use akidb_snapshot::{Encoding, ErrorKind, Shard, StorageBackend};
use futures::{TryStreamExt, stream};
use support::{TestStore, collection, docs, keys_under};

/// A backend on `store` writing parts of `part_rows` in row groups of `row_group_size`, three
/// parts in flight at once.
fn backend(store: &TestStore, part_rows: u64, row_group_size: usize) -> StorageBackend {
    let mut config = store.config();
    config.part_rows = part_rows;
    config.concurrency = Some(3);
    config.parquet = config.parquet.with_row_group_size(row_group_size);
    StorageBackend::from_config(config).unwrap()
}

/// A snapshot of `n` documents of dimension 8 on a memory store, in parts of `part_rows`
/// documents and row groups of `row_group_size`, with its manifest.
async fn in_parts(
    part_rows: u64,
    row_group_size: usize,
    n: usize,
) -> (StorageBackend, CollectionId, SnapshotId, SnapshotMetadata) {
    let backend = backend(&TestStore::memory(), part_rows, row_group_size);
    let c = collection();
    let id = backend
        .snapshotter()
        .create_snapshot(c, docs(n, 8, n as u64))
        .await
        .unwrap();
    let m = manifest(&backend, c, id).await;
    (backend, c, id, m)
}

async fn manifest(backend: &StorageBackend, c: CollectionId, id: SnapshotId) -> SnapshotMetadata {
    backend.store().metadata(c, id).await.unwrap()
}

async fn read(backend: &StorageBackend, key: &str) -> Vec<u8> {
    backend.store().operator().read(key).await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_parts_of_at_most_part_rows_restored_in_order() {
    for store in TestStore::all() {
        // Part boundaries fall inside row groups: 1,000-document parts of 300-row groups.
        let backend = backend(&store, 1_000, 300);
        let c = collection();
        let input = docs(3_500, 16, 5);
        let id = backend
            .snapshotter()
            .create_snapshot(c, input.clone())
            .await
            .unwrap();
        let m = manifest(&backend, c, id).await;
        assert_eq!(
            (m.schema_version, m.vector_count, m.dimension),
            (2, 3_500, 16)
        );
        let rows: Vec<_> = m.parts.iter().map(|p| p.rows).collect();
        assert_eq!(rows, [1_000, 1_000, 1_000, 500], "{}", store.name);
        assert_eq!(
            m.size_bytes,
            m.parts.iter().map(|p| p.size_bytes).sum::<u64>()
        );
        for part in &m.parts {
            assert_eq!(part.kind, PartKind::Data);
            assert!(part.key.starts_with(&format!("parts/{c}/")), "{}", part.key);
            let bytes = read(&backend, &part.key).await;
            assert_eq!(bytes.len() as u64, part.size_bytes);
            part.checksum_sha256.verify(&bytes).unwrap();
            let info = inspect_parquet(&bytes, &Default::default()).unwrap();
            let groups: Vec<_> = info.row_groups.iter().map(|g| g.rows).collect();
            let expected: &[u64] = if part.rows == 1_000 {
                &[300, 300, 300, 100]
            } else {
                &[300, 200]
            };
            assert_eq!(groups, expected, "{}", part.key);
        }

        let snapshotter = backend.snapshotter();
        assert_eq!(snapshotter.restore_snapshot(c, id).await.unwrap(), input);
        let streamed: Vec<VectorDocument> = backend
            .store()
            .restore_snapshot_stream(c, id)
            .await
            .unwrap()
            .try_concat()
            .await
            .unwrap();
        assert_eq!(streamed, input, "{}", store.name);
        let arrow_rows: usize = backend
            .store()
            .restore_snapshot_arrow(c, id)
            .await
            .unwrap()
            .try_fold(0, |n, batches| async move {
                Ok(n + batches.iter().map(|b| b.num_rows()).sum::<usize>())
            })
            .await
            .unwrap();
        assert_eq!(arrow_rows, 3_500);
        assert_eq!(backend.store().verify_snapshot(c, id).await.unwrap(), m);
        let (inspected, info) = backend.store().inspect_snapshot(c, id).await.unwrap();
        assert_eq!(
            (inspected, info),
            (m.clone(), None),
            "several parts: no one footer"
        );
        let err = backend.store().read_data_file(c, id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input, "{err}");
        assert!(err.to_string().contains("4 parts"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_one_part_is_inspected_and_copied_as_one_file() {
    let (backend, c, id, m) = in_parts(1_000, 300, 1_000).await;
    assert_eq!(m.parts.len(), 1);
    let (_, info) = backend.store().inspect_snapshot(c, id).await.unwrap();
    assert_eq!(info.unwrap().row_groups.len(), 4);
    let (_, bytes) = backend.store().read_data_file(c, id).await.unwrap();
    assert_eq!(bytes, read(&backend, &m.parts[0].key).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_document_in_a_later_part_is_named_by_its_input_position_and_nothing_stays() {
    let store = TestStore::memory();
    let backend = backend(&store, 1_000, 300);
    let c = collection();
    let mut input = docs(3_000, 8, 2);
    input[2_500].vector.pop();
    let err = backend
        .store()
        .create_snapshot_stream(
            c,
            &backend.encoding(),
            stream::iter(input.chunks(700).map(<[_]>::to_vec)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("document #2500"), "{err}");
    assert!(backend.store().list_snapshots(c).await.unwrap().is_empty());
    assert_eq!(keys_under(&backend, "").await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_part_fails_the_restore_and_a_missing_one_is_named() {
    let (backend, c, id, m) = in_parts(500, 250, 1_500).await;
    let middle = &m.parts[1].key;
    let op = backend.store().operator();
    let pristine = read(&backend, middle).await;
    let mut damaged = pristine.clone();
    damaged[100] ^= 4;
    op.delete(middle).await.unwrap();
    op.write(middle, damaged).await.unwrap();
    for err in [
        backend
            .snapshotter()
            .restore_snapshot(c, id)
            .await
            .unwrap_err(),
        backend.store().verify_snapshot(c, id).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    }
    op.delete(middle).await.unwrap();
    let err = backend.store().verify_snapshot(c, id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    assert!(err.to_string().contains(middle.as_str()), "{err}");
    op.write(middle, pristine).await.unwrap();
    assert_eq!(backend.store().verify_snapshot(c, id).await.unwrap(), m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_leaves_parts_to_gc_which_keeps_what_a_manifest_names() {
    let store = TestStore::fs();
    let backend = backend(&store, 1_000, 500);
    let snapshotter = backend.snapshotter();
    let c = collection();
    let gone = snapshotter
        .create_snapshot(c, docs(2_000, 8, 4))
        .await
        .unwrap();
    let input = docs(1_500, 8, 5);
    let kept = snapshotter.create_snapshot(c, input.clone()).await.unwrap();
    // Each part and its id index.
    let files = |parts: Vec<PartEntry>| -> Vec<String> {
        (parts.iter())
            .flat_map(|p| p.keys().map(str::to_owned))
            .collect()
    };
    let gone_parts = files(manifest(&backend, c, gone).await.parts);
    let kept_parts = files(manifest(&backend, c, kept).await.parts);
    assert_eq!((gone_parts.len(), kept_parts.len()), (4, 4));

    snapshotter.delete_snapshot(c, gone).await.unwrap();
    assert_eq!(
        keys_under(&backend, "parts/").await.len(),
        8,
        "delete removes the manifest only"
    );
    // Young parts stay: a create may be writing them.
    assert!(
        backend
            .store()
            .gc(Duration::from_secs(3600))
            .await
            .unwrap()
            .is_empty()
    );
    let mut removed = backend.store().gc(Duration::ZERO).await.unwrap();
    removed.sort();
    let mut expected = gone_parts.clone();
    expected.sort();
    assert_eq!(removed, expected);
    assert_eq!(snapshotter.restore_snapshot(c, kept).await.unwrap(), input);

    // A manifest that cannot be read may name any part of its collection: all are kept.
    let orphan = backend
        .store()
        .operator()
        .read(&kept_parts[0])
        .await
        .unwrap()
        .to_vec();
    let stray = format!("parts/{c}/{}.parquet", uuid::Uuid::now_v7());
    backend
        .store()
        .operator()
        .write(&stray, orphan)
        .await
        .unwrap();
    let marker = format!("snapshots/{c}/{kept}.metadata.json");
    let good = read(&backend, &marker).await;
    backend
        .store()
        .operator()
        .write(&marker, b"{ damaged".to_vec())
        .await
        .unwrap();
    assert!(backend.store().gc(Duration::ZERO).await.unwrap().is_empty());
    backend
        .store()
        .operator()
        .write(&marker, good)
        .await
        .unwrap();
    assert_eq!(backend.store().gc(Duration::ZERO).await.unwrap(), [stray]);
    assert_eq!(snapshotter.restore_snapshot(c, kept).await.unwrap(), input);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_version_1_still_writes_one_data_file() {
    let store = TestStore::memory();
    let mut config = store.config();
    config.format_version = 1;
    let backend = StorageBackend::from_config(config).unwrap();
    let c = collection();
    let input = docs(300, 8, 6);
    let id = backend
        .snapshotter()
        .create_snapshot(c, input.clone())
        .await
        .unwrap();
    let m = manifest(&backend, c, id).await;
    assert_eq!((m.schema_version, m.parts.len()), (1, 0));
    assert!(m.checksum_sha256.is_some());
    assert_eq!(
        keys_under(&backend, "").await,
        [
            format!("snapshots/{c}/{id}.metadata.json"),
            format!("snapshots/{c}/{id}.parquet"),
        ]
    );
    assert_eq!(
        backend.snapshotter().restore_snapshot(c, id).await.unwrap(),
        input
    );
    // JSON snapshots are one file whatever the layout.
    let json = backend
        .store()
        .create_snapshot_stream(c, &Encoding::Json, stream::iter([input.clone()]))
        .await
        .unwrap();
    assert!(!json.is_manifest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shards_of_a_snapshot_hold_every_document_once() {
    let (backend, c, id, m) = in_parts(400, 200, 1_900).await;
    assert_eq!(m.parts.len(), 5);
    let input = backend.snapshotter().restore_snapshot(c, id).await.unwrap();
    for count in [1, 2, 3, 5, 7] {
        let mut shards = Vec::new();
        for index in 0..count {
            let shard = Shard::new(index, count).unwrap();
            let docs: Vec<VectorDocument> = backend
                .store()
                .restore_shard_stream(c, id, shard)
                .await
                .unwrap()
                .try_concat()
                .await
                .unwrap();
            shards.push(docs);
        }
        // Shard i holds parts i, i + count, …: its documents are those parts', in order.
        for (index, docs) in shards.iter().enumerate() {
            let expected: Vec<_> = input
                .chunks(400)
                .enumerate()
                .filter(|(part, _)| part % count as usize == index)
                .flat_map(|(_, docs)| docs.to_vec())
                .collect();
            assert_eq!(docs, &expected, "shard {index}/{count}");
        }
        assert_eq!(shards.iter().map(Vec::len).sum::<usize>(), input.len());
    }

    // A v1 snapshot is one part, held by shard 0.
    let mut config = TestStore::memory().config();
    config.format_version = 1;
    let v1 = StorageBackend::from_config(config).unwrap();
    let id = v1
        .snapshotter()
        .create_snapshot(c, input.clone())
        .await
        .unwrap();
    for (index, rows) in [(0, input.len()), (1, 0)] {
        let shard = Shard::new(index, 2).unwrap();
        let batches = v1.store().restore_shard_arrow(c, id, shard).await.unwrap();
        let restored: Vec<_> = batches.try_concat().await.unwrap();
        assert_eq!(restored.iter().map(|b| b.num_rows()).sum::<usize>(), rows);
    }
}
