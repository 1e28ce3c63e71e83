//! Snapshot batches put together from their columns: the one place that builds the six
//! columns of [`arrow_schema`] in order, whether from documents, from checked columns, or from
//! a bare float matrix.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, FixedSizeBinaryArray, FixedSizeListArray, Float32Array, Int32Array, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use arrow_buffer::{Buffer, ScalarBuffer};
use uuid::Uuid;

use crate::error::{DocumentRef, Error, Result};
use crate::model::{Timestamp, VectorDocument};
use crate::schema::{arrow_schema, vector_element};

/// The columns of a snapshot batch, `dimension` floats to a vector.
pub(crate) struct Parts {
    pub(crate) ids: FixedSizeBinaryArray,
    pub(crate) external_ids: StringArray,
    pub(crate) dimension: usize,
    pub(crate) floats: Float32Array,
    pub(crate) metadata: StringArray,
    /// Milliseconds since the epoch; the UTC zone is added here.
    pub(crate) inserted: TimestampMillisecondArray,
}

impl Parts {
    /// The batch, sharing every buffer with the parts.
    pub(crate) fn into_batch(self) -> Result<RecordBatch> {
        let arrow_error = |e| Error::encoding("could not build the Arrow batch", e);
        let rows = arrow_array::Array::len(&self.ids);
        let dimension = i32::try_from(self.dimension).map_err(|_| {
            Error::validation(
                DocumentRef::NONE,
                format!("a dimension of {} does not fit Arrow", self.dimension),
            )
        })?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.ids),
            Arc::new(self.external_ids),
            Arc::new(Int32Array::from(vec![dimension; rows])),
            Arc::new(
                FixedSizeListArray::try_new(
                    vector_element(),
                    dimension,
                    Arc::new(self.floats),
                    None,
                )
                .map_err(arrow_error)?,
            ),
            Arc::new(self.metadata),
            Arc::new(self.inserted.with_timezone("UTC")),
        ];
        RecordBatch::try_new(arrow_schema(dimension), columns).map_err(arrow_error)
    }
}

/// The rows of a bare float matrix as a batch of the snapshot schema: `floats` holds native
/// `f32`s, `dimension` to a row, one row for each of `ids`; no row has an external id or
/// metadata, and all were inserted at `inserted_at`.
///
/// This is how a matrix (a `.npy` file, a tensor) becomes snapshot rows without a
/// [`VectorDocument`](crate::VectorDocument) per row: the floats are not copied, only shared.
///
/// # Errors
///
/// [`Error::Validation`] if `dimension` is 0 or `floats` does not hold exactly one row of
/// `dimension` floats for each id.
///
/// ```
/// use akidb_snapshot_codec::{Timestamp, arrow_schema, matrix_batch};
/// use arrow_buffer::Buffer;
/// use uuid::Uuid;
///
/// let ids = [Uuid::from_u128(1), Uuid::from_u128(2)];
/// let at = Timestamp::from_millis(1_700_000_000_000);
/// let floats = Buffer::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let batch = matrix_batch(&ids, 3, floats, at)?;
/// assert_eq!(batch.num_rows(), 2);
/// assert_eq!(batch.schema(), arrow_schema(3));
///
/// let short = Buffer::from_vec(vec![1.0f32; 5]);
/// assert!(matrix_batch(&ids, 3, short, at).is_err());
///
/// // A buffer that starts off a float boundary is copied, not refused.
/// let bytes = Buffer::from_vec(vec![0u8; 13]).slice(1);
/// assert_eq!(matrix_batch(&ids[..1], 3, bytes, at)?.num_rows(), 1);
/// # Ok::<(), akidb_snapshot_codec::Error>(())
/// ```
pub fn matrix_batch(
    ids: &[Uuid],
    dimension: usize,
    floats: Buffer,
    inserted_at: Timestamp,
) -> Result<RecordBatch> {
    let rows = ids.len();
    let expected = rows
        .checked_mul(dimension)
        .and_then(|n| n.checked_mul(size_of::<f32>()));
    if dimension == 0 || expected != Some(floats.len()) {
        return Err(Error::validation(
            DocumentRef::NONE,
            format!(
                "a matrix of {} bytes is not {rows} rows of {dimension} float32s",
                floats.len()
            ),
        ));
    }
    // Arrow reads floats in place only at a 4-byte boundary; a buffer sliced off one is copied.
    let floats = if floats.as_ptr().align_offset(align_of::<f32>()) == 0 {
        floats
    } else {
        Buffer::from_slice_ref(floats.as_slice())
    };
    let ids: Vec<u8> = ids.iter().flat_map(|id| id.into_bytes()).collect();
    Parts {
        ids: FixedSizeBinaryArray::new(16, Buffer::from_vec(ids), None),
        external_ids: StringArray::new_null(rows),
        dimension,
        floats: Float32Array::new(ScalarBuffer::new(floats, 0, rows * dimension), None),
        metadata: StringArray::new_null(rows),
        inserted: TimestampMillisecondArray::from(vec![inserted_at.as_millis(); rows]),
    }
    .into_batch()
}

/// The Arrow form of `docs`, already validated to have `dimension` floats each.
pub(crate) fn to_record_batch(docs: &[VectorDocument], dimension: usize) -> Result<RecordBatch> {
    let mut ids = Vec::with_capacity(docs.len() * 16);
    let mut floats = Vec::with_capacity(docs.len() * dimension);
    for doc in docs {
        ids.extend_from_slice(doc.document_id.as_bytes());
        floats.extend_from_slice(&doc.vector);
    }
    Parts {
        ids: FixedSizeBinaryArray::new(16, Buffer::from_vec(ids), None),
        external_ids: StringArray::from_iter(docs.iter().map(|d| d.external_id.as_deref())),
        dimension,
        floats: Float32Array::from(floats),
        metadata: StringArray::from_iter(
            docs.iter()
                .map(|d| d.metadata.as_ref().map(|m| m.to_string())),
        ),
        inserted: TimestampMillisecondArray::from_iter_values(
            docs.iter().map(|d| d.inserted_at.as_millis()),
        ),
    }
    .into_batch()
}
