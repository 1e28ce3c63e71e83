//! Partial restores: every selector, alone and combined, gives exactly the documents a whole
//! restore filtered the same way gives, in the same order; ids the snapshot lacks are counted
//! (or, strict, an error); tombstoned documents never come back; a v1 snapshot is read whole
//! with the same result; and a damaged page is DataCorruption, never a wrong document.

mod support;

use akidb_snapshot::codec::{CollectionId, RowKey, SnapshotId, Timestamp, VectorDocument};
use akidb_snapshot::{ErrorKind, Selection, SelectionReport, Shard, StorageBackend};
use futures::TryStreamExt;
use support::{TestStore, collection, docs, update};
use uuid::Uuid;

const ROWS: usize = 1_200;

/// A store in parts of 400 rows, row groups of 100, small pages.
fn backend(store: &TestStore, format_version: u32) -> StorageBackend {
    let mut config = store.config();
    config.part_rows = 400;
    config.format_version = format_version;
    config.auto_compact_percent = 0;
    config.parquet = config
        .parquet
        .with_row_group_size(100)
        .with_page_bytes(2_048);
    StorageBackend::from_config(config).unwrap()
}

async fn create(backend: &StorageBackend, c: CollectionId, docs: &[VectorDocument]) -> SnapshotId {
    backend
        .snapshotter()
        .create_snapshot(c, docs.to_vec())
        .await
        .unwrap()
}

async fn select(
    backend: &StorageBackend,
    (c, s): (CollectionId, SnapshotId),
    shard: Shard,
    selection: &Selection,
) -> akidb_snapshot::Result<(Vec<VectorDocument>, SelectionReport)> {
    let mut selected = backend
        .store()
        .restore_selected_stream(c, s, shard, selection)
        .await?;
    let mut docs = Vec::new();
    while let Some(batch) = selected.try_next().await? {
        docs.extend(batch);
    }
    Ok((docs, selected.report()))
}

async fn whole(
    backend: &StorageBackend,
    (c, s): (CollectionId, SnapshotId),
) -> Vec<VectorDocument> {
    backend.snapshotter().restore_snapshot(c, s).await.unwrap()
}

/// What a whole restore gives, filtered as `selection` says: the reference.
fn expected(all: &[VectorDocument], selection: &Selection) -> Vec<VectorDocument> {
    (0u64..)
        .zip(all)
        .filter(|(at, d)| {
            let key = RowKey::new(d.document_id, d.external_id.as_deref(), d.inserted_at);
            selection.keeps(*at, &key)
        })
        .map(|(_, d)| d.clone())
        .collect()
}

fn at(millis_after: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + millis_after)
}

/// Selections of every kind, alone and combined, over `all` (the snapshot's documents).
fn selections(all: &[VectorDocument]) -> Vec<(&'static str, Selection)> {
    let ids: Vec<Uuid> = [3usize, 399, 400, 401, 777, 1_199]
        .iter()
        .filter_map(|&i| all.get(i).map(|d| d.document_id))
        .collect();
    let externals: Vec<String> = ["ext-0", "ext-402", "ext-999"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    vec![
        ("ids", Selection::all().with_ids(ids.clone())),
        (
            "external ids",
            Selection::all().with_external_ids(externals.clone()),
        ),
        (
            "since",
            Selection::all().inserted_within(Some(at(1_150)), None),
        ),
        (
            "until",
            Selection::all().inserted_within(None, Some(at(30))),
        ),
        (
            "time range",
            Selection::all().inserted_within(Some(at(390)), Some(at(420))),
        ),
        ("rows", Selection::all().with_rows(395..405)),
        (
            "rows past the end",
            Selection::all().with_rows(1_150..5_000),
        ),
        (
            "ids and time",
            Selection::all()
                .with_ids(ids.clone())
                .inserted_within(Some(at(400)), None),
        ),
        (
            "rows and external ids",
            Selection::all()
                .with_rows(0..600)
                .with_external_ids(externals),
        ),
        (
            "ids and rows",
            Selection::all().with_ids(ids).with_rows(350..800),
        ),
    ]
}

async fn check_every_selector(backend: &StorageBackend, snapshot: (CollectionId, SnapshotId)) {
    let all = whole(backend, snapshot).await;
    for (name, selection) in selections(&all) {
        let (got, _) = select(backend, snapshot, Shard::ALL, &selection)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, expected(&all, &selection), "{name}");
    }
}

#[tokio::test]
async fn every_selector_gives_what_a_filtered_whole_restore_gives() {
    for store in [TestStore::fs(), TestStore::memory()] {
        for format_version in [2, 1] {
            let backend = backend(&store, format_version);
            let c = collection();
            let s = create(&backend, c, &docs(ROWS, 8, 11)).await;
            check_every_selector(&backend, (c, s)).await;
        }
    }
}

#[tokio::test]
async fn ids_read_by_pages_read_a_small_share_and_count_what_is_missing() {
    let store = TestStore::memory();
    let backend = backend(&store, 2);
    let c = collection();
    let all = docs(ROWS, 64, 12);
    let s = create(&backend, c, &all).await;
    let missing = [Uuid::from_u128(5), Uuid::from_u128(6)];
    let wanted = [
        all[10].document_id,
        all[1_000].document_id,
        missing[0],
        missing[1],
    ];
    let selection = Selection::all().with_ids(wanted);
    let (got, report) = select(&backend, (c, s), Shard::ALL, &selection)
        .await
        .unwrap();
    assert_eq!(got, [all[10].clone(), all[1_000].clone()]);
    assert_eq!(report.missing_ids, missing);
    assert_eq!(report.parts_read_by_pages, 2);
    assert_eq!(report.files_read_whole, 0);
    let (_, files) = backend.store().snapshot_files(c, s).await.unwrap();
    let stored: u64 = (files.iter())
        .map(|f| f.size_bytes + f.index.as_ref().map_or(0, |i| i.size_bytes))
        .sum();
    assert!(
        report.bytes_read * 5 < stored,
        "{} bytes read of {stored}",
        report.bytes_read
    );

    let strict = selection.clone().strict(true);
    let err = select(&backend, (c, s), Shard::ALL, &strict)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let message = err.to_string();
    assert!(message.contains("2 of the documents"), "{message}");
    assert!(message.contains(&missing[0].to_string()), "{message}");

    // An external id nobody has is counted once the stream ends; strict makes it an error.
    let by_name = Selection::all().with_external_ids(["ext-3".to_owned(), "nobody".to_owned()]);
    let (got, report) = select(&backend, (c, s), Shard::ALL, &by_name)
        .await
        .unwrap();
    assert_eq!(got, [all[3].clone()]);
    assert_eq!(report.missing_external_ids, ["nobody"]);
    let err = select(&backend, (c, s), Shard::ALL, &by_name.strict(true))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn incremental_snapshots_never_return_tombstoned_documents() {
    let store = TestStore::memory();
    let backend = backend(&store, 2);
    let c = collection();
    let base_docs = docs(ROWS, 8, 13);
    let base = create(&backend, c, &base_docs).await;
    // Replace a few, delete a few, add a few: tombstones, then new rows in a later part.
    let mut replaced: Vec<VectorDocument> = [5usize, 401, 1_100]
        .iter()
        .map(|&i| VectorDocument::new(base_docs[i].document_id, vec![9.0; 8]))
        .collect();
    replaced.extend(docs(30, 8, 14));
    let deleted: Vec<Uuid> = [6usize, 399, 800]
        .iter()
        .map(|&i| base_docs[i].document_id)
        .collect();
    let next = update(&backend, c, base, replaced, deleted.clone())
        .await
        .unwrap();
    check_every_selector(&backend, (c, next.snapshot_id)).await;

    let all = whole(&backend, (c, next.snapshot_id)).await;
    let wanted = [base_docs[5].document_id, deleted[0], deleted[1]];
    let (got, report) = select(
        &backend,
        (c, next.snapshot_id),
        Shard::ALL,
        &Selection::all().with_ids(wanted),
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].vector, [9.0; 8], "the replacement, not the base's");
    assert_eq!(report.missing_ids.len(), 2);
    assert_eq!(got, expected(&all, &Selection::all().with_ids(wanted)));
}

#[tokio::test]
async fn a_shard_selects_among_its_own_parts() {
    let store = TestStore::memory();
    let backend = backend(&store, 2);
    let c = collection();
    let all = docs(ROWS, 8, 15);
    let s = create(&backend, c, &all).await;
    let shard = Shard::new(1, 3).unwrap();
    let mut in_shard = Vec::new();
    let mut rows = backend
        .store()
        .restore_shard_stream(c, s, shard)
        .await
        .unwrap();
    while let Some(batch) = rows.try_next().await.unwrap() {
        in_shard.extend(batch);
    }
    assert_eq!(in_shard, all[400..800]);
    for (name, selection) in selections(&all) {
        let (got, _) = select(&backend, (c, s), shard, &selection).await.unwrap();
        assert_eq!(got, expected(&in_shard, &selection), "{name}");
    }
}

#[tokio::test]
async fn a_damaged_page_is_data_corruption_never_a_wrong_document() {
    let store = TestStore::fs();
    let backend = backend(&store, 2);
    let c = collection();
    let all = docs(ROWS, 32, 16);
    let s = create(&backend, c, &all).await;
    let (metadata, files) = backend.store().snapshot_files(c, s).await.unwrap();
    assert_eq!(metadata.parts.len(), 3);
    let root = store.uri.trim_start_matches("file://").to_owned();
    let selection = Selection::all().with_ids([all[450].document_id]);
    let (got, _) = select(&backend, (c, s), Shard::ALL, &selection)
        .await
        .unwrap();
    assert_eq!(got, [all[450].clone()]);

    // Flip one byte at a time across the part that holds it, then across its id index: every
    // flip inside what the read uses is caught; no flip gives a wrong document.
    let root = std::path::Path::new(&root);
    let index = files[1].index.as_ref().unwrap();
    for (file, step) in [(root.join(&files[1].key), 97), (root.join(&index.key), 31)] {
        let original = std::fs::read(&file).unwrap();
        let mut caught = 0;
        for at in (0..original.len()).step_by(step) {
            let mut damaged = original.clone();
            damaged[at] ^= 0x08;
            std::fs::write(&file, &damaged).unwrap();
            match select(&backend, (c, s), Shard::ALL, &selection).await {
                Ok((got, _)) => assert_eq!(got, [all[450].clone()], "{file:?} byte {at}"),
                Err(e) => {
                    assert_eq!(
                        e.kind(),
                        ErrorKind::DataCorruption,
                        "{file:?} byte {at}: {e}"
                    );
                    caught += 1;
                }
            }
        }
        std::fs::write(&file, &original).unwrap();
        assert!(caught > 0, "{file:?}");
    }
}
