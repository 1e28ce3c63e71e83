//! Strategies and helpers shared by the codec's integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod foreign;

use akidb_snapshot_codec::*;
use bytes::Bytes;
use parquet::file::metadata::{
    ColumnChunkMetaDataBuilder, FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataBuilder,
    ParquetMetaDataReader, ParquetMetaDataWriter,
};
use proptest::prelude::*;
use serde_json::Value;
use uuid::Uuid;

pub fn header() -> SnapshotHeader {
    SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(0x0192_f0c1_0000_7000_8000_0000_0000_0001)),
        SnapshotId::from_uuid(Uuid::from_u128(0x0192_f0c1_5d0e_7c3a_9b7e_1f2a_3b4c_5d6e)),
        Timestamp::from_millis(1_732_400_000_123),
    )
}

/// `n` simple documents of dimension `dim`.
pub fn docs(n: usize, dim: usize) -> Vec<VectorDocument> {
    (0..n)
        .map(|i| {
            VectorDocument::new(
                Uuid::from_u128(i as u128 + 1),
                (0..dim).map(|j| (i * dim + j) as f32 * 0.001).collect(),
            )
        })
        .collect()
}

/// Vectors compared bit for bit, so NaN payloads and -0.0 count.
pub fn bits(docs: &[VectorDocument]) -> Vec<Vec<u32>> {
    docs.iter()
        .map(|d| d.vector.iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// Asserts two collections are the same, floats bit for bit.
pub fn assert_same(actual: &[VectorDocument], expected: &[VectorDocument]) {
    assert_eq!(actual.len(), expected.len(), "document count");
    assert_eq!(bits(actual), bits(expected), "vector bits");
    for (a, e) in actual.iter().zip(expected) {
        assert_eq!(a.document_id, e.document_id);
        assert_eq!(a.external_id, e.external_id);
        assert_eq!(a.metadata, e.metadata);
        assert_eq!(a.inserted_at, e.inserted_at);
    }
}

/// Any f32 bit pattern: NaNs with payloads, infinities, -0.0, subnormals.
pub fn any_f32() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        any::<u32>().prop_map(f32::from_bits),
        Just(-0.0f32),
        Just(f32::from_bits(1)),
        Just(f32::from_bits(0x7fc0_0001)),
        Just(f32::NEG_INFINITY),
    ]
}

/// Finite floats only, as the JSON format holds.
pub fn finite_f32() -> impl Strategy<Value = f32> + Clone {
    any_f32().prop_filter("finite", |x| x.is_finite())
}

/// JSON values as metadata holds them: nested, with every kind of scalar.
pub fn json_value() -> impl Strategy<Value = Value> + Clone {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Milliseconds that RFC 3339 can write (years 0 to 9999).
pub const RFC3339_MILLIS: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;

/// A collection of 1 to `max_docs` documents of one dimension in 1..=`max_dim`, optional fields
/// present or absent at random.
pub fn collection(
    floats: impl Strategy<Value = f32> + Clone + 'static,
    millis: impl Strategy<Value = i64> + Clone + 'static,
    max_dim: usize,
    max_docs: usize,
) -> impl Strategy<Value = Vec<VectorDocument>> {
    (1..=max_dim, 1..=max_docs).prop_flat_map(move |(dim, n)| {
        let doc = (
            1..=u128::MAX, // not the nil UUID, which is no id
            proptest::option::of(".{0,24}"),
            prop::collection::vec(floats.clone(), dim),
            proptest::option::of(json_value()),
            millis.clone(),
        )
            .prop_map(
                |(id, external_id, vector, metadata, millis)| VectorDocument {
                    document_id: Uuid::from_u128(id),
                    external_id,
                    vector,
                    metadata,
                    inserted_at: Timestamp::from_millis(millis),
                },
            );
        prop::collection::vec(doc, n)
    })
}

/// Every configuration a test should cover.
pub fn any_config() -> impl Strategy<Value = ParquetConfig> {
    (
        prop_oneof![
            Just(Compression::None),
            Just(Compression::Snappy),
            Just(Compression::Lz4),
            (1..=9i32).prop_map(|level| Compression::Zstd { level }),
        ],
        1..64usize,
        any::<bool>(),
        prop_oneof![
            Just(VectorEncoding::Plain),
            Just(VectorEncoding::ByteStreamSplit)
        ],
    )
        .prop_map(|(compression, rows, dictionary, encoding)| {
            ParquetConfig::default()
                .with_compression(compression)
                .with_row_group_size(rows)
                .with_dictionary(dictionary)
                .with_vector_encoding(encoding)
        })
}

/// The file with its footer replaced by `edit` of it.
pub fn rewrite_footer(
    file: &[u8],
    edit: impl FnOnce(ParquetMetaData) -> ParquetMetaData,
) -> Vec<u8> {
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::copy_from_slice(file))
        .unwrap();
    let footer_len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
    let mut out = file[..file.len() - 8 - footer_len as usize].to_vec();
    ParquetMetaDataWriter::new(&mut out, &edit(metadata))
        .finish()
        .unwrap();
    out
}

/// The file with its footer key-values replaced by `edit` of them.
pub fn rewrite_keys(file: &[u8], edit: impl FnOnce(&mut Vec<KeyValue>)) -> Vec<u8> {
    rewrite_footer(file, |metadata| {
        let fm = metadata.file_metadata();
        let mut keys = fm.key_value_metadata().cloned().unwrap_or_default();
        edit(&mut keys);
        let file_metadata = FileMetaData::new(
            fm.version(),
            fm.num_rows(),
            fm.created_by().map(str::to_owned),
            Some(keys),
            fm.schema_descr_ptr(),
            fm.column_orders().cloned(),
        );
        ParquetMetaDataBuilder::new(file_metadata)
            .set_row_groups(metadata.row_groups().to_vec())
            .build()
    })
}

pub fn set_key(keys: &mut Vec<KeyValue>, key: &str, value: &str) {
    keys.retain(|kv| kv.key != key);
    keys.push(KeyValue::new(key.to_owned(), value.to_owned()));
}

/// The file with column 0 of row group 0 starting at `offset`: the footer parquet 60 asserts on
/// (arrow-rs issue 6255) when `offset` is negative.
pub fn with_column_offset(file: &[u8], offset: i64) -> Vec<u8> {
    with_column(file, 0, |column| column.set_data_page_offset(offset))
}

/// The file with the metadata of column `index` of row group 0 changed by `edit`.
pub fn with_column(
    file: &[u8],
    index: usize,
    edit: impl FnOnce(ColumnChunkMetaDataBuilder) -> ColumnChunkMetaDataBuilder,
) -> Vec<u8> {
    rewrite_footer(file, |metadata| {
        let mut row_groups = metadata.row_groups().to_vec();
        let mut columns = row_groups[0].columns().to_vec();
        columns[index] = edit(columns[index].clone().into_builder()).build().unwrap();
        row_groups[0] = row_groups[0]
            .clone()
            .into_builder()
            .set_column_metadata(columns)
            .build()
            .unwrap();
        metadata.into_builder().set_row_groups(row_groups).build()
    })
}

/// A fixed-seed xorshift64 stream, for tests that damage files at many places.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// The file with row group 0 declaring `rows` rows.
pub fn with_row_count(file: &[u8], rows: i64) -> Vec<u8> {
    rewrite_footer(file, |metadata| {
        let mut row_groups = metadata.row_groups().to_vec();
        row_groups[0] = row_groups[0]
            .clone()
            .into_builder()
            .set_num_rows(rows)
            .build()
            .unwrap();
        metadata.into_builder().set_row_groups(row_groups).build()
    })
}
