//! Kills a real `akidb-cli` process (SIGKILL) at many points of `snapshot create`, `delete`,
//! `migrate`, `copy` (then reruns it: the copy ends whole, each part once), and of creates on a base (an append, an update, a full export) and compactions
//! racing a delete of their base and a gc, on the local
//! store and on the S3 test server, then checks what the commit protocol promises: every listed
//! snapshot verifies, none is half-written, `gc` removes what the killed runs left, a retried
//! command succeeds, and no source is lost by a migration.
//!
//! `AKIDB_CRASH_KILLS` sets how many kills each command gets per store (default 10).

#[path = "../../storage/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use akidb_snapshot::codec::{
    CollectionId, ParquetConfig, PartEntry, SnapshotFormat, SnapshotHeader, SnapshotId, Timestamp,
    VectorDocument, encode_parquet,
};
use akidb_snapshot::{Change, StorageBackend, StorageBackendConfig};
use support::{TestStore, collection, docs, random, record, write_npy};

/// How long a store is given to finish requests sent before a kill.
const SETTLE: Duration = Duration::from_millis(500);

fn kills() -> usize {
    std::env::var("AKIDB_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// `akidb-cli --store URI ARGS…`.
fn cli(uri: &str, args: &[impl AsRef<OsStr>]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_akidb-cli"));
    command
        .env_remove("AKIDB_STORE")
        .env_remove("AKIDB_CONFIG")
        .args(["-q", "--store", uri])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Runs to the end, which must be a success; returns how long it took.
fn run(uri: &str, args: &[impl AsRef<OsStr>]) -> Duration {
    let started = Instant::now();
    let status = cli(uri, args).status().expect("run akidb-cli");
    assert!(status.success(), "akidb-cli failed: {status}");
    started.elapsed()
}

/// Runs and sends SIGKILL after `after`; `false` if it ended first.
fn run_killed(uri: &str, args: &[impl AsRef<OsStr>], after: Duration) -> bool {
    let mut child = cli(uri, args).spawn().expect("start akidb-cli");
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().expect("poll akidb-cli").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2).min(after));
    }
    child.kill().expect("kill akidb-cli");
    child.wait().expect("reap akidb-cli");
    true
}

/// `count` kill points spread over a run of `span`.
fn points(span: Duration, count: usize) -> impl Iterator<Item = Duration> {
    (0..count).map(move |i| span.mul_f64((i as f64 + 0.5) / count as f64))
}

/// What the store must look like after any kill.
struct Checker {
    backend: StorageBackend,
    verified: BTreeSet<SnapshotId>,
}

impl Checker {
    fn new(uri: &str) -> Self {
        let mut config = StorageBackendConfig::with_uri(uri);
        config.retry.max_retries = 0;
        Checker {
            backend: StorageBackend::from_config(config).unwrap(),
            verified: BTreeSet::new(),
        }
    }

    /// Every listed snapshot verifies (each is read once); returns the listed ids.
    async fn listed(&mut self, c: CollectionId) -> Vec<SnapshotId> {
        let store = self.backend.store();
        let listed = store.list_snapshots(c).await.unwrap();
        for m in &listed {
            if self.verified.insert(m.snapshot_id) {
                let verified = store.verify_snapshot(c, m.snapshot_id).await;
                assert!(
                    verified.is_ok(),
                    "a listed snapshot is damaged: {verified:?}"
                );
            }
        }
        listed.iter().map(|m| m.snapshot_id).collect()
    }

    /// Data files that no metadata file commits.
    async fn orphans(&self) -> Vec<String> {
        let op = self.backend.store().operator();
        let keys: BTreeSet<String> = op
            .list_with("snapshots/")
            .recursive(true)
            .await
            .unwrap()
            .iter()
            .map(|e| e.path().to_owned())
            .collect();
        keys.iter()
            .filter(|k| {
                k.ends_with(".parquet") || (k.ends_with(".json") && !k.ends_with(".metadata.json"))
            })
            .filter(|k| {
                let stem = k.rsplit_once('.').map_or(k.as_str(), |(s, _)| s);
                !keys.contains(&format!("{stem}.metadata.json"))
            })
            .cloned()
            .collect()
    }

    /// `gc` removes every orphan, and a local store keeps no temporary file.
    async fn collect(&self, uri: &str, root: Option<&Path>) {
        // A request sent just before a kill may still be done by the server (an S3 upload
        // completed after its client died), so the store is given a moment to settle.
        tokio::time::sleep(SETTLE).await;
        let gc = cli(uri, &["--json", "snapshot", "gc", "--grace", "0s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run gc");
        assert!(gc.status.success(), "gc failed: {gc:?}");
        let removed = String::from_utf8_lossy(&gc.stdout);
        assert_eq!(
            self.orphans().await,
            Vec::<String>::new(),
            "{uri}: gc removed {removed}"
        );
        if let Some(root) = root {
            let temp = root.join(".akidb-tmp");
            let left = std::fs::read_dir(&temp).map_or(0, |d| d.count());
            assert_eq!(left, 0, "temporary files left in {}", temp.display());
        }
    }

    async fn restore(&self, c: CollectionId, id: SnapshotId) -> Vec<VectorDocument> {
        self.backend
            .snapshotter()
            .restore_snapshot(c, id)
            .await
            .unwrap()
    }
}

/// The stores: a local folder (with its path) and a prefix of the S3 test server.
fn stores() -> Vec<(TestStore, Option<std::path::PathBuf>)> {
    let fs = TestStore::fs();
    let root = fs.uri.strip_prefix("file://").map(std::path::PathBuf::from);
    vec![(fs, root), (TestStore::s3(), None)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_creates_leave_no_half_written_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("vectors.npy");
    let mut next = random(1);
    let values = std::iter::repeat_with(|| (next() >> 40) as f32 / (1u64 << 24) as f32);
    write_npy(&input, 60_000, 256, values.take(60_000 * 256));
    let mut figures = Vec::new();
    for (store, root) in stores() {
        let uri = store.uri.as_str();
        let c = collection().to_string();
        let create = ["snapshot", "create", "--collection-id", &c, "--input"];
        let create: Vec<&str> = create.into_iter().chain(input.to_str()).collect();
        let mut checker = Checker::new(uri);
        let c = c.parse().unwrap();

        let span = run(uri, &create);
        let mut killed = 0;
        let mut finished = 1;
        for at in points(span, kills()) {
            if run_killed(uri, &create, at) {
                killed += 1;
            } else {
                finished += 1;
            }
            let listed = checker.listed(c).await;
            assert!(listed.len() >= finished, "a finished create is not listed");
        }
        checker.collect(uri, root.as_deref()).await;
        run(uri, &create);
        let listed = checker.listed(c).await;
        figures.push(format!(
            "{}: {killed} kills over {span:.1?}, {} snapshots listed and verified",
            store.name,
            listed.len()
        ));
    }
    record("crashes-create", &figures.join("; "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_deletes_leave_each_snapshot_whole_or_gone() {
    let mut figures = Vec::new();
    for (store, root) in stores() {
        let uri = store.uri.as_str();
        let c = collection();
        let mut checker = Checker::new(uri);
        let snapshotter = checker.backend.snapshotter();
        let mut ids = Vec::new();
        for seed in 0..=kills() as u64 {
            ids.push(
                snapshotter
                    .create_snapshot(c, docs(2_000, 64, seed))
                    .await
                    .unwrap(),
            );
        }
        let delete = |id: &SnapshotId| {
            let (c, id) = (c.to_string(), id.to_string());
            [
                "snapshot",
                "delete",
                "--collection-id",
                &c,
                "--snapshot-id",
                &id,
            ]
            .map(String::from)
        };
        let span = run(uri, &delete(&ids[0]));
        let mut killed = 0;
        for (at, id) in points(span, kills()).zip(&ids[1..]) {
            let args = delete(id);
            killed += usize::from(run_killed(uri, &args, at));
            checker.listed(c).await;
            // Retried, the delete succeeds or finds the snapshot already gone.
            let status = cli(uri, &args).status().unwrap();
            assert!(
                matches!(status.code(), Some(0 | 4)),
                "retried delete: {status}"
            );
        }
        assert_eq!(checker.listed(c).await, Vec::<SnapshotId>::new());
        checker.collect(uri, root.as_deref()).await;
        figures.push(format!(
            "{}: {killed} kills of {} deletes",
            store.name,
            ids.len() - 1
        ));
    }
    record("crashes-delete", &figures.join("; "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_migrations_lose_no_source() {
    let inputs: Vec<Vec<VectorDocument>> = (0..4).map(|seed| docs(4_000, 64, seed)).collect();
    let mut figures = Vec::new();
    for (store, root) in stores() {
        let uri = store.uri.as_str();
        let c = collection();
        let mut config = StorageBackendConfig::with_uri(uri);
        config.snapshotter_type = akidb_snapshot::SnapshotterType::Json;
        let json = StorageBackend::from_config(config).unwrap();
        let mut checker = Checker::new(uri);
        let c_text = c.to_string();
        let migrate = [
            "snapshot",
            "migrate",
            "--collection-id",
            &c_text,
            "--from-format",
            "json",
            "--to-format",
            "parquet",
            "--delete-source",
        ];
        // Empties the collection and makes the JSON sources anew.
        let reset = || async {
            for m in json.store().list_snapshots(c).await.unwrap() {
                json.store()
                    .delete_snapshot(c, m.snapshot_id)
                    .await
                    .unwrap();
            }
            for input in &inputs {
                json.snapshotter()
                    .create_snapshot(c, input.clone())
                    .await
                    .unwrap();
            }
        };

        reset().await;
        let span = run(uri, &migrate);
        let mut killed = 0;
        for at in points(span, kills()) {
            reset().await;
            killed += usize::from(run_killed(uri, &migrate, at));
            checker.listed(c).await;
            every_input_is_kept(&checker, c, &inputs).await;
            run(uri, &migrate);
            every_input_is_kept(&checker, c, &inputs).await;
            let listed = checker.backend.store().list_snapshots(c).await.unwrap();
            assert!(listed.iter().all(|m| m.format == SnapshotFormat::Parquet));
        }
        checker.collect(uri, root.as_deref()).await;
        figures.push(format!(
            "{}: {killed} kills of migrate over {span:.1?}",
            store.name
        ));
    }
    record("crashes-migrate", &figures.join("; "));
}

/// What a run builds on its base B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnBase {
    /// `snapshot create --base B --append F`: B's documents, then F's.
    Append,
    /// `--upserts F --deletes IDS`: B's first document deleted, F's added.
    Update,
    /// `--input F`, a full export: B's documents but the first, and F's new ones.
    Export,
    /// `snapshot compact`, of a B whose first document a tombstone hides.
    Compact,
}

/// Each kind of create on a base (an append, an update, a full export, a compaction), in turn,
/// killed at many points while, meanwhile, its base B is deleted and gc runs. On the local
/// store B's files are made older than gc's grace period first, so that only the run's pending
/// record keeps them. Whatever the order: every listed snapshot verifies, one that committed
/// holds what its kind says, and gc then leaves neither pending records nor orphans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_creates_on_a_base_racing_a_delete_of_it_and_gc_lose_no_listed_snapshot() {
    const GRACE: Duration = Duration::from_secs(3600);
    const KINDS: [OnBase; 4] = [
        OnBase::Append,
        OnBase::Update,
        OnBase::Export,
        OnBase::Compact,
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("new.npy");
    let mut next = random(3);
    let values = std::iter::repeat_with(|| (next() >> 40) as f32 / (1u64 << 24) as f32);
    write_npy(&input, 20_000, 64, values.take(20_000 * 64));
    let mut figures = Vec::new();
    for (store, root) in stores() {
        let uri = store.uri.as_str();
        let c = collection();
        let mut checker = Checker::new(uri);
        let mut config = StorageBackendConfig::with_uri(uri);
        config.part_rows = 5_000;
        config.auto_compact_percent = 0;
        let writer = StorageBackend::from_config(config).unwrap();
        // A base of 20,000 documents; for a compaction, with its first one deleted by a
        // tombstone, so that there is something to compact, and the snapshot it was made from
        // deleted, so that only the base names its parts.
        let base = |seed: u64, kind: OnBase| {
            let writer = writer.clone();
            async move {
                let docs = docs(20_000, 64, seed);
                let mut id = writer
                    .snapshotter()
                    .create_snapshot(c, docs.clone())
                    .await
                    .unwrap();
                if kind == OnBase::Compact {
                    let none =
                        futures::stream::empty::<Result<Vec<VectorDocument>, std::io::Error>>();
                    let deletes = Change::Update {
                        deletes: vec![docs[0].document_id],
                    };
                    let created = id;
                    id = (writer.store())
                        .try_create_on_stream(c, created, deletes, &writer.encoding(), none)
                        .await
                        .unwrap()
                        .snapshot_id;
                    // Only B names its parts now.
                    writer.store().delete_snapshot(c, created).await.unwrap();
                }
                (id, docs)
            }
        };
        let gone = dir.path().join("gone.txt");
        let export = dir.path().join("export.parquet");
        let args = |base: SnapshotId, kind: OnBase| {
            let (c, base) = (c.to_string(), base.to_string());
            let (input, gone, export) = (input.to_str(), gone.to_str(), export.to_str());
            let line: Vec<Option<&str>> = match kind {
                OnBase::Compact => vec![Some("compact"), Some("--snapshot-id"), Some(&base)],
                _ => vec![Some("create"), Some("--base"), Some(&base)],
            };
            let change: Vec<Option<&str>> = match kind {
                OnBase::Append => vec![Some("--append"), input],
                OnBase::Update => vec![Some("--upserts"), input, Some("--deletes"), gone],
                OnBase::Export => vec![Some("--input"), export],
                OnBase::Compact => vec![],
            };
            let mut args = vec!["snapshot".to_owned()];
            args.extend((line.into_iter().chain(change)).map(|a| a.unwrap().to_owned()));
            args.extend(["--collection-id".to_owned(), c]);
            args
        };
        let (first, _) = base(0, OnBase::Append).await;
        let span = run(uri, &args(first, OnBase::Append));
        let (mut killed, mut committed) = (0, 0);
        // Some runs end before their kill; the delete comes at a quarter, half or three
        // quarters of the way to it.
        for (i, at) in points(span.mul_f64(1.5), kills()).enumerate() {
            let kind = KINDS[i % KINDS.len()];
            let (b, old) = base(i as u64 + 1, kind).await;
            std::fs::write(&gone, old[0].document_id.to_string()).unwrap();
            let fresh = docs(20_000, 64, 1_000 + i as u64);
            if kind == OnBase::Export {
                let all = [&old[1..], &fresh[..]].concat();
                let header = SnapshotHeader::new(
                    c,
                    SnapshotId::from_uuid(uuid::Uuid::now_v7()),
                    Timestamp::from_millis(0),
                );
                let (bytes, _) = encode_parquet(&all, &header, &ParquetConfig::default()).unwrap();
                std::fs::write(&export, bytes).unwrap();
            }
            if let Some(root) = &root {
                let parts = writer.store().metadata(c, b).await.unwrap().parts;
                let when = std::time::SystemTime::now() - 2 * GRACE;
                for key in parts.iter().flat_map(PartEntry::keys) {
                    let file = std::fs::File::options()
                        .write(true)
                        .open(root.join(key))
                        .unwrap();
                    file.set_modified(when).unwrap();
                }
            }
            let (uri_owned, args) = (uri.to_owned(), args(b, kind));
            let running = tokio::task::spawn_blocking(move || run_killed(&uri_owned, &args, at));
            tokio::time::sleep(at.mul_f64((i % 3 + 1) as f64 / 4.0)).await;
            writer.store().delete_snapshot(c, b).await.unwrap();
            writer.store().gc(GRACE).await.unwrap();
            killed += usize::from(running.await.unwrap());
            tokio::time::sleep(SETTLE).await;
            for id in checker.listed(c).await {
                let m = checker.backend.store().metadata(c, id).await.unwrap();
                if m.parent_snapshot_id != Some(b) {
                    continue;
                }
                committed += 1;
                let mut restored = checker.restore(c, id).await;
                // All but an append lose the base's first document.
                let kept = &old[usize::from(kind != OnBase::Append)..];
                if kind == OnBase::Compact {
                    let mut kept = kept.to_vec();
                    kept.sort_by_key(|d| d.document_id);
                    restored.sort_by_key(|d| d.document_id);
                    assert!(restored == kept, "{kind:?}: the base's documents");
                    continue;
                }
                assert_eq!(restored.len(), kept.len() + 20_000, "{kind:?}");
                assert!(
                    restored[..kept.len()] == kept[..],
                    "{kind:?}: the base's documents first"
                );
                if kind == OnBase::Export {
                    assert!(
                        restored[kept.len()..] == fresh[..],
                        "{kind:?}: then the new ones"
                    );
                }
            }
        }
        checker.collect(uri, root.as_deref()).await;
        checker.listed(c).await;
        let pending = checker
            .backend
            .store()
            .operator()
            .list_with("pending/")
            .recursive(true);
        assert!(
            pending
                .await
                .unwrap()
                .iter()
                .all(|e| !e.metadata().is_file())
        );
        figures.push(format!(
            "{}: {killed} kills of {} appends, updates, exports and compactions racing a delete \
             and gc, {committed} committed",
            store.name,
            kills()
        ));
    }
    record("crashes-on-base", &figures.join("; "));
}

/// Each source's documents are in the store: in the source itself or in its conversion.
async fn every_input_is_kept(checker: &Checker, c: CollectionId, inputs: &[Vec<VectorDocument>]) {
    let listed = checker.backend.store().list_snapshots(c).await.unwrap();
    let mut held = Vec::new();
    for m in &listed {
        held.push(checker.restore(c, m.snapshot_id).await);
    }
    for (i, input) in inputs.iter().enumerate() {
        assert!(held.contains(input), "the documents of source {i} are lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_copies_resume_to_a_verified_copy_with_no_duplicate_parts() {
    let source = TestStore::fs();
    let mut config = source.config();
    config.part_rows = 5_000;
    config.auto_compact_percent = 0;
    let from = StorageBackend::from_config(config).unwrap();
    let c = collection();
    let base = from
        .snapshotter()
        .create_snapshot(c, docs(40_000, 128, 1))
        .await
        .unwrap();
    let changed = support::update(&from, c, base, docs(5_000, 128, 2), Vec::new())
        .await
        .unwrap();
    let before = support::contents(&from).await;
    let c_text = c.to_string();
    let copy_to = |to: &str| {
        [
            "snapshot",
            "copy",
            "--collection-id",
            &c_text,
            "--all",
            "--to",
            to,
        ]
        .map(String::from)
    };
    let expected = from
        .snapshotter()
        .restore_snapshot(c, changed.snapshot_id)
        .await
        .unwrap();
    let mut figures = Vec::new();
    for kind in ["fs", "s3"] {
        let destination = || match kind {
            "fs" => stores().swap_remove(0),
            _ => (TestStore::s3(), None),
        };
        let span = run(&source.uri, &copy_to(&destination().0.uri));
        let mut killed = 0;
        // Each kill on a fresh destination: once a copy is whole, a rerun has nothing to do.
        for at in points(span, kills()) {
            let (to, root) = destination();
            let uri = to.uri.as_str();
            let mut checker = Checker::new(uri);
            killed += usize::from(run_killed(&source.uri, &copy_to(uri), at));
            // Whatever is listed at the destination is whole.
            checker.listed(c).await;
            run(&source.uri, &copy_to(uri));
            assert_eq!(
                checker.listed(c).await,
                [changed.snapshot_id, base],
                "{kind}: both copied after a kill at {at:?}"
            );
            assert!(
                checker.restore(c, changed.snapshot_id).await == expected,
                "{kind}: the copy restores what the source does"
            );
            checker.collect(uri, root.as_deref()).await;
            // Each part once: exactly the source's parts, nothing left by the killed run.
            assert_eq!(
                support::keys_under(&checker.backend, "parts/").await,
                support::keys_under(&from, "parts/").await,
                "{kind}: after a kill at {at:?}"
            );
        }
        figures.push(format!("{kind}: {killed} kills over {span:.1?}"));
    }
    assert_eq!(
        support::contents(&from).await,
        before,
        "the source is never written"
    );
    record("crashes-copy", &figures.join("; "));
}
