//! Faults injected under the store's retry layer (support/faults.rs): transient ones are
//! retried until the operation succeeds, permanent ones fail at once with their kind, and ones
//! that outlast the retries fail cleanly, leaving no listed snapshot and losing nothing stored.

mod support;

use std::sync::Arc;
use std::time::Duration;

use akidb_snapshot::codec::{CollectionId, SnapshotId, VectorDocument};
use akidb_snapshot::{Error, ErrorKind, StorageBackend, StorageBackendConfig, StoreFailure};
use opendal::{ErrorKind as StoreKind, Operator, services};
use support::faults::{Fault, FaultLayer, Faults, Op};
use support::{collection, docs, keys_under, record};

const RETRIES: usize = 3;

/// A memory store whose requests pass through `faults`, under the configured retry layer.
fn faulty_backend() -> (StorageBackend, Arc<Faults>) {
    faulty_backend_with(|_| {})
}

/// [`faulty_backend`], its configuration changed by `adjust`.
fn faulty_backend_with(
    adjust: impl FnOnce(&mut StorageBackendConfig),
) -> (StorageBackend, Arc<Faults>) {
    let faults = Faults::new(Vec::new());
    let op = Operator::new(services::Memory::default())
        .unwrap()
        .layer(FaultLayer(Arc::clone(&faults)));
    let mut config = StorageBackendConfig::with_uri("memory://");
    config.retry.max_retries = RETRIES;
    config.retry.min_delay_ms = 1;
    config.retry.max_delay_ms = 5;
    adjust(&mut config);
    (StorageBackend::with_operator(op, config).unwrap(), faults)
}

/// Every key in the store.
async fn keys(backend: &StorageBackend) -> Vec<String> {
    keys_under(backend, "").await
}

async fn create(backend: &StorageBackend, c: CollectionId) -> (SnapshotId, Vec<VectorDocument>) {
    let input = docs(3_000, 32, 7);
    let id = backend
        .snapshotter()
        .create_snapshot(c, input.clone())
        .await
        .unwrap();
    (id, input)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_on_every_operation_are_retried_to_success() {
    let (backend, faults) = faulty_backend();
    let ops = [
        Op::Write,
        Op::Close,
        Op::List,
        Op::Stat,
        Op::Read,
        Op::Delete,
    ];
    faults.add(ops.map(|op| Fault::transient(op, RETRIES)));
    let c = collection();
    let snapshotter = backend.snapshotter();

    let input = docs(3_000, 32, 7);
    let id = snapshotter.create_snapshot(c, input.clone()).await.unwrap();
    let listed = snapshotter.list_snapshots(c).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].snapshot_id, id);
    assert_eq!(snapshotter.restore_snapshot(c, id).await.unwrap(), input);
    snapshotter.delete_snapshot(c, id).await.unwrap();
    assert!(snapshotter.list_snapshots(c).await.unwrap().is_empty());
    // The delete removed the manifest; its part and the part's id index go when gc finds no
    // snapshot naming them.
    assert_eq!(keys(&backend).await.len(), 2);
    backend.store().gc(Duration::ZERO).await.unwrap();
    assert_eq!(keys(&backend).await, Vec::<String>::new());

    for op in ops {
        assert_eq!(
            faults.struck(op),
            RETRIES,
            "{op:?}: every planned fault struck"
        );
    }
    let figures = format!(
        "{} transient faults injected, all retried to success",
        faults.total()
    );
    record("faults-transient", &figures);
}

/// What a test asks of the store, expecting it to fail.
#[derive(Debug, Clone, Copy)]
enum Action {
    Create,
    Restore,
    List,
    Delete,
}

impl Action {
    async fn fail(self, b: &StorageBackend, c: CollectionId, s: SnapshotId) -> Error {
        let snapshotter = b.snapshotter();
        match self {
            Action::Create => snapshotter.create_snapshot(c, docs(10, 4, 1)).await.err(),
            Action::Restore => snapshotter.restore_snapshot(c, s).await.err(),
            Action::List => snapshotter.list_snapshots(c).await.err(),
            Action::Delete => snapshotter.delete_snapshot(c, s).await.err(),
        }
        .unwrap_or_else(|| panic!("{self:?} succeeded"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_faults_fail_at_once_with_their_kind() {
    use StoreKind::{NotFound, PermissionDenied};
    let cases = [
        (
            Fault::permanent(Op::Write, PermissionDenied),
            ErrorKind::Storage,
            Action::Create,
        ),
        (
            Fault::permanent(Op::Close, PermissionDenied),
            ErrorKind::Storage,
            Action::Create,
        ),
        (
            Fault::permanent(Op::Read, PermissionDenied),
            ErrorKind::Storage,
            Action::Restore,
        ),
        (
            Fault::permanent(Op::Read, NotFound).on("metadata"),
            ErrorKind::NotFound,
            Action::Restore,
        ),
        (
            Fault::permanent(Op::Stat, PermissionDenied),
            ErrorKind::Storage,
            Action::Restore,
        ),
        (
            Fault::permanent(Op::List, PermissionDenied),
            ErrorKind::Storage,
            Action::List,
        ),
        (
            Fault::permanent(Op::Delete, PermissionDenied),
            ErrorKind::Storage,
            Action::Delete,
        ),
    ];
    let tried = cases.len();
    for (fault, kind, action) in cases {
        let what = format!("{:?} {:?}", fault.op, fault.kind);
        let (backend, faults) = faulty_backend();
        let c = collection();
        let (id, input) = create(&backend, c).await;
        let op = fault.op;
        faults.add([fault]);

        let err = action.fail(&backend, c, id).await;
        assert_eq!(err.kind(), kind, "{what}: {err}");
        assert_eq!(faults.struck(op), 1, "{what}: not retried");
        if kind == ErrorKind::Storage {
            assert!(err.to_string().contains("injected fault"), "{what}: {err}");
            // opendal's kind stays distinguishable: a refusal is not a network failure.
            assert!(
                matches!(
                    err,
                    Error::Storage {
                        failure: StoreFailure::PermissionDenied,
                        ..
                    }
                ),
                "{what}: {err:?}"
            );
        }

        faults.heal();
        let listed = backend.snapshotter().list_snapshots(c).await.unwrap();
        let ids: Vec<_> = listed.iter().map(|m| m.snapshot_id).collect();
        assert_eq!(
            ids,
            [id],
            "{what}: the store holds the one committed snapshot"
        );
        let restored = backend.snapshotter().restore_snapshot(c, id).await.unwrap();
        assert_eq!(restored, input, "{what}: nothing stored was lost");
    }
    let figures = format!("{tried} permanent faults, each failed at once, not retried");
    record("faults-permanent", &figures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_outlasting_the_retries_leave_no_listed_snapshot() {
    let mut injected = 0;
    let cases = [
        (Op::Write, ".parquet"),
        (Op::Close, ".parquet"),
        (Op::Write, "metadata.json"),
        (Op::Close, "metadata.json"),
    ];
    for (op, key) in cases {
        let (backend, faults) = faulty_backend();
        faults.add([Fault::transient(op, usize::MAX).on(key)]);
        let c = collection();

        let err = backend
            .snapshotter()
            .create_snapshot(c, docs(3_000, 32, 7))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage, "{op:?} {key}: {err}");
        assert!(err.to_string().contains(key), "names the key: {err}");
        assert!(
            matches!(
                err,
                Error::Storage {
                    failure: StoreFailure::Unexpected,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(faults.struck(op), 1 + RETRIES, "{op:?} {key}");

        faults.heal();
        assert!(
            backend
                .snapshotter()
                .list_snapshots(c)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            keys(&backend).await,
            Vec::<String>::new(),
            "{key}: nothing left over"
        );
        create(&backend, c).await;
        injected += faults.total();
    }
    let figures = format!(
        "{} creates failed by {injected} outlasting faults, 0 snapshots listed, 0 files left",
        cases.len()
    );
    record("faults-outlasting", &figures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_reads_lists_and_deletes_lose_nothing() {
    // Format v1, whose delete removes the data file itself (a v2 delete leaves parts to gc).
    let (backend, faults) = faulty_backend_with(|config| config.format_version = 1);
    let snapshotter = backend.snapshotter();
    let c = collection();
    let (id, input) = create(&backend, c).await;

    // A read that keeps failing is a store error, never corruption and never partial data.
    faults.add([Fault::transient(Op::Read, usize::MAX).on(".parquet")]);
    let err = snapshotter.restore_snapshot(c, id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert_eq!(faults.struck(Op::Read), 1 + RETRIES);

    // A listing that keeps failing is an error, not an empty collection.
    faults.add([Fault::transient(Op::List, usize::MAX)]);
    let err = snapshotter.list_snapshots(c).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");

    faults.heal();
    assert_eq!(snapshotter.restore_snapshot(c, id).await.unwrap(), input);

    // The metadata file goes first, so a data file that cannot be removed is an orphan for gc,
    // never a listed snapshot without its data; the snapshot is deleted, and says so.
    faults.add([Fault::transient(Op::Delete, usize::MAX).on(".parquet")]);
    snapshotter.delete_snapshot(c, id).await.unwrap();
    assert_eq!(faults.struck(Op::Delete), 1 + RETRIES);
    faults.heal();
    assert_eq!(
        snapshotter.delete_snapshot(c, id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(snapshotter.list_snapshots(c).await.unwrap().is_empty());
    let removed = backend.store().gc(Duration::ZERO).await.unwrap();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(keys(&backend).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gc_that_cannot_remove_a_part_fails_and_loses_nothing_live() {
    let (backend, faults) = faulty_backend();
    let snapshotter = backend.snapshotter();
    let c = collection();
    let (gone, _) = create(&backend, c).await;
    let (kept, input) = create(&backend, c).await;
    snapshotter.delete_snapshot(c, gone).await.unwrap();

    faults.add([Fault::transient(Op::Delete, usize::MAX).on("parts/")]);
    let err = backend.store().gc(Duration::ZERO).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    faults.heal();
    assert_eq!(snapshotter.restore_snapshot(c, kept).await.unwrap(), input);
    let removed = backend.store().gc(Duration::ZERO).await.unwrap();
    assert_eq!(removed.len(), 2, "a part and its index: {removed:?}");
    assert!(
        (removed.iter()).all(|key| key.starts_with(&format!("parts/{c}/"))),
        "{removed:?}"
    );
    assert_eq!(snapshotter.restore_snapshot(c, kept).await.unwrap(), input);
}

/// The commit lands but is reported failed (a reply lost, or a retry that then found the
/// file there): the snapshot is committed, so the create succeeds and its data file stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_landed_but_reported_failure_still_commits() {
    let (backend, faults) = faulty_backend();
    let lost_reply = Fault::permanent(Op::Close, StoreKind::Unexpected)
        .on("metadata.json")
        .times(1)
        .after_success();
    faults.add([lost_reply]);
    let c = collection();
    let (id, input) = create(&backend, c).await;
    assert_eq!(faults.struck(Op::Close), 1);
    assert_eq!(
        backend.snapshotter().restore_snapshot(c, id).await.unwrap(),
        input
    );
    assert_eq!(
        backend
            .store()
            .verify_snapshot(c, id)
            .await
            .unwrap()
            .snapshot_id,
        id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_fails_while_others_are_in_flight_leaves_nothing() {
    let (backend, faults) = faulty_backend_with(|config| {
        config.part_rows = 500;
        config.concurrency = Some(3);
    });
    // The first part's upload cannot complete; by then the next parts are being written.
    faults.add([Fault::permanent(Op::Close, StoreKind::PermissionDenied)
        .on("parts/")
        .times(1)]);
    let c = collection();
    let err = backend
        .snapshotter()
        .create_snapshot(c, docs(3_000, 32, 7))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(err.to_string().contains("parts/"), "names the part: {err}");
    assert_eq!(faults.struck(Op::Close), 1);
    faults.heal();
    assert!(
        backend
            .snapshotter()
            .list_snapshots(c)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(keys(&backend).await, Vec::<String>::new());
}
