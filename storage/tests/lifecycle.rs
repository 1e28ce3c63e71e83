//! Lifecycle runs over a store of 20 snapshots of mixed ages: the run does what its dry run
//! said, each action where it said, a second run has nothing to do, and a run cut short then
//! run again ends where one whole run does.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akidb_snapshot::codec::{
    CollectionId, SnapshotHeader, SnapshotId, SnapshotMetadata, Timestamp,
};
use akidb_snapshot::{ErrorKind, LifecycleAction, LifecycleConfig, StorageBackend};
use support::{TestStore, collection, docs};
use uuid::Uuid;

const DAY: Duration = Duration::from_secs(86_400);

/// The ages, in days, of the 20 snapshots.
const AGES: [u64; 20] = [
    0, 1, 2, 3, 4, 6, 8, 9, 11, 13, 15, 18, 20, 22, 25, 27, 30, 33, 36, 40,
];

/// A snapshot of collection `c` made `age` ago: made now, then its manifest committed again
/// under an id and a creation time of then (the parts are the same).
async fn aged(backend: &StorageBackend, c: CollectionId, age: Duration, seed: u64) -> SnapshotId {
    let store = backend.store();
    let made = store
        .metadata(
            c,
            backend
                .snapshotter()
                .create_snapshot(c, docs(20, 4, seed))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    let then = SystemTime::now() - age;
    let since_epoch = then.duration_since(UNIX_EPOCH).unwrap();
    let id = SnapshotId::from_uuid(Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        since_epoch.as_secs(),
        since_epoch.subsec_nanos(),
    )));
    let header = SnapshotHeader::new(
        c,
        id,
        Timestamp::from_millis(since_epoch.as_millis() as i64),
    );
    let old =
        SnapshotMetadata::manifest(&header, made.compression, made.dimension, made.parts, None)
            .unwrap();
    let op = store.operator();
    support::put(
        op,
        &format!("snapshots/{c}/{id}.metadata.json"),
        &old.to_json().unwrap(),
    )
    .await;
    op.delete(&format!("snapshots/{c}/{}.metadata.json", made.snapshot_id))
        .await
        .unwrap();
    id
}

/// A store of 20 snapshots, `AGES` days old, in one collection, and their ids by age.
async fn twenty() -> (
    TestStore,
    StorageBackend,
    CollectionId,
    Vec<(u64, SnapshotId)>,
) {
    let store = TestStore::fs();
    let backend = store.backend();
    let c = collection();
    let mut ids = Vec::new();
    for (seed, age) in AGES.iter().enumerate() {
        ids.push((
            *age,
            aged(&backend, c, DAY * *age as u32, seed as u64).await,
        ));
    }
    (store, backend, c, ids)
}

/// Copy what is a week old to S3 (infrequent access), move what is three weeks old to a cold
/// folder, then keep the newest 8 of what stays.
fn rules(offsite: &str, cold: &str) -> LifecycleConfig {
    LifecycleConfig::from_toml_str(&format!(
        r#"
[lifecycle.retention]
keep_last = 8
min_count = 2

[[lifecycle.copy]]
older_than = "7d"
to = "{offsite}"
storage_class = "STANDARD_IA"

[[lifecycle.move]]
older_than = "21d"
to = "{cold}"
"#
    ))
    .unwrap()
    .unwrap()
}

fn ids_of(actions: &[LifecycleAction], kind: &str) -> Vec<SnapshotId> {
    actions
        .iter()
        .filter_map(|a| match (a, kind) {
            (LifecycleAction::Copy { snapshot_id, .. }, "copy")
            | (LifecycleAction::Move { snapshot_id, .. }, "move")
            | (LifecycleAction::Delete { snapshot_id, .. }, "delete") => Some(*snapshot_id),
            _ => None,
        })
        .collect()
}

async fn listed(backend: &StorageBackend, c: CollectionId) -> BTreeSet<SnapshotId> {
    let listed = backend.store().list_snapshots(c).await.unwrap();
    listed.iter().map(|m| m.snapshot_id).collect()
}

/// The ids of the snapshots whose age `keep` keeps, oldest first.
fn aged_ids(ids: &[(u64, SnapshotId)], keep: impl Fn(u64) -> bool) -> Vec<SnapshotId> {
    ids.iter()
        .rev()
        .filter(|(age, _)| keep(*age))
        .map(|(_, id)| *id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_does_exactly_what_its_dry_run_said() {
    let (_source, backend, c, ids) = twenty().await;
    let (offsite, cold) = (TestStore::s3(), TestStore::fs());
    let lifecycle = rules(&offsite.uri, &cold.uri);
    let before = support::contents(&backend).await;

    let mut told = Vec::new();
    let planned = backend
        .run_lifecycle(&lifecycle, true, |a| told.push(a.clone()))
        .await
        .unwrap();
    assert_eq!(told, planned);
    assert_eq!(
        support::contents(&backend).await,
        before,
        "a dry run writes nothing"
    );
    assert!(listed(&offsite.backend(), c).await.is_empty());

    // A week old and more: copied, oldest first; three weeks and more: moved; of the 13 that
    // stay, the 5 oldest deleted.
    assert_eq!(ids_of(&planned, "copy"), aged_ids(&ids, |age| age >= 7));
    assert_eq!(ids_of(&planned, "move"), aged_ids(&ids, |age| age >= 21));
    assert_eq!(
        ids_of(&planned, "delete"),
        aged_ids(&ids, |age| (11..21).contains(&age))
    );
    for action in &planned {
        let bytes = match action {
            LifecycleAction::Copy { bytes, .. }
            | LifecycleAction::Move { bytes, .. }
            | LifecycleAction::Delete { bytes, .. } => *bytes,
            other => panic!("{other:?}"),
        };
        assert!(bytes > 0, "every snapshot has parts of its own: {action:?}");
    }

    let done = backend
        .run_lifecycle(&lifecycle, false, |_| {})
        .await
        .unwrap();
    assert_eq!(done, planned, "the run does what the dry run said");
    assert_eq!(
        listed(&backend, c).await,
        aged_ids(&ids, |age| age < 11).into_iter().collect()
    );
    let offsite_backend = offsite.backend();
    assert_eq!(
        listed(&offsite_backend, c).await,
        aged_ids(&ids, |age| age >= 7).into_iter().collect()
    );
    assert_eq!(
        listed(&cold.backend(), c).await,
        aged_ids(&ids, |age| age >= 21).into_iter().collect()
    );
    for id in aged_ids(&ids, |age| age >= 7) {
        offsite_backend
            .store()
            .verify_snapshot(c, id)
            .await
            .unwrap();
    }
    for id in aged_ids(&ids, |age| age >= 21) {
        cold.backend().store().verify_snapshot(c, id).await.unwrap();
    }
    // The copies are in the class the rule names.
    let path = offsite.uri["s3://".len()..].split('?').next().unwrap();
    let (bucket, prefix) = path.split_once('/').unwrap();
    for key in support::keys_under(&offsite_backend, "parts/").await {
        assert_eq!(
            support::s3_head(bucket, &format!("{prefix}/{key}"), &["StorageClass"]),
            "STANDARD_IA",
            "{key}"
        );
    }

    let again = backend
        .run_lifecycle(&lifecycle, true, |_| {})
        .await
        .unwrap();
    assert_eq!(again, [], "nothing is left to do");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_short_and_run_again_ends_where_a_whole_run_does() {
    let (_source, backend, c, ids) = twenty().await;
    let (offsite, cold) = (TestStore::fs(), TestStore::fs());
    let mut lifecycle = rules(&offsite.uri, &cold.uri);
    // A folder has no storage classes.
    lifecycle.copies[0].storage_class = None;
    let planned = backend
        .run_lifecycle(&lifecycle, true, |_| {})
        .await
        .unwrap();
    let mut cuts = 0;
    for limit in [5, 20, 60] {
        let cut = tokio::time::timeout(
            Duration::from_millis(limit),
            backend.run_lifecycle(&lifecycle, false, |_| {}),
        )
        .await;
        cuts += usize::from(cut.is_err());
    }
    backend
        .run_lifecycle(&lifecycle, false, |_| {})
        .await
        .unwrap();
    assert!(cuts > 0, "no run was cut short");
    assert_eq!(
        listed(&backend, c).await,
        aged_ids(&ids, |age| age < 11).into_iter().collect()
    );
    assert_eq!(
        listed(&offsite.backend(), c).await,
        ids_of(&planned, "copy").into_iter().collect()
    );
    assert_eq!(
        listed(&cold.backend(), c).await,
        ids_of(&planned, "move").into_iter().collect()
    );
    assert_eq!(
        backend
            .run_lifecycle(&lifecycle, true, |_| {})
            .await
            .unwrap(),
        []
    );
}

#[test]
fn bad_rules_are_config_errors() {
    for (toml, needle) in [
        ("[[lifecycle.copy]]\nto = \"s3://b/p\"\n", "older_than"),
        (
            "[[lifecycle.copy]]\nolder_than = \"a week\"\nto = \"s3://b/p\"\n",
            "a week",
        ),
        (
            "[[lifecycle.move]]\nolder_than = \"7d\"\nto = \"ftp://x\"\n",
            "ftp",
        ),
        ("[lifecycle.retention]\nkeep = 3\n", "unknown field `keep`"),
    ] {
        let err = LifecycleConfig::from_toml_str(toml).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{toml}");
        assert!(err.to_string().contains(needle), "{toml}: {err}");
    }
    assert_eq!(LifecycleConfig::from_toml_str("[storage]\n").unwrap(), None);
}
