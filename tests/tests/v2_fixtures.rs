//! Snapshots written by older format v2 versions restore, verify and list with this version, and
//! later snapshots build on them: a full export compared with one, a compaction (which writes
//! them again with this version's indexes), gc keeping every part a listed snapshot names, and
//! partial restores (their parts read whole, with the same result as a filtered restore). Two
//! stores, the same snapshots by two versions' akidb-cli (tests/fixtures/make_v2_store.py): the
//! first format v2 (tests/fixtures/v2-store: no id indexes) and the last before partial
//! restores (tests/fixtures/v2-indexed-store: id indexes without page checksums).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use akidb_snapshot::codec::{CollectionId, PartKind, SnapshotId, VectorDocument};
use akidb_snapshot::{Change, Selection, StorageBackend, StorageBackendConfig};
use akidb_snapshot_e2e::{
    V2_COLLECTION, V2Store, copy_v2_store, kept, selected, v1_input, v2_snapshots,
};
use uuid::Uuid;

fn collection() -> CollectionId {
    V2_COLLECTION.parse().unwrap()
}

fn named(store: V2Store) -> BTreeMap<String, SnapshotId> {
    serde_json::from_str(&v2_snapshots(store).unwrap()).unwrap()
}

/// The twenty documents `full` was made from, in order.
fn input() -> Vec<VectorDocument> {
    std::fs::read_to_string(v1_input())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A copy of the fixture store and a backend on it that never compacts by itself, so that what
/// each create writes shows.
fn open_copy(store: V2Store) -> (tempfile::TempDir, StorageBackend) {
    let dir = tempfile::tempdir().unwrap();
    copy_v2_store(store, dir.path()).unwrap();
    let mut config = StorageBackendConfig::with_uri(format!("file://{}", dir.path().display()));
    config.auto_compact_percent = 0;
    (dir, StorageBackend::from_config(config).unwrap())
}

async fn restore(backend: &StorageBackend, id: SnapshotId) -> Vec<VectorDocument> {
    backend
        .snapshotter()
        .restore_snapshot(collection(), id)
        .await
        .unwrap()
}

fn sorted(mut docs: Vec<VectorDocument>) -> Vec<VectorDocument> {
    docs.sort_by_key(|d| d.document_id);
    docs
}

#[tokio::test]
async fn every_v2_snapshot_restores_to_what_its_history_says_and_verifies() {
    for store in V2Store::ALL {
        restores_to_its_history(store).await;
    }
}

async fn restores_to_its_history(store: V2Store) {
    let (_dir, backend) = open_copy(store);
    let named = named(store);
    let listed: BTreeSet<SnapshotId> = (backend.store().list_snapshots(collection()).await)
        .unwrap()
        .iter()
        .map(|m| m.snapshot_id)
        .collect();
    assert_eq!(listed, named.values().copied().collect());
    for id in &listed {
        let m = backend
            .store()
            .verify_snapshot(collection(), *id)
            .await
            .unwrap();
        let indexes = m.parts.iter().filter(|p| p.index.is_some()).count();
        let expected = match store {
            V2Store::NoIndexes => 0,
            // Every data part but the one `import` adopted, which that version indexed too.
            V2Store::IndexesWithoutPageChecksums => {
                m.parts.iter().filter(|p| p.kind == PartKind::Data).count()
            }
        };
        assert_eq!(indexes, expected, "{store:?} {id}");
        assert!(
            m.parts
                .iter()
                .all(|p| p.index.as_ref().is_none_or(|i| i.tail.is_none())),
            "{store:?} {id}: no index records its tail"
        );
    }
    let full = input();
    assert_eq!(restore(&backend, named["full"]).await, full);
    let appended = restore(&backend, named["appended"]).await;
    assert_eq!((appended.len(), &appended[..20]), (25, &full[..]));
    // Documents 2 and 21 replaced (their first float 100 more), 5 deleted.
    let updated = sorted(restore(&backend, named["updated"]).await);
    let mut expected: Vec<VectorDocument> = appended
        .iter()
        .filter(|d| d.document_id != full[5].document_id)
        .cloned()
        .collect();
    // The upserts are the documents as make_v2_store.py wrote them: no external id or metadata.
    for d in &mut expected {
        if [full[2].document_id, appended[21].document_id].contains(&d.document_id) {
            d.vector[0] += 100.0;
            d.external_id = None;
            d.metadata = None;
        }
    }
    assert_eq!(updated, sorted(expected));
    let kinds: Vec<PartKind> = (backend
        .store()
        .metadata(collection(), named["updated"])
        .await)
        .unwrap()
        .parts
        .iter()
        .map(|p| p.kind)
        .collect();
    assert!(kinds.contains(&PartKind::Tombstones));
    assert_eq!(restore(&backend, named["sharded"]).await, full);
    assert_eq!(restore(&backend, named["imported"]).await, full[..7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_snapshots_build_on_older_v2_snapshots() {
    for store in V2Store::ALL {
        build_on(store).await;
    }
}

async fn build_on(store: V2Store) {
    let (_dir, backend) = open_copy(store);
    let (c, encoding, named) = (collection(), backend.encoding(), named(store));
    let updated = restore(&backend, named["updated"]).await;
    // A full export: the first document dropped, the last changed.
    let mut export = updated[1..].to_vec();
    export.last_mut().unwrap().vector[3] = -9.0;
    let exported = backend
        .store()
        .try_create_on_stream(
            c,
            named["updated"],
            Change::Export,
            &encoding,
            futures::stream::iter([Ok::<_, std::io::Error>(export.clone())]),
        )
        .await
        .unwrap();
    let shape: Vec<(PartKind, u64)> = exported.parts.iter().map(|p| (p.kind, p.rows)).collect();
    assert_eq!(
        exported.parts.last().unwrap().rows,
        1,
        "only the changed one: {shape:?}"
    );
    assert_eq!(
        sorted(restore(&backend, exported.snapshot_id).await),
        sorted(export.clone())
    );

    let compacted = backend
        .store()
        .compact_snapshot(c, exported.snapshot_id, &encoding)
        .await
        .unwrap();
    assert!(compacted.parts.iter().all(|p| p.index.is_some()));
    assert_eq!(
        sorted(restore(&backend, compacted.snapshot_id).await),
        sorted(export)
    );

    // Every snapshot written by the old version but `full` deleted: gc keeps what the rest name.
    for (name, id) in &named {
        if name != "full" {
            backend.store().delete_snapshot(c, *id).await.unwrap();
        }
    }
    backend.store().gc(Duration::ZERO).await.unwrap();
    for id in [named["full"], exported.snapshot_id, compacted.snapshot_id] {
        backend.store().verify_snapshot(c, id).await.unwrap();
    }
    let appended = backend
        .store()
        .try_create_on_stream(
            c,
            named["full"],
            Change::Append,
            &encoding,
            futures::stream::iter([Ok::<_, std::io::Error>(vec![VectorDocument::new(
                Uuid::now_v7(),
                vec![1.0; 4],
            )])]),
        )
        .await
        .unwrap();
    assert_eq!(appended.vector_count, 21);
}

#[tokio::test]
async fn partial_restores_of_older_v2_snapshots_read_their_parts_whole_alike() {
    let full = input();
    let wanted = [
        full[2].document_id,
        full[5].document_id,
        full[19].document_id,
        Uuid::from_u128(7),
    ];
    let selections = [
        Selection::all().with_ids(wanted),
        Selection::all().inserted_within(Some(full[3].inserted_at), Some(full[12].inserted_at)),
        Selection::all().with_rows(4..11),
        Selection::all().with_ids(wanted).with_rows(0..6),
    ];
    for store in V2Store::ALL {
        let (_dir, backend) = open_copy(store);
        for (name, id) in named(store) {
            let all = restore(&backend, id).await;
            for selection in &selections {
                let (got, report) = selected(&backend, (collection(), id), selection)
                    .await
                    .unwrap();
                assert_eq!(got, kept(all.clone(), selection), "{store:?} {name}");
                assert_eq!(
                    report.parts_read_by_pages, 0,
                    "{store:?} {name}: read whole"
                );
                assert!(report.files_read_whole > 0, "{store:?} {name}");
            }
        }
        // A compaction by this version: the same result.
        let named = named(store);
        let compacted = backend
            .store()
            .compact_snapshot(collection(), named["updated"], &backend.encoding())
            .await
            .unwrap();
        let selection = &selections[0];
        let (got, report) = selected(&backend, (collection(), compacted.snapshot_id), selection)
            .await
            .unwrap();
        let all = restore(&backend, named["updated"]).await;
        assert_eq!(got, kept(all, selection), "{store:?}");
        // Document 5 was deleted by `updated`; the made-up id was never there.
        assert_eq!(report.missing_ids.len(), 2, "{store:?}");
    }
}
