//! Snapshots written by format v1 restore, verify, inspect and list with this version, forever.
//! The store in tests/fixtures/v1-store was written by a v1 akidb-cli
//! (tests/fixtures/make_v1_store.py says how): six snapshots of the twenty documents of
//! tests/fixtures/v1-store.jsonl, as Parquet with each compression, as JSON, and as JSON whose
//! metadata has no `format` (the first JSON snapshotter's).

use std::path::{Path, PathBuf};
use std::time::Duration;

use akidb_snapshot::codec::{CollectionId, SnapshotFormat, VectorDocument};
use akidb_snapshot::{Selection, StorageBackend};
use akidb_snapshot_e2e::{V1_COLLECTION, copy_v1_store, selected, v1_input};
use futures::TryStreamExt;

fn collection() -> CollectionId {
    V1_COLLECTION.parse().unwrap()
}

/// The documents every fixture snapshot holds, in order.
fn input() -> Vec<VectorDocument> {
    std::fs::read_to_string(v1_input())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A copy of the fixture store (operations such as gc and delete must not touch the committed
/// one) and a backend on it.
fn open_copy() -> (tempfile::TempDir, StorageBackend) {
    let dir = tempfile::tempdir().unwrap();
    copy_v1_store(dir.path()).unwrap();
    let backend = StorageBackend::open(&format!("file://{}", dir.path().display())).unwrap();
    (dir, backend)
}

#[tokio::test]
async fn every_v1_snapshot_is_listed_with_what_its_metadata_says() {
    let (_dir, backend) = open_copy();
    let listed = backend.store().list_snapshots(collection()).await.unwrap();
    let mut formats: Vec<_> = listed.iter().map(|m| m.format).collect();
    formats.sort_by_key(|f| f.extension());
    assert_eq!(
        formats,
        [SnapshotFormat::Json, SnapshotFormat::Json]
            .into_iter()
            .chain([SnapshotFormat::Parquet; 4])
            .collect::<Vec<_>>()
    );
    for metadata in &listed {
        assert_eq!((metadata.vector_count, metadata.dimension), (20, 4));
        assert_eq!(metadata.collection_id, collection());
    }
    let mut compressions: Vec<_> = listed
        .iter()
        .filter(|m| m.format == SnapshotFormat::Parquet)
        .map(|m| m.compression.to_string())
        .collect();
    compressions.sort();
    assert_eq!(compressions, ["lz4", "none", "snappy", "zstd"]);
}

#[tokio::test]
async fn every_v1_snapshot_restores_its_documents_exactly() {
    let (_dir, backend) = open_copy();
    let expected = input();
    assert_eq!(expected.len(), 20);
    let snapshotter = backend.snapshotter();
    for metadata in backend.store().list_snapshots(collection()).await.unwrap() {
        let id = metadata.snapshot_id;
        let restored = snapshotter
            .restore_snapshot(collection(), id)
            .await
            .unwrap();
        assert_eq!(restored, expected, "snapshot {id} ({:?})", metadata.format);
        let streamed: Vec<_> = backend
            .store()
            .restore_snapshot_stream(collection(), id)
            .await
            .unwrap()
            .try_concat()
            .await
            .unwrap();
        assert_eq!(streamed, expected, "snapshot {id}, streamed");
        let rows: usize = backend
            .store()
            .restore_snapshot_arrow(collection(), id)
            .await
            .unwrap()
            .map_ok(|batches| batches.iter().map(|b| b.num_rows()).sum::<usize>())
            .try_fold(0, |sum, n| async move { Ok(sum + n) })
            .await
            .unwrap();
        assert_eq!(rows, 20, "snapshot {id}, as Arrow");
    }
}

#[tokio::test]
async fn every_v1_snapshot_verifies_and_inspects() {
    let (_dir, backend) = open_copy();
    for metadata in backend.store().list_snapshots(collection()).await.unwrap() {
        let id = metadata.snapshot_id;
        let verified = backend
            .store()
            .verify_snapshot(collection(), id)
            .await
            .unwrap();
        assert_eq!(verified, metadata);
        let (inspected, info) = backend
            .store()
            .inspect_snapshot(collection(), id)
            .await
            .unwrap();
        assert_eq!(inspected, metadata);
        match metadata.format {
            SnapshotFormat::Parquet => {
                let info = info.unwrap();
                assert_eq!((info.vector_count, info.dimension), (20, 4));
                let groups = info.row_groups.len();
                let zstd = metadata.compression.to_string() == "zstd";
                // The zstd snapshot was written in row groups of 7 documents.
                assert_eq!(groups, if zstd { 3 } else { 1 }, "snapshot {id}");
            }
            _ => assert!(info.is_none()),
        }
    }
}

#[tokio::test]
async fn gc_leaves_a_v1_store_whole_and_delete_removes_a_v1_snapshot() {
    let (dir, backend) = open_copy();
    let files = |dir: &Path| {
        walk(&dir.join("snapshots"))
            .into_iter()
            .map(|p| p.strip_prefix(dir).unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let before = files(dir.path());
    assert_eq!(before.len(), 12);
    let removed = backend.store().gc(Duration::ZERO).await.unwrap();
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(files(dir.path()), before);

    let listed = backend.store().list_snapshots(collection()).await.unwrap();
    let gone = listed[0].snapshot_id;
    backend
        .snapshotter()
        .delete_snapshot(collection(), gone)
        .await
        .unwrap();
    let after = files(dir.path());
    assert_eq!(after.len(), 10);
    assert!(
        after
            .iter()
            .all(|p| !p.to_string_lossy().contains(&gone.to_string()))
    );
    for metadata in &listed[1..] {
        let restored = backend
            .snapshotter()
            .restore_snapshot(collection(), metadata.snapshot_id)
            .await
            .unwrap();
        assert_eq!(restored.len(), 20);
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn every_v1_snapshot_restores_a_selection_read_whole() {
    let (_dir, backend) = open_copy();
    let docs = input();
    let missing = uuid::Uuid::from_u128(7);
    let selection = Selection::all()
        .with_ids([docs[3].document_id, docs[17].document_id, missing])
        .with_rows(0..10);
    for metadata in backend.store().list_snapshots(collection()).await.unwrap() {
        let id = metadata.snapshot_id;
        let (got, report) = selected(&backend, (collection(), id), &selection)
            .await
            .unwrap();
        assert_eq!(
            got,
            [docs[3].clone()],
            "snapshot {id} ({:?})",
            metadata.format
        );
        assert_eq!(report.missing_ids, [missing], "snapshot {id}");
        assert_eq!(
            (report.files_read_whole, report.parts_read_by_pages),
            (1, 0)
        );
    }
}
