//! Back up a collection to the local store and restore it: the codec's whole job, end to end.
//!
//! `cargo run --release -p akidb-snapshot-codec --example local_snapshot [STORE_DIR]`
//!
//! Takes the 10,000 real sentence embeddings of ../shared/data (or `AKIDB_DATA`), or makes
//! 10,000 random 384-float vectors when they are absent; writes a Parquet snapshot into
//! STORE_DIR (default `./akidb-snapshots`, the embedded default store) under the key layout of
//! docs/DESIGN.md, data file first and metadata file last; then reads it back, checks its SHA-256,
//! count and dimension, and compares every float bit for bit. The file I/O is the example's: the
//! codec itself only sees bytes and an `io::Write`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line program
#![allow(missing_docs)]

#[path = "../benches/support/data.rs"]
mod data;

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use akidb_snapshot_codec::*;
use uuid::Uuid;

type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> BoxResult<()> {
    let store = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "akidb-snapshots".into()),
    );
    let (source, documents) = load_documents()?;
    let dimension = documents[0].dimension();
    println!(
        "collection: {} documents of dimension {dimension} ({source})",
        documents.len()
    );

    let header = SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_0001)),
        SnapshotId::from_uuid(Uuid::now_v7()),
        chrono::Utc::now().into(),
    );
    let dir = store
        .join("snapshots")
        .join(header.collection_id.to_string());
    std::fs::create_dir_all(&dir)?;
    let data_path = dir.join(format!("{}.parquet", header.snapshot_id));
    let metadata_path = dir.join(format!("{}.metadata.json", header.snapshot_id));

    // Create: stream batches into the data file, then commit by writing the metadata file.
    let started = Instant::now();
    let config = ParquetConfig::default();
    let file = BufWriter::new(std::fs::File::create_new(&data_path)?);
    let mut writer = ParquetWriter::try_new(file, header, config.clone())?;
    for batch in documents.chunks(1_000) {
        writer.write(batch)?;
    }
    let (file, summary) = writer.finish()?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let metadata = SnapshotMetadata::new(
        &header,
        SnapshotFormat::Parquet,
        config.compression(),
        &summary,
    );
    write_new(&metadata_path, &metadata.to_json()?)?;
    let created = started.elapsed();

    // Restore: metadata first, then the data it vouches for.
    let started = Instant::now();
    let metadata = SnapshotMetadata::from_json(&std::fs::read(&metadata_path)?)?;
    let bytes = std::fs::read(&data_path)?;
    if bytes.len() as u64 != metadata.size_bytes {
        return Err(format!(
            "{} is {} bytes, the metadata says {}",
            data_path.display(),
            bytes.len(),
            metadata.size_bytes
        )
        .into());
    }
    let restored = match &metadata.checksum_sha256 {
        Some(checksum) => decode_parquet_verified(bytes.into(), checksum, &Limits::default())?,
        None => decode_parquet(bytes.into(), &Limits::default())?,
    };
    let restore_time = started.elapsed();
    if restored.len() as u64 != metadata.vector_count
        || restored[0].dimension() != metadata.dimension as usize
    {
        return Err("the restored count or dimension differs from the metadata".into());
    }
    let identical = restored.len() == documents.len()
        && restored.iter().zip(&documents).all(|(a, b)| {
            a.document_id == b.document_id
                && a.external_id == b.external_id
                && a.metadata == b.metadata
                && a.inserted_at == b.inserted_at
                && a.vector
                    .iter()
                    .map(|x| x.to_bits())
                    .eq(b.vector.iter().map(|x| x.to_bits()))
        });
    if !identical {
        return Err("the restored documents differ from the originals".into());
    }

    let (json, _) = encode_json(&documents, &header)?;
    println!("snapshot:   {}", data_path.display());
    println!("metadata:   {}", metadata_path.display());
    println!(
        "size:       {} bytes (the legacy JSON format: {} bytes, {:.2}x larger)",
        metadata.size_bytes,
        json.len(),
        json.len() as f64 / metadata.size_bytes as f64
    );
    println!(
        "sha256:     {}",
        metadata
            .checksum_sha256
            .map(|c| c.to_string())
            .unwrap_or_default()
    );
    println!("created in  {created:.1?}, restored and verified in {restore_time:.1?}");
    println!(
        "restored:   {} documents, identical bit for bit",
        restored.len()
    );
    Ok(())
}

/// Writes a file that must not exist yet: a snapshot is never overwritten.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn load_documents() -> BoxResult<(String, Vec<VectorDocument>)> {
    let now = Timestamp::from(chrono::Utc::now());
    let (source, rows, sentences) = match data::minilm() {
        Some((rows, sentences)) => {
            let from = format!("real MiniLM embeddings from {}", data::data_dir().display());
            (from, rows, sentences)
        }
        None => {
            let why = format!(
                "random vectors; no embeddings in {}",
                data::data_dir().display()
            );
            (why, data::random_vectors(10_000, 384), Vec::new())
        }
    };
    let documents = rows
        .into_iter()
        .enumerate()
        .map(|(i, vector)| {
            let doc = VectorDocument::new(Uuid::now_v7(), vector)
                .with_external_id(format!("sentence-{i}"))
                .with_inserted_at(now);
            match sentences.get(i) {
                Some(text) => doc.with_metadata(serde_json::json!({ "text": text })),
                None => doc,
            }
        })
        .collect();
    Ok((source, documents))
}
