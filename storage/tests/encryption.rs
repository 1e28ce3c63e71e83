//! Encrypted snapshots on every store: created, restored whole, by ids and by shards, built on
//! incrementally, verified without the key, refused without it; and S3's server-side
//! encryption, as the S3 server reports it.

mod support;

use akidb_snapshot::codec::{
    CollectionId, KeyRing, MasterKey, PartKind, SnapshotMetadata, VectorDocument,
};
use akidb_snapshot::{
    Change, EncryptionConfig, ErrorKind, Selection, ServerSideEncryption, Shard, SnapshotStore,
    StorageBackend,
};
use futures::{TryStreamExt, stream};
use support::{TestStore, collection, docs, keys_under};

fn key(id: &str, byte: u8) -> MasterKey {
    MasterKey::new(id, &[byte; 32]).unwrap()
}

/// A backend on `store` in parts of 300, encrypting under the key of `id` whose bytes are all
/// `byte`, read from a key file as the configuration names it.
fn backend(store: &TestStore, master: Option<(&str, u8)>) -> StorageBackend {
    let mut config = store.config();
    config.part_rows = 300;
    let keys = tempfile::tempdir().unwrap();
    if let Some((id, byte)) = master {
        let path = keys.path().join("master.key");
        std::fs::write(&path, format!("{}\n", format!("{byte:02x}").repeat(32))).unwrap();
        config.encryption = Some(EncryptionConfig::new(id, Some(path)));
    }
    // The key is read when the store is opened.
    StorageBackend::from_config(config).unwrap()
}

async fn create(
    backend: &StorageBackend,
    c: CollectionId,
    docs: &[VectorDocument],
) -> SnapshotMetadata {
    let batches = stream::iter(
        docs.chunks(250)
            .map(|d| Ok::<_, std::io::Error>(d.to_vec())),
    );
    backend
        .store()
        .try_create_snapshot_stream(c, &backend.encoding(), batches)
        .await
        .unwrap()
}

async fn restore(
    store: &SnapshotStore,
    c: CollectionId,
    m: &SnapshotMetadata,
) -> akidb_snapshot::Result<Vec<VectorDocument>> {
    store
        .restore_snapshot_stream(c, m.snapshot_id)
        .await?
        .try_concat()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_snapshots_restore_with_the_key_only_and_verify_without_it() {
    for store in TestStore::all() {
        let backend = backend(&store, Some(("k1", 1)));
        let c = collection();
        let input = docs(700, 8, 1);
        let metadata = create(&backend, c, &input).await;
        assert_eq!(
            metadata.encryption.as_ref().unwrap().key_id,
            "k1",
            "{}",
            store.name
        );
        assert_eq!(metadata.parts.len(), 3);
        assert!(
            metadata
                .parts
                .iter()
                .all(|p| p.encryption == metadata.encryption)
        );
        assert_eq!(restore(backend.store(), c, &metadata).await.unwrap(), input);

        // The same store, without the key.
        let keyless = SnapshotStore::new(backend.store().operator().clone());
        let err = restore(&keyless, c, &metadata).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::EncryptionKey,
            "{}: {err}",
            store.name
        );
        // Verification without the key checks the stored bytes.
        keyless
            .verify_snapshot(c, metadata.snapshot_id)
            .await
            .unwrap();
        backend
            .store()
            .verify_snapshot(c, metadata.snapshot_id)
            .await
            .unwrap();

        // Another key under the same id is refused; the right one among others opens it.
        let wrong = keyless.clone().with_keys(KeyRing::from(key("k1", 2)));
        let err = restore(&wrong, c, &metadata).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::EncryptionKey, "{err}");
        assert!(err.to_string().contains("does not open"), "{err}");
        let rotated = keyless
            .clone()
            .with_encryption(key("k2", 3))
            .with_keys(KeyRing::from(key("k1", 1)));
        assert_eq!(restore(&rotated, c, &metadata).await.unwrap(), input);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_encrypted_part_is_corruption_even_for_verify_without_the_key() {
    let store = TestStore::fs();
    let backend = backend(&store, Some(("k1", 1)));
    let c = collection();
    let metadata = create(&backend, c, &docs(400, 8, 2)).await;
    let root = store.uri.strip_prefix("file://").unwrap();
    let part = std::path::Path::new(root).join(&metadata.parts[0].key);
    let mut bytes = std::fs::read(&part).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&part, bytes).unwrap();
    let keyless = StorageBackend::from_config(store.config()).unwrap();
    for store in [keyless.store(), backend.store()] {
        let err = store
            .verify_snapshot(c, metadata.snapshot_id)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_partial_restores_and_shards_work_on_encrypted_snapshots() {
    let store = TestStore::s3();
    let backend = backend(&store, Some(("k1", 1)));
    let c = collection();
    let input = docs(900, 8, 3);
    let base = create(&backend, c, &input[..600]).await;

    // An increment: new parts under the same key, the base's parts shared.
    let more = stream::iter([Ok::<_, std::io::Error>(input[600..].to_vec())]);
    let increment = backend
        .store()
        .try_create_on_stream(
            c,
            base.snapshot_id,
            Change::Append,
            &backend.encoding(),
            more,
        )
        .await
        .unwrap();
    assert_eq!(increment.encryption, base.encryption);
    assert_eq!(
        restore(backend.store(), c, &increment).await.unwrap(),
        input
    );

    // Deletes (a tombstone part, plain) and a compaction that writes the parts again, under the
    // same key.
    let gone = vec![input[10].document_id, input[620].document_id];
    let updated = backend
        .store()
        .try_create_on_stream(
            c,
            increment.snapshot_id,
            Change::Update {
                deletes: gone.clone(),
            },
            &backend.encoding(),
            stream::iter(Vec::<Result<Vec<VectorDocument>, std::io::Error>>::new()),
        )
        .await
        .unwrap();
    assert!(
        updated
            .parts
            .iter()
            .any(|p| p.kind == PartKind::Tombstones && p.encryption.is_none())
    );
    let compacted = backend
        .store()
        .compact_snapshot(c, updated.snapshot_id, &backend.encoding())
        .await
        .unwrap();
    assert_eq!(compacted.encryption, base.encryption);
    assert!(compacted.parts.iter().all(|p| p.kind == PartKind::Data));
    // A compaction writes the parts it touches again, after the others: compared as sets.
    let mut kept: Vec<VectorDocument> = (input.iter())
        .filter(|d| !gone.contains(&d.document_id))
        .cloned()
        .collect();
    kept.sort_by_key(|d| d.document_id);
    let mut back = restore(backend.store(), c, &compacted).await.unwrap();
    back.sort_by_key(|d| d.document_id);
    assert!(back == kept, "the compaction kept other documents");

    // A few documents by id, from parts that are read whole.
    let wanted = [input[5].document_id, input[650].document_id];
    let selection = Selection::all().with_ids(wanted);
    let found: Vec<VectorDocument> = backend
        .store()
        .restore_selected_stream(c, increment.snapshot_id, Shard::ALL, &selection)
        .await
        .unwrap()
        .try_concat()
        .await
        .unwrap();
    assert_eq!(found, [input[5].clone(), input[650].clone()]);

    // Two writers, one snapshot.
    let s = backend.store().begin_snapshot(c, 2).await.unwrap();
    for (shard, docs) in [("0/2", &input[..450]), ("1/2", &input[450..])] {
        let batches = stream::iter([Ok::<_, std::io::Error>(docs.to_vec())]);
        backend
            .store()
            .try_create_shard_stream(c, s, shard.parse().unwrap(), &backend.encoding(), batches)
            .await
            .unwrap();
    }
    let sharded = backend.store().commit_snapshot(c, s).await.unwrap();
    assert_eq!(sharded.encryption, base.encryption);
    let mut back = restore(backend.store(), c, &sharded).await.unwrap();
    back.sort_by_key(|d| d.document_id);
    let mut expected = input.clone();
    expected.sort_by_key(|d| d.document_id);
    assert_eq!(back, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_increment_is_encrypted_as_its_base_or_refused_and_nothing_is_left() {
    let store = TestStore::fs();
    let plain = backend(&store, None);
    let c = collection();
    let input = docs(400, 8, 4);
    let base = create(&plain, c, &input[..300]).await;
    let encrypted = backend(&store, Some(("k1", 1)));
    let before = keys_under(&encrypted, "parts/").await;
    let more = stream::iter([Ok::<_, std::io::Error>(input[300..].to_vec())]);
    let err = encrypted
        .store()
        .try_create_on_stream(
            c,
            base.snapshot_id,
            Change::Append,
            &encrypted.encoding(),
            more,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("not encrypted"), "{err}");
    assert_eq!(keys_under(&encrypted, "parts/").await, before);
    assert_eq!(encrypted.store().list_snapshots(c).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server_side_encryption_is_asked_for_every_object() {
    for (sse, said) in [
        (ServerSideEncryption::S3, "AES256 None"),
        (
            ServerSideEncryption::Kms {
                kms_key_id: Some("alias/akidb-tests".into()),
            },
            "aws:kms alias/akidb-tests",
        ),
    ] {
        let store = TestStore::s3();
        let mut config = store.config();
        config.server_side_encryption = Some(sse);
        let backend = StorageBackend::from_config(config).unwrap();
        let c = collection();
        let metadata = create(&backend, c, &docs(50, 4, 5)).await;
        assert!(
            metadata.encryption.is_none(),
            "SSE is not client-side encryption"
        );
        let path = store.uri["s3://".len()..].split('?').next().unwrap();
        let (bucket, prefix) = path.split_once('/').unwrap();
        let objects = keys_under(&backend, "").await;
        assert!(objects.len() >= 3, "{objects:?}");
        for object in objects {
            let key = format!("{prefix}/{object}");
            let found = support::s3_head(bucket, &key, &["ServerSideEncryption", "SSEKMSKeyId"]);
            assert_eq!(found, said, "{object}");
        }
    }
}

#[test]
fn server_side_encryption_on_a_store_not_on_s3_is_a_config_error() {
    let mut config = TestStore::fs().config();
    config.server_side_encryption = Some(ServerSideEncryption::S3);
    let err = StorageBackend::from_config(config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("not on S3"), "{err}");
}
