//! Snapshot rows in Arrow form: the checks a [`RecordBatch`] passes before it is written or
//! handed out, whether it came from a caller or from a file.
//!
//! One set of rules serves both directions; only what a broken rule means differs: a caller's
//! bad batch is a [`Error::Validation`] (fix it and write it again), a file's is
//! [`Error::DataCorruption`].

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, FixedSizeBinaryArray, FixedSizeListArray, Float32Array, Int32Array,
    RecordBatch, StringArray, TimestampMillisecondArray,
};
use std::sync::Arc;

use arrow_buffer::{Buffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema};
use uuid::Uuid;

use crate::assemble::Parts;
use crate::error::{DocumentRef, Error, Result};
use crate::model::Timestamp;
use crate::schema::{columns, index};
use crate::selection::RowKey;

/// Who made a batch, which decides what a broken rule is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// Given to a writer; `first` is the position of its first row in everything written.
    Caller { first: u64 },
    /// Decoded from a file; `first` is the file row of its first row.
    File { first: u64 },
}

impl Origin {
    /// The error for `reason`, about `row` of the batch (with its id) when there is one.
    fn error(self, row: Option<(usize, Uuid)>, reason: impl Into<String>) -> Error {
        let reason = reason.into();
        match (self, row) {
            (Origin::Caller { first }, Some((row, id))) => {
                Error::validation(DocumentRef::new(first + row as u64, id), reason)
            }
            (Origin::Caller { .. }, None) => Error::validation(DocumentRef::NONE, reason),
            (Origin::File { first }, Some((row, _))) => {
                Error::corruption(format!("row {}: {reason}", first + row as u64))
            }
            (Origin::File { .. }, None) => Error::corruption(reason),
        }
    }
}

/// The six columns of a snapshot batch, found by name and checked: types, no nulls where the
/// schema requires values, and a `dimension` column that agrees with the vectors.
#[derive(Debug)]
pub(crate) struct SnapshotColumns<'a> {
    pub(crate) ids: &'a FixedSizeBinaryArray,
    pub(crate) external_ids: &'a StringArray,
    pub(crate) dimensions: &'a Int32Array,
    pub(crate) vectors: &'a FixedSizeListArray,
    pub(crate) floats: &'a Float32Array,
    pub(crate) metadata: &'a StringArray,
    pub(crate) inserted: &'a TimestampMillisecondArray,
    origin: Origin,
}

/// What each column must be, as said in messages, at its [`index`] in the schema.
const EXPECTED: [(&str, &str); 6] = [
    (columns::DOCUMENT_ID, "FixedSizeBinary(16)"),
    (columns::EXTERNAL_ID, "Utf8"),
    (columns::DIMENSION, "Int32"),
    (columns::VECTOR, "FixedSizeList of non-null Float32"),
    (columns::METADATA_JSON, "Utf8"),
    (columns::INSERTED_AT, "Timestamp(Millisecond, UTC)"),
];

impl<'a> SnapshotColumns<'a> {
    pub(crate) fn of(batch: &'a RecordBatch, origin: Origin) -> Result<Self> {
        let schema = batch.schema_ref();
        if let Some(extra) = schema
            .fields()
            .iter()
            .find(|f| !EXPECTED.iter().any(|(name, _)| f.name() == name))
        {
            return Err(origin.error(
                None,
                format!(
                    "the batch has a column `{}` that a snapshot does not hold; a snapshot has \
                     exactly {}",
                    extra.name(),
                    expected_columns()
                ),
            ));
        }
        let column = |i: usize| -> Result<&'a ArrayRef> {
            let (name, _) = EXPECTED[i];
            schema
                .index_of(name)
                .map(|at| batch.column(at))
                .map_err(|_| {
                    origin.error(
                        None,
                        format!(
                            "the batch has no column `{name}`; a snapshot has exactly {}",
                            expected_columns()
                        ),
                    )
                })
        };
        let wrong_type = |i: usize| {
            let (name, expected) = EXPECTED[i];
            let found = schema
                .field_with_name(name)
                .map(|f| f.data_type().to_string())
                .unwrap_or_default();
            origin.error(
                None,
                format!("the column `{name}` is {found}, but a snapshot's is {expected}"),
            )
        };
        let vectors = column(index::VECTOR)?
            .as_fixed_size_list_opt()
            .ok_or_else(|| wrong_type(index::VECTOR))?;
        let found = SnapshotColumns {
            ids: column(index::DOCUMENT_ID)?
                .as_fixed_size_binary_opt()
                .filter(|a| a.value_length() == 16)
                .ok_or_else(|| wrong_type(index::DOCUMENT_ID))?,
            external_ids: column(index::EXTERNAL_ID)?
                .as_string_opt::<i32>()
                .ok_or_else(|| wrong_type(index::EXTERNAL_ID))?,
            dimensions: column(index::DIMENSION)?
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| wrong_type(index::DIMENSION))?,
            vectors,
            floats: vectors
                .values()
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(|| wrong_type(index::VECTOR))?,
            metadata: column(index::METADATA_JSON)?
                .as_string_opt::<i32>()
                .ok_or_else(|| wrong_type(index::METADATA_JSON))?,
            inserted: column(index::INSERTED_AT)?
                .as_primitive_opt::<TimestampMillisecondType>()
                .ok_or_else(|| wrong_type(index::INSERTED_AT))?,
            origin,
        };
        found.check_required()?;
        found.check_dimensions()?;
        found.check_strings()?;
        Ok(found)
    }

    /// The length of every vector (0 for a list type of size 0, which validation refuses).
    pub(crate) fn dimension(&self) -> usize {
        usize::try_from(self.vectors.value_length()).unwrap_or_default()
    }

    /// The number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.ids.len()
    }

    /// The id of `row`.
    pub(crate) fn id(&self, row: usize) -> Uuid {
        // `of` checked the width is 16.
        Uuid::from_slice(self.ids.value(row)).unwrap_or_default()
    }

    /// The floats of `row`.
    pub(crate) fn vector(&self, row: usize) -> &'a [f32] {
        let start = self.vectors.value_offset_at(row);
        // `of` checked the values hold exactly every row's floats.
        self.floats
            .values()
            .get(start..start + self.dimension())
            .unwrap_or_default()
    }

    /// A file's string columns hold UTF-8 whose every value starts on a character boundary.
    /// parquet checks the bytes of a page but not always the boundaries between values, and in a
    /// release build assembles the array unchecked (found by the `decode_parquet` fuzz target:
    /// `tests/data/bad/utf8-split-by-offsets.parquet`); `value()` would then hand out a `&str`
    /// that is not UTF-8. A caller's arrays are built by safe code, or validated by the C API.
    fn check_strings(&self) -> Result<()> {
        if let Origin::File { .. } = self.origin {
            for (name, strings) in [
                (columns::EXTERNAL_ID, self.external_ids),
                (columns::METADATA_JSON, self.metadata),
            ] {
                strings.to_data().validate_full().map_err(|e| {
                    self.origin
                        .error(None, format!("the column `{name}` is not valid UTF-8: {e}"))
                })?;
            }
        }
        Ok(())
    }

    /// No null where the schema needs a value. A file from another writer may mark every column
    /// optional (pyarrow, DuckDB, Polars and Spark do), so its batches can hold nulls: such a
    /// file is not a snapshot ([`Error::Decoding`]), and the error names the column and row.
    fn check_required(&self) -> Result<()> {
        let dimension = self.dimension().max(1);
        for (name, array, floats_per_row) in [
            (columns::DOCUMENT_ID, self.ids as &dyn Array, 1),
            (columns::DIMENSION, self.dimensions, 1),
            (columns::VECTOR, self.vectors, 1),
            (columns::VECTOR_ELEMENT, self.floats, dimension),
            (columns::INSERTED_AT, self.inserted, 1),
        ] {
            let first_null = array
                .logical_nulls()
                .and_then(|nulls| nulls.iter().position(|valid| !valid));
            if let Some(index) = first_null {
                let row = index / floats_per_row;
                let what = if name == columns::VECTOR_ELEMENT {
                    format!("vector[{}] is null", index % floats_per_row)
                } else {
                    format!("`{name}` is null")
                };
                let reason = format!(
                    "{what}, and a snapshot needs a value there ({} nulls in this column)",
                    array.logical_null_count()
                );
                return Err(match self.origin {
                    Origin::Caller { first } => Error::validation(
                        DocumentRef::new(first + row as u64, self.id(row)),
                        reason,
                    ),
                    Origin::File { first } => {
                        Error::decoding(format!("row {}: {reason}", first + row as u64))
                    }
                });
            }
        }
        let rows = self.rows();
        if self.floats.len() != rows * self.dimension() {
            return Err(self.origin.error(
                None,
                format!(
                    "the vectors hold {} floats, not the {rows} × {} of their rows",
                    self.floats.len(),
                    self.dimension()
                ),
            ));
        }
        Ok(())
    }

    fn check_dimensions(&self) -> Result<()> {
        let dimension = self.dimension();
        match (self.dimensions.values().iter())
            .position(|&declared| declared as i64 != dimension as i64)
        {
            None => Ok(()),
            Some(row) => Err(self.origin.error(
                Some((row, self.id(row))),
                format!(
                    "the dimension column says {}, but the vectors have {dimension}",
                    self.dimensions.value(row)
                ),
            )),
        }
    }

    /// Checks that every `metadata_json` value is JSON, for paths that hand the text on
    /// unparsed.
    pub(crate) fn check_metadata_json(&self) -> Result<()> {
        for row in 0..self.rows() {
            if self.metadata.is_valid(row) {
                let text = self.metadata.value(row);
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                    return Err(self.not_json(row, e));
                }
            }
        }
        Ok(())
    }

    /// The error for the `metadata_json` of `row`, which `e` says is not JSON.
    pub(crate) fn not_json(&self, row: usize, e: serde_json::Error) -> Error {
        self.origin.error(
            Some((row, self.id(row))),
            format!("metadata_json is not valid JSON ({e})"),
        )
    }

    /// The rows in a batch of the snapshot schema ([`arrow_schema`], whose field metadata mark
    /// the UUID and JSON columns), sharing every buffer with these columns.
    pub(crate) fn to_snapshot_batch(&self) -> Result<RecordBatch> {
        Parts {
            ids: self.ids.clone(),
            external_ids: self.external_ids.clone(),
            dimension: self.dimension(),
            floats: self.floats.clone(),
            metadata: self.metadata.clone(),
            inserted: self.inserted.clone(),
        }
        .into_batch()
    }
}

/// The vectors of a batch of the snapshot schema as one float matrix: its dimension, and its
/// floats, that many to a row in row order, sharing the batch's buffer. The inverse of
/// [`matrix_batch`](crate::matrix_batch).
///
/// # Errors
///
/// [`Error::Validation`] if the batch does not have the snapshot's columns, or its `dimension`
/// column disagrees with its vectors.
///
/// ```
/// use akidb_snapshot_codec::{Timestamp, batch_matrix, matrix_batch};
/// use arrow_buffer::Buffer;
/// use uuid::Uuid;
///
/// let ids = [Uuid::from_u128(1), Uuid::from_u128(2)];
/// let floats = Buffer::from_vec(vec![1.0f32, 2.0, 3.0, 4.0]);
/// let batch = matrix_batch(&ids, 2, floats, Timestamp::from_millis(0))?;
///
/// let (dimension, floats) = batch_matrix(&batch.slice(1, 1))?;
/// assert_eq!((dimension, &floats[..]), (2, &[3.0, 4.0][..]));
/// # Ok::<(), akidb_snapshot_codec::Error>(())
/// ```
pub fn batch_matrix(batch: &RecordBatch) -> Result<(usize, ScalarBuffer<f32>)> {
    let columns = SnapshotColumns::of(batch, Origin::Caller { first: 0 })?;
    Ok((columns.dimension(), columns.floats.values().clone()))
}

/// The rows of `batch` (of the snapshot schema) whose key `keep` accepts, in order, as a batch
/// of the snapshot schema; `batch` itself when it keeps them all.
pub(crate) fn retain_rows(
    batch: &RecordBatch,
    keep: &dyn Fn(&RowKey<'_>) -> bool,
) -> Result<RecordBatch> {
    let columns = SnapshotColumns::of(batch, Origin::File { first: 0 })?;
    let rows: Vec<usize> = (0..columns.rows())
        .filter(|&row| {
            let external =
                (!columns.external_ids.is_null(row)).then(|| columns.external_ids.value(row));
            let inserted = Timestamp::from_millis(columns.inserted.value(row));
            keep(&RowKey::new(columns.id(row), external, inserted))
        })
        .collect();
    if rows.len() == columns.rows() {
        return Ok(batch.clone());
    }
    let strings = |array: &StringArray| -> StringArray {
        rows.iter()
            .map(|&row| array.is_valid(row).then(|| array.value(row)))
            .collect()
    };
    // One copy of each kept row's bytes, a slice at a time: this runs on every row group that
    // a later tombstone part touches.
    let mut ids: Vec<u8> = Vec::with_capacity(rows.len() * 16);
    let mut floats: Vec<f32> = Vec::with_capacity(rows.len() * columns.dimension());
    for &row in &rows {
        ids.extend_from_slice(columns.ids.value(row));
        floats.extend_from_slice(columns.vector(row));
    }
    Parts {
        ids: FixedSizeBinaryArray::new(16, Buffer::from_vec(ids), None),
        external_ids: strings(columns.external_ids),
        dimension: columns.dimension(),
        floats: Float32Array::from(floats),
        metadata: strings(columns.metadata),
        inserted: TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|&row| columns.inserted.value(row)),
        ),
    }
    .into_batch()
}

/// `batch` with a `document_id` column of `Binary` (as Polars and Spark write ids, having no
/// fixed-size binary type) turned into the `FixedSizeBinary(16)` of the snapshot schema; any
/// other batch as it is. A value that is not 16 bytes is a decoding error naming its row
/// (`first` is the file row of the batch's first row).
pub(crate) fn with_fixed_ids(batch: RecordBatch, first: u64) -> Result<RecordBatch> {
    let Ok(at) = batch.schema_ref().index_of(columns::DOCUMENT_ID) else {
        return Ok(batch);
    };
    let Some(ids) = batch.column(at).as_binary_opt::<i32>() else {
        return Ok(batch);
    };
    if let Some(row) = ids
        .iter()
        .position(|id| id.is_some_and(|id| id.len() != 16))
    {
        return Err(Error::decoding(format!(
            "row {}: `document_id` is {} bytes, and a UUID is 16",
            first + row as u64,
            ids.value(row).len()
        )));
    }
    let fixed = FixedSizeBinaryArray::try_from_sparse_iter_with_size(ids.iter(), 16)
        .map_err(|e| Error::decoding(format!("`document_id` is not 16-byte UUIDs: {e}")))?;
    let mut fields = batch.schema_ref().fields().to_vec();
    fields[at] = Arc::new(Field::new(
        columns::DOCUMENT_ID,
        DataType::FixedSizeBinary(16),
        fields[at].is_nullable(),
    ));
    let mut arrays = batch.columns().to_vec();
    arrays[at] = Arc::new(fixed);
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        batch.schema_ref().metadata().clone(),
    ));
    RecordBatch::try_new(schema, arrays)
        .map_err(|e| Error::decoding(format!("`document_id` as 16-byte UUIDs: {e}")))
}

fn expected_columns() -> String {
    EXPECTED
        .iter()
        .map(|(name, ty)| format!("`{name}` ({ty})"))
        .collect::<Vec<_>>()
        .join(", ")
}
