//! Every Snapshotter operation against a local folder, memory and an S3-compatible server.

mod support;

use std::sync::Arc;
use std::time::Duration;

use akidb_snapshot::codec::{
    Compression, Limits, ParquetConfig, ParquetReader, ParquetWriter, SnapshotFormat,
    SnapshotHeader, SnapshotId, SnapshotMetadata, Timestamp, VectorDocument, arrow_schema,
    decode_parquet, encode_parquet,
};
use akidb_snapshot::{
    Encoding, ErrorKind, JsonSnapshotter, ParquetSnapshotter, RetentionPolicy, SnapshotStore,
    Snapshotter, SnapshotterType, StorageBackend, StorageBackendConfig,
};
use arrow_array::RecordBatch;
use futures::{StreamExt, TryStreamExt, stream};
use support::{TestStore, collection, docs};
use uuid::Uuid;

fn metadata_key(m: &SnapshotMetadata) -> String {
    format!(
        "snapshots/{}/{}.metadata.json",
        m.collection_id, m.snapshot_id
    )
}

/// The one file a snapshot's documents are in: a v1 snapshot's data file, or the only part of
/// a v2 snapshot.
fn data_key(m: &SnapshotMetadata) -> String {
    match m.parts.as_slice() {
        [part] => part.key.clone(),
        [] => format!(
            "snapshots/{}/{}.{}",
            m.collection_id,
            m.snapshot_id,
            m.format.extension()
        ),
        parts => panic!("{} parts, not one file", parts.len()),
    }
}

async fn latest(store: &SnapshotStore, c: akidb_snapshot::codec::CollectionId) -> SnapshotMetadata {
    store.list_snapshots(c).await.unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constructors_with_default_and_custom_config() {
    for s in TestStore::all() {
        let default = s.backend();
        assert_eq!(default.config().snapshotter_type, SnapshotterType::Parquet);
        let c = collection();
        default
            .snapshotter()
            .create_snapshot(c, docs(10, 4, 1))
            .await
            .unwrap();
        let m = latest(default.store(), c).await;
        assert_eq!(
            (m.format, m.compression),
            (SnapshotFormat::Parquet, Compression::default())
        );

        let mut config = s.config();
        config.parquet = ParquetConfig::default()
            .with_compression(Compression::Snappy)
            .with_row_group_size(3);
        let custom = StorageBackend::from_config(config).unwrap();
        let c = collection();
        custom
            .snapshotter()
            .create_snapshot(c, docs(10, 4, 2))
            .await
            .unwrap();
        let m = latest(custom.store(), c).await;
        assert_eq!(m.compression, Compression::Snappy, "{}", s.name);
        let bytes = custom.store().operator().read(&data_key(&m)).await.unwrap();
        let info =
            akidb_snapshot::codec::inspect_parquet(&bytes.to_vec(), &Default::default()).unwrap();
        assert_eq!(
            info.row_groups.len(),
            4,
            "{}: 10 rows in groups of 3",
            s.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_10k_and_metadata() {
    for s in TestStore::all() {
        let backend = s.backend();
        let snapshotter = backend.snapshotter();
        let c = collection();
        let input = docs(10_000, 64, 3);
        let id = snapshotter.create_snapshot(c, input.clone()).await.unwrap();
        assert_eq!(id.as_uuid().get_version_num(), 7, "v7 snapshot ids");
        assert_eq!(
            snapshotter.restore_snapshot(c, id).await.unwrap(),
            input,
            "{}",
            s.name
        );

        let m = backend.store().metadata(c, id).await.unwrap();
        assert_eq!((m.vector_count, m.dimension), (10_000, 64));
        let data = backend
            .store()
            .operator()
            .read(&data_key(&m))
            .await
            .unwrap()
            .to_vec();
        assert_eq!(m.size_bytes, data.len() as u64);
        assert_eq!(m.parts.len(), 1, "10k documents are one part");
        assert_eq!(
            m.parts[0].checksum_sha256,
            akidb_snapshot::codec::Sha256Digest::of(&data)
        );
        let verified = backend.store().verify_snapshot(c, id).await.unwrap();
        assert_eq!(verified, m);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_mismatched_input_write_nothing() {
    for s in TestStore::all() {
        let backend = s.backend();
        let c = collection();
        let err = backend
            .snapshotter()
            .create_snapshot(c, vec![])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{}: {err}", s.name);

        let mut mixed = docs(5, 8, 4);
        mixed[3].vector.pop();
        let err = backend
            .snapshotter()
            .create_snapshot(c, mixed)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert!(err.to_string().contains("dimension"), "{err}");

        // A mismatch in a later batch of a stream, after data was already written.
        let batches = vec![docs(20_000, 8, 5), docs(10, 9, 6)];
        let err = backend
            .store()
            .create_snapshot_stream(c, &backend.encoding(), stream::iter(batches))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);

        let left = backend
            .store()
            .operator()
            .list_with("snapshots/")
            .recursive(true)
            .await
            .unwrap();
        assert!(
            left.iter().all(|e| e.metadata().is_dir()),
            "{}: nothing written, found {:?}",
            s.name,
            left.iter().map(|e| e.path()).collect::<Vec<_>>()
        );
        assert!(backend.store().list_snapshots(c).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_empty_and_multiple_newest_first_then_delete() {
    for s in TestStore::all() {
        let backend = s.backend();
        let snapshotter = backend.snapshotter();
        let c = collection();
        assert!(snapshotter.list_snapshots(c).await.unwrap().is_empty());

        let mut ids = Vec::new();
        for seed in 0..3 {
            ids.push(
                snapshotter
                    .create_snapshot(c, docs(5, 4, seed))
                    .await
                    .unwrap(),
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Another collection's snapshot is not listed.
        snapshotter
            .create_snapshot(collection(), docs(5, 4, 9))
            .await
            .unwrap();
        let listed: Vec<SnapshotId> = snapshotter
            .list_snapshots(c)
            .await
            .unwrap()
            .iter()
            .map(|m| m.snapshot_id)
            .collect();
        ids.reverse();
        assert_eq!(listed, ids, "{}", s.name);

        snapshotter.delete_snapshot(c, ids[1]).await.unwrap();
        let listed = snapshotter.list_snapshots(c).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|m| m.snapshot_id != ids[1]));
        let err = snapshotter.restore_snapshot(c, ids[1]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{}: {err}", s.name);
        let err = snapshotter.delete_snapshot(c, ids[1]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let op = backend.store().operator();
        let gone = format!("snapshots/{c}/{}.parquet", ids[1]);
        assert!(!op.exists(&gone).await.unwrap(), "data file deleted too");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_create_and_restore_by_row_group() {
    for s in TestStore::all() {
        let mut config = s.config();
        config.parquet = config.parquet.with_row_group_size(1_000);
        let backend = StorageBackend::from_config(config).unwrap();
        let c = collection();
        let input = docs(4_500, 16, 7);
        let batches: Vec<Vec<VectorDocument>> = input.chunks(700).map(<[_]>::to_vec).collect();
        let m = backend
            .store()
            .create_snapshot_stream(c, &backend.encoding(), stream::iter(batches))
            .await
            .unwrap();
        assert_eq!(m.vector_count, 4_500);

        let batches: Vec<Vec<VectorDocument>> = backend
            .store()
            .restore_snapshot_stream(c, m.snapshot_id)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 1000, 1000, 500],
            "{}: one batch per row group",
            s.name
        );
        assert_eq!(batches.concat(), input);
    }
}

/// `docs` as Arrow batches of the snapshot schema, as the codec reads them.
fn arrow_batches(docs: &[VectorDocument]) -> Vec<RecordBatch> {
    let header = SnapshotHeader::new(
        collection(),
        SnapshotId::from_uuid(Uuid::now_v7()),
        Timestamp::from_millis(0),
    );
    let config = ParquetConfig::default().with_row_group_size(600);
    let (file, _) = encode_parquet(docs, &header, &config).unwrap();
    ParquetReader::arrow(file.into(), &Limits::default())
        .unwrap()
        .flat_map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_batches_snapshot_and_restore_in_both_formats() {
    for s in TestStore::all() {
        for encoding in [
            Encoding::Parquet(ParquetConfig::default().with_row_group_size(1_000)),
            Encoding::Json,
        ] {
            let store = s.backend().store().clone();
            let c = collection();
            let input = docs(2_500, 8, 11);
            let batches = stream::iter(
                arrow_batches(&input)
                    .into_iter()
                    .map(Ok::<_, std::io::Error>),
            );
            let m = store
                .try_create_snapshot_arrow(c, &encoding, batches)
                .await
                .unwrap();
            assert_eq!((m.vector_count, m.format), (2_500, encoding.format()));

            // As documents, and as Arrow batches that read back to the same documents.
            let restored: Vec<Vec<VectorDocument>> = store
                .restore_snapshot_stream(c, m.snapshot_id)
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_eq!(
                restored.concat(),
                input,
                "{} {:?}",
                s.name,
                encoding.format()
            );
            let groups: Vec<Vec<RecordBatch>> = store
                .restore_snapshot_arrow(c, m.snapshot_id)
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let batches: Vec<RecordBatch> = groups.into_iter().flatten().collect();
            assert!(batches.iter().all(|b| b.schema() == arrow_schema(8)));
            let mut writer = ParquetWriter::try_new(
                Vec::new(),
                SnapshotHeader::new(c, m.snapshot_id, Timestamp::from_millis(0)),
                ParquetConfig::default(),
            )
            .unwrap();
            for batch in &batches {
                writer.write_batch(batch).unwrap();
            }
            let (file, _) = writer.finish().unwrap();
            let back = decode_parquet(file.into(), &Limits::default()).unwrap();
            assert_eq!(back, input, "{} {:?}", s.name, encoding.format());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_arrow_batch_commits_nothing() {
    let s = TestStore::fs();
    let store = s.backend().store().clone();
    let c = collection();
    let mut batches = arrow_batches(&docs(100, 4, 3));
    batches.extend(arrow_batches(&docs(10, 5, 4)));
    let err = store
        .try_create_snapshot_arrow(
            c,
            &Encoding::Parquet(ParquetConfig::default()),
            stream::iter(batches.into_iter().map(Ok::<_, std::io::Error>)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.to_string().contains("dimension 5"), "{err}");
    assert!(store.list_snapshots(c).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_input_stream_commits_nothing() {
    let s = TestStore::fs();
    let backend = s.backend();
    let c = collection();
    let batches = stream::iter(vec![
        Ok(docs(100, 4, 1)),
        Err(std::io::Error::other("the input file is truncated")),
    ]);
    let err = backend
        .store()
        .try_create_snapshot_stream(c, &backend.encoding(), batches)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(backend.store().list_snapshots(c).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_uploads_a_large_snapshot_in_parts() {
    let s = TestStore::s3();
    let backend = s.backend();
    let c = collection();
    // 10k × 512 random floats: about 16 MB, so more than one 8 MiB part.
    let input = docs(10_000, 512, 8);
    let id = backend
        .snapshotter()
        .create_snapshot(c, input.clone())
        .await
        .unwrap();
    let m = backend.store().metadata(c, id).await.unwrap();
    let parts = m.size_bytes.div_ceil(8 << 20);
    assert!(parts > 1, "{} bytes", m.size_bytes);
    let stat = backend
        .store()
        .operator()
        .stat(&data_key(&m))
        .await
        .unwrap();
    let etag = stat.etag().unwrap_or_default().trim_matches('"').to_owned();
    assert!(
        etag.ends_with(&format!("-{parts}")),
        "a multipart upload of {parts} parts has an ETag ending in -{parts}, got {etag}"
    );
    assert_eq!(
        backend.snapshotter().restore_snapshot(c, id).await.unwrap(),
        input
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_one_collection() {
    for s in TestStore::all() {
        let backend = s.backend();
        let snapshotter: Arc<dyn Snapshotter> = backend.snapshotter();
        let c = collection();
        let tasks: Vec<_> = (0..16u64)
            .map(|seed| {
                let snapshotter = Arc::clone(&snapshotter);
                tokio::spawn(async move {
                    let input = docs(200, 32, seed);
                    let id = snapshotter.create_snapshot(c, input.clone()).await.unwrap();
                    (id, input)
                })
            })
            .collect();
        let mut created = Vec::new();
        for task in tasks {
            created.push(task.await.unwrap());
        }
        let listed = snapshotter.list_snapshots(c).await.unwrap();
        assert_eq!(listed.len(), 16, "{}", s.name);
        for (id, input) in created {
            assert!(listed.iter().any(|m| m.snapshot_id == id));
            assert_eq!(snapshotter.restore_snapshot(c, id).await.unwrap(), input);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_snapshots_stay_restorable_after_switching_to_parquet() {
    for s in TestStore::all() {
        // One store, first written by the JSON snapshotter, then by the Parquet one.
        let store = s.backend().store().clone();
        let json = JsonSnapshotter::on(store.clone());
        let c = collection();
        let old = docs(300, 8, 10);
        let old_id = json.create_snapshot(c, old.clone()).await.unwrap();
        assert_eq!(
            store.metadata(c, old_id).await.unwrap().format,
            SnapshotFormat::Json
        );

        let parquet = ParquetSnapshotter::on(store.clone(), ParquetConfig::default());
        let new = docs(300, 8, 11);
        let new_id = parquet.create_snapshot(c, new.clone()).await.unwrap();
        assert_eq!(
            parquet.restore_snapshot(c, old_id).await.unwrap(),
            old,
            "{}",
            s.name
        );
        assert_eq!(parquet.restore_snapshot(c, new_id).await.unwrap(), new);
        // And the other way round.
        assert_eq!(json.restore_snapshot(c, new_id).await.unwrap(), new);
        assert_eq!(parquet.list_snapshots(c).await.unwrap().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_file_without_format_is_a_json_snapshot() {
    let s = TestStore::memory();
    let op = s.backend().store().operator().clone();
    let c = collection();
    let json = JsonSnapshotter::new(op.clone());
    let input = docs(10, 3, 12);
    let id = json.create_snapshot(c, input.clone()).await.unwrap();
    let m = json.store().metadata(c, id).await.unwrap();
    // Rewrite the metadata as the pre-Parquet writer did: no `format`, no checksum.
    let mut legacy: serde_json::Value =
        serde_json::from_slice(&op.read(&metadata_key(&m)).await.unwrap().to_vec()).unwrap();
    let fields = legacy.as_object_mut().unwrap();
    fields.remove("format");
    fields.remove("checksum_sha256");
    fields.remove("schema_version");
    op.delete(&metadata_key(&m)).await.unwrap();
    op.write(&metadata_key(&m), serde_json::to_vec(&legacy).unwrap())
        .await
        .unwrap();

    let parquet = ParquetSnapshotter::new(op, ParquetConfig::default());
    let listed = parquet.list_snapshots(c).await.unwrap();
    assert_eq!(listed[0].format, SnapshotFormat::Json);
    assert_eq!(listed[0].checksum_sha256, None);
    assert_eq!(parquet.restore_snapshot(c, id).await.unwrap(), input);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_metadata_file_is_reported_and_skipped_by_list() {
    let s = TestStore::fs();
    let backend = s.backend();
    let c = collection();
    let good = backend
        .snapshotter()
        .create_snapshot(c, docs(5, 2, 1))
        .await
        .unwrap();
    let bad = backend
        .snapshotter()
        .create_snapshot(c, docs(5, 2, 2))
        .await
        .unwrap();
    let op = backend.store().operator();
    let key = format!("snapshots/{c}/{bad}.metadata.json");
    op.delete(&key).await.unwrap();
    op.write(&key, b"{ not json".to_vec()).await.unwrap();

    let err = backend
        .snapshotter()
        .restore_snapshot(c, bad)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    let listed = backend.snapshotter().list_snapshots(c).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].snapshot_id, good);
    // It can still be deleted, data and all.
    backend.snapshotter().delete_snapshot(c, bad).await.unwrap();
    assert!(
        !op.exists(&format!("snapshots/{c}/{bad}.parquet"))
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_files_are_never_overwritten() {
    for s in TestStore::all() {
        if s.name == "gcs" {
            // The Cloud Storage emulator ignores `ifGenerationMatch=0` and overwrites; Cloud
            // Storage itself refuses (docs/DECISIONS.md, "Emulators").
            continue;
        }
        let backend = s.backend();
        let op = backend.store().operator();
        let key = "snapshots/taken";
        support::put(op, key, b"first").await;
        // The store's conditional write, as create uses it for data and metadata files.
        let err = op
            .write_with(key, b"second".to_vec())
            .if_not_exists(true)
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            opendal::ErrorKind::ConditionNotMatch,
            "{}: {err}",
            s.name
        );
        assert_eq!(op.read(key).await.unwrap().to_vec(), b"first");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_old_orphans_only() {
    for s in TestStore::all() {
        let backend = s.backend();
        let store = backend.store();
        let c = collection();
        let kept = backend
            .snapshotter()
            .create_snapshot(c, docs(5, 2, 1))
            .await
            .unwrap();
        // A crash between the data file and the metadata file leaves an orphan. Its v7 id
        // dates it an hour ago, for stores that keep no modification time.
        let old_id = SnapshotId::from_uuid(Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                - 3600,
            0,
        )));
        let orphan = format!("snapshots/{c}/{old_id}.parquet");
        support::put(store.operator(), &orphan, b"partial").await;

        // Uncommitted, so not a snapshot.
        let listed = store.list_snapshots(c).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].snapshot_id, kept);
        let err = store.metadata(c, old_id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);

        assert!(
            store
                .gc(Duration::from_secs(7 * 24 * 3600))
                .await
                .unwrap()
                .is_empty()
        );
        let removed = store.gc(Duration::ZERO).await.unwrap();
        assert_eq!(removed, vec![orphan.clone()], "{}", s.name);
        assert!(!store.operator().exists(&orphan).await.unwrap());
        // The committed snapshot is untouched.
        store.verify_snapshot(c, kept).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_cleanup() {
    for s in TestStore::all() {
        let backend = s.backend();
        let c = collection();
        let mut ids = Vec::new();
        for seed in 0..5 {
            ids.push(
                backend
                    .snapshotter()
                    .create_snapshot(c, docs(3, 2, seed))
                    .await
                    .unwrap(),
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let policy = RetentionPolicy::default()
            .with_keep_last(2)
            .with_min_count(1);
        let planned = backend
            .store()
            .apply_retention(c, &policy, true)
            .await
            .unwrap();
        assert_eq!(planned.len(), 3);
        assert_eq!(
            backend.store().list_snapshots(c).await.unwrap().len(),
            5,
            "dry run"
        );

        let deleted = backend
            .store()
            .apply_retention(c, &policy, false)
            .await
            .unwrap();
        let deleted: Vec<_> = deleted.iter().map(|m| m.snapshot_id).collect();
        assert_eq!(deleted, ids[..3], "{}: oldest first", s.name);
        let left: Vec<_> = backend
            .store()
            .list_snapshots(c)
            .await
            .unwrap()
            .iter()
            .map(|m| m.snapshot_id)
            .collect();
        assert_eq!(left, [ids[4], ids[3]]);

        let everything_old = RetentionPolicy::default()
            .with_max_age(Duration::ZERO)
            .with_min_count(1);
        tokio::time::sleep(Duration::from_millis(2)).await;
        let deleted = backend
            .store()
            .apply_retention(c, &everything_old, false)
            .await
            .unwrap();
        assert_eq!(deleted.len(), 1, "min_count keeps the newest");
        assert_eq!(
            backend.store().list_snapshots(c).await.unwrap()[0].snapshot_id,
            ids[4]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_is_the_default_and_holds_the_design_layout() {
    let dir = tempfile::tempdir().unwrap();
    let previous = std::env::current_dir().unwrap();
    // The default URI is relative to the working directory; open it from inside `dir`.
    let backend = {
        let config = StorageBackendConfig::from_toml_str("").unwrap();
        assert_eq!(config.uri, akidb_snapshot::DEFAULT_URI);
        let uri = config
            .uri
            .replace("./", &format!("{}/", dir.path().display()));
        StorageBackend::open(&uri).unwrap()
    };
    assert_eq!(std::env::current_dir().unwrap(), previous);
    let c = collection();
    let id = backend
        .snapshotter()
        .create_snapshot(c, docs(4, 2, 1))
        .await
        .unwrap();
    let folder = dir.path().join(format!("akidb-snapshots/snapshots/{c}"));
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    // Format v2: the manifest commits the snapshot, its part is under parts/.
    assert_eq!(files, [format!("{id}.metadata.json")]);
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join(&files[0])).unwrap()).unwrap();
    assert_eq!(metadata["format"], "parquet");
    assert_eq!(metadata["vector_count"], 4);
    assert_eq!(metadata["schema_version"], 2);
    let part = metadata["parts"][0]["key"].as_str().unwrap();
    assert!(part.starts_with(&format!("parts/{c}/")), "{part}");
    assert!(dir.path().join("akidb-snapshots").join(part).is_file());
    // The restore works through a fresh handle on the same folder.
    let again =
        StorageBackend::open(&format!("file://{}/akidb-snapshots", dir.path().display())).unwrap();
    assert_eq!(
        again
            .snapshotter()
            .restore_snapshot(c, id)
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_store_uris_and_credentials_are_typed_errors() {
    for uri in [
        "nowhere",
        "gcs://bucket",
        "s3://",
        "gs:///prefix",
        "file://",
    ] {
        let err = StorageBackend::open(uri).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{uri}: {err}");
    }
    // A bucket that does not exist on a reachable server: a store error, not a panic.
    let uri = format!(
        "s3://no-such-bucket/x?endpoint={}&region=us-east-1&access_key_id=a&secret_access_key=b",
        support::s3_endpoint()
    );
    let backend = StorageBackend::open(&uri).unwrap();
    let err = backend
        .snapshotter()
        .create_snapshot(collection(), docs(3, 2, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(
        err.to_string().contains("no-such-bucket") || err.to_string().contains("NoSuchBucket"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_stream_is_lazy_and_stops_at_the_first_error() {
    let s = TestStore::memory();
    let mut config = s.config();
    config.parquet = config.parquet.with_row_group_size(100);
    let backend = StorageBackend::from_config(config).unwrap();
    let c = collection();
    let id = backend
        .snapshotter()
        .create_snapshot(c, docs(1_000, 4, 1))
        .await
        .unwrap();
    let mut batches = backend
        .store()
        .restore_snapshot_stream(c, id)
        .await
        .unwrap();
    let first = batches.next().await.unwrap().unwrap();
    assert_eq!(first.len(), 100);
    drop(batches);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_parquet_config_is_refused_before_anything_is_written() {
    let bad = ParquetConfig::default().with_row_group_size(0);
    let mut config = StorageBackendConfig::with_uri("memory://");
    config.parquet = bad.clone();
    let err = StorageBackend::from_config(config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("row_group_size"), "{err}");

    // Built directly, the snapshotter refuses it at create, with nothing in the store.
    let op = TestStore::memory().backend().store().operator().clone();
    let snapshotter = ParquetSnapshotter::new(op.clone(), bad);
    let c = collection();
    let err = snapshotter
        .create_snapshot(c, docs(3, 2, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("row_group_size"), "{err}");
    assert!(
        op.list_with("snapshots/")
            .recursive(true)
            .await
            .unwrap()
            .iter()
            .all(|e| e.metadata().is_dir())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_class_is_asked_for_every_object_written() {
    let store = TestStore::s3();
    let mut config = store.config();
    config.storage_class = Some("ONEZONE_IA".into());
    let backend = StorageBackend::from_config(config).unwrap();
    let c = collection();
    backend
        .snapshotter()
        .create_snapshot(c, docs(50, 4, 9))
        .await
        .unwrap();
    let path = store.uri["s3://".len()..].split('?').next().unwrap();
    let (bucket, prefix) = path.split_once('/').unwrap();
    let objects = support::keys_under(&backend, "").await;
    assert!(
        objects.len() >= 3,
        "a part, its index, the manifest: {objects:?}"
    );
    for object in objects {
        let key = format!("{prefix}/{object}");
        assert_eq!(
            support::s3_head(bucket, &key, &["StorageClass"]),
            "ONEZONE_IA",
            "{object}"
        );
    }
}
