//! The Parquet file has exactly the schema of docs/DESIGN.md, so other readers type it right.

mod common;

use akidb_snapshot_codec::*;
use bytes::Bytes;
use common::*;
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::schema::types::Type;

fn footer_of(config: &ParquetConfig) -> parquet::file::metadata::ParquetMetaData {
    let (file, _) = encode_parquet(&docs(10, 6), &header(), config).unwrap();
    ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::from(file))
        .unwrap()
}

#[test]
fn the_file_schema_is_the_designed_one() {
    let metadata = footer_of(&ParquetConfig::default());
    let root = metadata.file_metadata().schema();
    let fields = root.get_fields();
    let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "document_id",
            "external_id",
            "dimension",
            "vector",
            "metadata_json",
            "inserted_at"
        ]
    );

    let primitive = |t: &Type| {
        (
            t.get_physical_type(),
            t.get_basic_info().repetition(),
            t.get_basic_info().logical_type_ref().cloned(),
        )
    };
    assert_eq!(
        primitive(&fields[0]),
        (
            Physical::FIXED_LEN_BYTE_ARRAY,
            Repetition::REQUIRED,
            Some(LogicalType::Uuid)
        )
    );
    assert_eq!(fields[0].get_precision(), -1);
    let Type::PrimitiveType { type_length, .. } = fields[0].as_ref() else {
        panic!("document_id is primitive")
    };
    assert_eq!(*type_length, 16);
    assert_eq!(
        primitive(&fields[1]),
        (
            Physical::BYTE_ARRAY,
            Repetition::OPTIONAL,
            Some(LogicalType::String)
        )
    );
    assert_eq!(primitive(&fields[2]).0, Physical::INT32);
    assert_eq!(primitive(&fields[2]).1, Repetition::REQUIRED);
    assert_eq!(
        primitive(&fields[4]),
        (
            Physical::BYTE_ARRAY,
            Repetition::OPTIONAL,
            Some(LogicalType::Json)
        )
    );
    assert_eq!(
        primitive(&fields[5]),
        (
            Physical::INT64,
            Repetition::REQUIRED,
            Some(LogicalType::timestamp(true, TimeUnit::MILLIS))
        )
    );

    // vector: required group (LIST) { repeated group list { required float element } }
    let vector = &fields[3];
    assert!(vector.is_group());
    assert_eq!(vector.get_basic_info().repetition(), Repetition::REQUIRED);
    assert_eq!(
        vector.get_basic_info().logical_type_ref().cloned(),
        Some(LogicalType::List)
    );
    let list = &vector.get_fields()[0];
    assert_eq!(
        (list.name(), list.get_basic_info().repetition()),
        ("list", Repetition::REPEATED)
    );
    let element = &list.get_fields()[0];
    assert_eq!(element.name(), "element");
    assert_eq!(
        primitive(element),
        (Physical::FLOAT, Repetition::REQUIRED, None)
    );
}

#[test]
fn footer_carries_the_designed_keys() {
    let metadata = footer_of(&ParquetConfig::default());
    let keys: std::collections::BTreeMap<_, _> = metadata
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone().unwrap()))
        .collect();
    assert_eq!(keys["akidb.schema_version"], "1");
    assert_eq!(
        keys["akidb.collection_id"],
        header().collection_id.to_string()
    );
    assert_eq!(keys["akidb.snapshot_id"], header().snapshot_id.to_string());
    assert_eq!(keys["akidb.vector_count"], "10");
    assert_eq!(keys["akidb.dimension"], "6");
    assert_eq!(keys["akidb.created_at"], "2024-11-23T22:13:20.123Z");
    assert!(
        keys.contains_key("ARROW:schema"),
        "other Arrow readers need it for the fixed-size list"
    );
}

#[test]
fn vectors_are_never_dictionary_encoded_and_strings_follow_the_config() {
    use parquet::basic::Encoding;
    for dictionary in [true, false] {
        for encoding in [VectorEncoding::Plain, VectorEncoding::ByteStreamSplit] {
            let config = ParquetConfig::default()
                .with_dictionary(dictionary)
                .with_vector_encoding(encoding);
            let metadata = footer_of(&config);
            let rg = metadata.row_group(0);
            let encodings = |i: usize| rg.column(i).encodings().collect::<Vec<_>>();
            let vector = encodings(3);
            assert!(
                !vector.contains(&Encoding::PLAIN_DICTIONARY)
                    && !vector.contains(&Encoding::RLE_DICTIONARY)
            );
            assert!(rg.column(3).dictionary_page_offset().is_none());
            assert_eq!(
                vector.contains(&Encoding::BYTE_STREAM_SPLIT),
                encoding == VectorEncoding::ByteStreamSplit
            );
            for string_column in [1, 4] {
                assert_eq!(
                    rg.column(string_column).dictionary_page_offset().is_some(),
                    dictionary,
                    "column {string_column}"
                );
            }
        }
    }
}

#[test]
fn arrow_schema_matches_the_file() {
    let (file, _) = encode_parquet(&docs(3, 6), &header(), &ParquetConfig::default()).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file))
            .unwrap();
    let read = builder.schema();
    let designed = arrow_schema(6);
    for (r, d) in read.fields().iter().zip(designed.fields()) {
        assert_eq!(r.name(), d.name());
        assert_eq!(r.data_type(), d.data_type(), "{}", r.name());
        assert_eq!(r.is_nullable(), d.is_nullable(), "{}", r.name());
        assert_eq!(
            r.extension_type_name(),
            d.extension_type_name(),
            "{}",
            r.name()
        );
    }
}
