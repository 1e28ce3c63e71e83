//! The Parquet schema of a snapshot and the keys of its footer (docs/DESIGN.md, "Parquet file").

use std::sync::Arc;

use arrow_schema::extension::{Json, Uuid as UuidExtension};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};

/// The schema version this build writes, and the newest it reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Column names, in file order.
pub mod columns {
    /// `FIXED_LEN_BYTE_ARRAY(16)`, UUID logical type.
    pub const DOCUMENT_ID: &str = "document_id";
    /// `BYTE_ARRAY`, UTF8, optional.
    pub const EXTERNAL_ID: &str = "external_id";
    /// `INT32`, the vector's length, repeated on every row so a reader of one column knows it.
    pub const DIMENSION: &str = "dimension";
    /// `LIST` of required `FLOAT`.
    pub const VECTOR: &str = "vector";
    /// The list's element, as the Parquet format names it.
    pub const VECTOR_ELEMENT: &str = "element";
    /// `BYTE_ARRAY`, JSON logical type, optional.
    pub const METADATA_JSON: &str = "metadata_json";
    /// `INT64`, `TIMESTAMP(MILLIS, UTC)`.
    pub const INSERTED_AT: &str = "inserted_at";
}

/// Keys of the footer's key-value metadata.
pub mod footer_keys {
    /// The schema version, a decimal integer.
    pub const SCHEMA_VERSION: &str = "akidb.schema_version";
    /// The collection id, a hyphenated UUID.
    pub const COLLECTION_ID: &str = "akidb.collection_id";
    /// The snapshot id, a hyphenated UUID.
    pub const SNAPSHOT_ID: &str = "akidb.snapshot_id";
    /// The number of documents, a decimal integer.
    pub const VECTOR_COUNT: &str = "akidb.vector_count";
    /// The vector dimension, a decimal integer.
    pub const DIMENSION: &str = "akidb.dimension";
    /// When the snapshot was taken, RFC 3339.
    pub const CREATED_AT: &str = "akidb.created_at";
    /// What the file is, where it is not a data file: `tombstones` for a tombstone part, `ids`
    /// for an id index.
    pub const KIND: &str = "akidb.kind";
    /// In an id index: the SHA-256 of the data part it describes, lowercase hex.
    pub const PART_SHA256: &str = "akidb.part_sha256";
    /// In an id index: the pages of the data part it describes, with their checksums, and its
    /// tail's length and SHA-256 ([`FileLayout::to_text`](crate::FileLayout::to_text)), so a
    /// reader can check each page of the part it fetches.
    pub const PART_LAYOUT: &str = "akidb.part_layout";
    /// In an id index: its own pages, with their checksums (the same text, its tail left
    /// empty: the manifest records the index's tail).
    pub const PAGES: &str = "akidb.pages";
}

/// The Arrow schema of a snapshot whose vectors have `dimension` floats.
///
/// The extension types on `document_id` (`arrow.uuid`) and `metadata_json` (`arrow.json`) are
/// what make parquet write the UUID and JSON logical types.
///
/// ```
/// use akidb_snapshot_codec::arrow_schema;
/// use arrow_schema::DataType;
///
/// let schema = arrow_schema(384);
/// assert_eq!(schema.fields().len(), 6);
/// assert!(matches!(
///     schema.field_with_name("vector").unwrap().data_type(),
///     DataType::FixedSizeList(_, 384)
/// ));
/// ```
pub fn arrow_schema(dimension: i32) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(columns::DOCUMENT_ID, DataType::FixedSizeBinary(16), false)
            .with_extension_type(UuidExtension),
        Field::new(columns::EXTERNAL_ID, DataType::Utf8, true),
        Field::new(columns::DIMENSION, DataType::Int32, false),
        Field::new(
            columns::VECTOR,
            DataType::FixedSizeList(vector_element(), dimension),
            false,
        ),
        Field::new(columns::METADATA_JSON, DataType::Utf8, true)
            .with_extension_type(Json::default()),
        Field::new(
            columns::INSERTED_AT,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// The snapshot schema as the Spark SQL DDL that reads a snapshot file, for
/// `spark.read.schema(…)` or `CREATE TABLE … (…) USING parquet`.
///
/// Spark (4.0 to 4.3) refuses a Parquet `FIXED_LEN_BYTE_ARRAY` column with the UUID logical
/// type when it infers the schema itself (`PARQUET_TYPE_ILLEGAL`), but reads it as `BINARY` when
/// told to; the other columns are what Spark would infer: the fixed-size vector as
/// `ARRAY<FLOAT>`, the JSON column as `STRING`, the UTC timestamp as `TIMESTAMP`.
///
/// ```
/// use akidb_snapshot_codec::spark_schema;
///
/// assert_eq!(
///     spark_schema(),
///     "document_id BINARY, external_id STRING, dimension INT, vector ARRAY<FLOAT>, \
///      metadata_json STRING, inserted_at TIMESTAMP"
/// );
/// ```
pub fn spark_schema() -> String {
    fn spark_type(data_type: &DataType) -> String {
        match data_type {
            DataType::FixedSizeBinary(_) | DataType::Binary => "BINARY".to_owned(),
            DataType::Utf8 => "STRING".to_owned(),
            DataType::Int32 => "INT".to_owned(),
            DataType::Float32 => "FLOAT".to_owned(),
            DataType::Timestamp(_, _) => "TIMESTAMP".to_owned(),
            DataType::FixedSizeList(element, _) => {
                format!("ARRAY<{}>", spark_type(element.data_type()))
            }
            other => other.to_string(),
        }
    }
    arrow_schema(1)
        .fields()
        .iter()
        .map(|field| format!("{} {}", field.name(), spark_type(field.data_type())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The element field of the vector list: a required float.
pub(crate) fn vector_element() -> FieldRef {
    Arc::new(Field::new(
        columns::VECTOR_ELEMENT,
        DataType::Float32,
        false,
    ))
}

/// Positions of the columns in [`arrow_schema`], for code that reads batches by index.
pub(crate) mod index {
    pub(crate) const DOCUMENT_ID: usize = 0;
    pub(crate) const EXTERNAL_ID: usize = 1;
    pub(crate) const DIMENSION: usize = 2;
    pub(crate) const VECTOR: usize = 3;
    pub(crate) const METADATA_JSON: usize = 4;
    pub(crate) const INSERTED_AT: usize = 5;
}
