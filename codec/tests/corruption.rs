//! Any bytes given to a decoder give `Ok` or a typed error, never a panic, and never a wrong
//! answer passed off as right.

mod common;

use std::sync::Arc;

use akidb_snapshot_codec::*;
use arrow_array::{Int32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use common::*;
use parquet::arrow::ArrowWriter;
use uuid::Uuid;

fn snapshot(rows: usize, rows_per_group: usize) -> Vec<u8> {
    let config = ParquetConfig::default().with_row_group_size(rows_per_group);
    encode_parquet(&docs(rows, 8), &header(), &config)
        .unwrap()
        .0
}

/// Every way of reading the file, each of which must agree that it is broken.
fn all_decoders(file: &[u8]) -> Vec<Result<(), Error>> {
    let bytes = Bytes::copy_from_slice(file);
    vec![
        decode_parquet(bytes.clone(), &Limits::default()).map(drop),
        inspect_parquet(file, &Limits::default()).map(drop),
        ParquetReader::try_new(bytes, &Limits::default())
            .and_then(|reader| reader.collect::<Result<Vec<_>>>())
            .map(drop),
    ]
}

fn kind_of(file: &[u8]) -> ErrorKind {
    decode_parquet(Bytes::copy_from_slice(file), &Limits::default())
        .unwrap_err()
        .kind()
}

#[test]
fn garbage_and_empty_input_are_corruption() {
    for input in [
        &b""[..],
        b"PAR1",
        b"PAR1PAR1",
        b"hello world, not parquet",
        &[0u8; 64],
        &[0xFF; 13],
    ] {
        for result in all_decoders(input) {
            assert_eq!(
                result.unwrap_err().kind(),
                ErrorKind::DataCorruption,
                "{input:?}"
            );
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let file = snapshot(40, 16);
    for len in 0..file.len() {
        for result in all_decoders(&file[..len]) {
            let err = result.expect_err("a truncated file must not decode");
            assert_eq!(err.kind(), ErrorKind::DataCorruption, "length {len}: {err}");
        }
    }
}

#[test]
fn bit_flips_never_panic_and_never_change_the_vectors_silently() {
    let file = snapshot(40, 16);
    let original = decode_parquet(Bytes::copy_from_slice(&file), &Limits::default()).unwrap();
    let mut random = xorshift(0x2545_F491_4F6C_DD1Du64);
    for _ in 0..3_000 {
        let state = random();
        let mut damaged = file.clone();
        let at = (state % file.len() as u64) as usize;
        damaged[at] ^= 1 << (state >> 61);
        for result in all_decoders(&damaged) {
            // Parquet has no checksum of its own (the storage layer checks SHA-256 first), so a
            // flip inside a float can decode; what must hold is a typed answer, no panic.
            if let Err(err) = result {
                assert!(
                    matches!(
                        err.kind(),
                        ErrorKind::DataCorruption
                            | ErrorKind::Decoding
                            | ErrorKind::LimitExceeded
                            | ErrorKind::UnsupportedSchemaVersion
                    ),
                    "offset {at}: {err}"
                );
            }
        }
        // The SHA-256 of the metadata file catches every flip.
        let digest = Sha256Digest::of(&file);
        assert_eq!(
            digest.verify(&damaged).unwrap_err().kind(),
            ErrorKind::DataCorruption
        );
    }
    assert_eq!(original.len(), 40);
}

#[test]
fn negative_column_offset_is_corruption_not_a_panic() {
    // The footer parquet 60 asserts on (arrow-rs issue 6255).
    let file = snapshot(20, 20);
    for offset in [-5i64, i64::MIN, file.len() as i64 + 10, i64::MAX] {
        let hostile = with_column_offset(&file, offset);
        for result in all_decoders(&hostile) {
            let err = result.unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::DataCorruption,
                "offset {offset}: {err}"
            );
            assert!(err.to_string().contains("row group 0"), "{err}");
        }
    }
}

/// A plain footer under the magic of an encrypted one is not what an encrypted file's tail is:
/// damaged, and the error says which part of an encrypted file did not add up.
#[test]
fn a_plain_footer_under_the_encrypted_magic_is_corruption_that_says_so() {
    let mut file = snapshot(5, 5);
    let len = file.len();
    file[len - 4..].copy_from_slice(b"PARE");
    for result in all_decoders(&file) {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
        assert!(err.to_string().contains("encrypted"), "{err}");
    }
}

#[test]
fn a_compression_this_build_cannot_read_is_named_not_called_damage() {
    // The vector column (leaf 3) claims gzip: parquet here is built without it, so decoding
    // would fail inside a page; the footer check names the codec first.
    let file = with_column(&snapshot(5, 5), 3, |column| {
        column.set_compression(parquet::basic::Compression::GZIP(Default::default()))
    });
    for result in all_decoders(&file) {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
        assert!(
            err.to_string()
                .contains("column vector.list.element is compressed with GZIP"),
            "{err}"
        );
    }
}

#[test]
fn a_parquet_file_that_is_not_a_snapshot_is_a_decoding_error() {
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(vec![1, 2]))]).unwrap();
    let mut file = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let err = decode_parquet(file.into(), &Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decoding);
    assert!(
        err.to_string()
            .contains("has no `akidb.*` footer keys, and no `vector` column"),
        "{err}"
    );
}

#[test]
fn footer_keys_that_disagree_with_the_file_are_caught() {
    let file = snapshot(10, 10);
    let cases: [(&str, &str, ErrorKind, &str); 6] = [
        (
            "akidb.vector_count",
            "11",
            ErrorKind::DataCorruption,
            "11 documents",
        ),
        (
            "akidb.vector_count",
            "ten",
            ErrorKind::DataCorruption,
            "akidb.vector_count",
        ),
        (
            "akidb.dimension",
            "9",
            ErrorKind::DataCorruption,
            "row group 0",
        ),
        (
            "akidb.dimension",
            "0",
            ErrorKind::DataCorruption,
            "dimension 0",
        ),
        (
            "akidb.snapshot_id",
            "../../etc",
            ErrorKind::DataCorruption,
            "akidb.snapshot_id",
        ),
        (
            "akidb.created_at",
            "yesterday",
            ErrorKind::DataCorruption,
            "akidb.created_at",
        ),
    ];
    for (key, value, kind, says) in cases {
        let edited = rewrite_keys(&file, |keys| set_key(keys, key, value));
        for result in all_decoders(&edited) {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), kind, "{key}={value}: {err}");
            assert!(err.to_string().contains(says), "{key}={value}: {err}");
        }
    }
    let missing = rewrite_keys(&file, |keys| {
        keys.retain(|kv| kv.key != "akidb.collection_id")
    });
    assert_eq!(kind_of(&missing), ErrorKind::Decoding);
}

#[test]
fn a_newer_schema_version_is_refused_clearly() {
    let file = rewrite_keys(&snapshot(3, 3), |keys| {
        set_key(keys, "akidb.schema_version", "2")
    });
    let err = decode_parquet(file.clone().into(), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedSchemaVersion {
                found: 2,
                supported: 1
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade"), "{err}");
    assert_eq!(
        inspect_parquet(&file, &Limits::default())
            .unwrap_err()
            .kind(),
        ErrorKind::UnsupportedSchemaVersion
    );
}

#[test]
fn limits_bound_what_a_file_may_declare() {
    let file = snapshot(30, 10);
    let mut limits = Limits::default();
    limits.max_rows = 29;
    let err = decode_parquet(Bytes::copy_from_slice(&file), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                field: "max_rows",
                value: 30,
                limit: 29,
                ..
            }
        ),
        "{err}"
    );

    let mut limits = Limits::default();
    limits.max_dimension = 7;
    let err = inspect_parquet(&file, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                field: "max_dimension",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("Limits::max_dimension"), "{err}");

    let mut limits = Limits::default();
    limits.max_row_group_bytes = 100;
    let err = ParquetReader::try_new(Bytes::copy_from_slice(&file), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                field: "max_row_group_bytes",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn row_counts_that_lie_are_refused_before_allocation() {
    let file = snapshot(10, 10);
    let with_rows = |rows: i64| with_row_count(&file, rows);
    for result in all_decoders(&with_rows(i64::MAX)) {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::LimitExceeded);
    }
    for rows in [11, -1] {
        for result in all_decoders(&with_rows(rows)) {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DataCorruption, "{rows} rows: {err}");
        }
    }
}

#[test]
fn json_garbage_is_corruption_and_foreign_json_is_decoding() {
    for input in [&b""[..], b"{", b"\xff\xfe", b"{\"documents\": ["] {
        assert_eq!(
            decode_json(input).unwrap_err().kind(),
            ErrorKind::DataCorruption,
            "{input:?}"
        );
    }
    for input in [&b"[]"[..], b"{}", b"{\"documents\": []}", b"42"] {
        assert_eq!(
            decode_json(input).unwrap_err().kind(),
            ErrorKind::Decoding,
            "{input:?}"
        );
    }
}

#[test]
fn json_that_disagrees_with_itself_is_corruption() {
    let (file, _) = encode_json(&docs(3, 2), &header()).unwrap();
    let text = String::from_utf8(file).unwrap();
    let cases = [
        text.replace("\"vector_count\":3", "\"vector_count\":4"),
        text.replace("\"dimension\":2", "\"dimension\":3"),
        text.replacen("[0.0,0.001]", "[0.0]", 1),
        text.replacen("[0.0,0.001]", "[0.0,1e300]", 1),
    ];
    for case in cases {
        assert_ne!(case, text, "the edit must apply");
        let err = decode_json(case.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    }
}

#[test]
fn metadata_files_are_checked() {
    let good = serde_json::json!({
        "snapshot_id": "0192f0c1-5d0e-7c3a-9b7e-1f2a3b4c5d6e",
        "collection_id": "0192f0c1-0000-7000-8000-000000000001",
        "vector_count": 3, "dimension": 4, "created_at": "2024-05-01T12:00:00Z",
        "size_bytes": 512, "compression": "zstd", "format": "parquet",
        "checksum_sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "schema_version": 1
    });
    assert!(SnapshotMetadata::from_json(good.to_string().as_bytes()).is_ok());
    let edits: [(&str, serde_json::Value, ErrorKind); 7] = [
        (
            "schema_version",
            3.into(),
            ErrorKind::UnsupportedSchemaVersion,
        ),
        // A manifest without parts or its own digest.
        ("schema_version", 2.into(), ErrorKind::DataCorruption),
        ("checksum_sha256", "abc".into(), ErrorKind::DataCorruption),
        ("format", "avro".into(), ErrorKind::DataCorruption),
        ("compression", "gzip".into(), ErrorKind::DataCorruption),
        ("dimension", 0.into(), ErrorKind::DataCorruption),
        ("snapshot_id", "../x".into(), ErrorKind::DataCorruption),
    ];
    for (key, value, kind) in edits {
        let mut bad = good.clone();
        bad[key] = value;
        let err = SnapshotMetadata::from_json(bad.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.kind(), kind, "{key}: {err}");
    }
    assert_eq!(
        SnapshotMetadata::from_json(b"{").unwrap_err().kind(),
        ErrorKind::DataCorruption
    );
}

/// A manifest of two parts, as written and as JSON.
fn manifest() -> (SnapshotMetadata, serde_json::Value) {
    let header = SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(1)),
        SnapshotId::from_uuid(Uuid::from_u128(2)),
        Timestamp::from_millis(1_700_000_000_000),
    );
    let docs = vec![VectorDocument::new(Uuid::from_u128(3), vec![1.0, 2.0])];
    let (_, summary) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
    let parts = ["a", "b"]
        .map(|p| PartEntry::new(format!("parts/{p}.parquet"), PartKind::Data, &summary))
        .to_vec();
    let manifest =
        SnapshotMetadata::manifest(&header, Compression::default(), 2, parts, None).unwrap();
    let json = serde_json::from_slice(&manifest.to_json().unwrap()).unwrap();
    (manifest, json)
}

#[test]
fn a_manifest_reads_back_however_it_is_laid_out() {
    let (manifest, json) = manifest();
    assert_eq!(manifest.vector_count, 2);
    assert_eq!(manifest.size_bytes, 2 * manifest.parts[0].size_bytes);
    for text in [
        json.to_string(),
        serde_json::to_string_pretty(&json).unwrap(),
    ] {
        assert_eq!(
            SnapshotMetadata::from_json(text.as_bytes()).unwrap(),
            manifest
        );
    }
}

#[test]
fn a_changed_manifest_is_detected() {
    let (_, good) = manifest();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 7] = [
        ("a part's rows", (|m| m["parts"][0]["rows"] = 5.into())),
        (
            "a part's key",
            (|m| m["parts"][1]["key"] = "parts/c.parquet".into()),
        ),
        ("the count", (|m| m["vector_count"] = 7.into())),
        ("an added field", (|m| m["note"] = "added later".into())),
        (
            "a part dropped",
            (|m| {
                m["parts"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "the digest dropped",
            (|m| {
                m.as_object_mut().unwrap().remove("manifest_sha256");
            }),
        ),
        (
            "a v1 file given parts",
            (|m| m["schema_version"] = 1.into()),
        ),
    ];
    for (what, edit) in edits {
        let mut bad = good.clone();
        edit(&mut bad);
        let err = SnapshotMetadata::from_json(bad.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{what}: {err}");
    }
}

#[test]
fn parts_that_make_no_snapshot_are_refused_by_the_writer() {
    let (manifest, _) = manifest();
    let header = SnapshotHeader::new(
        manifest.collection_id,
        manifest.snapshot_id,
        manifest.created_at,
    );
    let mut tombstones = manifest.parts[0].clone();
    (tombstones.kind, tombstones.rows) = (PartKind::Tombstones, 3);
    for parts in [vec![], vec![manifest.parts[0].clone(), tombstones]] {
        let err = SnapshotMetadata::manifest(&header, Compression::default(), 2, parts, None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    }
}

#[test]
fn a_tiny_file_declaring_billions_of_rows_allocates_nothing_for_them() {
    // Within Limits::max_rows, so only the decoding itself can find the lie.
    let file = snapshot(10, 10);
    let billions = 4_000_000_000i64;
    let hostile = rewrite_keys(&with_row_count(&file, billions), |keys| {
        set_key(keys, "akidb.vector_count", &billions.to_string())
    });
    for result in all_decoders(&hostile) {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    }
}

#[test]
fn the_manifest_in_format_md_verifies() {
    let doc = include_str!("../../docs/FORMAT.md");
    let start = doc.find("```json\n{\n  \"snapshot_id\"").unwrap() + "```json\n".len();
    let json = &doc[start..start + doc[start..].find("```").unwrap()];
    let manifest = SnapshotMetadata::from_json(json.as_bytes()).unwrap();
    assert!(manifest.is_manifest());
    assert_eq!((manifest.vector_count, manifest.parts.len()), (50, 1));
    let index = manifest.parts[0].index.as_ref();
    assert!(
        index.and_then(|i| i.tail).is_some(),
        "the part's id index is named, with its tail"
    );
    let changed = json.replacen("\"rows\": 50", "\"rows\": 51", 1);
    assert_eq!(
        SnapshotMetadata::from_json(changed.as_bytes())
            .unwrap_err()
            .kind(),
        ErrorKind::DataCorruption
    );
}
