//! `import_parts`: Parquet files other tools wrote in the snapshot schema, with or without the
//! `akidb.*` footer keys, become the parts of a snapshot without a rewrite (copied, checked,
//! hashed, committed); a file that does not fit is refused by name, and nothing is committed.

#[path = "../../codec/tests/common/foreign.rs"]
mod foreign;
mod support;

use std::path::Path;

use akidb_snapshot::{Error, ErrorKind, StorageBackend};
use support::{TestStore, collection, docs, keys_under};

/// A file of `codec/tests/data/foreign/` (tests/interop/write_foreign.py), put into the store
/// at `imports/{name}`; returns that key.
async fn put_foreign(backend: &StorageBackend, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../codec/tests/data/foreign")
        .join(name);
    let key = format!("imports/{name}");
    support::put(
        backend.store().operator(),
        &key,
        &std::fs::read(&path).unwrap(),
    )
    .await;
    key
}

#[tokio::test]
async fn files_written_elsewhere_become_a_snapshot_without_a_rewrite() {
    for store in TestStore::all() {
        let backend = store.backend();
        let c = collection();
        let keyless = put_foreign(&backend, "pyarrow-keyless.parquet").await;
        // A Parquet file of ours, of other documents, from another collection's snapshot.
        let other = docs(7, 4, 1);
        let theirs = backend
            .store()
            .create_snapshot_stream(
                collection(),
                &backend.encoding(),
                futures::stream::iter([other.clone()]),
            )
            .await
            .unwrap();
        let sources = [keyless.clone(), theirs.parts[0].key.clone()];

        let imported = backend.store().import_parts(c, &sources).await.unwrap();
        let name = store.name;
        assert_eq!(
            (imported.vector_count, imported.dimension),
            (12, 4),
            "{name}"
        );
        assert_eq!(imported.parts.len(), 2, "{name}");
        let source_bytes = backend.store().operator().read(&keyless).await.unwrap();
        let part_bytes = (backend.store().operator())
            .read(&imported.parts[0].key)
            .await
            .unwrap();
        assert_eq!(
            part_bytes.to_vec(),
            source_bytes.to_vec(),
            "{name}: a copy, not a rewrite"
        );
        assert!(imported.parts[0].key.starts_with("parts/"), "{name}");
        // Each adopted file gets its id index, as a part a create writes does (verify checks it).
        assert!(imported.parts.iter().all(|p| p.index.is_some()), "{name}");

        let restored = backend
            .snapshotter()
            .restore_snapshot(c, imported.snapshot_id)
            .await
            .unwrap();
        let mut expected = foreign::documents();
        expected.extend(other);
        assert_eq!(restored, expected, "{name}");
        backend
            .store()
            .verify_snapshot(c, imported.snapshot_id)
            .await
            .unwrap();
        // The sources stay where they were.
        assert_eq!(
            keys_under(&backend, "imports/").await,
            [keyless.as_str()],
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_file_that_does_not_fit_is_named_and_nothing_is_committed() {
    let store = TestStore::fs();
    let backend = store.backend();
    let good = put_foreign(&backend, "duckdb-keyless.parquet").await;
    let cases: [(&str, ErrorKind, &str); 6] = [
        (
            "pyarrow-null-element.parquet",
            ErrorKind::Decoding,
            "row 3: vector[1] is null",
        ),
        (
            "polars-short-id.parquet",
            ErrorKind::Decoding,
            "row 2: `document_id` is 15 bytes",
        ),
        ("duckdb-micros.parquet", ErrorKind::Decoding, "inserted_at"),
        (
            "pyarrow-keyless-two-dimensions.parquet",
            ErrorKind::Decoding,
            "`dimension` column holds more than one value",
        ),
        // The same five ids as the first file.
        (
            "polars-keyless.parquet",
            ErrorKind::Validation,
            "row 0: `document_id` 00000000-0000-4000-8000-000000000001 appears again",
        ),
        ("absent.parquet", ErrorKind::NotFound, "no such file"),
    ];
    for (name, kind, says) in cases {
        let c = collection();
        let bad = if name == "absent.parquet" {
            format!("imports/{name}")
        } else {
            put_foreign(&backend, name).await
        };
        let err = backend
            .store()
            .import_parts(c, &[good.clone(), bad.clone()])
            .await
            .unwrap_err();
        let Error::Import { key, .. } = &err else {
            panic!("{name}: {err:?}");
        };
        assert_eq!(key, &bad, "{name}");
        assert_eq!(err.kind(), kind, "{name}: {err}");
        let text = err.to_string();
        assert!(text.contains(says) && text.contains(&bad), "{name}: {text}");
        assert!(
            backend.store().list_snapshots(c).await.unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(
            keys_under(&backend, &format!("parts/{c}/")).await,
            Vec::<String>::new(),
            "{name}: the copies are removed"
        );
    }
}

#[tokio::test]
async fn files_of_other_dimensions_or_none_at_all_are_refused() {
    let store = TestStore::memory();
    let backend = store.backend();
    let four = put_foreign(&backend, "pyarrow-keyless.parquet").await;
    let three = backend
        .store()
        .create_snapshot_stream(
            collection(),
            &backend.encoding(),
            futures::stream::iter([docs(3, 3, 9)]),
        )
        .await
        .unwrap();
    let c = collection();
    let err = backend
        .store()
        .import_parts(c, &[four.clone(), three.parts[0].key.clone()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(
        err.to_string()
            .contains("its vectors have dimension 3, those of imports/pyarrow-keyless.parquet 4"),
        "{err}"
    );

    let err = backend.store().import_parts(c, &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    let err = backend
        .store()
        .import_parts(c, &[four.clone(), four])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is named twice"), "{err}");
}
