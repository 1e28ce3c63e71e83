//! A partial restore reads what it is asked for, not the snapshot: 100 random ids of a
//! 200k × 128 snapshot on the local store read at most 5% of its bytes, counted by the kernel
//! (the `rchar` of /proc/self/io: every byte the process's read calls returned), not by the
//! library. Alone in its test binary, so no other test's reads are counted.

mod support;

use akidb_snapshot::{Selection, Shard};
use futures::{StreamExt, TryStreamExt, stream};
use support::{TestStore, collection, docs, random, record};

const ROWS: usize = 200_000;
const DIMENSION: usize = 128;
const BATCH: usize = 10_000;

/// Bytes this process has read so far, as the kernel counts them.
fn bytes_read_by_process() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io (Linux)");
    io.lines()
        .find_map(|line| line.strip_prefix("rchar: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("an rchar line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_ids_of_200k_x_128_read_at_most_5_percent_of_the_snapshot() {
    let store = TestStore::fs();
    let backend = store.backend();
    let c = collection();
    let input = stream::iter(0..ROWS / BATCH).map(|b| docs(BATCH, DIMENSION, b as u64 + 1));
    let metadata = backend
        .store()
        .create_snapshot_stream(c, &backend.encoding(), input)
        .await
        .unwrap();
    let (_, files) = backend
        .store()
        .snapshot_files(c, metadata.snapshot_id)
        .await
        .unwrap();
    let stored: u64 = (files.iter())
        .map(|f| f.size_bytes + f.index.as_ref().map_or(0, |i| i.size_bytes))
        .sum();

    // 100 ids drawn across the whole snapshot (docs(n, d, seed) numbers ids from seed and row).
    let mut next = random(7);
    let wanted: Vec<(u64, u64)> = (0..100)
        .map(|_| {
            let row = next() % ROWS as u64;
            (row / BATCH as u64 + 1, row % BATCH as u64 + 1)
        })
        .collect();
    let ids: Vec<uuid::Uuid> = (wanted.iter())
        .map(|&(seed, row)| uuid::Uuid::from_u64_pair(seed, row))
        .collect();

    let before = bytes_read_by_process();
    let mut selected = backend
        .store()
        .restore_selected_stream(
            c,
            metadata.snapshot_id,
            Shard::ALL,
            &Selection::all().with_ids(ids.clone()),
        )
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(batch) = selected.try_next().await.unwrap() {
        got.extend(batch);
    }
    let read = bytes_read_by_process() - before;
    let report = selected.report();

    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(got.len(), distinct.len());
    assert!(report.missing_ids.is_empty());
    // Each exactly as written, in the snapshot's order.
    let mut expected: Vec<(u64, u64)> = wanted.clone();
    expected.sort();
    expected.dedup();
    for (doc, &(seed, row)) in got.iter().zip(&expected) {
        assert_eq!(*doc, docs(BATCH, DIMENSION, seed)[row as usize - 1]);
    }
    let share = read as f64 / stored as f64;
    record(
        "partial_reads",
        &format!(
            "100 random ids of {ROWS} x {DIMENSION}: the kernel counted {read} bytes read of \
             {stored} stored ({:.2}%), the library {} bytes in {} reads",
            share * 100.0,
            report.bytes_read,
            report.reads
        ),
    );
    assert!(
        read >= report.bytes_read,
        "the kernel saw {read} bytes, fewer than the library's {}",
        report.bytes_read
    );
    assert!(
        share <= 0.05,
        "read {read} bytes of {stored} stored ({:.2}%)",
        share * 100.0
    );
}
