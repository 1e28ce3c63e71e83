//! Many writers, one snapshot: begin, a create per shard (concurrently), commit; commit refuses
//! missing shards and shards that disagree; abort discards; gc keeps a young pending snapshot's
//! parts and removes an abandoned one.

mod support;

use std::time::Duration;

use akidb_snapshot::codec::{CollectionId, SnapshotId, VectorDocument};
use akidb_snapshot::{ErrorKind, ShardReceipt, StorageBackend};
use futures::stream;
use support::{TestStore, collection, docs, keys_under};

fn backend(store: &TestStore) -> StorageBackend {
    let mut config = store.config();
    config.part_rows = 300;
    StorageBackend::from_config(config).unwrap()
}

async fn write_shard(
    backend: &StorageBackend,
    c: CollectionId,
    s: SnapshotId,
    shard: &str,
    docs: &[VectorDocument],
) -> akidb_snapshot::Result<ShardReceipt> {
    let batches = stream::iter(
        docs.chunks(250)
            .map(|d| Ok::<_, std::io::Error>(d.to_vec())),
    );
    backend
        .store()
        .try_create_shard_stream(c, s, shard.parse().unwrap(), &backend.encoding(), batches)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_written_by_many_writers_commit_as_one_snapshot() {
    for store in TestStore::all() {
        let backend = backend(&store);
        let c = collection();
        let s = backend.store().begin_snapshot(c, 3).await.unwrap();
        let inputs = [docs(700, 8, 1), docs(500, 8, 2), docs(300, 8, 3)];

        // Shards 0 and 2 at once; the snapshot does not exist yet.
        let (zero, two) = tokio::join!(
            write_shard(&backend, c, s, "0/3", &inputs[0]),
            write_shard(&backend, c, s, "2/3", &inputs[2]),
        );
        assert_eq!(
            zero.unwrap().parts.len(),
            3,
            "700 documents in parts of 300"
        );
        assert_eq!(two.unwrap().vector_count, 300);
        assert!(backend.store().list_snapshots(c).await.unwrap().is_empty());
        let err = backend.store().commit_snapshot(c, s).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
        assert!(err.to_string().contains("shard(s) 1 of 3"), "{err}");

        write_shard(&backend, c, s, "1/3", &inputs[1])
            .await
            .unwrap();
        let manifest = backend.store().commit_snapshot(c, s).await.unwrap();
        assert_eq!((manifest.snapshot_id, manifest.vector_count), (s, 1_500));
        assert_eq!(manifest.parts.len(), 3 + 2 + 1);
        let restored = backend.snapshotter().restore_snapshot(c, s).await.unwrap();
        assert_eq!(restored, inputs.concat(), "{}: shard 0's first", store.name);
        assert_eq!(backend.store().list_snapshots(c).await.unwrap().len(), 1);
        // The records stay for gc, which removes them once older than its grace period.
        assert!(
            !keys_under(&backend, "pending/").await.is_empty(),
            "{}",
            store.name
        );
        let again = backend.store().commit_snapshot(c, s).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{again}");
        let err = backend.store().abort_snapshot(c, s).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        backend.store().gc(std::time::Duration::ZERO).await.unwrap();
        assert!(keys_under(&backend, "pending/").await.is_empty());
        assert_eq!(
            backend
                .snapshotter()
                .restore_snapshot(c, s)
                .await
                .unwrap()
                .len(),
            1_500,
            "{}: abort and gc left the committed parts",
            store.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_that_do_not_fit_are_refused() {
    let backend = backend(&TestStore::memory());
    let c = collection();
    let s = backend.store().begin_snapshot(c, 2).await.unwrap();

    let err = write_shard(&backend, c, s, "0/3", &docs(10, 8, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("begun with 2 shards"), "{err}");
    let unknown = SnapshotId::from_uuid(uuid::Uuid::now_v7());
    let err = write_shard(&backend, c, unknown, "0/2", &docs(10, 8, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    write_shard(&backend, c, s, "0/2", &docs(10, 8, 1))
        .await
        .unwrap();
    let err = write_shard(&backend, c, s, "0/2", &docs(10, 8, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    write_shard(&backend, c, s, "1/2", &docs(10, 16, 2))
        .await
        .unwrap();
    let err = backend.store().commit_snapshot(c, s).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("dimension 16"), "{err}");
    assert!(backend.store().list_snapshots(c).await.unwrap().is_empty());

    // Abort discards the parts and the records; nothing is left to commit.
    backend.store().abort_snapshot(c, s).await.unwrap();
    assert!(keys_under(&backend, "").await.is_empty());
    let err = backend.store().commit_snapshot(c, s).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = backend.store().begin_snapshot(c, 0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_keeps_a_young_pending_snapshot_and_removes_an_abandoned_one() {
    let backend = backend(&TestStore::fs());
    let c = collection();
    let s = backend.store().begin_snapshot(c, 2).await.unwrap();
    let receipt = write_shard(&backend, c, s, "0/2", &docs(400, 8, 1))
        .await
        .unwrap();
    assert_eq!(receipt.parts.len(), 2);

    // Young: nothing of it goes, even with parts no manifest names.
    let removed = backend.store().gc(Duration::from_secs(3600)).await.unwrap();
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(
        keys_under(&backend, "parts/").await.len(),
        4,
        "two parts and their id indexes"
    );

    // Abandoned (older than a grace of 0): its records and parts go, and it cannot commit.
    let mut removed = backend.store().gc(Duration::ZERO).await.unwrap();
    removed.sort();
    assert_eq!(
        removed.len(),
        6,
        "begin, one receipt, two parts, their indexes: {removed:?}"
    );
    assert!(keys_under(&backend, "").await.is_empty());
    let err = backend.store().commit_snapshot(c, s).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}
