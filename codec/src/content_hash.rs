//! A document's content hash: what tells an unchanged document from a changed one without its
//! vector (docs/FORMAT.md, "Content hash"). It covers everything a document holds but its id,
//! exactly as a data part stores it.

use std::fmt;

use arrow_array::{Array, RecordBatch};
use twox_hash::XxHash3_128;
use uuid::Uuid;

use crate::error::Result;
use crate::model::VectorDocument;
use crate::record_batch::{Origin, SnapshotColumns};

/// The XXH3-128 hash (seed 0) of a document's content: its vector's bits, external id, metadata
/// text and `inserted_at`, laid out as docs/FORMAT.md ("Content hash") says, so another
/// language can compute the same value. Two documents with equal hashes are taken to be equal:
/// a collision, at 2⁻¹²⁸ per pair, would keep an old version of a changed document.
///
/// The metadata is hashed as the text a data part stores: the same JSON written with other
/// spacing or key order hashes differently, and only makes a diff rewrite that document.
///
/// ```
/// use akidb_snapshot_codec::{ContentHash, VectorDocument};
/// use uuid::Uuid;
///
/// let doc = VectorDocument::new(Uuid::from_u128(1), vec![1.0, -0.0]).with_external_id("a");
/// let same_content = VectorDocument { document_id: Uuid::from_u128(2), ..doc.clone() };
/// assert_eq!(ContentHash::of(&doc), ContentHash::of(&same_content));
///
/// let mut changed = doc.clone();
/// changed.vector[1] = 0.0; // another bit pattern
/// assert_ne!(ContentHash::of(&doc), ContentHash::of(&changed));
/// assert_eq!(ContentHash::from_bytes(ContentHash::of(&doc).to_bytes()), ContentHash::of(&doc));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(u128);

impl ContentHash {
    /// The hash of `doc`'s content.
    pub fn of(doc: &VectorDocument) -> Self {
        let mut bytes = Vec::new();
        Self::of_document(&mut bytes, doc)
    }

    /// The hash from its 16 bytes, most significant first (XXH3's canonical form).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        ContentHash(u128::from_be_bytes(bytes))
    }

    /// Its 16 bytes, most significant first, as an id index stores them.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// [`of`](Self::of), laying the content out in `bytes` (cleared first), which a caller
    /// hashing many documents reuses.
    pub(crate) fn of_document(bytes: &mut Vec<u8>, doc: &VectorDocument) -> Self {
        bytes.clear();
        put_vector(bytes, &doc.vector);
        put_text(bytes, doc.external_id.as_deref().map(str::as_bytes));
        match &doc.metadata {
            None => bytes.push(0),
            Some(metadata) => {
                // The text a part stores (`Value`'s compact form), written in place after its
                // length, which is filled in once known.
                bytes.push(1);
                let at = bytes.len();
                bytes.extend_from_slice(&[0; 8]);
                // Writing a `Value` into a `Vec` cannot fail.
                serde_json::to_writer(&mut *bytes, metadata).unwrap_or_default();
                let len = (bytes.len() - at - 8) as u64;
                bytes[at..at + 8].copy_from_slice(&len.to_le_bytes());
            }
        }
        bytes.extend_from_slice(&doc.inserted_at.as_millis().to_le_bytes());
        ContentHash(XxHash3_128::oneshot(bytes))
    }

    /// The hash of `row` of `columns`, laid out in `bytes` (cleared first).
    pub(crate) fn of_row(bytes: &mut Vec<u8>, columns: &SnapshotColumns<'_>, row: usize) -> Self {
        fn text(array: &arrow_array::StringArray, row: usize) -> Option<&[u8]> {
            array.is_valid(row).then(|| array.value(row).as_bytes())
        }
        bytes.clear();
        put_vector(bytes, columns.vector(row));
        put_text(bytes, text(columns.external_ids, row));
        put_text(bytes, text(columns.metadata, row));
        bytes.extend_from_slice(&columns.inserted.value(row).to_le_bytes());
        ContentHash(XxHash3_128::oneshot(bytes))
    }
}

/// The dimension, then every float's bits, little-endian.
fn put_vector(bytes: &mut Vec<u8>, vector: &[f32]) {
    bytes.extend_from_slice(&(vector.len() as u32).to_le_bytes());
    for float in vector {
        bytes.extend_from_slice(&float.to_le_bytes());
    }
}

/// `0` for none; else `1`, the length as a little-endian u64, the bytes.
fn put_text(bytes: &mut Vec<u8>, text: Option<&[u8]>) {
    match text {
        None => bytes.push(0),
        Some(text) => {
            bytes.push(1);
            bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
            bytes.extend_from_slice(text);
        }
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

/// 32 lowercase hex digits.
impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The id and content hash of every row of `batch`, in order. The batch is what
/// [`ParquetWriter::write_batch`](crate::ParquetWriter::write_batch) takes: the snapshot's six
/// columns, found by name.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use arrow_buffer::Buffer;
/// use uuid::Uuid;
///
/// let ids = [Uuid::from_u128(1)];
/// let batch = matrix_batch(&ids, 2, Buffer::from_vec(vec![1.0f32, 2.0]), Timestamp::from_millis(7))?;
/// let doc = VectorDocument::new(ids[0], vec![1.0, 2.0]).with_inserted_at(Timestamp::from_millis(7));
/// assert_eq!(batch_content_hashes(&batch)?, [(ids[0], ContentHash::of(&doc))]);
/// # Ok::<(), Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Validation`](crate::Error::Validation) for a batch whose columns are not a
/// snapshot's.
pub fn batch_content_hashes(batch: &RecordBatch) -> Result<Vec<(Uuid, ContentHash)>> {
    let columns = SnapshotColumns::of(batch, Origin::Caller { first: 0 })?;
    let mut bytes = Vec::new();
    Ok((0..columns.rows())
        .map(|row| {
            (
                columns.id(row),
                ContentHash::of_row(&mut bytes, &columns, row),
            )
        })
        .collect())
}
