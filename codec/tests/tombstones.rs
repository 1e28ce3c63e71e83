//! Tombstone parts: ids written sorted and distinct, read back exactly; files written by other
//! tools in the same shape read too; and a damaged or foreign file is refused with its kind,
//! never a panic.

mod common;

use std::sync::Arc;

use akidb_snapshot_codec::*;
use arrow_array::{FixedSizeBinaryArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;
use uuid::Uuid;

fn header() -> SnapshotHeader {
    SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_0001)),
        SnapshotId::from_uuid(Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_0002)),
        Timestamp::from_millis(1_765_065_600_000),
    )
}

proptest! {
    #[test]
    fn ids_come_back_sorted_and_distinct(ids in prop::collection::vec(1u128..u128::MAX, 1..300)) {
        let ids: Vec<Uuid> = ids.into_iter().map(Uuid::from_u128).collect();
        let (file, summary) = encode_tombstones(ids.iter().copied(), &header()).unwrap();
        summary.checksum_sha256.verify(&file).unwrap();
        let mut expected = ids.clone();
        expected.sort();
        expected.dedup();
        prop_assert_eq!(summary.vector_count, expected.len() as u64);
        prop_assert_eq!(summary.size_bytes, file.len() as u64);
        let back = decode_tombstones(file.into(), &Limits::default()).unwrap();
        prop_assert_eq!(&back.ids, &expected);
        prop_assert_eq!(back.header, header());
        for id in &ids {
            prop_assert!(back.contains(id));
        }
    }
}

#[test]
fn no_ids_or_the_nil_id_are_refused() {
    let err = encode_tombstones([], &header()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let err = encode_tombstones([Uuid::nil(), Uuid::from_u128(5)], &header()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
}

/// A Parquet file of `ids` (in the order given) in the tombstone shape, with footer `keys`.
fn written(ids: &[Uuid], keys: &[(&str, &str)]) -> Vec<u8> {
    written_as(ids, keys, false, false)
}

/// As [`written`], the column optional or dictionary-encoded as asked.
fn written_as(ids: &[Uuid], keys: &[(&str, &str)], nullable: bool, dictionary: bool) -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "document_id",
        DataType::FixedSizeBinary(16),
        nullable,
    )]));
    let array = FixedSizeBinaryArray::try_from_iter(ids.iter().map(|id| id.into_bytes())).unwrap();
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(array)]).unwrap();
    let keys = keys
        .iter()
        .map(|(k, v)| KeyValue::new((*k).to_owned(), (*v).to_owned()))
        .collect();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(keys))
        .set_dictionary_enabled(dictionary)
        .build();
    let mut file = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    file
}

fn keys(count: &str) -> Vec<(&'static str, String)> {
    vec![
        ("akidb.schema_version", "1".to_owned()),
        ("akidb.kind", "tombstones".to_owned()),
        ("akidb.collection_id", header().collection_id.to_string()),
        ("akidb.snapshot_id", header().snapshot_id.to_string()),
        ("akidb.created_at", "2025-12-07T00:00:00.000Z".to_owned()),
        ("akidb.vector_count", count.to_owned()),
    ]
}

fn refused(file: Vec<u8>) -> Error {
    decode_tombstones(file.into(), &Limits::default()).unwrap_err()
}

#[test]
fn what_is_not_a_tombstone_part_or_is_damaged_is_refused_with_its_kind() {
    let ids = [Uuid::from_u128(3), Uuid::from_u128(9)];
    let write = |ids: &[Uuid], keys: &[(&'static str, String)]| {
        let keys: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
        written(ids, &keys)
    };
    let changed = |at: usize, value: &str| {
        let mut k = keys("2");
        k[at].1 = value.to_owned();
        write(&ids, &k)
    };
    // Our own shape, written elsewhere, reads.
    let read = decode_tombstones(write(&ids, &keys("2")).into(), &Limits::default()).unwrap();
    assert_eq!(read.ids, ids);

    let cases: Vec<(Vec<u8>, ErrorKind, &str)> = vec![
        (write(&ids, &[]), ErrorKind::Decoding, "akidb.kind"),
        (
            changed(1, "data"),
            ErrorKind::Decoding,
            "not a tombstone part",
        ),
        (
            write(&ids, &keys("3")),
            ErrorKind::DataCorruption,
            "says 3 tombstones",
        ),
        (
            write(&[ids[1], ids[0]], &keys("2")),
            ErrorKind::DataCorruption,
            "not in ascending order",
        ),
        (changed(0, "7"), ErrorKind::UnsupportedSchemaVersion, ""),
    ];
    for (i, (file, kind, says)) in cases.into_iter().enumerate() {
        let err = refused(file);
        assert_eq!(err.kind(), kind, "case {i}: {err}");
        assert!(err.to_string().contains(says), "case {i}: {err}");
    }

    // What our writer never makes, and parquet's decoders are least safe with, is refused.
    for (nullable, dictionary, says) in [
        (true, false, "required `document_id`"),
        (false, true, "dictionary-encoded"),
    ] {
        let k = keys("2");
        let k: Vec<(&str, &str)> = k.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let err = refused(written_as(&ids, &k, nullable, dictionary));
        assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }

    // A data file is not a tombstone part, even with the key that says so.
    let docs = vec![VectorDocument::new(Uuid::from_u128(4), vec![1.0, 2.0])];
    let (data, _) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    assert_eq!(refused(data.clone()).kind(), ErrorKind::Decoding);
    let disguised = common::rewrite_keys(&data, |k| common::set_key(k, "akidb.kind", "tombstones"));
    let err = refused(disguised);
    assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
    assert!(
        err.to_string().contains("not those of a tombstone part"),
        "{err}"
    );
}

#[test]
fn every_truncation_and_bit_flip_is_refused_or_read_never_a_panic() {
    let ids: Vec<Uuid> = (1..200u128).map(|i| Uuid::from_u128(i * 7_919)).collect();
    let (file, _) = encode_tombstones(ids, &header()).unwrap();
    for len in 0..file.len() {
        assert!(
            decode_tombstones(Bytes::copy_from_slice(&file[..len]), &Limits::default()).is_err(),
            "truncated to {len}"
        );
    }
    for at in (0..file.len()).step_by(3) {
        for bit in [0, 3, 7] {
            let mut damaged = file.clone();
            damaged[at] ^= 1 << bit;
            // Flipped id bytes may still read (the manifest's SHA-256 catches those); the
            // decoder must only never panic.
            akidb_snapshot_codec::fuzzing::decode_tombstones_bytes(&damaged);
        }
    }
}
