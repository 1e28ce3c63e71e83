//! Input that can never become a snapshot is a `Validation` error that names the document.

mod common;

use akidb_snapshot_codec::*;
use common::*;
use uuid::Uuid;

fn validation_message(err: Error) -> String {
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    err.to_string()
}

#[test]
fn empty_input_is_rejected_by_both_formats() {
    let parquet = encode_parquet(&[], &header(), &ParquetConfig::default()).unwrap_err();
    assert!(validation_message(parquet).contains("at least one document"));
    let json = encode_json(&[], &header()).unwrap_err();
    assert!(validation_message(json).contains("at least one document"));
}

#[test]
fn dimension_mismatch_names_position_and_id() {
    let mut docs = docs(5, 4);
    docs[3].vector.pop();
    let id = docs[3].document_id;
    for err in [
        encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap_err(),
        encode_json(&docs, &header()).unwrap_err(),
    ] {
        let Error::Validation { document, reason } = &err else {
            panic!("expected a validation error, got {err}")
        };
        assert_eq!(document.position, Some(3));
        assert_eq!(document.document_id, Some(id));
        assert!(
            reason.contains("dimension 3") && reason.contains("has 4"),
            "{reason}"
        );
        assert!(err.to_string().contains(&id.to_string()), "{err}");
    }
}

#[test]
fn positions_count_across_streamed_batches() {
    let mut writer =
        ParquetWriter::try_new(Vec::new(), header(), ParquetConfig::default()).unwrap();
    writer.write(&docs(10, 4)).unwrap();
    let bad = vec![
        VectorDocument::new(Uuid::from_u128(100), vec![0.0; 4]),
        VectorDocument::new(Uuid::from_u128(101), vec![0.0; 5]),
    ];
    let err = writer.write(&bad).unwrap_err();
    assert!(validation_message(err).contains("document #11"));
    // The rejected batch wrote nothing: the writer goes on, and the file holds 10 + 1.
    writer.write(&bad[..1]).unwrap();
    let (file, summary) = writer.finish().unwrap();
    assert_eq!(summary.vector_count, 11);
    assert_eq!(
        decode_parquet(file.into(), &Limits::default())
            .unwrap()
            .len(),
        11
    );
}

#[test]
fn empty_vector_is_rejected() {
    let docs = vec![VectorDocument::new(Uuid::from_u128(9), vec![])];
    let err = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap_err();
    assert!(validation_message(err).contains("the vector is empty"));
}

#[test]
fn json_rejects_non_finite_floats_naming_the_document() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut docs = docs(3, 4);
        docs[2].vector[1] = bad;
        let err = encode_json(&docs, &header()).unwrap_err();
        let message = validation_message(err);
        assert!(message.contains("document #2"), "{message}");
        assert!(message.contains("vector[1]"), "{message}");
        // Parquet keeps them.
        encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    }
}

#[test]
fn json_rejects_timestamps_it_cannot_write() {
    let docs = vec![
        docs(1, 2)[0]
            .clone()
            .with_inserted_at(Timestamp::from_millis(i64::MAX)),
    ];
    let message = validation_message(encode_json(&docs, &header()).unwrap_err());
    assert!(message.contains("inserted_at"), "{message}");
    // Parquet stores any i64 millisecond count.
    let (file, _) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    assert_same(
        &decode_parquet(file.into(), &Limits::default()).unwrap(),
        &docs,
    );
}

#[test]
fn created_at_outside_rfc3339_is_rejected() {
    let mut header = header();
    header.created_at = Timestamp::from_millis(i64::MIN);
    let docs = docs(1, 2);
    let message =
        validation_message(encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap_err());
    assert!(message.contains("created_at"), "{message}");
    let message = validation_message(encode_json(&docs, &header).unwrap_err());
    assert!(message.contains("created_at"), "{message}");
    // Refused when the writers are made, before anything is written.
    let parquet = ParquetWriter::try_new(Vec::new(), header, ParquetConfig::default());
    assert_eq!(parquet.unwrap_err().kind(), ErrorKind::Validation);
    let json = JsonWriter::try_new(Vec::new(), header);
    assert_eq!(json.unwrap_err().kind(), ErrorKind::Validation);
}

#[test]
fn bad_configuration_is_rejected_before_writing() {
    let zero_rows = ParquetConfig::default().with_row_group_size(0);
    let message =
        validation_message(ParquetWriter::try_new(Vec::new(), header(), zero_rows).unwrap_err());
    assert!(message.contains("row_group_size"), "{message}");

    let level = ParquetConfig::default().with_compression(Compression::Zstd { level: 40 });
    let message =
        validation_message(ParquetWriter::try_new(Vec::new(), header(), level).unwrap_err());
    assert!(message.contains("zstd level 40"), "{message}");
}

#[test]
fn configuration_text_is_checked() {
    assert!(
        "brotli"
            .parse::<Compression>()
            .unwrap_err()
            .to_string()
            .contains("brotli")
    );
    assert!("zstd(23)".parse::<Compression>().is_err());
    assert!("zstd(0)".parse::<Compression>().is_err());
    assert_eq!(
        " ZSTD(5) ".parse::<Compression>().unwrap(),
        Compression::Zstd { level: 5 }
    );
    let unknown = serde_json::from_str::<ParquetConfig>(r#"{"compresion": "lz4"}"#).unwrap_err();
    assert!(unknown.to_string().contains("compresion"), "{unknown}");
    assert!("delta".parse::<VectorEncoding>().is_err());
}

#[test]
fn a_failed_sink_fails_the_writer_for_good() {
    #[derive(Debug)]
    struct FullDisk;
    impl std::io::Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // parquet buffers its output, so write more than a buffer's worth for the sink to be reached.
    let config = ParquetConfig::default()
        .with_row_group_size(1_000)
        .with_compression(Compression::None);
    let mut writer = ParquetWriter::try_new(FullDisk, header(), config).unwrap();
    let err = writer.write(&docs(4_000, 64)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encoding, "{err}");
    let again = writer.write(&docs(1, 2)).unwrap_err();
    assert!(again.to_string().contains("failed earlier"), "{again}");
    assert_eq!(writer.finish().unwrap_err().kind(), ErrorKind::Encoding);

    // The JSON writer buffers too: again more than a buffer's worth.
    let mut json = JsonWriter::try_new(FullDisk, header()).unwrap();
    assert_eq!(
        json.write(&docs(4_000, 64)).unwrap_err().kind(),
        ErrorKind::Encoding
    );
    assert!(
        json.finish()
            .unwrap_err()
            .to_string()
            .contains("failed earlier")
    );
}
