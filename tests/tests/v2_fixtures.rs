//! Snapshots written by older format v2 versions restore, verify and list with this version, and
//! later snapshots build on them: a full export compared with one, a compaction (which writes
//! them again with this version's indexes), gc keeping every part a listed snapshot names, and
//! partial restores (the same result as a filtered restore, the parts read whole where their
//! version cannot be read by pages, an increment's new parts by pages). Three stores, the same
//! snapshots by three versions' akidb-cli (tests/fixtures/make_v2_store.py): the first format v2
//! (tests/fixtures/v2-store: no id indexes), the last before partial restores
//! (tests/fixtures/v2-indexed-store: id indexes without page checksums) and the first of them
//! (tests/fixtures/v2-paged-store: page checksums, no Bloom filters).

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
            // Every data part, the one `import` adopted too, which these versions index as well.
            V2Store::IndexesWithoutPageChecksums | V2Store::IndexesWithoutFilters => {
                m.parts.iter().filter(|p| p.kind == PartKind::Data).count()
            }
        };
        assert_eq!(indexes, expected, "{store:?} {id}");
        let tails = (m.parts.iter())
            .filter(|p| p.index.as_ref().is_some_and(|i| i.tail.is_some()))
            .count();
        let expected = if store.read_by_pages() { indexes } else { 0 };
        assert_eq!(
            tails, expected,
            "{store:?} {id}: indexes that record their tails"
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
    partial_restores_on_top(store, &backend, exported.snapshot_id, &updated, &export).await;

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

/// `exported`, an increment by this version on a snapshot of the old one (`updated`): its new
/// part is read by pages and the old parts whole where their version cannot be read by pages,
/// with the result of a filtered restore; a selection of positions then reads it all whole.
async fn partial_restores_on_top(
    store: V2Store,
    backend: &StorageBackend,
    exported: SnapshotId,
    updated: &[VectorDocument],
    export: &[VectorDocument],
) {
    let all = restore(backend, exported).await;
    let changed = export.last().unwrap();
    // The dropped one (tombstoned), one of the old parts, the changed one (in the new part),
    // and one never held.
    let wanted = [
        updated[0].document_id,
        updated[4].document_id,
        changed.document_id,
        Uuid::from_u128(7),
    ];
    let by_ids = Selection::all().with_ids(wanted);
    let (got, report) = selected(backend, (collection(), exported), &by_ids)
        .await
        .unwrap();
    assert_eq!(got, kept(all.clone(), &by_ids));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.contains(changed),
        "the changed version, not the old one"
    );
    // Where the old parts are read by pages, the old document's part is the second read so.
    let (by_pages, whole) = (report.parts_read_by_pages, report.files_read_whole);
    match store.read_by_pages() {
        true => assert_eq!((by_pages, whole), (2, 0), "{report:?}"),
        false => assert!(by_pages == 1 && whole > 0, "{report:?}"),
    }
    let missing: BTreeSet<Uuid> = report.missing_ids.iter().copied().collect();
    assert_eq!(missing, BTreeSet::from([wanted[0], wanted[3]]));
    let strict = by_ids.clone().strict(true);
    let err = selected(backend, (collection(), exported), &strict)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&wanted[0].to_string()), "{err}");

    let since = Selection::all().inserted_within(Some(changed.inserted_at), None);
    let (got, report) = selected(backend, (collection(), exported), &since)
        .await
        .unwrap();
    assert_eq!(got, kept(all.clone(), &since));
    assert!(report.parts_read_by_pages >= 1, "{report:?}");
    assert_eq!(
        report.files_read_whole > 0,
        !store.read_by_pages(),
        "{report:?}"
    );

    let rows = Selection::all().with_rows(3..9);
    let (got, report) = selected(backend, (collection(), exported), &rows)
        .await
        .unwrap();
    assert_eq!(got, kept(all, &rows));
    let by_pages = report.parts_read_by_pages > 0;
    assert_eq!(by_pages, store.read_by_pages(), "positions: {report:?}");
}

#[tokio::test]
async fn partial_restores_of_older_v2_snapshots_give_what_a_filtered_restore_gives() {
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
                // An imported part's index records no page checksums.
                if store.read_by_pages() && name != "imported" {
                    assert_eq!(report.files_read_whole, 0, "{store:?} {name}: {report:?}");
                } else {
                    assert_eq!(
                        report.parts_read_by_pages, 0,
                        "{store:?} {name}: read whole"
                    );
                    assert!(report.files_read_whole > 0, "{store:?} {name}");
                }
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
