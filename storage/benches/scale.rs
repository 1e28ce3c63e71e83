//! 100k × 512 random vectors created and restored on the local store, each phase in a fresh
//! process so its peak RSS (`VmHWM` of /proc/self/status) is its own.
//!
//! `cargo bench -p akidb-snapshot --bench scale`
//!
//! Phases: `create` (the `Vec` API: all 100k documents in memory, as AkiDB calls it), `restore`
//! (the `Vec` API: all 100k documents come back), `create-stream` (documents generated a batch
//! at a time), `restore-stream` (batches dropped as they arrive).
#![allow(missing_docs, clippy::print_stdout)]

#[path = "../../codec/benches/support/data.rs"]
#[allow(dead_code)]
mod data;

use std::process::Command;
use std::time::Instant;

use akidb_snapshot::StorageBackend;
use akidb_snapshot::codec::{CollectionId, SnapshotId, VectorDocument};
use futures::{StreamExt, stream};
use uuid::Uuid;

const ROWS: usize = 100_000;
const DIMENSION: usize = 512;
const BATCH: usize = 10_000;

fn batch(index: usize) -> Vec<VectorDocument> {
    // One fixed-seed matrix of a batch's size, shifted per batch: cheap, and still random bytes.
    data::random_vectors(BATCH, DIMENSION)
        .into_iter()
        .map(|v| {
            let v = v.into_iter().map(|x| x + index as f32).collect();
            VectorDocument::new(Uuid::now_v7(), v)
        })
        .collect()
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn phase(name: &str, uri: &str, collection: CollectionId, snapshot: Option<SnapshotId>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let backend = StorageBackend::open(uri).unwrap();
    let snapshotter = backend.snapshotter();
    let store = backend.store();
    let (seconds, result) = rt.block_on(async {
        match name {
            "create" => {
                let docs: Vec<_> = (0..ROWS / BATCH).flat_map(batch).collect();
                let started = Instant::now();
                let id = snapshotter.create_snapshot(collection, docs).await.unwrap();
                (started.elapsed().as_secs_f64(), id.to_string())
            }
            "create-stream" => {
                let started = Instant::now();
                let input = stream::iter(0..ROWS / BATCH).map(batch);
                let m = store
                    .create_snapshot_stream(collection, &backend.encoding(), input)
                    .await
                    .unwrap();
                (started.elapsed().as_secs_f64(), m.snapshot_id.to_string())
            }
            "restore" => {
                let started = Instant::now();
                let docs = snapshotter
                    .restore_snapshot(collection, snapshot.unwrap())
                    .await
                    .unwrap();
                (started.elapsed().as_secs_f64(), docs.len().to_string())
            }
            _ => {
                let started = Instant::now();
                let mut rows = 0;
                let mut batches = store
                    .restore_snapshot_stream(collection, snapshot.unwrap())
                    .await
                    .unwrap();
                while let Some(b) = batches.next().await {
                    rows += b.unwrap().len();
                }
                (started.elapsed().as_secs_f64(), rows.to_string())
            }
        }
    });
    println!("{name} {seconds:.3} {:.0} {result}", peak_rss_mb());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--phase") {
        let snapshot = args.get(at + 4).and_then(|s| s.parse().ok());
        phase(
            &args[at + 1],
            &args[at + 2],
            args[at + 3].parse().unwrap(),
            snapshot,
        );
        return;
    }
    if args.iter().any(|a| a == "--list") || args.iter().any(|a| a == "--test") {
        return; // `cargo test --benches` and `--list`: nothing to run
    }
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", dir.path().display());
    let collection = CollectionId::from_uuid(Uuid::now_v7()).to_string();
    let run = |name: &str, snapshot: &str| -> (f64, f64, String) {
        let out = Command::new(&args[0])
            .args(["--phase", name, &uri, &collection, snapshot])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let f: Vec<&str> = line.split_whitespace().collect();
        (
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].to_owned(),
        )
    };
    println!(
        "100k x 512 on the local store ({:.0} MB of floats)",
        (ROWS * DIMENSION * 4) as f64 / 1e6
    );
    println!("{:<16} {:>9} {:>14}", "phase", "seconds", "peak RSS (MB)");
    let (s, rss, id) = run("create", "-");
    println!("{:<16} {s:>9.3} {rss:>14.0}", "create (Vec)");
    let (s, rss, _) = run("restore", &id);
    println!("{:<16} {s:>9.3} {rss:>14.0}", "restore (Vec)");
    let (s, rss, id) = run("create-stream", "-");
    println!("{:<16} {s:>9.3} {rss:>14.0}", "create (stream)");
    let (s, rss, _) = run("restore-stream", &id);
    println!("{:<16} {s:>9.3} {rss:>14.0}", "restore (stream)");
}
