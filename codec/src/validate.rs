//! What makes a collection of documents a valid snapshot, checked batch by batch so a streaming
//! writer can check as it goes.

use crate::error::{DocumentRef, Error, Result, nil_id};
use crate::metadata::SnapshotFormat;
use crate::model::VectorDocument;
use crate::record_batch::{Origin, SnapshotColumns};
use arrow_array::RecordBatch;
use uuid::Uuid;

/// Checks documents as they arrive, in batches, counting positions across batches.
///
/// ```
/// use akidb_snapshot_codec::{DocumentValidator, ErrorKind, SnapshotFormat, VectorDocument};
/// use uuid::Uuid;
///
/// let mut validator = DocumentValidator::new(SnapshotFormat::Parquet);
/// validator.check(&[VectorDocument::new(Uuid::from_u128(1), vec![1.0, 2.0])]).unwrap();
/// let err = validator
///     .check(&[VectorDocument::new(Uuid::from_u128(2), vec![1.0])])
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Validation);
/// assert!(err.to_string().contains("document #1"), "{err}");
/// assert_eq!(validator.finish().unwrap(), (1, 2));
/// ```
#[derive(Debug, Clone)]
pub struct DocumentValidator {
    format: SnapshotFormat,
    dimension: Option<usize>,
    /// The input position of this file's first document: not 0 for a part after the first.
    first: u64,
    accepted: u64,
}

impl DocumentValidator {
    /// A validator for documents bound for `format`. The JSON format also requires finite floats
    /// and timestamps that RFC 3339 can write.
    pub fn new(format: SnapshotFormat) -> Self {
        DocumentValidator {
            format,
            dimension: None,
            first: 0,
            accepted: 0,
        }
    }

    /// The validator of the next file of the same input (the next part of a v2 snapshot):
    /// positions count on from where this one stopped and the dimension must stay the same,
    /// while the count starts again.
    ///
    /// ```
    /// use akidb_snapshot_codec::{DocumentValidator, SnapshotFormat, VectorDocument};
    /// use uuid::Uuid;
    ///
    /// let mut first = DocumentValidator::new(SnapshotFormat::Parquet);
    /// first.check(&[VectorDocument::new(Uuid::from_u128(1), vec![1.0, 2.0])]).unwrap();
    /// let mut next = first.next_file();
    /// let err = next.check(&[VectorDocument::new(Uuid::from_u128(2), vec![1.0])]).unwrap_err();
    /// assert!(err.to_string().contains("document #1"), "{err}");
    /// next.check(&[VectorDocument::new(Uuid::from_u128(3), vec![3.0, 4.0])]).unwrap();
    /// assert_eq!(next.finish().unwrap(), (1, 2));
    /// ```
    pub fn next_file(&self) -> Self {
        DocumentValidator {
            format: self.format,
            dimension: self.dimension,
            first: self.position(),
            accepted: 0,
        }
    }

    /// The input position of the next document.
    pub(crate) fn position(&self) -> u64 {
        self.first + self.accepted
    }

    /// Checks the next batch. On error nothing of the batch is accepted.
    pub fn check(&mut self, docs: &[VectorDocument]) -> Result<()> {
        let mut dimension = self.dimension;
        for (offset, doc) in docs.iter().enumerate() {
            let at = DocumentRef::new(self.position() + offset as u64, doc.document_id);
            let expected = *dimension.get_or_insert(doc.vector.len());
            check_document(doc, expected, self.format, at)?;
        }
        self.dimension = dimension;
        self.accepted += docs.len() as u64;
        Ok(())
    }

    /// Checks the next batch in Arrow form, as
    /// [`ParquetWriter::write_batch`](crate::ParquetWriter::write_batch) takes it: its columns,
    /// then its documents. On error nothing of the batch is accepted.
    ///
    /// ```
    /// use akidb_snapshot_codec::*;
    /// use arrow_buffer::Buffer;
    /// use uuid::Uuid;
    ///
    /// let mut validator = DocumentValidator::new(SnapshotFormat::Parquet);
    /// let two = matrix_batch(&[Uuid::from_u128(1)], 2, Buffer::from_vec(vec![1.0f32, 2.0]),
    ///     Timestamp::from_millis(0))?;
    /// validator.check_arrow(&two)?;
    /// let three = matrix_batch(&[Uuid::from_u128(2)], 3, Buffer::from_vec(vec![1.0f32; 3]),
    ///     Timestamp::from_millis(0))?;
    /// let err = validator.check_arrow(&three).unwrap_err();
    /// assert!(err.to_string().contains("document #1"), "{err}");
    /// # Ok::<(), Error>(())
    /// ```
    pub fn check_arrow(&mut self, batch: &RecordBatch) -> Result<()> {
        self.checked_columns(batch).map(drop)
    }

    /// [`check_arrow`](Self::check_arrow), handing the checked columns on.
    pub(crate) fn checked_columns<'a>(
        &mut self,
        batch: &'a RecordBatch,
    ) -> Result<SnapshotColumns<'a>> {
        let first = self.position();
        let columns = SnapshotColumns::of(batch, Origin::Caller { first })?;
        columns.check_metadata_json()?;
        self.check_batch(&columns)?;
        Ok(columns)
    }

    /// Checks the next batch in Arrow form, whose columns are already checked. Only the Parquet
    /// writer takes Arrow batches, so only the rules of every format apply.
    fn check_batch(&mut self, columns: &SnapshotColumns<'_>) -> Result<()> {
        if columns.rows() == 0 {
            return Ok(());
        }
        let at = DocumentRef::new(self.position(), columns.id(0));
        let expected = self.dimension.unwrap_or(columns.dimension());
        check_dimension(columns.dimension(), expected, at)?;
        (0..columns.rows()).try_for_each(|row| {
            let id = columns.id(row);
            check_document_id(id, DocumentRef::new(self.position() + row as u64, id))
        })?;
        self.dimension = Some(expected);
        self.accepted += columns.rows() as u64;
        Ok(())
    }

    /// The dimension of the documents so far, once there is one.
    pub fn dimension(&self) -> Option<usize> {
        self.dimension
    }

    /// The count and dimension of everything accepted; an empty input is an error.
    pub fn finish(&self) -> Result<(u64, u32)> {
        match self.dimension {
            // check_document bounds the dimension by i32::MAX, so the cast is exact.
            Some(dimension) if self.accepted > 0 => Ok((self.accepted, dimension as u32)),
            _ => Err(Error::validation(
                DocumentRef::NONE,
                "a snapshot needs at least one document, and none were given",
            )),
        }
    }
}

fn check_document(
    doc: &VectorDocument,
    expected: usize,
    format: SnapshotFormat,
    at: DocumentRef,
) -> Result<()> {
    check_dimension(doc.vector.len(), expected, at)?;
    check_document_id(doc.document_id, at)?;
    if format == SnapshotFormat::Json {
        if let Some(i) = doc.vector.iter().position(|x| !x.is_finite()) {
            return Err(Error::validation(
                at,
                format!(
                    "vector[{i}] is {}, which the JSON format cannot hold; use the Parquet format, \
                     which keeps every float bit for bit",
                    doc.vector[i]
                ),
            ));
        }
        if doc.inserted_at.to_rfc3339().is_none() {
            return Err(Error::validation(
                at,
                format!(
                    "inserted_at ({}) is outside the years 0 to 9999 that the JSON format can write",
                    doc.inserted_at
                ),
            ));
        }
    }
    Ok(())
}

/// A document id other than the nil UUID, which databases use for "no id" and which would make
/// every document that lost its id the same document.
fn check_document_id(id: Uuid, at: DocumentRef) -> Result<()> {
    match id.is_nil() {
        true => Err(nil_id(at, "document_id")),
        false => Ok(()),
    }
}

/// A vector of `dimension` floats in a snapshot whose vectors have `expected`.
fn check_dimension(dimension: usize, expected: usize, at: DocumentRef) -> Result<()> {
    if dimension == 0 {
        return Err(Error::validation(at, "the vector is empty"));
    }
    if dimension > i32::MAX as usize {
        return Err(Error::validation(
            at,
            format!(
                "the vector has {dimension} floats; Parquet lists hold at most {}",
                i32::MAX
            ),
        ));
    }
    if dimension != expected {
        return Err(Error::validation(
            at,
            format!(
                "the vector has dimension {dimension}, but the snapshot's first document has \
                 {expected}; every vector of a snapshot has the same dimension"
            ),
        ));
    }
    Ok(())
}
