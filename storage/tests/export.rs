//! A full export compared with its base (`Change::Export`): it reads no vector of the base, only
//! its id indexes; it makes the same snapshot as the same change given as upserts and deletes;
//! and what it refuses leaves nothing.

mod support;

use std::sync::Arc;

use akidb_snapshot::codec::{CollectionId, PartKind, SnapshotId, SnapshotMetadata, VectorDocument};
use akidb_snapshot::{Change, Error, ErrorKind, StorageBackend, StorageBackendConfig};
use futures::stream;
use opendal::{Operator, services};
use support::faults::{Fault, FaultLayer, Faults, Op};
use support::{collection, docs, keys_under};

/// A memory store behind the fault layer, in parts of 25, compacting never by itself.
fn backend() -> (StorageBackend, Arc<Faults>) {
    let faults = Faults::new(Vec::new());
    let op = Operator::new(services::Memory::default())
        .unwrap()
        .layer(FaultLayer(Arc::clone(&faults)));
    let mut config = StorageBackendConfig::with_uri("memory://");
    config.part_rows = 25;
    config.auto_compact_percent = 0;
    config.retry.max_retries = 0;
    (StorageBackend::with_operator(op, config).unwrap(), faults)
}

async fn export(
    backend: &StorageBackend,
    c: CollectionId,
    base: SnapshotId,
    docs: Vec<VectorDocument>,
) -> Result<SnapshotMetadata, Error> {
    backend
        .store()
        .try_create_on_stream(
            c,
            base,
            Change::Export,
            &backend.encoding(),
            stream::iter([Ok::<_, std::io::Error>(docs)]),
        )
        .await
}

async fn content(backend: &StorageBackend, c: CollectionId, id: SnapshotId) -> Vec<VectorDocument> {
    let mut docs = backend.snapshotter().restore_snapshot(c, id).await.unwrap();
    docs.sort_by_key(|d| d.document_id);
    docs
}

/// The base's documents with `replaced` given new vectors, `deleted` gone, and `new` added.
fn changed(
    base: &[VectorDocument],
    replaced: &[usize],
    deleted: &[usize],
    new: &[VectorDocument],
) -> (Vec<VectorDocument>, Vec<VectorDocument>) {
    let mut all = Vec::new();
    let mut upserts = Vec::new();
    for (i, doc) in base.iter().enumerate() {
        if deleted.contains(&i) {
            continue;
        }
        let mut doc = doc.clone();
        if replaced.contains(&i) {
            doc.vector[0] = -doc.vector[0] - 1.0;
            upserts.push(doc.clone());
        }
        all.push(doc);
    }
    all.extend_from_slice(new);
    upserts.extend_from_slice(new);
    (all, upserts)
}

#[tokio::test]
async fn an_export_reads_no_vector_of_its_base() {
    let (backend, faults) = backend();
    let c = collection();
    let old = docs(75, 16, 1);
    let base = backend
        .snapshotter()
        .create_snapshot(c, old.clone())
        .await
        .unwrap();
    let parts = backend.store().metadata(c, base).await.unwrap().parts;
    assert_eq!(parts.len(), 3);
    // Any read of a base part (not of its id index) fails.
    for part in &parts {
        let key: &'static str = Box::leak(part.key.clone().into_boxed_str());
        faults.add([Fault::permanent(Op::Read, opendal::ErrorKind::PermissionDenied).on(key)]);
    }
    let (all, _) = changed(&old, &[3, 40], &[70], &docs(2, 16, 2));
    let made = export(&backend, c, base, all.clone()).await.unwrap();
    assert_eq!(faults.struck(Op::Read), 0, "a base part was read");
    faults.heal();
    let mut expected = all;
    expected.sort_by_key(|d| d.document_id);
    assert_eq!(content(&backend, c, made.snapshot_id).await, expected);
}

#[tokio::test]
async fn an_export_and_the_same_change_as_upserts_and_deletes_make_the_same_snapshot() {
    let (backend, _) = backend();
    let c = collection();
    let old = docs(60, 8, 3);
    let base = backend
        .snapshotter()
        .create_snapshot(c, old.clone())
        .await
        .unwrap();
    let (replaced, deleted) = ([0, 26, 59], [1, 30]);
    let (all, upserts) = changed(&old, &replaced, &deleted, &docs(4, 8, 4));
    let from_export = export(&backend, c, base, all).await.unwrap();
    let deletes = deleted.iter().map(|&i| old[i].document_id).collect();
    let from_change = support::update(&backend, c, base, upserts, deletes)
        .await
        .unwrap();
    let shape = |m: &SnapshotMetadata| -> Vec<(PartKind, u64)> {
        m.parts.iter().map(|p| (p.kind, p.rows)).collect()
    };
    assert_eq!(shape(&from_export), shape(&from_change));
    assert_eq!(
        shape(&from_export)[3..],
        [(PartKind::Tombstones, 5), (PartKind::Data, 7)]
    );
    assert_eq!(
        content(&backend, c, from_export.snapshot_id).await,
        content(&backend, c, from_change.snapshot_id).await
    );
}

#[tokio::test]
async fn what_an_export_cannot_be_is_refused_and_nothing_is_left() {
    let (backend, _) = backend();
    let c = collection();
    let old = docs(30, 4, 5);
    let base = backend
        .snapshotter()
        .create_snapshot(c, old.clone())
        .await
        .unwrap();
    let files = keys_under(&backend, "parts/").await;

    // An id twice, named by its position; no documents at all.
    let mut twice = old.clone();
    twice.push(old[4].clone());
    let err = export(&backend, c, base, twice).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("30"), "{err}");
    let err = export(&backend, c, base, Vec::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("no documents"), "{err}");
    // A bad document among unchanged ones is named by its place in the export, not among the
    // documents written; a dimension other than the base's, at the first document.
    let mut bad = old.clone();
    bad[20].vector.push(1.0);
    let err = export(&backend, c, base, bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("document #20"), "{err}");
    let wider: Vec<VectorDocument> = (old.iter().cloned())
        .map(|mut d| {
            d.vector.push(0.0);
            d
        })
        .collect();
    let err = export(&backend, c, base, wider).await.unwrap_err();
    assert!(
        err.to_string().contains("document #0") && err.to_string().contains("dimension 5"),
        "{err}"
    );
    assert_eq!(backend.store().list_snapshots(c).await.unwrap().len(), 1);
    assert_eq!(keys_under(&backend, "parts/").await, files);
    assert!(keys_under(&backend, "pending/").await.is_empty());
}
