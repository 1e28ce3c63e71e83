//! The legacy JSON snapshot format (docs/JSON_FORMAT.md): readable forever, written only when a
//! deployment asks for it.

use std::io::{BufWriter, Write};

use arrow_array::RecordBatch;
use serde::Deserialize;

use crate::decode::append_documents;
use crate::error::{DocumentRef, Error, Result};
use crate::hashing::HashingWriter;
use crate::metadata::{SnapshotFormat, SnapshotHeader};
use crate::model::{CollectionId, SnapshotId, Timestamp, VectorDocument};
use crate::record_batch::Origin;
use crate::summary::FileSummary;
use crate::validate::DocumentValidator;

/// A decoded JSON snapshot.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JsonSnapshot {
    /// Collection, snapshot and creation time, from the file.
    pub header: SnapshotHeader,
    /// The documents, in file order.
    pub documents: Vec<VectorDocument>,
}

/// Encodes a whole collection in the JSON format.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// let header = SnapshotHeader::new(
///     CollectionId::from_uuid(Uuid::from_u128(1)),
///     SnapshotId::from_uuid(Uuid::from_u128(2)),
///     Timestamp::from_millis(0),
/// );
/// let docs = vec![VectorDocument::new(Uuid::from_u128(3), vec![0.1, -0.0, 1e-40])];
/// let (bytes, summary) = encode_json(&docs, &header).unwrap();
/// assert_eq!(summary.size_bytes, bytes.len() as u64);
/// let back = decode_json(&bytes).unwrap();
/// assert_eq!(back.header, header);
/// assert_eq!(back.documents, docs);
///
/// let nan = vec![VectorDocument::new(Uuid::from_u128(4), vec![f32::NAN])];
/// assert_eq!(encode_json(&nan, &header).unwrap_err().kind(), ErrorKind::Validation);
/// ```
pub fn encode_json(
    docs: &[VectorDocument],
    header: &SnapshotHeader,
) -> Result<(Vec<u8>, FileSummary)> {
    let mut writer = JsonWriter::try_new(Vec::new(), *header)?;
    writer.write(docs)?;
    writer.finish()
}

/// Writes a JSON snapshot to any `io::Write`, batch by batch, holding nothing but the current
/// batch. The counts go at the end of the object, so nothing needs to be known in advance.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let mut writer = JsonWriter::try_new(Vec::new(), header).unwrap();
/// writer.write(&[VectorDocument::new(Uuid::from_u128(3), vec![1.0])]).unwrap();
/// writer.write(&[VectorDocument::new(Uuid::from_u128(4), vec![2.0])]).unwrap();
/// let (bytes, summary) = writer.finish().unwrap();
/// assert_eq!(summary.vector_count, 2);
/// assert_eq!(decode_json(&bytes).unwrap().documents.len(), 2);
/// ```
#[derive(Debug)]
pub struct JsonWriter<W: Write> {
    /// serde_json writes token by token: buffered, the hasher and the sink see large blocks.
    sink: BufWriter<HashingWriter<W>>,
    header: SnapshotHeader,
    validator: DocumentValidator,
    started: bool,
    failed: bool,
}

impl<W: Write> JsonWriter<W> {
    /// A writer of the snapshot `header` into `sink`. Fails with [`Error::Validation`] if
    /// an id of `header` is the nil UUID or `header.created_at` cannot be written.
    pub fn try_new(sink: W, header: SnapshotHeader) -> Result<Self> {
        header.check()?;
        Ok(JsonWriter {
            sink: BufWriter::with_capacity(64 << 10, HashingWriter::new(sink)),
            header,
            validator: DocumentValidator::new(SnapshotFormat::Json),
            started: false,
            failed: false,
        })
    }

    /// Validates and writes the next batch.
    pub fn write(&mut self, docs: &[VectorDocument]) -> Result<()> {
        if self.failed {
            return Err(Error::writer_failed());
        }
        self.validator.check(docs)?;
        let result = self.write_unchecked(docs);
        self.failed = result.is_err();
        result
    }

    /// Validates and writes the next batch in Arrow form, as
    /// [`ParquetWriter::write_batch`](crate::ParquetWriter::write_batch) takes it (the JSON
    /// format holds documents, so the rows are copied into them first).
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let first = self.validator.position();
        let mut docs = Vec::with_capacity(batch.num_rows());
        append_documents(batch, Origin::Caller { first }, &mut docs)?;
        self.write(&docs)
    }

    fn write_unchecked(&mut self, docs: &[VectorDocument]) -> Result<()> {
        let io = |e| Error::encoding("writing the JSON snapshot failed", e);
        for doc in docs {
            let separator: &[u8] = if self.started {
                b",\n"
            } else {
                self.start()?;
                b"\n"
            };
            self.sink.write_all(separator).map_err(io)?;
            serde_json::to_writer(&mut self.sink, doc)
                .map_err(|e| Error::encoding("writing a document as JSON failed", e))?;
        }
        Ok(())
    }

    /// Writes everything before the first document.
    fn start(&mut self) -> Result<()> {
        let header = &self.header;
        let created_at = header.created_at_rfc3339()?;
        write!(
            self.sink,
            r#"{{"snapshot_id":"{}","collection_id":"{}","created_at":"{created_at}","documents":["#,
            header.snapshot_id, header.collection_id,
        )
        .map_err(|e| Error::encoding("writing the JSON snapshot failed", e))?;
        self.started = true;
        Ok(())
    }

    /// Closes the document list and returns the sink with the file's summary. Fails with
    /// [`Error::Validation`] if no document was written.
    pub fn finish(mut self) -> Result<(W, FileSummary)> {
        if self.failed {
            return Err(Error::writer_failed());
        }
        let (vector_count, dimension) = self.validator.finish()?;
        write!(
            self.sink,
            "\n],\"vector_count\":{vector_count},\"dimension\":{dimension}}}\n"
        )
        .map_err(|e| Error::encoding("writing the JSON snapshot failed", e))?;
        let mut sink = self
            .sink
            .into_inner()
            .map_err(|e| Error::encoding("writing the JSON snapshot failed", e.into_error()))?;
        sink.flush()
            .map_err(|e| Error::encoding("writing the JSON snapshot failed", e))?;
        Ok(FileSummary::of(sink, vector_count, dimension))
    }
}

#[derive(Deserialize)]
struct JsonFile {
    snapshot_id: SnapshotId,
    collection_id: CollectionId,
    created_at: Timestamp,
    documents: Vec<VectorDocument>,
    #[serde(default)]
    vector_count: Option<u64>,
    #[serde(default)]
    dimension: Option<u32>,
}

/// Decodes a JSON snapshot. Unreadable JSON is [`Error::DataCorruption`]; JSON that is not a
/// snapshot (missing fields, wrong types) is [`Error::Decoding`]; counts that disagree with the
/// documents, and numbers outside the range of `f32`, are [`Error::DataCorruption`].
///
/// ```
/// use akidb_snapshot_codec::{decode_json, ErrorKind};
///
/// assert_eq!(decode_json(b"{\"documents\": [").unwrap_err().kind(), ErrorKind::DataCorruption);
/// assert_eq!(decode_json(b"{\"documents\": []}").unwrap_err().kind(), ErrorKind::Decoding);
/// ```
pub fn decode_json(bytes: &[u8]) -> Result<JsonSnapshot> {
    let file: JsonFile = serde_json::from_slice(bytes).map_err(|e| {
        let message = "the JSON snapshot is unreadable".to_owned();
        match e.classify() {
            serde_json::error::Category::Data => Error::Decoding {
                message: "the JSON is not an akidb snapshot".to_owned(),
                source: Some(e.into()),
            },
            _ => Error::DataCorruption {
                message,
                source: Some(e.into()),
            },
        }
    })?;
    let actual_dimension = file.documents.first().map_or(0, |d| d.vector.len());
    for (position, doc) in file.documents.iter().enumerate() {
        let at = DocumentRef::new(position as u64, doc.document_id);
        if doc.vector.len() != actual_dimension {
            return Err(Error::corruption(format!(
                "{at}the vector has dimension {}, but the first document's has {actual_dimension}",
                doc.vector.len()
            )));
        }
        if let Some(i) = doc.vector.iter().position(|x| !x.is_finite()) {
            return Err(Error::corruption(format!(
                "{at}vector[{i}] is outside the range of a 32-bit float"
            )));
        }
    }
    if let Some(count) = file
        .vector_count
        .filter(|&c| c != file.documents.len() as u64)
    {
        return Err(Error::corruption(format!(
            "the file says {count} documents (vector_count) but holds {}",
            file.documents.len()
        )));
    }
    if let Some(dimension) = file
        .dimension
        .filter(|&d| !file.documents.is_empty() && d as usize != actual_dimension)
    {
        return Err(Error::corruption(format!(
            "the file says dimension {dimension} but its vectors have {actual_dimension}"
        )));
    }
    Ok(JsonSnapshot {
        header: SnapshotHeader::new(file.collection_id, file.snapshot_id, file.created_at),
        documents: file.documents,
    })
}
