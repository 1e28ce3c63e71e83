//! Create and restore of 10k × 512 random vectors through `Snapshotter`, on the local store and
//! on an S3-compatible server (moto, started on 127.0.0.1 as the tests start it).
//!
//! `cargo bench -p akidb-snapshot --bench storage`
#![allow(missing_docs)]

#[path = "../../codec/benches/support/data.rs"]
#[allow(dead_code)]
mod data;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use akidb_snapshot::Snapshotter;
use akidb_snapshot::codec::{CollectionId, VectorDocument};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use support::TestStore;
use uuid::Uuid;

fn documents(rows: usize, dimension: usize) -> Vec<VectorDocument> {
    data::random_vectors(rows, dimension)
        .into_iter()
        .map(|v| VectorDocument::new(Uuid::now_v7(), v))
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let docs = documents(10_000, 512);
    let raw_bytes = (docs.len() * 512 * 4) as u64;
    for store in [TestStore::fs(), TestStore::s3()] {
        let snapshotter: Arc<dyn Snapshotter> = store.backend().snapshotter();
        let collection = CollectionId::from_uuid(Uuid::now_v7());
        let mut group = c.benchmark_group(format!("{} 10k x 512", store.name));
        group.throughput(Throughput::Bytes(raw_bytes));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(10));

        // Time the create only; delete each snapshot untimed so the store does not fill up.
        group.bench_function("create", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let input = docs.clone();
                    let started = Instant::now();
                    let id = rt
                        .block_on(snapshotter.create_snapshot(collection, input))
                        .unwrap();
                    total += started.elapsed();
                    rt.block_on(snapshotter.delete_snapshot(collection, id))
                        .unwrap();
                }
                total
            })
        });

        let id = rt
            .block_on(snapshotter.create_snapshot(collection, docs.clone()))
            .unwrap();
        group.bench_function("restore", |b| {
            b.iter_with_large_drop(|| {
                let restored = rt
                    .block_on(snapshotter.restore_snapshot(collection, id))
                    .unwrap();
                assert_eq!(restored.len(), docs.len());
                restored
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
