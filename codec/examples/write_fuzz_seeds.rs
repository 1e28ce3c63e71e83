//! Writes the committed seed corpora of the fuzz targets (fuzz/seeds/): small valid snapshots
//! of several configurations, JSON snapshots, metadata files, tombstone parts, id indexes and a
//! part with its layout and its index's tail (partial reads), so the fuzzer
//! starts inside the
//! formats. Run from the repository's folder after a format change:
//!
//! ```sh
//! cargo run -p akidb-snapshot-codec --example write_fuzz_seeds
//! ```
//!
//! `codec/tests/fuzz_regressions.rs` checks that every seed still decodes.

use std::fs;
use std::path::Path;

use akidb_snapshot_codec::*;
use uuid::Uuid;

fn docs(n: u128, dim: usize) -> Vec<VectorDocument> {
    (0..n)
        .map(|i| {
            let doc = VectorDocument::new(
                Uuid::from_u128(i + 1),
                (0..dim)
                    .map(|d| (i as f32 - 1.5) * 0.25 + d as f32)
                    .collect(),
            )
            .with_inserted_at(Timestamp::from_millis(1_700_000_000_000 + i as i64));
            match i % 3 {
                0 => doc.with_external_id(format!("doc-{i}")),
                1 => doc.with_metadata(serde_json::json!({"i": i, "tag": ["a", "b"]})),
                _ => doc,
            }
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let header = SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_0001)),
        SnapshotId::from_uuid(Uuid::from_u128(0x0193_a5b0_1111_7000_8000_0000_0000_0002)),
        Timestamp::from_millis(1_732_400_000_123),
    );
    let root = Path::new("fuzz/seeds");
    let parquet = root.join("decode_parquet");
    let json = root.join("decode_json");
    let metadata = root.join("metadata");
    let tombstones = root.join("decode_tombstones");
    let indexes = root.join("decode_id_index");
    let partial = root.join("partial_read");
    for dir in [&parquet, &json, &metadata, &tombstones, &indexes, &partial] {
        fs::create_dir_all(dir)?;
    }

    let mut special = docs(3, 4);
    special[1].vector = vec![f32::NAN, -0.0, f32::INFINITY, f32::from_bits(1)];
    let configs = [
        ("zstd-default", docs(4, 3), ParquetConfig::default()),
        (
            "snappy-2-row-groups",
            docs(5, 2),
            ParquetConfig::default()
                .with_compression(Compression::Snappy)
                .with_row_group_size(3),
        ),
        (
            "lz4-plain",
            docs(3, 5),
            ParquetConfig::default()
                .with_compression(Compression::Lz4)
                .with_vector_encoding(VectorEncoding::Plain),
        ),
        (
            "none-no-dictionary",
            docs(2, 1),
            ParquetConfig::default()
                .with_compression(Compression::None)
                .with_dictionary(false),
        ),
        (
            "non-finite",
            special,
            ParquetConfig::default().with_compression(Compression::None),
        ),
    ];
    for (name, docs, config) in configs {
        let mut writer =
            ParquetWriter::try_new(Vec::new(), header, config.clone())?.with_id_index();
        writer.write(&docs)?;
        let index = writer.take_id_index().unwrap_or_default();
        let (bytes, summary) = writer.finish()?;
        let (index, _) = index.finish(&header, &summary)?;
        fs::write(parquet.join(format!("{name}.parquet")), &bytes)?;
        fs::write(indexes.join(format!("{name}.ids.parquet")), &index)?;
        let meta = SnapshotMetadata::new(
            &header,
            SnapshotFormat::Parquet,
            config.compression(),
            &summary,
        );
        fs::write(
            metadata.join(format!("{name}.metadata.json")),
            meta.to_json()?,
        )?;
    }
    for (name, docs) in [("three", docs(3, 2)), ("one", docs(1, 4))] {
        let (bytes, summary) = encode_json(&docs, &header)?;
        fs::write(json.join(format!("{name}.json")), &bytes)?;
        let meta =
            SnapshotMetadata::new(&header, SnapshotFormat::Json, Compression::None, &summary);
        fs::write(
            metadata.join(format!("{name}-json.metadata.json")),
            meta.to_json()?,
        )?;
    }
    // A part of many small pages, its layout, and its id index's tail: what a partial restore
    // reads.
    let config = ParquetConfig::default()
        .with_row_group_size(100)
        .with_page_bytes(1024);
    let mut writer = ParquetWriter::try_new(Vec::new(), header, config)?.with_id_index();
    writer.write(&docs(300, 8))?;
    let index = writer.take_id_index().unwrap_or_default();
    let (part, summary) = writer.finish()?;
    let (index, index_summary) = index.finish(&header, &summary)?;
    let (Some(layout), Some(index_layout)) = (summary.layout, index_summary.layout) else {
        return Err("a written file has its layout".into());
    };
    fs::write(partial.join("part-300x8.parquet"), &part)?;
    fs::write(partial.join("part-layout.txt"), layout.to_text())?;
    let tail = index.len() - index_layout.tail_bytes as usize;
    fs::write(partial.join("index-tail-300.bin"), &index[tail..])?;
    for n in [3u128, 100] {
        let ids = (0..n)
            .map(|i| Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_0000 + i * 7_919 + 1));
        let (bytes, _) = encode_tombstones(ids, &header)?;
        fs::write(tombstones.join(format!("{n}.tombstones.parquet")), &bytes)?;
    }
    Ok(())
}
