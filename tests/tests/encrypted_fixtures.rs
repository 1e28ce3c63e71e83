//! Encrypted snapshots written by the first version of encryption (tests/fixtures/
//! v2-encrypted-store, under the committed key `fixture-2026`) restore with the key to what the
//! same history restores to in the plain v2 fixture store, verify without it, refuse a restore
//! without it naming it, and take increments and partial restores with it.

use std::collections::BTreeMap;

use akidb_snapshot::codec::{CollectionId, PartKind, SnapshotId, VectorDocument};
use akidb_snapshot::{
    Change, EncryptionConfig, ErrorKind, Selection, StorageBackend, StorageBackendConfig,
};
use akidb_snapshot_e2e::{
    V2_COLLECTION, V2Store, copy_v2_store, encrypted, kept, selected, v2_snapshots,
};
use futures::{TryStreamExt, stream};

fn collection() -> CollectionId {
    V2_COLLECTION.parse().unwrap()
}

fn names(json: &str) -> BTreeMap<String, SnapshotId> {
    serde_json::from_str(json).unwrap()
}

fn open(dir: &std::path::Path, key: bool) -> StorageBackend {
    let mut config = StorageBackendConfig::with_uri(format!("file://{}", dir.display()));
    config.auto_compact_percent = 0;
    if key {
        config.encryption = Some(EncryptionConfig::new(
            encrypted::KEY_ID,
            Some(encrypted::key_file()),
        ));
    }
    StorageBackend::from_config(config).unwrap()
}

async fn restore(
    backend: &StorageBackend,
    id: SnapshotId,
) -> akidb_snapshot::Result<Vec<VectorDocument>> {
    backend
        .store()
        .restore_snapshot_stream(collection(), id)
        .await?
        .try_concat()
        .await
}

#[tokio::test]
async fn the_encrypted_store_restores_as_the_plain_one_with_its_key_only() {
    let dir = tempfile::tempdir().unwrap();
    encrypted::copy_store(dir.path()).unwrap();
    let plain_dir = tempfile::tempdir().unwrap();
    copy_v2_store(V2Store::IndexesWithoutFilters, plain_dir.path()).unwrap();
    let keyed = open(dir.path(), true);
    let keyless = open(dir.path(), false);
    let plain = open(plain_dir.path(), false);
    let ours = names(&encrypted::snapshots().unwrap());
    let theirs = names(&v2_snapshots(V2Store::IndexesWithoutFilters).unwrap());
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );

    for (name, &id) in &ours {
        let metadata = keyless
            .store()
            .verify_snapshot(collection(), id)
            .await
            .unwrap();
        let encryption = metadata.encryption.as_ref().unwrap();
        assert_eq!(encryption.key_id, encrypted::KEY_ID, "{name}");
        for part in &metadata.parts {
            let encrypted_part = part.encryption.is_some();
            assert_eq!(
                encrypted_part,
                part.kind == PartKind::Data,
                "{name}: {}",
                part.key
            );
        }
        keyed
            .store()
            .verify_snapshot(collection(), id)
            .await
            .unwrap();
        let expected = restore(&plain, theirs[name]).await.unwrap();
        assert_eq!(restore(&keyed, id).await.unwrap(), expected, "{name}");
        let err = restore(&keyless, id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::EncryptionKey, "{name}: {err}");
        assert!(err.to_string().contains("`fixture-2026`"), "{err}");
    }

    // A partial restore: the same documents as a filtered whole restore.
    let updated = ours["updated"];
    let all = restore(&keyed, updated).await.unwrap();
    let selection = Selection::all().with_ids([all[3].document_id, all[17].document_id]);
    let (found, _) = selected(&keyed, (collection(), updated), &selection)
        .await
        .unwrap();
    assert_eq!(found, kept(all.clone(), &selection));

    // An increment on it, under the same key.
    let more: Vec<VectorDocument> = (0..3u128)
        .map(|i| VectorDocument::new(uuid::Uuid::from_u128(0xe0 + i), vec![i as f32; 4]))
        .collect();
    let increment = keyed
        .store()
        .try_create_on_stream(
            collection(),
            updated,
            Change::Append,
            &keyed.encoding(),
            stream::iter([Ok::<_, std::io::Error>(more.clone())]),
        )
        .await
        .unwrap();
    assert_eq!(
        increment.encryption.as_ref().unwrap().key_id,
        encrypted::KEY_ID
    );
    let back = restore(&keyed, increment.snapshot_id).await.unwrap();
    assert_eq!(back.len(), all.len() + 3);
    assert_eq!(back[all.len()..], more[..]);
}
