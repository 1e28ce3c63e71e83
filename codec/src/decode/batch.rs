//! From decoded Arrow batches back to documents.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Timestamp, VectorDocument};
use crate::schema::{columns, index};

/// Appends the documents of `batch` to `out`. `first_row` is the file row of the batch's first
/// row, for messages.
pub(crate) fn append_documents(
    batch: &RecordBatch,
    dimension: usize,
    first_row: u64,
    out: &mut Vec<VectorDocument>,
) -> Result<()> {
    let wrong_type = |name: &str| {
        Error::decoding(format!(
            "the column `{name}` does not have a snapshot's type"
        ))
    };
    let column = |i: usize| batch.columns().get(i).ok_or_else(|| wrong_type("?"));

    let ids = column(index::DOCUMENT_ID)?
        .as_fixed_size_binary_opt()
        .filter(|a| a.value_length() == 16)
        .ok_or_else(|| wrong_type(columns::DOCUMENT_ID))?;
    let external_ids = column(index::EXTERNAL_ID)?
        .as_string_opt::<i32>()
        .ok_or_else(|| wrong_type(columns::EXTERNAL_ID))?;
    let dimensions = column(index::DIMENSION)?
        .as_primitive_opt::<Int32Type>()
        .ok_or_else(|| wrong_type(columns::DIMENSION))?;
    let vectors = column(index::VECTOR)?
        .as_fixed_size_list_opt()
        .filter(|a| a.value_length() as usize == dimension)
        .ok_or_else(|| wrong_type(columns::VECTOR))?;
    let floats = vectors
        .values()
        .as_primitive_opt::<Float32Type>()
        .ok_or_else(|| wrong_type(columns::VECTOR))?;
    let metadata = column(index::METADATA_JSON)?
        .as_string_opt::<i32>()
        .ok_or_else(|| wrong_type(columns::METADATA_JSON))?;
    let inserted = column(index::INSERTED_AT)?
        .as_primitive_opt::<TimestampMillisecondType>()
        .ok_or_else(|| wrong_type(columns::INSERTED_AT))?;

    // The schema declares these required; a file that lies about it is damaged.
    for (name, nulls) in [
        (columns::DOCUMENT_ID, ids.null_count()),
        (columns::DIMENSION, dimensions.null_count()),
        (columns::VECTOR, vectors.null_count() + floats.null_count()),
        (columns::INSERTED_AT, inserted.null_count()),
    ] {
        if nulls > 0 {
            return Err(Error::corruption(format!(
                "the required column `{name}` holds {nulls} nulls"
            )));
        }
    }

    let floats = floats.values();
    out.reserve(batch.num_rows());
    for row in 0..batch.num_rows() {
        let at = first_row + row as u64;
        let declared = dimensions.value(row);
        if declared as i64 != dimension as i64 {
            return Err(Error::corruption(format!(
                "row {at}: the dimension column says {declared}, but the file's vectors have {dimension}"
            )));
        }
        let start = vectors.value_offset_at(row);
        let vector = floats
            .get(start..start + dimension)
            .ok_or_else(|| Error::corruption(format!("row {at}: the vector is cut short")))?
            .to_vec();
        let metadata = if metadata.is_null(row) {
            None
        } else {
            Some(serde_json::from_str(metadata.value(row)).map_err(|e| {
                Error::corruption_from(format!("row {at}: metadata_json is not valid JSON"), e)
            })?)
        };
        out.push(VectorDocument {
            document_id: Uuid::from_bytes(
                ids.value(row)
                    .try_into()
                    .map_err(|_| wrong_type(columns::DOCUMENT_ID))?,
            ),
            external_id: (!external_ids.is_null(row)).then(|| external_ids.value(row).to_owned()),
            vector,
            metadata,
            inserted_at: Timestamp::from_millis(inserted.value(row)),
        });
    }
    Ok(())
}
