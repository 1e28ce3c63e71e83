//! Encode and decode throughput, and file sizes, of the Parquet codec.
//!
//! `cargo bench -p akidb-snapshot-codec --bench codec` (docs/BENCHMARKS.md has the figures).
//! Throughput counts the vector payload (rows × dimension × 4 bytes), as the pyarrow reference
//! figures do. The real embeddings are read from ../shared/data (AKIDB_DATA overrides the
//! folder); without them only the synthetic set runs.
#![allow(missing_docs, clippy::print_stdout)] // a report: its output is the point

#[path = "support/data.rs"]
mod data;

use std::hint::black_box;

use akidb_snapshot_codec::*;
use criterion::{BenchmarkId, Criterion, Throughput};
use uuid::Uuid;

struct Dataset {
    name: &'static str,
    docs: Vec<VectorDocument>,
}

impl Dataset {
    fn payload_bytes(&self) -> u64 {
        (self.docs.len() * self.docs[0].dimension() * 4) as u64
    }
}

fn documents(rows: impl IntoIterator<Item = Vec<f32>>) -> Vec<VectorDocument> {
    rows.into_iter()
        .enumerate()
        .map(|(i, vector)| {
            VectorDocument::new(
                Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0000 + i as u128),
                vector,
            )
            .with_inserted_at(Timestamp::from_millis(1_700_000_000_000 + i as i64))
        })
        .collect()
}

fn synthetic(name: &'static str, rows: usize) -> Dataset {
    Dataset {
        name,
        docs: documents(data::random_vectors(rows, 512)),
    }
}

fn real() -> Option<Dataset> {
    let (vectors, _) = data::minilm()?;
    Some(Dataset {
        name: "minilm-10k-384",
        docs: documents(vectors),
    })
}

fn header() -> SnapshotHeader {
    SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(1)),
        SnapshotId::from_uuid(Uuid::from_u128(2)),
        Timestamp::from_millis(1_700_000_000_000),
    )
}

fn configs() -> Vec<(&'static str, ParquetConfig)> {
    let base = ParquetConfig::default();
    vec![
        ("default (zstd(1), byte_stream_split)", base.clone()),
        (
            "zstd(1), plain",
            base.clone().with_vector_encoding(VectorEncoding::Plain),
        ),
        (
            "zstd(3), byte_stream_split",
            base.clone()
                .with_compression(Compression::Zstd { level: 3 }),
        ),
        (
            "zstd(9), byte_stream_split",
            base.clone()
                .with_compression(Compression::Zstd { level: 9 }),
        ),
        (
            "snappy, byte_stream_split",
            base.clone().with_compression(Compression::Snappy),
        ),
        (
            "lz4, byte_stream_split",
            base.clone().with_compression(Compression::Lz4),
        ),
        (
            "none, plain",
            base.with_compression(Compression::None)
                .with_vector_encoding(VectorEncoding::Plain),
        ),
    ]
}

/// Sizes do not vary between runs, so they are printed once rather than timed.
fn report_sizes(sets: &[Dataset]) {
    for set in sets {
        let (json, _) = encode_json(&set.docs, &header()).expect("encode json");
        println!(
            "sizes {}: payload {} B, JSON {} B",
            set.name,
            set.payload_bytes(),
            json.len()
        );
        for (name, config) in configs() {
            let (file, _) = encode_parquet(&set.docs, &header(), &config).expect("encode");
            println!(
                "sizes {}: {name}: {} B, {:.3}x smaller than JSON, {:.3} of payload",
                set.name,
                file.len(),
                json.len() as f64 / file.len() as f64,
                file.len() as f64 / set.payload_bytes() as f64,
            );
        }
    }
}

/// The configurations timed: the default, and the default with four row groups in 10,000 rows
/// so that row groups are encoded and decoded on both cores.
fn timed_configs(set: &Dataset) -> Vec<(String, ParquetConfig)> {
    let default = ParquetConfig::default();
    let mut configs = vec![("default".to_owned(), default.clone())];
    if set.docs.len() <= 10_000 {
        let rows = set.docs.len().div_ceil(4);
        configs.push((
            format!("default, {rows} rows per group"),
            default.with_row_group_size(rows),
        ));
    }
    configs
}

fn bench(c: &mut Criterion, group: &str, sets: &[Dataset], samples: usize, json: bool) {
    let mut encode = c.benchmark_group(format!("encode{group}"));
    encode.sample_size(samples);
    for set in sets {
        encode.throughput(Throughput::Bytes(set.payload_bytes()));
        for (name, config) in timed_configs(set) {
            encode.bench_with_input(BenchmarkId::new(set.name, name), &config, |b, config| {
                b.iter(|| encode_parquet(black_box(&set.docs), &header(), config).expect("encode"))
            });
        }
        if json {
            encode.bench_function(BenchmarkId::new(set.name, "json"), |b| {
                b.iter(|| encode_json(black_box(&set.docs), &header()).expect("encode"))
            });
        }
    }
    encode.finish();

    let mut decode = c.benchmark_group(format!("decode{group}"));
    decode.sample_size(samples);
    for set in sets {
        decode.throughput(Throughput::Bytes(set.payload_bytes()));
        for (name, config) in timed_configs(set) {
            let (file, _) = encode_parquet(&set.docs, &header(), &config).expect("encode");
            let file = bytes::Bytes::from(file);
            decode.bench_with_input(BenchmarkId::new(set.name, &name), &file, |b, file| {
                b.iter(|| {
                    decode_parquet(black_box(file.clone()), &Limits::default()).expect("decode")
                })
            });
            // The restore path: the SHA-256 is checked first, after which the page index is
            // trusted to decode one row group on both cores.
            let digest = Sha256Digest::of(&file);
            let id = BenchmarkId::new(set.name, format!("{name}, verified"));
            decode.bench_with_input(id, &file, |b, file| {
                b.iter(|| {
                    decode_parquet_verified(black_box(file.clone()), &digest, &Limits::default())
                        .expect("decode")
                })
            });
        }
        if json {
            let (file, _) = encode_json(&set.docs, &header()).expect("encode");
            decode.bench_function(BenchmarkId::new(set.name, "json"), |b| {
                b.iter(|| decode_json(black_box(&file)).expect("decode"))
            });
        }
    }
    decode.finish();
}

fn main() {
    let sets: Vec<Dataset> = std::iter::once(synthetic("random-10k-512", 10_000))
        .chain(real())
        .collect();
    if std::env::var_os("AKIDB_BENCH_SIZES").is_some() {
        report_sizes(&sets);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, "", &sets, 50, true);
    drop(sets);
    bench(
        &mut c,
        "-100k",
        &[synthetic("random-100k-512", 100_000)],
        10,
        false,
    );
    c.final_summary();
}
