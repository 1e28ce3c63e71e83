//! Streaming keeps memory bounded by a few row groups, whatever the snapshot's size: 100k × 512
//! vectors (205 MB of floats) are created from a lazily generated stream and restored as a
//! stream, and the peak of the heap is asserted through a counting allocator. (Peak RSS of the
//! `Vec` paths is measured by the `storage_scale` bench and recorded in docs/BENCHMARKS.md.)

mod support;

use std::alloc::System;

use akidb_snapshot::codec::VectorDocument;
use cap::Cap;
use futures::{StreamExt, stream};
use support::{TestStore, collection, docs};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const BATCH_ROWS: usize = 10_000;
const DIMENSION: usize = 512;

/// Creates a snapshot of `batches` × 10k × 512 from a generated stream, restores it as a
/// stream, and returns the heap's peak so far.
async fn stream_through(backend: &akidb_snapshot::StorageBackend, batches: u64) -> usize {
    let c = collection();
    let input = stream::iter(0..batches).map(|b| docs(BATCH_ROWS, DIMENSION, b));
    let metadata = backend
        .store()
        .create_snapshot_stream(c, &backend.encoding(), input)
        .await
        .unwrap();
    assert_eq!(metadata.vector_count, batches * BATCH_ROWS as u64);

    let mut restored = backend
        .store()
        .restore_snapshot_stream(c, metadata.snapshot_id)
        .await
        .unwrap();
    let mut batch = 0;
    let mut rows = 0;
    while let Some(docs_back) = restored.next().await {
        let docs_back: Vec<VectorDocument> = docs_back.unwrap();
        // Spot-check one batch against what was generated for it.
        if batch == 3 {
            assert_eq!(docs_back, docs(BATCH_ROWS, DIMENSION, 3));
        }
        rows += docs_back.len();
        batch += 1;
    }
    assert_eq!(rows, batches as usize * BATCH_ROWS);
    HEAP.max_allocated()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_100k_x_512_stays_within_a_few_row_groups() {
    let store = TestStore::fs();
    let backend = store.backend();
    let before = HEAP.allocated();
    let peak_40k = stream_through(&backend, 4).await - before;
    let peak_100k = stream_through(&backend, 10).await - before;
    let floats_100k = 10 * BATCH_ROWS * DIMENSION * 4;
    eprintln!(
        "peak heap: {:.1} MB streaming 40k x 512, {:.1} MB streaming 100k x 512 ({:.1} MB of floats)",
        peak_40k as f64 / 1e6,
        peak_100k as f64 / 1e6,
        floats_100k as f64 / 1e6,
    );
    // 2.5 times the data, the same few row groups in memory.
    assert!(
        (peak_100k as f64) < peak_40k as f64 * 1.15,
        "the peak grew with the snapshot: {peak_40k} bytes for 40k, {peak_100k} for 100k"
    );
    assert!(
        peak_100k < floats_100k,
        "streaming 100k x 512 peaked at {peak_100k} bytes, more than its {floats_100k} bytes of floats"
    );
}
