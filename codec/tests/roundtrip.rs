//! Encode → decode is the identity, floats bit for bit, in every configuration and by every
//! path: whole, streamed in batches, one row group at a time, from fetched byte ranges.

mod common;

use akidb_snapshot_codec::*;
use bytes::Bytes;
use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn parquet_roundtrip_is_exact(
        docs in collection(any_f32(), any::<i64>(), 2048, 12),
        config in any_config(),
    ) {
        let (file, summary) = encode_parquet(&docs, &header(), &config).unwrap();
        prop_assert_eq!(summary.vector_count, docs.len() as u64);
        prop_assert_eq!(summary.dimension as usize, docs[0].dimension());
        prop_assert_eq!(summary.size_bytes, file.len() as u64);
        prop_assert_eq!(summary.checksum_sha256, Sha256Digest::of(&file));
        let back = decode_parquet(Bytes::from(file), &Limits::default()).unwrap();
        assert_same(&back, &docs);
    }

    #[test]
    fn json_roundtrip_is_exact_for_finite_floats(
        docs in collection(finite_f32(), RFC3339_MILLIS, 64, 12),
    ) {
        let (file, summary) = encode_json(&docs, &header()).unwrap();
        prop_assert_eq!(summary.checksum_sha256, Sha256Digest::of(&file));
        let back = decode_json(&file).unwrap();
        prop_assert_eq!(back.header, header());
        assert_same(&back.documents, &docs);
    }

    #[test]
    fn streamed_batches_read_back_as_one_collection(
        docs in collection(any_f32(), any::<i64>(), 16, 60),
        rows_per_group in 1..25usize,
        batch_sizes in prop::collection::vec(1..20usize, 1..8),
    ) {
        let config = ParquetConfig::default().with_row_group_size(rows_per_group);
        let mut writer = ParquetWriter::try_new(Vec::new(), header(), config).unwrap();
        writer.write(&[]).unwrap();
        let mut rest = &docs[..];
        for size in batch_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*size).min(rest.len()));
            writer.write(now).unwrap();
            rest = later;
        }
        let (file, _) = writer.finish().unwrap();

        let reader = ParquetReader::try_new(Bytes::from(file), &Limits::default()).unwrap();
        prop_assert_eq!(reader.info().row_groups.len(), docs.len().div_ceil(rows_per_group));
        let mut back = Vec::new();
        for group in reader {
            let group = group.unwrap();
            prop_assert!(group.len() <= rows_per_group);
            back.extend(group);
        }
        assert_same(&back, &docs);
    }
}

#[test]
fn every_compression_roundtrips() {
    let docs = docs(500, 32);
    for compression in [
        Compression::None,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd { level: 1 },
        Compression::Zstd { level: 19 },
    ] {
        let config = ParquetConfig::default().with_compression(compression);
        let (file, _) = encode_parquet(&docs, &header(), &config).unwrap();
        let info = inspect_parquet(&file, &Limits::default()).unwrap();
        assert_eq!(info.compression.map(|c| c.name()), Some(compression.name()));
        assert_same(
            &decode_parquet(file.into(), &Limits::default()).unwrap(),
            &docs,
        );
    }
}

#[test]
fn row_groups_decode_from_fetched_ranges() {
    let docs = docs(95, 8);
    let config = ParquetConfig::default().with_row_group_size(20);
    let (file, _) = encode_parquet(&docs, &header(), &config).unwrap();
    let len = file.len() as u64;

    // A tail too short for the footer asks for more, then parses.
    let short = Bytes::copy_from_slice(&file[file.len() - 16..]);
    let FooterParse::NeedTail(needed) =
        ParquetFooter::parse(short, len, &Limits::default()).unwrap()
    else {
        panic!("16 bytes cannot hold the footer")
    };
    assert!(needed > 16 && needed <= len);
    let tail = Bytes::copy_from_slice(&file[file.len() - needed as usize..]);
    let FooterParse::Complete(footer) =
        ParquetFooter::parse(tail, len, &Limits::default()).unwrap()
    else {
        panic!("the footer is complete with the bytes it asked for")
    };

    let mut back = Vec::new();
    for (i, group) in footer.info().row_groups.iter().enumerate() {
        let range = group.byte_range.start as usize..group.byte_range.end as usize;
        back.extend(
            footer
                .decode_row_group(i, Bytes::copy_from_slice(&file[range]))
                .unwrap(),
        );
    }
    assert_same(&back, &docs);

    // The wrong bytes for a row group are the caller's mistake, not corruption.
    let err = footer
        .decode_row_group::<VectorDocument>(0, Bytes::from_static(b"abc"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    let err = footer
        .decode_row_group::<VectorDocument>(99, Bytes::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
}

#[test]
fn a_row_group_decodes_in_parts_cut_by_its_offset_index() {
    let docs = docs(6_000, 256);
    let whole = vec![std::ops::Range {
        start: 0,
        end: 6_000,
    }];
    let (file, _) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    let len = file.len() as u64;
    let tail = Bytes::copy_from_slice(&file[file.len().saturating_sub(64 * 1024)..]);
    let FooterParse::Complete(mut footer) =
        ParquetFooter::parse(tail.clone(), len, &Limits::default()).unwrap()
    else {
        panic!("the tail holds the footer")
    };
    assert_eq!(footer.row_group_parts(0, 3), whole, "no index yet");

    footer.load_offset_index(tail);
    let parts = footer.row_group_parts(0, 3);
    assert_eq!(parts.len(), 3, "{parts:?}");
    assert_eq!((parts[0].start, parts[2].end), (0, 6_000));
    assert!(
        parts.windows(2).all(|w| w[0].end == w[1].start),
        "{parts:?}"
    );
    let range = footer.info().row_groups[0].byte_range.clone();
    let group = Bytes::copy_from_slice(&file[range.start as usize..range.end as usize]);
    let mut back = Vec::new();
    for rows in parts {
        back.extend(
            footer
                .decode_row_group_rows::<VectorDocument>(0, rows, group.clone())
                .unwrap(),
        );
    }
    assert_same(&back, &docs);

    // Rows the group does not hold are the caller's mistake.
    #[allow(clippy::reversed_empty_ranges)] // the point: a range that ends before it starts
    for rows in [5_000..6_001, 10..5] {
        let err = footer
            .decode_row_group_rows::<VectorDocument>(0, rows, group.clone())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    }
    assert!(footer.row_group_parts(1, 2).is_empty(), "no row group 1");

    // A tail holding the footer but not the index before it leaves the group whole.
    let FooterParse::NeedTail(needed) = ParquetFooter::parse(
        Bytes::copy_from_slice(&file[file.len() - 8..]),
        len,
        &Limits::default(),
    )
    .unwrap() else {
        panic!("8 bytes cannot hold the footer")
    };
    let short = Bytes::copy_from_slice(&file[file.len() - needed as usize..]);
    let FooterParse::Complete(mut footer) =
        ParquetFooter::parse(short.clone(), len, &Limits::default()).unwrap()
    else {
        panic!("the footer is complete with the bytes it asked for")
    };
    footer.load_offset_index(short);
    assert_eq!(footer.row_group_parts(0, 3), whole);
}

#[test]
fn large_batches_are_split_into_configured_row_groups() {
    let docs = docs(10_001, 4);
    let (file, _) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    let info = inspect_parquet(&file, &Limits::default()).unwrap();
    let rows: Vec<u64> = info.row_groups.iter().map(|rg| rg.rows).collect();
    assert_eq!(rows, [10_000, 1]);
    assert_eq!(info.vector_count, 10_001);
}

#[test]
fn inspect_reports_the_footer() {
    let docs = docs(30, 3);
    let config = ParquetConfig::default().with_row_group_size(10);
    let (file, summary) = encode_parquet(&docs, &header(), &config).unwrap();
    let info = inspect_parquet(&file, &Limits::default()).unwrap();
    assert_eq!(info.header, Some(header()));
    assert_eq!((info.vector_count, info.dimension), (30, 3));
    assert_eq!(info.schema_version, SCHEMA_VERSION);
    assert_eq!(info.file_bytes, summary.size_bytes);
    assert_eq!(info.row_groups.len(), 3);
    assert_eq!(
        info.compressed_bytes,
        info.row_groups
            .iter()
            .map(|rg| rg.compressed_bytes)
            .sum::<u64>()
    );
    assert!(info.uncompressed_bytes > 0);
    assert_eq!(info.footer["akidb.vector_count"], "30");
    assert_eq!(info.footer["akidb.created_at"], "2024-11-23T22:13:20.123Z");
    assert!(!info.footer.contains_key("ARROW:schema"));
    assert!(info.created_by.unwrap().starts_with("akidb-snapshot-codec"));
    // Row groups are contiguous and inside the file.
    for pair in info.row_groups.windows(2) {
        assert_eq!(pair[0].byte_range.end, pair[1].byte_range.start);
    }
    assert!(info.row_groups.last().unwrap().byte_range.end < info.file_bytes);
}

#[test]
fn metadata_file_roundtrips() {
    let docs = docs(3, 2);
    let (_, summary) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    let metadata = SnapshotMetadata::new(
        &header(),
        SnapshotFormat::Parquet,
        Compression::Zstd { level: 7 },
        &summary,
    );
    let text = metadata.to_json().unwrap();
    let parsed = SnapshotMetadata::from_json(&text).unwrap();
    assert_eq!(parsed, metadata);
    let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(value["format"], "parquet");
    assert_eq!(value["compression"], "zstd(7)");
    assert_eq!(value["created_at"], "2024-11-23T22:13:20.123Z");
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["checksum_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_single_row_group_of_many_pages_decodes_identically() {
    // About 3 MB of vectors in one row group: several 1 MB pages, which whole-file decoding
    // cuts between threads.
    let docs = docs(6_000, 128);
    let (file, _) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    assert_eq!(
        inspect_parquet(&file, &Limits::default())
            .unwrap()
            .row_groups
            .len(),
        1
    );
    assert_same(
        &decode_parquet(Bytes::from(file), &Limits::default()).unwrap(),
        &docs,
    );
}

/// Without a verified checksum the page index is not used, so damage to it cannot shift rows.
#[test]
fn a_damaged_page_index_never_changes_the_documents() {
    let docs = docs(6_000, 128);
    let (file, _) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    let info = inspect_parquet(&file, &Limits::default()).unwrap();
    // The page indexes lie between the last column chunk and the footer.
    let index_start = info.row_groups[0].byte_range.end as usize;
    let footer_len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
    let index_end = file.len() - 8 - footer_len as usize;
    assert!(index_end > index_start, "the file has a page index");
    let mut random = xorshift(0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..400 {
        let state = random();
        let mut damaged = file.clone();
        let at = index_start + (state % (index_end - index_start) as u64) as usize;
        damaged[at] ^= 1 << (state >> 61);
        if let Ok(back) = decode_parquet(Bytes::from(damaged), &Limits::default()) {
            assert_same(&back, &docs);
        }
    }
}

#[test]
fn a_lone_last_row_group_split_between_threads_reads_back_exactly() {
    // Two full row groups are encoded side by side; the last, partial one alone, with its vector
    // column cut in two and spliced. Every reading path must see the same documents.
    let docs = docs(22_500, 256);
    let mut writer =
        ParquetWriter::try_new(Vec::new(), header(), ParquetConfig::default()).unwrap();
    for batch in docs.chunks(7_000) {
        writer.write(batch).unwrap();
    }
    let (file, summary) = writer.finish().unwrap();
    let info = inspect_parquet(&file, &Limits::default()).unwrap();
    let rows: Vec<u64> = info.row_groups.iter().map(|rg| rg.rows).collect();
    assert_eq!(rows, [10_000, 10_000, 2_500]);
    let file = Bytes::from(file);
    assert_same(
        &decode_parquet(file.clone(), &Limits::default()).unwrap(),
        &docs,
    );
    let verified =
        decode_parquet_verified(file.clone(), &summary.checksum_sha256, &Limits::default());
    assert_same(&verified.unwrap(), &docs);
    let streamed: Vec<_> = ParquetReader::try_new(file, &Limits::default())
        .unwrap()
        .flat_map(|group| group.unwrap())
        .collect();
    assert_same(&streamed, &docs);
}
