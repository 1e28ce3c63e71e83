//! Snapshots in and out as Arrow batches: the same rows as documents, the same rules, the
//! errors a caller can act on.

mod common;

use std::sync::Arc;

use akidb_snapshot_codec::*;
use arrow_array::{
    ArrayRef, FixedSizeBinaryArray, FixedSizeListArray, Float32Array, Float64Array, Int32Array,
    RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field};
use bytes::Bytes;
use common::*;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::{KeyValue, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;
use uuid::Uuid;

/// The batches of a file, read as Arrow.
fn arrow_batches(file: Vec<u8>) -> Vec<RecordBatch> {
    ParquetReader::arrow(Bytes::from(file), &Limits::default())
        .unwrap()
        .flat_map(Result::unwrap)
        .collect()
}

fn write_batches(batches: &[RecordBatch], config: ParquetConfig) -> Result<Vec<u8>> {
    let mut writer = ParquetWriter::try_new(Vec::new(), header(), config)?;
    for batch in batches {
        writer.write_batch(batch)?;
    }
    writer.finish().map(|(file, _)| file)
}

/// A batch as another Arrow producer would build it: columns by name in its own order, list
/// element named `item`, every field nullable, no extension types, no time zone.
fn foreign_batch(ids: &[u128], vectors: &[&[f32]]) -> Vec<(&'static str, ArrayRef)> {
    let dimension = vectors.first().map_or(1, |v| v.len());
    let floats: Vec<f32> = vectors.iter().flat_map(|v| v.iter().copied()).collect();
    vec![
        (
            "vector",
            Arc::new(FixedSizeListArray::new(
                Arc::new(Field::new("item", DataType::Float32, true)),
                dimension as i32,
                Arc::new(Float32Array::from(floats)),
                None,
            )),
        ),
        (
            "inserted_at",
            Arc::new(TimestampMillisecondArray::from(
                ids.iter().map(|&i| i as i64 * 1000).collect::<Vec<_>>(),
            )),
        ),
        (
            "document_id",
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    ids.iter().map(|&i| Some(Uuid::from_u128(i).into_bytes())),
                    16,
                )
                .unwrap(),
            ),
        ),
        (
            "metadata_json",
            Arc::new(StringArray::from_iter(
                ids.iter().map(|i| Some(format!(r#"{{"n":{i}}}"#))),
            )),
        ),
        (
            "external_id",
            Arc::new(StringArray::from_iter(
                ids.iter().map(|i| (i % 2 == 0).then(|| format!("ext-{i}"))),
            )),
        ),
        (
            "dimension",
            Arc::new(Int32Array::from(vec![dimension as i32; ids.len()])),
        ),
    ]
}

fn batch_of(columns: Vec<(&'static str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// Replaces column `name`.
fn with(
    mut columns: Vec<(&'static str, ArrayRef)>,
    name: &'static str,
    array: ArrayRef,
) -> Vec<(&'static str, ArrayRef)> {
    for column in &mut columns {
        if column.0 == name {
            column.1 = Arc::clone(&array);
        }
    }
    columns
}

/// The error a writer gives for `batch`, after a good first batch of dimension 2.
fn refusal(batch: RecordBatch) -> Error {
    let mut writer =
        ParquetWriter::try_new(Vec::new(), header(), ParquetConfig::default()).unwrap();
    writer
        .write_batch(&batch_of(foreign_batch(&[1], &[&[0.5, 0.5]])))
        .unwrap();
    let err = writer.write_batch(&batch).unwrap_err();
    // A refused batch leaves the writer usable, as for documents.
    writer
        .write_batch(&batch_of(foreign_batch(&[9], &[&[1.0, 1.0]])))
        .unwrap();
    assert_eq!(writer.finish().unwrap().1.vector_count, 2);
    err
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Documents → Parquet → Arrow → Parquet → documents is the identity, and the Arrow
    /// batches say what the documents say.
    #[test]
    fn arrow_roundtrip_is_exact(
        docs in collection(any_f32(), any::<i64>(), 64, 40),
        config in any_config(),
    ) {
        let (file, _) = encode_parquet(&docs, &header(), &config).unwrap();
        let batches = arrow_batches(file);
        prop_assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), docs.len());
        let dimension = docs[0].dimension();
        for batch in &batches {
            prop_assert_eq!(batch.schema(), arrow_schema(dimension as i32));
        }

        let again = write_batches(&batches, config).unwrap();
        let back = decode_parquet(Bytes::from(again), &Limits::default()).unwrap();
        assert_same(&back, &docs);
    }
}

#[test]
fn batches_from_other_producers_are_written_and_read_back() {
    let ids = [1, 2, 3];
    let vectors: [&[f32]; 3] = [&[1.0, -0.0, f32::NAN], &[2.0, 3.0, 4.0], &[5.0, 6.0, 7.0]];
    let file = write_batches(
        &[batch_of(foreign_batch(&ids, &vectors))],
        ParquetConfig::default(),
    )
    .unwrap();
    let docs = decode_parquet(Bytes::from(file), &Limits::default()).unwrap();
    assert_eq!(docs.len(), 3);
    for (doc, (id, vector)) in docs.iter().zip(ids.iter().zip(vectors)) {
        assert_eq!(doc.document_id, Uuid::from_u128(*id));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&doc.vector), bits(vector));
        assert_eq!(doc.inserted_at.as_millis(), *id as i64 * 1000);
        assert_eq!(doc.metadata, Some(serde_json::json!({ "n": id })));
    }
    assert_eq!(docs[0].external_id, None);
    assert_eq!(docs[1].external_id.as_deref(), Some("ext-2"));
}

#[test]
fn documents_and_batches_mix_in_one_file_across_row_groups() {
    let first = docs(7, 2);
    let config = ParquetConfig::default().with_row_group_size(4);
    let mut writer = ParquetWriter::try_new(Vec::new(), header(), config).unwrap();
    writer.write(&first).unwrap();
    let batch = batch_of(foreign_batch(
        &[100, 101, 102, 103, 104],
        &[
            &[1.0, 1.0],
            &[2.0, 2.0],
            &[3.0, 3.0],
            &[4.0, 4.0],
            &[5.0, 5.0],
        ],
    ));
    // A slice shares the caller's buffers at an offset.
    writer.write_batch(&batch.slice(1, 4)).unwrap();
    writer.write(&first[..1]).unwrap();
    let (file, summary) = writer.finish().unwrap();
    assert_eq!(summary.vector_count, 12);

    let info = inspect_parquet(&file, &Limits::default()).unwrap();
    assert_eq!(
        info.row_groups.iter().map(|rg| rg.rows).collect::<Vec<_>>(),
        [4, 4, 4]
    );
    let back = decode_parquet(Bytes::from(file), &Limits::default()).unwrap();
    assert_same(&back[..7], &first);
    let ids: Vec<_> = back[7..11].iter().map(|d| d.document_id).collect();
    assert_eq!(ids, (101..105).map(Uuid::from_u128).collect::<Vec<_>>());
    assert_eq!(back[8].vector, [3.0, 3.0]);
    assert_same(&back[11..], &first[..1]);
}

#[test]
fn an_empty_batch_writes_nothing_and_a_snapshot_needs_rows() {
    let empty = batch_of(foreign_batch(&[], &[]));
    let err = write_batches(&[empty], ParquetConfig::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.to_string().contains("at least one document"), "{err}");
}

#[test]
fn batches_that_break_the_schema_are_refused_with_what_to_fix() {
    let good = || foreign_batch(&[2, 3], &[&[1.0, 2.0], &[3.0, 4.0]]);
    let cases: Vec<(&str, RecordBatch, &str)> = vec![
        (
            "a missing column",
            batch_of(good().into_iter().filter(|c| c.0 != "dimension").collect()),
            "no column `dimension`",
        ),
        (
            "an extra column",
            batch_of(
                good()
                    .into_iter()
                    .chain([("score", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef)])
                    .collect(),
            ),
            "a column `score` that a snapshot does not hold",
        ),
        (
            "double vectors",
            batch_of(with(
                good(),
                "vector",
                Arc::new(FixedSizeListArray::new(
                    Arc::new(Field::new("item", DataType::Float64, false)),
                    2,
                    Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0])),
                    None,
                )),
            )),
            "the column `vector` is FixedSizeList",
        ),
        (
            "ids of 8 bytes",
            batch_of(with(
                good(),
                "document_id",
                Arc::new(FixedSizeBinaryArray::try_from_iter([[0u8; 8], [1u8; 8]].iter()).unwrap()),
            )),
            "the column `document_id` is FixedSizeBinary(8)",
        ),
        (
            "a null id",
            batch_of(with(
                good(),
                "document_id",
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        [Some([1u8; 16]), None].into_iter(),
                        16,
                    )
                    .unwrap(),
                ),
            )),
            "document #2 (id 00000000-0000-0000-0000-000000000000): `document_id` is null",
        ),
        (
            "a null vector",
            batch_of(with(
                good(),
                "vector",
                Arc::new(FixedSizeListArray::new(
                    Arc::new(Field::new("item", DataType::Float32, true)),
                    2,
                    Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0, 4.0])),
                    Some(NullBuffer::from(vec![true, false])),
                )),
            )),
            "document #2 (id 00000000-0000-0000-0000-000000000003): `vector` is null",
        ),
        (
            "a null float",
            batch_of(with(
                good(),
                "vector",
                Arc::new(FixedSizeListArray::new(
                    Arc::new(Field::new("item", DataType::Float32, true)),
                    2,
                    Arc::new(Float32Array::from(vec![
                        Some(1.0),
                        None,
                        Some(3.0),
                        Some(4.0),
                    ])),
                    None,
                )),
            )),
            "document #1 (id 00000000-0000-0000-0000-000000000002): vector[1] is null",
        ),
        (
            "a dimension column that disagrees",
            batch_of(with(
                good(),
                "dimension",
                Arc::new(Int32Array::from(vec![2, 3])),
            )),
            "document #2 (id 00000000-0000-0000-0000-000000000003): the dimension column says 3",
        ),
        (
            "metadata that is not JSON",
            batch_of(with(
                good(),
                "metadata_json",
                Arc::new(StringArray::from(vec![None, Some("{oops")])),
            )),
            "document #2 (id 00000000-0000-0000-0000-000000000003): metadata_json is not valid JSON",
        ),
        (
            "a second dimension",
            batch_of(foreign_batch(&[4], &[&[1.0, 2.0, 3.0]])),
            "document #1 (id 00000000-0000-0000-0000-000000000004): the vector has dimension 3, but the snapshot's first document has 2",
        ),
        (
            "timestamps in microseconds",
            batch_of(with(
                good(),
                "inserted_at",
                Arc::new(arrow_array::TimestampMicrosecondArray::from(vec![1, 2])),
            )),
            "the column `inserted_at` is Timestamp(µs), but a snapshot's is Timestamp(Millisecond, UTC)",
        ),
    ];
    for (what, batch, expected) in cases {
        let err = refusal(batch);
        assert_eq!(err.kind(), ErrorKind::Validation, "{what}: {err}");
        assert!(err.to_string().contains(expected), "{what}: {err}");
    }
}

#[test]
fn an_empty_vector_is_refused_as_for_documents() {
    let empty = FixedSizeListArray::try_new_with_length(
        Arc::new(Field::new("item", DataType::Float32, false)),
        0,
        Arc::new(Float32Array::from(Vec::<f32>::new())),
        None,
        1,
    )
    .unwrap();
    let columns = with(foreign_batch(&[1], &[&[1.0]]), "vector", Arc::new(empty));
    let columns = with(columns, "dimension", Arc::new(Int32Array::from(vec![0])));
    let mut writer =
        ParquetWriter::try_new(Vec::new(), header(), ParquetConfig::default()).unwrap();
    let err = writer.write_batch(&batch_of(columns)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.to_string().contains("the vector is empty"), "{err}");
}

/// A snapshot of two documents whose second `metadata_json` is `text`, written by parquet's own
/// Arrow writer with our footer keys (our writer refuses text that is not JSON).
fn foreign_file_with_metadata(text: &str) -> Vec<u8> {
    let (valid, _) = encode_parquet(&docs(2, 2), &header(), &ParquetConfig::default()).unwrap();
    let footer = ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::from(valid.clone()))
        .unwrap();
    let keys: Vec<KeyValue> = (footer.file_metadata().key_value_metadata().unwrap().iter())
        .filter(|kv| kv.key != "ARROW:schema")
        .cloned()
        .collect();
    let [batch] = arrow_batches(valid).try_into().unwrap();
    let mut columns = batch.columns().to_vec();
    columns[4] = Arc::new(StringArray::from(vec![None, Some(text)]));
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(keys))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.into_inner().unwrap()
}

#[test]
fn the_arrow_reader_checks_what_it_hands_out() {
    // Metadata that is not JSON, written by a Parquet writer that is not ours.
    let file = foreign_file_with_metadata("{not json");
    let err = ParquetReader::arrow(Bytes::from(file), &Limits::default())
        .unwrap()
        .find_map(Result::err)
        .expect("the bad row is reported");
    assert_eq!(err.kind(), ErrorKind::DataCorruption);
    assert!(
        err.to_string()
            .contains("row 1: metadata_json is not valid JSON"),
        "{err}"
    );
}

proptest! {
    /// Retaining rows of Arrow batches (as a restore applies tombstones) keeps exactly the rows
    /// retaining the same documents keeps, every field and float bit included.
    #[test]
    fn retained_batches_hold_the_retained_documents(
        docs in collection(any_f32(), RFC3339_MILLIS, 6, 40),
        mask in prop::collection::vec(any::<bool>(), 40),
    ) {
        let (file, _) = encode_parquet(&docs, &header(), &ParquetConfig::default().with_row_group_size(7)).unwrap();
        let dropped: Vec<Uuid> = docs
            .iter()
            .zip(&mask)
            .filter(|(_, drop)| **drop)
            .map(|(d, _)| d.document_id)
            .collect();
        let keep = |row: &RowKey<'_>| !dropped.contains(&row.id);
        let batches = DecodedRow::retain(arrow_batches(file), &keep).unwrap();
        let expected = DecodedRow::retain(docs.clone(), &keep).unwrap();
        prop_assert!(batches.iter().all(|b| b.num_rows() > 0));
        if expected.is_empty() {
            prop_assert!(batches.is_empty());
        } else {
            let again = write_batches(&batches, ParquetConfig::default()).unwrap();
            let back = decode_parquet(again.into(), &Limits::default()).unwrap();
            assert_same(&back, &expected);
        }
    }
}
