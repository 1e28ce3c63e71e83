//! Compaction: a snapshot's content written again without tombstones, rewriting only the data
//! parts they touch (and merging small ones); by command, or by a create whose tombstones hide
//! more than `auto_compact_percent` of its stored rows. The content never changes.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use akidb_snapshot::codec::{
    CollectionId, PartEntry, PartKind, SnapshotHeader, SnapshotId, SnapshotMetadata, VectorDocument,
};
use akidb_snapshot::{Change, Encoding, ErrorKind, StorageBackend};
use futures::stream;
use support::{TestStore, collection, docs, keys_under};

/// An update (upserts and deletes) that must succeed.
async fn update(
    backend: &StorageBackend,
    c: CollectionId,
    base: SnapshotId,
    upserts: Vec<VectorDocument>,
    deletes: Vec<uuid::Uuid>,
) -> SnapshotMetadata {
    support::update(backend, c, base, upserts, deletes)
        .await
        .unwrap()
}

/// A backend on `store` writing parts of 25 documents, compacting by itself at `percent`.
fn backend(store: &TestStore, percent: u32) -> StorageBackend {
    let mut config = store.config();
    config.part_rows = 25;
    config.auto_compact_percent = percent;
    StorageBackend::from_config(config).unwrap()
}

/// What `id` restores to, sorted by id: a snapshot's content is a set.
async fn content(backend: &StorageBackend, c: CollectionId, id: SnapshotId) -> Vec<VectorDocument> {
    let mut docs = backend.snapshotter().restore_snapshot(c, id).await.unwrap();
    docs.sort_by_key(|d| d.document_id);
    docs
}

/// `docs` with their first float changed: new versions of the same documents.
fn changed(docs: &[VectorDocument]) -> Vec<VectorDocument> {
    docs.iter()
        .map(|d| {
            let mut d = d.clone();
            d.vector[0] += 100.0;
            d
        })
        .collect()
}

fn kinds(m: &SnapshotMetadata) -> Vec<PartKind> {
    m.parts.iter().map(|p| p.kind).collect()
}

/// Every file under `parts/` is one a listed snapshot names.
async fn only_named_files(backend: &StorageBackend, c: CollectionId) {
    let named: BTreeSet<String> = (backend.store().list_snapshots(c).await.unwrap().iter())
        .flat_map(|m| m.parts.iter().flat_map(PartEntry::keys).map(str::to_owned))
        .collect();
    let stored: BTreeSet<String> = keys_under(backend, "parts/").await.into_iter().collect();
    assert_eq!(stored, named);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_rewrites_what_tombstones_touch_and_reuses_the_rest() {
    let store = TestStore::fs();
    let backend = backend(&store, 0);
    let (c, encoding) = (collection(), backend.encoding());
    let old = docs(100, 8, 1);
    let base = backend
        .snapshotter()
        .create_snapshot(c, old.clone())
        .await
        .unwrap();
    let base = backend.store().metadata(c, base).await.unwrap();
    // Two documents of the first part replaced, one of the second deleted.
    let updated = update(
        &backend,
        c,
        base.snapshot_id,
        changed(&old[..2]),
        vec![old[30].document_id],
    )
    .await;
    use PartKind::{Data, Tombstones};
    assert_eq!(kinds(&updated), [Data, Data, Data, Data, Tombstones, Data]);

    let compacted = backend
        .store()
        .compact_snapshot(c, updated.snapshot_id, &encoding)
        .await
        .unwrap();
    assert_eq!(compacted.parent_snapshot_id, Some(updated.snapshot_id));
    assert_eq!(compacted.vector_count, 99);
    assert!(!kinds(&compacted).contains(&Tombstones));
    // The untouched full parts and the update's own part are reused as they are; the two
    // touched parts' 47 live documents are written again, in parts of 25.
    assert_eq!(
        compacted.parts[..3],
        [
            base.parts[2].clone(),
            base.parts[3].clone(),
            updated.parts[5].clone()
        ]
    );
    let rows: Vec<u64> = compacted.parts[3..].iter().map(|p| p.rows).collect();
    assert_eq!(rows, [25, 22]);
    assert!(compacted.parts.iter().all(|p| p.index.is_some()));
    // Nothing hidden is stored any more.
    let stored: u64 = compacted.parts.iter().map(|p| p.rows).sum();
    assert_eq!(stored, compacted.vector_count);
    assert_eq!(
        content(&backend, c, compacted.snapshot_id).await,
        content(&backend, c, updated.snapshot_id).await
    );

    // Compact already: the snapshot itself comes back, and nothing is written.
    let files = keys_under(&backend, "").await;
    let again = backend
        .store()
        .compact_snapshot(c, compacted.snapshot_id, &encoding)
        .await
        .unwrap();
    assert_eq!(again, compacted);
    assert_eq!(keys_under(&backend, "").await, files);

    // The chain it came from can go: the compacted snapshot holds on its own.
    for id in [base.snapshot_id, updated.snapshot_id] {
        backend.store().delete_snapshot(c, id).await.unwrap();
    }
    backend.store().gc(Duration::ZERO).await.unwrap();
    backend
        .store()
        .verify_snapshot(c, compacted.snapshot_id)
        .await
        .unwrap();
    only_named_files(&backend, c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_compacts_itself_once_tombstones_hide_enough() {
    let store = TestStore::fs();
    let backend = backend(&store, 15);
    let c = collection();
    let old = docs(100, 8, 2);
    let base = backend
        .snapshotter()
        .create_snapshot(c, old.clone())
        .await
        .unwrap();
    // 10 of 110 stored rows hidden (9%): left as it is.
    let first = update(&backend, c, base, changed(&old[..10]), Vec::new()).await;
    assert!(kinds(&first).contains(&PartKind::Tombstones));
    // 20 of 120 (17%): compacted as it is created, its tombstone part never committed.
    let second = update(
        &backend,
        c,
        first.snapshot_id,
        changed(&old[50..60]),
        Vec::new(),
    )
    .await;
    assert_eq!(second.parent_snapshot_id, Some(first.snapshot_id));
    assert!(!kinds(&second).contains(&PartKind::Tombstones));
    let stored: u64 = second.parts.iter().map(|p| p.rows).sum();
    assert_eq!((stored, second.vector_count), (100, 100));
    let mut expected = [
        changed(&old[..10]),
        old[10..50].to_vec(),
        changed(&old[50..60]),
    ]
    .concat();
    expected.extend_from_slice(&old[60..]);
    expected.sort_by_key(|d| d.document_id);
    assert_eq!(content(&backend, c, second.snapshot_id).await, expected);
    backend.store().gc(Duration::ZERO).await.unwrap();
    only_named_files(&backend, c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_without_an_id_index_are_read_whole_and_rewritten_with_one() {
    let store = TestStore::fs();
    let backend = backend(&store, 0);
    let (c, encoding) = (collection(), backend.encoding());
    let old = docs(60, 8, 3);
    let written = backend
        .snapshotter()
        .create_snapshot(c, old.clone())
        .await
        .unwrap();
    let written = backend.store().metadata(c, written).await.unwrap();
    // The same parts as a snapshot written before id indexes: a manifest without them.
    let bare: Vec<PartEntry> = (written.parts.iter().cloned())
        .map(|mut p| {
            p.index = None;
            p
        })
        .collect();
    let header = SnapshotHeader::new(
        c,
        SnapshotId::from_uuid(uuid::Uuid::now_v7()),
        written.created_at,
    );
    let imported =
        SnapshotMetadata::manifest(&header, written.compression, written.dimension, bare, None)
            .unwrap();
    let marker = format!("snapshots/{c}/{}.metadata.json", imported.snapshot_id);
    let op = backend.store().operator().clone();
    op.write(&marker, imported.to_json().unwrap())
        .await
        .unwrap();

    // A full export on it reads its parts whole to learn its content.
    let mut export = old[1..].to_vec();
    export[0].vector[1] = -1.0;
    let exported = backend
        .store()
        .try_create_on_stream(
            c,
            imported.snapshot_id,
            Change::Export,
            &encoding,
            stream::iter([Ok::<_, std::io::Error>(export.clone())]),
        )
        .await
        .unwrap();
    assert_eq!(
        exported.parts.last().unwrap().rows,
        1,
        "only the changed one"
    );
    export.sort_by_key(|d| d.document_id);
    assert_eq!(content(&backend, c, exported.snapshot_id).await, export);

    // Compaction cannot tell which of them tombstones touch: it rewrites them all, with indexes.
    let compacted = backend
        .store()
        .compact_snapshot(c, exported.snapshot_id, &encoding)
        .await
        .unwrap();
    assert!(compacted.parts.iter().all(|p| p.index.is_some()));
    assert_eq!(content(&backend, c, compacted.snapshot_id).await, export);
}

#[tokio::test]
async fn what_cannot_be_compacted_is_refused_and_nothing_is_left() {
    let store = TestStore::fs();
    let backend = backend(&store, 0);
    let c = collection();
    let err = backend
        .store()
        .compact_snapshot(
            c,
            SnapshotId::from_uuid(uuid::Uuid::now_v7()),
            &backend.encoding(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    let mut config = store.config();
    config.format_version = 1;
    let v1 = StorageBackend::from_config(config).unwrap();
    let id = v1
        .snapshotter()
        .create_snapshot(c, docs(10, 4, 4))
        .await
        .unwrap();
    let err = backend
        .store()
        .compact_snapshot(c, id, &backend.encoding())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("migrate"), "{err}");
    let err = backend
        .store()
        .compact_snapshot(c, id, &Encoding::Json)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(keys_under(&backend, "pending/").await.is_empty());
    assert!(keys_under(&backend, "parts/").await.is_empty());
}

#[tokio::test]
async fn a_damaged_or_missing_id_index_is_found_and_trusted_by_no_create() {
    let store = TestStore::fs();
    let backend = backend(&store, 0);
    let (c, encoding) = (collection(), backend.encoding());
    let old = docs(30, 4, 5);
    let base = backend
        .snapshotter()
        .create_snapshot(c, old.clone())
        .await
        .unwrap();
    let manifest = backend.store().metadata(c, base).await.unwrap();
    let index = manifest.parts[0].index.clone().unwrap().key;
    let op = backend.store().operator().clone();
    let good = op.read(&index).await.unwrap().to_vec();
    let mut damaged = good.clone();
    damaged[good.len() / 2] ^= 0x10;
    let export = || stream::iter([Ok::<_, std::io::Error>(old[1..].to_vec())]);
    for bytes in [Some(damaged), None] {
        match bytes {
            Some(bytes) => drop(op.write(&index, bytes).await.unwrap()),
            None => op.delete(&index).await.unwrap(),
        }
        let err = backend.store().verify_snapshot(c, base).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
        assert!(err.to_string().contains(&index), "{err}");
        let err = backend
            .store()
            .try_create_on_stream(c, base, Change::Export, &encoding, export())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
        assert_eq!(backend.store().list_snapshots(c).await.unwrap().len(), 1);
    }
    op.write(&index, good).await.unwrap();
    backend.store().verify_snapshot(c, base).await.unwrap();
}
