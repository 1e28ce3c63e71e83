//! Copies of snapshots to another store: whole and verified at the destination, incremental,
//! resumable, refusing a damaged source, and never writing to the source.

mod support;

use akidb_snapshot::codec::{CollectionId, MasterKey, SnapshotId};
use akidb_snapshot::{ErrorKind, StorageBackend, StorageBackendConfig};
use futures::TryStreamExt;
use support::{TestStore, collection, contents, docs, keys_under, update};

/// A source store of `part_rows`-row parts.
fn source(part_rows: u64) -> (TestStore, StorageBackend) {
    let store = TestStore::fs();
    let mut config = store.config();
    config.part_rows = part_rows;
    config.auto_compact_percent = 0;
    let backend = StorageBackend::from_config(config).unwrap();
    (store, backend)
}

/// A source store of one snapshot of 1,000 documents (from `seed`) in parts of 400, its id,
/// and the keys of its parts and their id indexes.
async fn one_snapshot(
    seed: u64,
) -> (
    TestStore,
    StorageBackend,
    CollectionId,
    SnapshotId,
    Vec<String>,
) {
    let (dir, from) = source(400);
    let c = collection();
    let id = from
        .snapshotter()
        .create_snapshot(c, docs(1_000, 8, seed))
        .await
        .unwrap();
    let parts = keys_under(&from, "parts/").await;
    (dir, from, c, id, parts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_to_every_kind_of_store_restores_and_verifies_there() {
    let (_dir, from, c, id, _) = one_snapshot(1).await;
    let input = docs(1_000, 8, 1);
    let before = contents(&from).await;
    for s in TestStore::all() {
        let to = s.backend();
        let copied = from.store().copy_snapshot(c, id, to.store()).await.unwrap();
        // Three parts and their id indexes.
        assert_eq!(
            (
                copied.files_copied,
                copied.files_present,
                copied.already_committed
            ),
            (6, 0, false),
            "{}",
            s.name
        );
        let verified = to.store().verify_snapshot(c, id).await.unwrap();
        assert_eq!(verified, from.store().metadata(c, id).await.unwrap());
        assert_eq!(
            to.snapshotter().restore_snapshot(c, id).await.unwrap(),
            input,
            "{}",
            s.name
        );
        let again = from.store().copy_snapshot(c, id, to.store()).await.unwrap();
        assert!(again.already_committed, "{}", s.name);
        assert_eq!((again.files_copied, again.bytes_copied), (0, 0));
    }
    assert_eq!(contents(&from).await, before, "the source is never written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_snapshot_copies_only_the_parts_the_destination_lacks() {
    let (_dir, from) = source(500);
    let c = collection();
    let base = from
        .snapshotter()
        .create_snapshot(c, docs(1_000, 8, 2))
        .await
        .unwrap();
    let changed = update(&from, c, base, docs(10, 8, 3), Vec::new())
        .await
        .unwrap();
    let to = TestStore::s3().backend();
    let mut seen = Vec::new();
    let copied = from
        .store()
        .copy_collection(c, to.store(), |one| seen.push(one.snapshot_id))
        .await
        .unwrap();
    assert_eq!(seen, [base, changed.snapshot_id], "oldest first");
    // The base: two parts and their indexes. The update: one new part and its index; the
    // base's four files are there already.
    assert_eq!((copied[0].files_copied, copied[0].files_present), (4, 0));
    assert_eq!((copied[1].files_copied, copied[1].files_present), (2, 4));
    assert_eq!(
        copied[1].bytes_copied,
        changed.parts[2].size_bytes + changed.parts[2].index.as_ref().unwrap().size_bytes
    );
    assert_eq!(
        to.snapshotter()
            .restore_snapshot(c, changed.snapshot_id)
            .await
            .unwrap(),
        from.snapshotter()
            .restore_snapshot(c, changed.snapshot_id)
            .await
            .unwrap()
    );
    // No part twice: the destination holds exactly the source's parts.
    assert_eq!(
        keys_under(&to, "parts/").await,
        keys_under(&from, "parts/").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_keeps_what_is_whole_and_replaces_what_is_damaged() {
    let (_dir, from, c, id, parts) = one_snapshot(4).await;
    let to = TestStore::fs().backend();
    // An interrupted run left two files whole and one cut short.
    let op = from.store().operator();
    for key in &parts[..2] {
        support::put(
            to.store().operator(),
            key,
            &op.read(key).await.unwrap().to_vec(),
        )
        .await;
    }
    let cut = op.read(&parts[2]).await.unwrap().to_vec();
    support::put(to.store().operator(), &parts[2], &cut[..cut.len() / 2]).await;
    assert!(to.store().list_snapshots(c).await.unwrap().is_empty());

    let copied = from.store().copy_snapshot(c, id, to.store()).await.unwrap();
    assert_eq!((copied.files_copied, copied.files_present), (4, 2));
    to.store().verify_snapshot(c, id).await.unwrap();
    assert_eq!(keys_under(&to, "parts/").await, parts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_source_commits_nothing_at_the_destination() {
    let (_dir, from, c, id, parts) = one_snapshot(5).await;
    let op = from.store().operator();
    let mut damaged = op.read(&parts[3]).await.unwrap().to_vec();
    damaged[100] ^= 0x20;
    op.delete(&parts[3]).await.unwrap();
    support::put(op, &parts[3], &damaged).await;

    let to = TestStore::fs().backend();
    let err = from
        .store()
        .copy_snapshot(c, id, to.store())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    assert!(err.to_string().contains(&parts[3]), "{err}");
    assert!(to.store().list_snapshots(c).await.unwrap().is_empty());
    assert!(
        !to.store().operator().exists(&parts[3]).await.unwrap(),
        "the bad copy does not stay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_commit_marker_at_the_destination_is_left_alone() {
    let (_dir, from, c, id, _) = one_snapshot(6).await;
    let to = TestStore::fs().backend();
    let marker = format!("snapshots/{c}/{id}.metadata.json");
    let mut other = from.store().metadata(c, id).await.unwrap();
    other.vector_count += 1;
    let other = other.to_json().unwrap();
    support::put(to.store().operator(), &marker, &other).await;
    let err = from
        .store()
        .copy_snapshot(c, id, to.store())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    assert_eq!(
        to.store().operator().read(&marker).await.unwrap().to_vec(),
        other
    );
    // A v1 snapshot's metadata holds no hash of itself: one that says otherwise is another
    // snapshot under the same id, not damage.
    let v1_store = TestStore::fs();
    let mut config = v1_store.config();
    config.format_version = 1;
    let v1 = StorageBackend::from_config(config).unwrap();
    let old = v1
        .snapshotter()
        .create_snapshot(c, docs(10, 8, 6))
        .await
        .unwrap();
    let mut other = v1.store().metadata(c, old).await.unwrap();
    other.vector_count += 1;
    let marker = format!("snapshots/{c}/{old}.metadata.json");
    support::put(to.store().operator(), &marker, &other.to_json().unwrap()).await;
    let err = v1
        .store()
        .copy_snapshot(c, old, to.store())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");

    let missing = SnapshotId::from_uuid(uuid::Uuid::now_v7());
    let err = from
        .store()
        .copy_snapshot(c, missing, to.store())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_snapshot_is_copied_as_stored_without_its_key() {
    let key = MasterKey::from_hex("offsite", &"5c".repeat(32)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let from = StorageBackend::from_config(StorageBackendConfig::with_uri(format!(
        "file://{}",
        dir.path().display()
    )))
    .unwrap();
    let writer = akidb_snapshot::SnapshotStore::new(from.store().operator().clone())
        .with_encryption(key.clone());
    let c = collection();
    let input = docs(100, 8, 7);
    let created = writer
        .create_snapshot_stream(c, &from.encoding(), futures::stream::iter([input.clone()]))
        .await
        .unwrap();
    // Neither side has the key.
    let to = TestStore::azure().backend();
    from.store()
        .copy_snapshot(c, created.snapshot_id, to.store())
        .await
        .unwrap();
    let keyed =
        akidb_snapshot::SnapshotStore::new(to.store().operator().clone()).with_encryption(key);
    let restored: Vec<_> = keyed
        .restore_snapshot_stream(c, created.snapshot_id)
        .await
        .unwrap()
        .try_concat()
        .await
        .unwrap();
    assert_eq!(restored, input);
}
