//! Arbitrary collections encoded with an arbitrary configuration decode to themselves, every
//! float bit for bit; the property is the codec's (`fuzzing::roundtrip`).
#![no_main]

use akidb_snapshot_codec::{
    CollectionId, Compression, ParquetConfig, SnapshotHeader, SnapshotId, Timestamp,
    VectorDocument, VectorEncoding,
};
use arbitrary::Arbitrary;
use serde_json::Value;
use uuid::Uuid;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Vectors have `dimension % 32 + 1` floats, unless `ragged` (then as many as given), which
    /// the encoder must refuse as `Validation`.
    dimension: u8,
    ragged: bool,
    docs: Vec<Doc>,
    compression: u8,
    zstd_level: i8,
    row_group_size: u8,
    dictionary: bool,
    byte_stream_split: bool,
    collection: u128,
    snapshot: u128,
    created_at: i64,
}

#[derive(Arbitrary, Debug)]
struct Doc {
    id: u128,
    external_id: Option<String>,
    floats: Vec<u32>,
    metadata: Option<Json>,
    inserted_at: i64,
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl From<Json> for Value {
    fn from(json: Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Int(i) => Value::from(i),
            // JSON has no NaN or infinity: serde_json makes those null.
            Json::Float(f) => Value::from(f),
            Json::Text(s) => Value::String(s),
            Json::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            Json::Object(fields) => {
                Value::Object(fields.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let dimension = usize::from(input.dimension % 32) + 1;
    let docs: Vec<VectorDocument> = input
        .docs
        .into_iter()
        .map(|doc| {
            let mut floats: Vec<f32> = doc.floats.into_iter().map(f32::from_bits).collect();
            if !input.ragged {
                floats.resize(dimension, 0.0);
            }
            VectorDocument {
                document_id: Uuid::from_u128(doc.id),
                external_id: doc.external_id,
                vector: floats,
                metadata: doc.metadata.map(Value::from),
                inserted_at: Timestamp::from_millis(doc.inserted_at),
            }
        })
        .collect();
    let compression = match input.compression % 4 {
        0 => Compression::None,
        1 => Compression::Snappy,
        2 => Compression::Lz4,
        _ => Compression::Zstd {
            level: i32::from(input.zstd_level),
        },
    };
    let config = ParquetConfig::default()
        .with_compression(compression)
        .with_row_group_size(usize::from(input.row_group_size))
        .with_dictionary(input.dictionary)
        .with_vector_encoding(if input.byte_stream_split {
            VectorEncoding::ByteStreamSplit
        } else {
            VectorEncoding::Plain
        });
    let header = SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(input.collection)),
        SnapshotId::from_uuid(Uuid::from_u128(input.snapshot)),
        Timestamp::from_millis(input.created_at),
    );
    akidb_snapshot_codec::fuzzing::roundtrip(&docs, &header, &config);
});
