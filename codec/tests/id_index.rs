//! Id indexes: what a part's writer gathers is exactly its rows (ids, positions, content
//! hashes), whichever form the rows came in; the hash tells every change of content; and a
//! damaged or foreign index file is refused with its kind, never a panic.

mod common;

use akidb_snapshot_codec::*;
use arrow_array::RecordBatch;
use bytes::Bytes;
use proptest::prelude::*;
use uuid::Uuid;

/// Writes `docs` as a part with its id index, as documents or as Arrow batches; returns the
/// part and the index file.
fn written(docs: &[VectorDocument], as_arrow: bool, config: &ParquetConfig) -> (Vec<u8>, Vec<u8>) {
    let mut writer = ParquetWriter::try_new(Vec::new(), common::header(), config.clone())
        .unwrap()
        .with_id_index();
    for chunk in docs.chunks(7) {
        if as_arrow {
            writer.write_batch(&arrow_of(chunk)).unwrap();
        } else {
            writer.write(chunk).unwrap();
        }
    }
    let index = writer.take_id_index().unwrap();
    assert_eq!(index.len(), docs.len());
    let (part, summary) = writer.finish().unwrap();
    let (file, index_summary) = index.finish(&common::header(), &summary).unwrap();
    index_summary.checksum_sha256.verify(&file).unwrap();
    assert_eq!(index_summary.vector_count, docs.len() as u64);
    (part, file)
}

/// `docs` as a batch of the snapshot schema, through a file (the codec's own Arrow form; the
/// few documents here make one row group).
fn arrow_of(docs: &[VectorDocument]) -> RecordBatch {
    let (file, _) = encode_parquet(docs, &common::header(), &ParquetConfig::default()).unwrap();
    let mut groups = ParquetReader::arrow(file.into(), &Limits::default()).unwrap();
    let mut batches = groups.next().unwrap().unwrap();
    assert!(groups.next().is_none() && batches.len() == 1);
    batches.remove(0)
}

fn distinct(docs: Vec<VectorDocument>) -> Vec<VectorDocument> {
    let mut seen = std::collections::HashSet::new();
    docs.into_iter()
        .filter(|d| seen.insert(d.document_id))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The index holds each row of the part once, at its position, with the hash of its
    /// content; documents and Arrow batches give the same index; and the hashes of the part's
    /// rows as read back are those the index holds.
    #[test]
    fn the_index_is_exactly_its_parts_rows(
        docs in common::collection(common::any_f32(), common::RFC3339_MILLIS, 6, 40),
        config in common::any_config(),
    ) {
        let docs = distinct(docs);
        let (part, file) = written(&docs, false, &config);
        let (_, from_arrow) = written(&docs, true, &config);
        let index = decode_id_index(file.into(), &Limits::default()).unwrap();
        let again = decode_id_index(from_arrow.into(), &Limits::default()).unwrap();
        prop_assert_eq!(index.rows(), again.rows());
        prop_assert_eq!(index.part_checksum, Sha256Digest::of(&part));
        prop_assert_eq!(index.header, common::header());
        prop_assert_eq!(index.len(), docs.len());
        for (row, doc) in docs.iter().enumerate() {
            let found = index.get(&doc.document_id).unwrap();
            prop_assert_eq!(found.row, row as u64);
            prop_assert_eq!(found.hash, ContentHash::of(doc));
        }
        let read: Vec<(Uuid, ContentHash)> = ParquetReader::arrow(part.into(), &Limits::default())
            .unwrap()
            .flat_map(|group| group.unwrap())
            .flat_map(|batch| batch_content_hashes(&batch).unwrap())
            .collect();
        let expected: Vec<(Uuid, ContentHash)> =
            docs.iter().map(|d| (d.document_id, ContentHash::of(d))).collect();
        prop_assert_eq!(read, expected);
    }

    /// A change to any one field but the id changes the hash.
    #[test]
    fn every_change_of_content_changes_the_hash(
        docs in common::collection(common::any_f32(), common::RFC3339_MILLIS, 4, 1),
        which in 0..5usize,
    ) {
        let doc = docs[0].clone();
        let mut changed = doc.clone();
        match which {
            0 => changed.vector[0] = f32::from_bits(doc.vector[0].to_bits() ^ 1),
            1 => changed.external_id = match &doc.external_id {
                None => Some(String::new()),
                Some(_) => None,
            },
            2 => changed.metadata = match &doc.metadata {
                None => Some(serde_json::Value::Null),
                Some(_) => None,
            },
            3 => changed.inserted_at = Timestamp::from_millis(doc.inserted_at.as_millis() ^ 1),
            _ => changed.vector.push(0.0),
        }
        prop_assert_ne!(ContentHash::of(&doc), ContentHash::of(&changed));
    }
}

/// The layout docs/FORMAT.md ("Content hash") gives, written out by hand for one document, so a
/// change of layout fails here before it fails another language's reader.
#[test]
fn the_hash_is_the_documented_layout() {
    let doc = VectorDocument::new(Uuid::from_u128(1), vec![1.5, -0.0])
        .with_external_id("ab")
        .with_metadata(serde_json::json!({"k": [1, "x"]}))
        .with_inserted_at(Timestamp::from_millis(1_700_000_000_123));
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&2u32.to_le_bytes());
    bytes.extend_from_slice(&1.5f32.to_le_bytes());
    bytes.extend_from_slice(&(-0.0f32).to_le_bytes());
    bytes.push(1);
    bytes.extend_from_slice(&2u64.to_le_bytes());
    bytes.extend_from_slice(b"ab");
    let metadata = br#"{"k":[1,"x"]}"#;
    bytes.push(1);
    bytes.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    bytes.extend_from_slice(metadata);
    bytes.extend_from_slice(&1_700_000_000_123i64.to_le_bytes());
    let expected = twox_hash::XxHash3_128::oneshot(&bytes);
    assert_eq!(ContentHash::of(&doc).to_bytes(), expected.to_be_bytes());
    // No external id and no metadata are one zero byte each.
    let bare = VectorDocument::new(Uuid::from_u128(1), vec![]);
    let mut bytes = 0u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&0i64.to_le_bytes());
    let expected = twox_hash::XxHash3_128::oneshot(&bytes);
    assert_eq!(
        ContentHash::of(&bare).to_string(),
        format!("{expected:032x}")
    );
}

#[test]
fn an_id_twice_in_a_part_is_refused_naming_it() {
    let docs = [
        VectorDocument::new(Uuid::from_u128(5), vec![1.0]),
        VectorDocument::new(Uuid::from_u128(6), vec![2.0]),
        VectorDocument::new(Uuid::from_u128(5), vec![3.0]),
    ];
    let mut writer = ParquetWriter::try_new(Vec::new(), common::header(), ParquetConfig::default())
        .unwrap()
        .with_id_index();
    writer.write(&docs[..1]).unwrap();
    writer.write(&docs[1..]).unwrap();
    let index = writer.take_id_index().unwrap();
    let (_, summary) = writer.finish().unwrap();
    let err = index.finish(&common::header(), &summary).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let Error::Validation { document, .. } = &err else {
        unreachable!()
    };
    assert_eq!(*document, DocumentRef::new(2, Uuid::from_u128(5)), "{err}");
}

#[test]
fn what_is_not_an_id_index_or_is_damaged_is_refused_never_a_panic() {
    let docs: Vec<VectorDocument> = (1..300u128)
        .map(|i| VectorDocument::new(Uuid::from_u128(i * 7_919), vec![i as f32, 1.0]))
        .collect();
    let (part, file) = written(&docs, false, &ParquetConfig::default());

    // A tombstone part and a data part are not id indexes.
    let (tombstones, _) = encode_tombstones([Uuid::from_u128(1)], &common::header()).unwrap();
    for other in [tombstones, part] {
        let err = decode_id_index(other.into(), &Limits::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
    }
    // Nor is an index a tombstone part.
    let err = decode_tombstones(file.clone().into(), &Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
    // A footer that counts otherwise.
    let recounted =
        common::rewrite_keys(&file, |k| common::set_key(k, "akidb.vector_count", "300"));
    let err = decode_id_index(recounted.into(), &Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption, "{err}");
    assert!(err.to_string().contains("says 300 entries"), "{err}");

    for len in 0..file.len() {
        assert!(
            decode_id_index(Bytes::copy_from_slice(&file[..len]), &Limits::default()).is_err(),
            "truncated to {len}"
        );
    }
    for at in (0..file.len()).step_by(5) {
        for bit in [0, 4] {
            let mut damaged = file.clone();
            damaged[at] ^= 1 << bit;
            fuzzing::decode_id_index_bytes(&damaged);
        }
    }
}
