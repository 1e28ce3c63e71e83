//! Files written by earlier versions keep decoding, to the same documents, forever.
//!
//! `codec/tests/data/` holds snapshots committed when their format version was current. They
//! are never regenerated once released: a change that breaks one of these tests breaks users'
//! backups. `AKIDB_BLESS=1 cargo test -p akidb-snapshot-codec --test golden` writes the files of
//! the current version (and the bad-data files) when a new version is introduced.

mod common;

use std::path::{Path, PathBuf};

use akidb_snapshot_codec::*;
use bytes::Bytes;
use common::assert_same;
use serde_json::json;
use uuid::Uuid;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn blessing() -> bool {
    std::env::var_os("AKIDB_BLESS").is_some()
}

fn golden_header() -> SnapshotHeader {
    SnapshotHeader::new(
        "0193a5b0-0000-7000-8000-0000000000c1".parse().unwrap(),
        "0193a5b0-1234-7abc-9def-0123456789ab".parse().unwrap(),
        "2024-11-24T08:00:00.000Z".parse().unwrap(),
    )
}

/// The documents of the version 1 golden files: every optional field present and absent, every
/// odd float the format must keep (the JSON file has the finite ones only).
fn golden_documents(finite_only: bool) -> Vec<VectorDocument> {
    let odd = [
        f32::from_bits(0x7fc0_beef), // NaN with a payload
        f32::from_bits(0xffa0_0001), // signalling NaN, negative
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    (0..7u32)
        .map(|i| {
            let mut vector = vec![
                i as f32,
                -0.0,
                f32::from_bits(1 + i), // subnormal
                f32::MAX,
                -1.0 / (i as f32 + 3.0),
            ];
            if !finite_only && i < 4 {
                vector[0] = odd[i as usize];
            }
            let doc = VectorDocument::new(
                Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_1000 + i as u128),
                vector,
            )
            .with_inserted_at(Timestamp::from_millis(1_732_435_200_000 + i as i64 * 1_001));
            match i % 4 {
                0 => doc
                    .with_external_id(format!("doc-{i}"))
                    .with_metadata(json!({"lang": "en", "n": i, "tags": ["a", "b"]})),
                1 => doc.with_external_id("ünïcødé ✓ 文字"),
                2 => doc.with_metadata(serde_json::Value::Null),
                _ => doc.with_metadata(json!({"nested": {"deep": [1.5, null, true]}, "empty": {}})),
            }
        })
        .collect()
}

fn bless(name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(data(name).parent().unwrap()).unwrap();
    std::fs::write(data(name), bytes).unwrap();
}

#[test]
fn golden_v1_parquet_decodes() {
    let expected = golden_documents(false);
    if blessing() {
        let config = ParquetConfig::default().with_row_group_size(3);
        let (file, summary) = encode_parquet(&expected, &golden_header(), &config).unwrap();
        let metadata = SnapshotMetadata::new(
            &golden_header(),
            SnapshotFormat::Parquet,
            config.compression(),
            &summary,
        );
        bless("golden-v1.parquet", &file);
        bless(
            "golden-v1.parquet.metadata.json",
            &metadata.to_json().unwrap(),
        );
    }
    let file = std::fs::read(data("golden-v1.parquet")).unwrap();
    let metadata = SnapshotMetadata::from_json(
        &std::fs::read(data("golden-v1.parquet.metadata.json")).unwrap(),
    )
    .unwrap();
    metadata.checksum_sha256.unwrap().verify(&file).unwrap();
    assert_eq!(metadata.format, SnapshotFormat::Parquet);
    assert_eq!((metadata.vector_count, metadata.dimension), (7, 5));

    let info = inspect_parquet(&file, &Limits::default()).unwrap();
    assert_eq!(info.header, Some(golden_header()));
    assert_eq!(info.schema_version, 1);
    assert_eq!(info.row_groups.len(), 3);
    assert_same(
        &decode_parquet(Bytes::from(file), &Limits::default()).unwrap(),
        &expected,
    );
}

#[test]
fn golden_v1_json_decodes() {
    let expected = golden_documents(true);
    if blessing() {
        let (file, summary) = encode_json(&expected, &golden_header()).unwrap();
        let metadata = SnapshotMetadata::new(
            &golden_header(),
            SnapshotFormat::Json,
            Compression::None,
            &summary,
        );
        bless("golden-v1.json", &file);
        bless("golden-v1.json.metadata.json", &metadata.to_json().unwrap());
    }
    let file = std::fs::read(data("golden-v1.json")).unwrap();
    let metadata =
        SnapshotMetadata::from_json(&std::fs::read(data("golden-v1.json.metadata.json")).unwrap())
            .unwrap();
    metadata.checksum_sha256.unwrap().verify(&file).unwrap();
    let snapshot = decode_json(&file).unwrap();
    assert_eq!(snapshot.header, golden_header());
    assert_same(&snapshot.documents, &expected);
}

#[test]
fn legacy_json_metadata_without_format_or_checksum_is_a_json_snapshot() {
    let metadata = SnapshotMetadata::from_json(
        &std::fs::read(data("legacy-metadata-no-format.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(metadata.format, SnapshotFormat::Json);
    assert_eq!(metadata.checksum_sha256, None);
    assert_eq!(metadata.schema_version, 1);
    assert_eq!(metadata.compression, Compression::None);
}

/// Each file in `tests/data/bad/` and the error it must give; `true` where the damage is past
/// the footer, so that inspecting succeeds and only decoding fails. The guard below fails when a
/// file is added without a line here, or a line names a missing file.
const BAD_FILES: &[(&str, ErrorKind, bool)] = &[
    (
        "negative-column-offset.parquet",
        ErrorKind::DataCorruption,
        false,
    ),
    ("truncated-footer.parquet", ErrorKind::DataCorruption, false),
    (
        "vector-count-lies.parquet",
        ErrorKind::DataCorruption,
        false,
    ),
    (
        "schema-version-99.parquet",
        ErrorKind::UnsupportedSchemaVersion,
        false,
    ),
    // Found by the decode_parquet fuzz target: metadata_json values whose offsets split a
    // UTF-8 character (parquet panics here with debug assertions; without them the codec's
    // own check refuses it).
    (
        "utf8-split-by-offsets.parquet",
        ErrorKind::DataCorruption,
        true,
    ),
    // Found by the decode_parquet fuzz target: a data page whose header lacks its
    // data_page_header, on which parquet panics when asked to skip rows (no row is skipped in
    // an unverified file since).
    (
        "data-page-without-header.parquet",
        ErrorKind::DataCorruption,
        true,
    ),
    // Found by the decode_parquet fuzz target: dictionary-encoded ids with no dictionary page.
    // parquet 60 unwraps the missing dictionary and panics; the codec's guard makes it
    // DataCorruption on native targets (on wasm it aborts: docs/FUZZING.md).
    (
        "dictionary-page-missing.parquet",
        ErrorKind::DataCorruption,
        true,
    ),
    // Found by the campaigns: four more parquet 60 / arrow 60 panics on hostile pages, each
    // caught by the guard (docs/FUZZING.md, finding 4): an `expect` on a dictionary decoder
    // that was never set (decoder.rs:374), a division by zero on a dictionary page of zero
    // values (byte_array.rs:391), an out-of-bounds index on a short BYTE_STREAM_SPLIT page
    // (byte_stream_split_decoder.rs:67) and an assert on definition levels past their buffer
    // (arrow-buffer bit_chunk_iterator.rs:235). The first has a footer field of wire type 15,
    // which parquet reads past but the codec's footer walk refuses (finding 7).
    (
        "dictionary-decoder-unset.parquet",
        ErrorKind::DataCorruption,
        false,
    ),
    (
        "dictionary-page-zero-values.parquet",
        ErrorKind::DataCorruption,
        true,
    ),
    (
        "byte-stream-split-short-page.parquet",
        ErrorKind::DataCorruption,
        true,
    ),
    (
        "def-levels-out-of-bounds.parquet",
        ErrorKind::DataCorruption,
        true,
    ),
    // Found by an ffi_decode campaign: a dictionary page of a 3.7 KB file declaring
    // 1,657,113,367 entries, for which parquet 60 reserves 6.6 GB of offsets before reading one
    // (docs/FUZZING.md, finding 6). The campaign's input spells the count as an 11-byte varint;
    // the second file, made from it, spells it in 5 bytes. The codec's page-header check
    // refuses both before parquet reads the page (below).
    (OVERLONG_VARINT, ErrorKind::DataCorruption, true),
    (DICTIONARY_CLAIMS_BILLIONS, ErrorKind::DataCorruption, true),
    // Found by a decode_parquet campaign: a 2.8 KB footer whose thrift parquet 60 spends about
    // a second skipping (docs/FUZZING.md, finding 5); the codec's footer walk refuses it first.
    (SLOW_THRIFT_FOOTER, ErrorKind::DataCorruption, false),
    // Found by the decode_parquet fuzz target: a schema element declaring 1,461,542,906
    // children, for which parquet 60 reserves 11.7 GB (docs/FUZZING.md, finding 7).
    (SCHEMA_CHILDREN, ErrorKind::DataCorruption, false),
];

const SLOW_THRIFT_FOOTER: &str = "slow-thrift-footer.parquet";
const SCHEMA_CHILDREN: &str = "schema-children-beyond-the-schema.parquet";

#[test]
fn a_footer_is_refused_before_parquet_decodes_it() {
    for (name, why) in [
        (
            SLOW_THRIFT_FOOTER,
            "unknown wire type 14 (byte 549 of 2075)",
        ),
        (SCHEMA_CHILDREN, "an i32 out of range (byte 28 of 2075)"),
    ] {
        let file = std::fs::read(data("bad").join(name)).unwrap();
        let error = inspect_parquet(&file, &Limits::default()).unwrap_err();
        // The codec's own walk (which says where it stopped), not an error parquet raised
        // after allocating or looping.
        let expected = format!("the Parquet footer is unreadable: {why}");
        assert!(error.to_string().ends_with(&expected), "{name}: {error}");
    }
}

const OVERLONG_VARINT: &str = "dictionary-entries-overlong-varint.parquet";
const DICTIONARY_CLAIMS_BILLIONS: &str = "dictionary-claims-billions-of-entries.parquet";

#[test]
fn a_page_header_is_refused_before_parquet_sizes_a_buffer_by_it() {
    for (name, why) in [
        (
            OVERLONG_VARINT,
            "its header is unreadable (a varint longer than 64 bits)",
        ),
        (
            DICTIONARY_CLAIMS_BILLIONS,
            "its dictionary declares 1657113367 entries in 27 bytes",
        ),
    ] {
        let file = std::fs::read(data("bad").join(name)).unwrap();
        let error = decode_parquet(Bytes::from(file), &Limits::default()).unwrap_err();
        // The codec's own check, not an error parquet raised after allocating.
        let expected = format!("row group 0, column metadata_json: page 0 at byte 0: {why}");
        assert!(error.to_string().ends_with(&expected), "{name}: {error}");
    }
}

#[test]
fn every_bad_file_gives_its_error() {
    if blessing() {
        let good = encode_parquet(
            &golden_documents(false),
            &golden_header(),
            &ParquetConfig::default(),
        )
        .unwrap()
        .0;
        bless(
            "bad/negative-column-offset.parquet",
            &common::with_column_offset(&good, -5),
        );
        let footer_start = good.len()
            - 8
            - u32::from_le_bytes(good[good.len() - 8..good.len() - 4].try_into().unwrap()) as usize;
        let mut truncated = good[..footer_start + 20].to_vec();
        truncated.extend_from_slice(&good[good.len() - 8..]);
        bless("bad/truncated-footer.parquet", &truncated);
        bless(
            "bad/vector-count-lies.parquet",
            &common::rewrite_keys(&good, |k| common::set_key(k, "akidb.vector_count", "8")),
        );
        bless(
            "bad/schema-version-99.parquet",
            &common::rewrite_keys(&good, |k| common::set_key(k, "akidb.schema_version", "99")),
        );
    }
    for (name, kind, footer_reads) in BAD_FILES {
        let file = std::fs::read(data("bad").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoded = decode_parquet(Bytes::from(file.clone()), &Limits::default());
        assert_eq!(decoded.unwrap_err().kind(), *kind, "{name}");
        let inspected = inspect_parquet(&file, &Limits::default());
        match footer_reads {
            true => assert!(inspected.is_ok(), "{name}: {:?}", inspected.err()),
            false => assert_eq!(inspected.unwrap_err().kind(), *kind, "{name}"),
        }
    }
}

#[test]
fn every_file_in_the_bad_folder_has_an_expectation() {
    let mut on_disk: Vec<String> = std::fs::read_dir(data("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = BAD_FILES.iter().map(|(n, ..)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/data/bad and BAD_FILES must name the same files"
    );
}
