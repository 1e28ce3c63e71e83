//! From decoded Arrow batches to what readers yield: documents, or the checked batches.

use arrow_array::{Array, RecordBatch};

use crate::error::Result;
use crate::model::{Timestamp, VectorDocument};
use crate::record_batch::{Origin, SnapshotColumns, retain_rows};
use crate::selection::RowKey;

/// What a [`ParquetReader`](super::ParquetReader) yields rows as: [`VectorDocument`]s, or Arrow
/// [`RecordBatch`]es of the snapshot schema ([`arrow_schema`](crate::arrow_schema)), checked as
/// documents are.
pub trait DecodedRow: sealed::Sealed {
    /// How many rows `items` hold.
    fn row_count(items: &[Self]) -> usize;

    /// The same rows as `docs` (which a JSON snapshot decodes to), already validated.
    fn from_documents(docs: Vec<VectorDocument>) -> Result<Vec<Self>>;

    /// Only the rows of `items` whose key (id, external id, insertion time) `keep` accepts, in
    /// order: what a data part holds once the tombstone parts after it are applied
    /// (docs/FORMAT.md, "The content rule"), or what a partial restore asked for.
    ///
    /// ```
    /// use akidb_snapshot_codec::{DecodedRow, Timestamp, VectorDocument, matrix_batch};
    /// use arrow_buffer::Buffer;
    /// use uuid::Uuid;
    ///
    /// let ids = [Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3)];
    /// let batch = matrix_batch(&ids, 2, Buffer::from_vec(vec![1.0f32, 1.0, 2.0, 2.0, 3.0, 3.0]),
    ///     Timestamp::from_millis(0))?;
    /// let kept = DecodedRow::retain(vec![batch], &|row| row.id != ids[1])?;
    /// assert_eq!(kept[0].num_rows(), 2);
    /// let docs: Vec<VectorDocument> = ids.iter().map(|&id| VectorDocument::new(id, vec![0.0])).collect();
    /// assert_eq!(DecodedRow::retain(docs, &|row| row.id == ids[2])?.len(), 1);
    /// # Ok::<(), akidb_snapshot_codec::Error>(())
    /// ```
    fn retain(items: Vec<Self>, keep: &dyn Fn(&RowKey<'_>) -> bool) -> Result<Vec<Self>>;
}

impl DecodedRow for VectorDocument {
    fn row_count(items: &[Self]) -> usize {
        items.len()
    }

    fn from_documents(docs: Vec<VectorDocument>) -> Result<Vec<Self>> {
        Ok(docs)
    }

    fn retain(mut items: Vec<Self>, keep: &dyn Fn(&RowKey<'_>) -> bool) -> Result<Vec<Self>> {
        items.retain(|doc| {
            keep(&RowKey::new(
                doc.document_id,
                doc.external_id.as_deref(),
                doc.inserted_at,
            ))
        });
        Ok(items)
    }
}

impl DecodedRow for RecordBatch {
    fn row_count(items: &[Self]) -> usize {
        items.iter().map(RecordBatch::num_rows).sum()
    }

    fn from_documents(docs: Vec<VectorDocument>) -> Result<Vec<Self>> {
        let Some(dimension) = docs.first().map(VectorDocument::dimension) else {
            return Ok(Vec::new());
        };
        let batch = crate::assemble::to_record_batch(&docs, dimension)?;
        Ok(vec![batch])
    }

    fn retain(items: Vec<Self>, keep: &dyn Fn(&RowKey<'_>) -> bool) -> Result<Vec<Self>> {
        let mut kept = Vec::with_capacity(items.len());
        for batch in items {
            let batch = retain_rows(&batch, keep)?;
            if batch.num_rows() > 0 {
                kept.push(batch);
            }
        }
        Ok(kept)
    }
}

pub(crate) mod sealed {
    use super::*;

    /// Kept out of reach so that only this crate decides what rows decode into.
    pub trait Sealed: Sized + Send {
        /// Appends the rows of `batch`, whose first row is row `first_row` of the file.
        fn append(batch: RecordBatch, first_row: u64, out: &mut Vec<Self>) -> Result<()>;
    }

    impl Sealed for VectorDocument {
        fn append(batch: RecordBatch, first_row: u64, out: &mut Vec<Self>) -> Result<()> {
            append_documents(&batch, Origin::File { first: first_row }, out)
        }
    }

    impl Sealed for RecordBatch {
        fn append(batch: RecordBatch, first_row: u64, out: &mut Vec<Self>) -> Result<()> {
            let columns = SnapshotColumns::of(&batch, Origin::File { first: first_row })?;
            columns.check_metadata_json()?;
            // Rebuilt on the snapshot schema, sharing its buffers: a file from another writer
            // decodes with nullable fields, and callers get one schema whoever wrote the file.
            out.push(columns.to_snapshot_batch()?);
            Ok(())
        }
    }
}

/// Appends the rows of `batch` to `out` as documents.
pub(crate) fn append_documents(
    batch: &RecordBatch,
    origin: Origin,
    out: &mut Vec<VectorDocument>,
) -> Result<()> {
    let columns = SnapshotColumns::of(batch, origin)?;
    out.reserve(batch.num_rows());
    for row in 0..batch.num_rows() {
        let metadata = if columns.metadata.is_null(row) {
            None
        } else {
            Some(
                serde_json::from_str(columns.metadata.value(row))
                    .map_err(|e| columns.not_json(row, e))?,
            )
        };
        out.push(VectorDocument {
            document_id: columns.id(row),
            external_id: (!columns.external_ids.is_null(row))
                .then(|| columns.external_ids.value(row).to_owned()),
            vector: columns.vector(row).to_vec(),
            metadata,
            inserted_at: Timestamp::from_millis(columns.inserted.value(row)),
        });
    }
    Ok(())
}
