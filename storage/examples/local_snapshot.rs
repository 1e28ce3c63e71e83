//! Back up a collection to the embedded default store and restore it: the main job, end to end.
//!
//! `cargo run --release -p akidb-snapshot --example local_snapshot [STORE_URI]`
//!
//! Takes the 10,000 real sentence embeddings of ../shared/data (or `AKIDB_DATA`), or makes
//! 10,000 random 384-float vectors when they are absent; creates a Parquet snapshot in STORE_URI
//! (default `file://./akidb-snapshots`, the embedded default store) through the storage layer's
//! commit protocol (data file first, metadata file last, never overwriting); lists it; restores
//! it (size, SHA-256, count and dimension checked); and compares every float bit for bit.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line program
#![allow(missing_docs)]

#[path = "../../codec/benches/support/data.rs"]
mod data;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use akidb_snapshot::codec::{CollectionId, SnapshotHeader, Timestamp, VectorDocument, encode_json};
use akidb_snapshot::{DEFAULT_URI, StorageBackend};
use uuid::Uuid;

type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() {
    let run = tokio::runtime::Runtime::new()
        .map_err(Into::into)
        .and_then(|rt| rt.block_on(run()));
    if let Err(e) = run {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> BoxResult<()> {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_URI.into());
    let (source, documents) = load_documents();
    let dimension = documents[0].dimension();
    println!(
        "collection: {} documents of dimension {dimension} ({source})",
        documents.len()
    );

    let backend = StorageBackend::open(&uri)?;
    let snapshotter = backend.snapshotter();
    let collection =
        CollectionId::from_uuid(Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_0001));

    let started = Instant::now();
    let snapshot_id = snapshotter
        .create_snapshot(collection, documents.clone())
        .await?;
    let created = started.elapsed();

    let started = Instant::now();
    let restored = snapshotter
        .restore_snapshot(collection, snapshot_id)
        .await?;
    let restore_time = started.elapsed();
    let identical = restored.len() == documents.len()
        && restored.iter().zip(&documents).all(|(a, b)| {
            a == b
                && a.vector
                    .iter()
                    .map(|x| x.to_bits())
                    .eq(b.vector.iter().map(|x| x.to_bits()))
        });
    if !identical {
        return Err("the restored documents differ from the originals".into());
    }

    let listed = snapshotter.list_snapshots(collection).await?;
    let metadata = listed
        .iter()
        .find(|m| m.snapshot_id == snapshot_id)
        .ok_or("the new snapshot is not listed")?;
    let header = SnapshotHeader::new(collection, snapshot_id, metadata.created_at);
    let (json, _) = encode_json(&documents, &header)?;
    println!("store:      {uri}");
    println!("snapshot:   snapshots/{collection}/{snapshot_id}.parquet (+ .metadata.json)");
    println!(
        "size:       {} bytes (the legacy JSON format: {} bytes, {:.2}x larger)",
        metadata.size_bytes,
        json.len(),
        json.len() as f64 / metadata.size_bytes as f64
    );
    if let Some(checksum) = metadata.checksum_sha256 {
        println!("sha256:     {checksum}");
    }
    println!("created in  {created:.1?}, restored and verified in {restore_time:.1?}");
    println!(
        "restored:   {} documents, identical bit for bit",
        restored.len()
    );
    println!(
        "listed:     {} snapshot(s) of this collection in the store",
        listed.len()
    );
    Ok(())
}

fn load_documents() -> (String, Vec<VectorDocument>) {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let now = Timestamp::from_millis(millis);
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
    (source, documents)
}
