//! Appends: a snapshot made of another's parts and new ones. The base's parts are reused, not
//! rewritten; a document already in the base is refused; and an append racing a delete of its
//! base and a gc never leaves a listed snapshot that cannot be restored (DESIGN.md, "Format
//! v2": a create that reuses parts records them under `pending/` before it relies on them).

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use akidb_snapshot::codec::{CollectionId, PartKind, SnapshotId, VectorDocument};
use akidb_snapshot::{Change, Error, ErrorKind, StorageBackend, StorageBackendConfig};
use futures::stream;
use opendal::{Operator, services};
use support::faults::{Fault, FaultLayer, Faults, Op};
use support::{TestStore, collection, docs, keys_under, random, update};

/// A backend on `store` writing parts of 25 documents.
fn backend(store: &TestStore) -> StorageBackend {
    let mut config = store.config();
    config.part_rows = 25;
    StorageBackend::from_config(config).unwrap()
}

/// A snapshot of `old` on `backend`.
async fn create(backend: &StorageBackend, c: CollectionId, old: &[VectorDocument]) -> SnapshotId {
    backend
        .snapshotter()
        .create_snapshot(c, old.to_vec())
        .await
        .unwrap()
}

async fn append(
    backend: &StorageBackend,
    c: CollectionId,
    base: SnapshotId,
    new: Vec<VectorDocument>,
) -> Result<akidb_snapshot::codec::SnapshotMetadata, Error> {
    backend
        .store()
        .try_create_on_stream(
            c,
            base,
            Change::Append,
            &backend.encoding(),
            stream::iter([Ok::<_, std::io::Error>(new)]),
        )
        .await
}

#[tokio::test]
async fn an_append_reuses_the_base_parts_and_writes_only_the_new_documents() {
    for store in TestStore::all() {
        let name = store.name;
        let backend = backend(&store);
        let c = collection();
        let old = docs(60, 8, 1);
        let base = create(&backend, c, &old).await;
        let base_parts = backend.store().metadata(c, base).await.unwrap().parts;
        assert_eq!(base_parts.len(), 3, "{name}");
        let new = docs(30, 8, 2);

        let appended = append(&backend, c, base, new.clone()).await.unwrap();
        assert_eq!(appended.parent_snapshot_id, Some(base), "{name}");
        assert_eq!(appended.vector_count, 90, "{name}");
        assert_eq!(
            appended.parts[..3],
            base_parts[..],
            "{name}: reused as they are"
        );
        assert_eq!(appended.parts.len(), 5, "{name}");
        let id = appended.snapshot_id;
        let restored = backend.snapshotter().restore_snapshot(c, id).await.unwrap();
        assert_eq!(restored, [old.clone(), new.clone()].concat(), "{name}");

        // Once the base is deleted and gc has run, the append still holds every part.
        backend.store().delete_snapshot(c, base).await.unwrap();
        backend.store().gc(Duration::ZERO).await.unwrap();
        backend.store().verify_snapshot(c, id).await.unwrap();
        assert!(keys_under(&backend, "pending/").await.is_empty(), "{name}");
        // Each data part has its id index beside it, and nothing else is left.
        let named: std::collections::BTreeSet<String> = (appended.parts.iter())
            .flat_map(|p| p.keys().map(str::to_owned))
            .collect();
        assert_eq!(named.len(), 10, "{name}");
        let stored = keys_under(&backend, &format!("parts/{c}/")).await;
        assert_eq!(
            stored
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>(),
            named,
            "{name}"
        );
    }
}

#[tokio::test]
async fn what_an_append_cannot_build_on_is_refused_and_nothing_is_left() {
    let store = TestStore::fs();
    let backend = backend(&store);
    let c = collection();
    let old = docs(60, 8, 1);
    let base = create(&backend, c, &old).await;
    let parts_before = keys_under(&backend, "parts/").await;

    // A document of the base again, named by its position in the input.
    let mut new = docs(30, 8, 2);
    new[17] = old[40].clone();
    let err = append(&backend, c, base, new).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("document #17") && text.contains("is in base snapshot"),
        "{text}"
    );
    // Another dimension.
    let err = append(&backend, c, base, docs(5, 4, 3)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("dimension 4"), "{err}");
    // No such base.
    let missing = SnapshotId::from_uuid(uuid::Uuid::now_v7());
    let err = append(&backend, c, missing, docs(5, 8, 3))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(backend.store().list_snapshots(c).await.unwrap().len(), 1);
    assert_eq!(keys_under(&backend, "parts/").await, parts_before);
    assert!(keys_under(&backend, "pending/").await.is_empty());

    // A format v1 base has no parts to share.
    let mut config = store.config();
    config.format_version = 1;
    let v1 = StorageBackend::from_config(config).unwrap();
    let one_file = create(&v1, c, &old).await;
    let err = append(&backend, c, one_file, docs(5, 8, 3))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("snapshot migrate"), "{err}");
    let err = append(&v1, c, base, docs(5, 8, 3)).await.unwrap_err();
    assert!(err.to_string().contains("format v2 parts"), "{err}");
}

/// Sets the modification time of every file under `dir` to `age` ago.
fn age_files(dir: &Path, age: Duration) {
    let when = SystemTime::now() - age;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(when).unwrap();
    }
}

/// The race of the issue: an append builds on snapshot B while B is deleted and gc runs, with
/// transient store faults (retried) shifting every step, many times. B's parts are made older
/// than gc's grace period, so only the append's pending record can keep them; the append's own
/// new parts are young. After each round every listed snapshot verifies, and an append that
/// succeeded restores to B's documents and its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_racing_a_delete_of_their_base_and_gc_never_lose_a_listed_snapshot() {
    const ROUNDS: u64 = 40;
    const GRACE: Duration = Duration::from_secs(3600);
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults::new(Vec::new());
    let op = Operator::new(services::Fs::default().root(dir.path().to_str().unwrap()))
        .unwrap()
        .layer(FaultLayer(Arc::clone(&faults)));
    let mut config = StorageBackendConfig::with_uri(format!("file://{}", dir.path().display()));
    config.part_rows = 25;
    config.retry.min_delay_ms = 1;
    config.retry.max_delay_ms = 3;
    let backend = StorageBackend::with_operator(op, config).unwrap();
    let c = collection();
    let mut next = random(7);
    let mut outcomes = [0usize; 2];
    for round in 0..ROUNDS {
        let old = docs(60, 8, 100 + round);
        let base = create(&backend, c, &old).await;
        age_files(&dir.path().join(format!("parts/{c}")), 2 * GRACE);
        let ops = [Op::Stat, Op::Read, Op::List, Op::Write, Op::Delete];
        faults.add((0..3).map(|_| Fault::transient(ops[next() as usize % ops.len()], 1)));
        let delays: Vec<Duration> = (0..3)
            .map(|_| Duration::from_micros(next() % 4_000))
            .collect();
        let new = docs(10, 8, 1_000 + round);

        let appending = {
            let (backend, new, delay) = (backend.clone(), new.clone(), delays[0]);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                append(&backend, c, base, new).await
            })
        };
        let deleting = {
            let (backend, delay) = (backend.clone(), delays[1]);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                backend.store().delete_snapshot(c, base).await
            })
        };
        let collecting = {
            let (backend, delay) = (backend.clone(), delays[2]);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                backend.store().gc(GRACE).await
            })
        };
        let appended = appending.await.unwrap();
        deleting.await.unwrap().unwrap();
        collecting.await.unwrap().unwrap();
        faults.heal();

        match &appended {
            Ok(m) => {
                outcomes[0] += 1;
                let restored = backend
                    .snapshotter()
                    .restore_snapshot(c, m.snapshot_id)
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: the append is damaged: {e}"));
                assert_eq!(restored, [old, new].concat(), "round {round}");
            }
            // The delete came first: the append refuses, having relied on nothing.
            Err(Error::NotFound { .. }) => outcomes[1] += 1,
            Err(e) => panic!("round {round}: {e}"),
        }
        backend.store().gc(GRACE).await.unwrap();
        for m in backend.store().list_snapshots(c).await.unwrap() {
            backend
                .store()
                .verify_snapshot(c, m.snapshot_id)
                .await
                .unwrap_or_else(|e| panic!("round {round}: a listed snapshot is damaged: {e}"));
        }
    }
    // Both orders happened: the race was run, not one side of it every time.
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
    support::record(
        "append-race",
        &format!(
            "{ROUNDS} rounds: {} appends committed, {} found their base deleted",
            outcomes[0], outcomes[1]
        ),
    );
}

#[tokio::test]
async fn an_update_writes_tombstones_and_the_upserts_only() {
    for store in [TestStore::memory(), TestStore::fs()] {
        let name = store.name;
        let backend = backend(&store);
        let c = collection();
        let old = docs(60, 8, 1);
        let base = create(&backend, c, &old).await;
        let base_parts = backend.store().metadata(c, base).await.unwrap().parts;
        let mut upserts = docs(5, 8, 2);
        for at in [10, 40] {
            let mut replaced = old[at].clone();
            replaced.vector = vec![at as f32; 8];
            upserts.push(replaced);
        }
        let unknown = uuid::Uuid::now_v7();
        let deletes = vec![old[3].document_id, old[50].document_id, unknown];

        let updated = update(&backend, c, base, upserts.clone(), deletes)
            .await
            .unwrap();
        assert_eq!(updated.parent_snapshot_id, Some(base), "{name}");
        assert_eq!(updated.vector_count, 60 - 2 + 5, "{name}");
        assert_eq!(updated.parts[..3], base_parts[..], "{name}: reused");
        let kinds: Vec<PartKind> = updated.parts.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                PartKind::Data,
                PartKind::Data,
                PartKind::Data,
                PartKind::Tombstones,
                PartKind::Data
            ],
            "{name}"
        );
        assert_eq!(updated.parts[3].rows, 4, "{name}: 2 replaced, 2 deleted");
        let mut expected: Vec<VectorDocument> = old
            .iter()
            .enumerate()
            .filter(|(i, _)| ![3, 10, 40, 50].contains(i))
            .map(|(_, d)| d.clone())
            .collect();
        expected.extend(upserts);
        let id = updated.snapshot_id;
        let restored = backend.snapshotter().restore_snapshot(c, id).await.unwrap();
        assert_eq!(restored, expected, "{name}");
        backend.store().verify_snapshot(c, id).await.unwrap();

        // Deletes only: the base's parts and a tombstone part.
        let deleted = update(&backend, c, id, Vec::new(), vec![old[0].document_id])
            .await
            .unwrap();
        assert_eq!(deleted.vector_count, 62, "{name}");
        assert_eq!(deleted.parts.len(), 6, "{name}");
        let restored = (backend.snapshotter())
            .restore_snapshot(c, deleted.snapshot_id)
            .await
            .unwrap();
        assert_eq!(restored[..], expected[1..], "{name}");
        // No change at all: a manifest of the base's parts, nothing written.
        let same = update(&backend, c, base, Vec::new(), Vec::new())
            .await
            .unwrap();
        assert_eq!(same.parts, base_parts, "{name}");
    }
}

#[tokio::test]
async fn an_update_refuses_an_id_twice_or_both_upserted_and_deleted() {
    let store = TestStore::memory();
    let backend = backend(&store);
    let c = collection();
    let old = docs(30, 8, 1);
    let base = create(&backend, c, &old).await;
    let parts_before = keys_under(&backend, "parts/").await;
    let new = docs(3, 8, 2);
    let twice = vec![new[0].clone(), new[1].clone(), new[0].clone()];
    let err = update(&backend, c, base, twice, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(
        err.to_string().contains("document #2") && err.to_string().contains("came before"),
        "{err}"
    );
    let both = vec![old[4].clone()];
    let err = update(&backend, c, base, both, vec![old[4].document_id])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("also one to delete"), "{err}");
    assert_eq!(keys_under(&backend, "parts/").await, parts_before);
    assert!(keys_under(&backend, "pending/").await.is_empty());
    assert_eq!(backend.store().list_snapshots(c).await.unwrap().len(), 1);
}
