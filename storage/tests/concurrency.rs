//! Many tasks create, restore, list and delete snapshots of two collections at once, for a
//! bounded time, on the local store and the S3 test server. Afterwards the store holds exactly
//! the snapshots reported created and not deleted, each verifying. (tests/c/threads.c does the
//! same through the C API from several threads.)
//!
//! `AKIDB_SOAK_SECS` sets how long each store is loaded (default 3 seconds).

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use akidb_snapshot::codec::{CollectionId, SnapshotId};
use akidb_snapshot::{ErrorKind, StorageBackend};
use support::{TestStore, collection, docs, random, record};

const TASKS: usize = 6;

fn soak() -> Duration {
    let secs = std::env::var("AKIDB_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(secs)
}

/// What the tasks were told: each live snapshot and the seed of its documents. A snapshot
/// is taken out before it is deleted, so no task expects it any more.
#[derive(Default)]
struct Ledger {
    live: BTreeMap<(CollectionId, SnapshotId), u64>,
    counts: [usize; 4],
}

type Shared = Arc<Mutex<Ledger>>;

async fn work(backend: StorageBackend, collections: [CollectionId; 2], ledger: Shared, task: u64) {
    let snapshotter = backend.snapshotter();
    let deadline = Instant::now() + soak();
    let mut next = random(task);
    let mut seed = task << 32;
    while Instant::now() < deadline {
        let roll = next();
        let c = collections[(roll >> 8) as usize % 2];
        let action = roll as usize % 4;
        let pick = |ledger: &Ledger| {
            let n = ledger.live.len();
            (n > 0).then(|| {
                let (key, seed) = ledger.live.iter().nth((roll >> 16) as usize % n).unwrap();
                (*key, *seed)
            })
        };
        match action {
            0 => {
                seed += 1;
                let id = snapshotter
                    .create_snapshot(c, docs(300, 16, seed))
                    .await
                    .unwrap();
                ledger.lock().unwrap().live.insert((c, id), seed);
            }
            1 => {
                let Some(((c, id), seed)) = pick(&ledger.lock().unwrap()) else {
                    continue;
                };
                match snapshotter.restore_snapshot(c, id).await {
                    Ok(restored) => assert_eq!(restored, docs(300, 16, seed)),
                    Err(e) => {
                        // Only a snapshot deleted meanwhile may be missing, and only as such.
                        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
                        assert!(!ledger.lock().unwrap().live.contains_key(&(c, id)), "{e}");
                    }
                }
            }
            2 => {
                let listed = snapshotter.list_snapshots(c).await.unwrap();
                assert!(listed.iter().all(|m| m.vector_count == 300));
            }
            _ => {
                let taken = {
                    let mut ledger = ledger.lock().unwrap();
                    let taken = pick(&ledger);
                    taken.map(|(key, _)| ledger.live.remove(&key));
                    taken
                };
                let Some(((c, id), _)) = taken else { continue };
                snapshotter.delete_snapshot(c, id).await.unwrap();
            }
        }
        ledger.lock().unwrap().counts[action] += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_restores_lists_and_deletes_keep_the_store_exact() {
    let mut figures = Vec::new();
    for store in [TestStore::fs(), TestStore::s3()] {
        let backend = store.backend();
        let collections = [collection(), collection()];
        let ledger = Shared::default();
        let tasks: Vec<_> = (0..TASKS as u64)
            .map(|task| {
                let run = work(backend.clone(), collections, Arc::clone(&ledger), task);
                tokio::spawn(run)
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }

        let ledger = Arc::into_inner(ledger).unwrap().into_inner().unwrap();
        for c in collections {
            let listed = backend.store().list_snapshots(c).await.unwrap();
            let mut held: Vec<_> = listed.iter().map(|m| m.snapshot_id).collect();
            held.sort();
            let expected: Vec<_> = ledger
                .live
                .keys()
                .filter(|k| k.0 == c)
                .map(|k| k.1)
                .collect();
            assert_eq!(held, expected, "{}: exactly the live snapshots", store.name);
            for id in held {
                backend.store().verify_snapshot(c, id).await.unwrap();
            }
        }
        let [creates, restores, lists, deletes] = ledger.counts;
        figures.push(format!(
            "{}: {TASKS} tasks for {:?}: {creates} creates, {restores} restores, {lists} lists, \
             {deletes} deletes, {} live snapshots exact and verified",
            store.name,
            soak(),
            ledger.live.len()
        ));
    }
    record("concurrency", &figures.join("; "));
}
