//! Documents across the boundary as plain C arrays, and owned byte buffers.

use std::ffi::{CString, c_char};

use akidb_snapshot_codec::{Timestamp, VectorDocument};
use uuid::Uuid;

use crate::error::{Failure, akidb_result};
use crate::marshal;

/// Documents lent by the caller for one call, as parallel arrays of `count` entries. Only
/// `vectors` is required.
#[repr(C)]
pub struct akidb_documents_view {
    /// How many documents.
    pub count: usize,
    /// The length of every vector.
    pub dimension: u32,
    /// `count * dimension` floats, row after row.
    pub vectors: *const f32,
    /// `count` 16-byte UUIDs, or NULL to give each document a new UUID v7.
    pub document_ids: *const [u8; 16],
    /// `count` NUL-terminated UTF-8 strings (each may be NULL for none), or NULL for none at all.
    pub external_ids: *const *const c_char,
    /// `count` NUL-terminated JSON texts (each may be NULL for none), or NULL for none at all.
    pub metadata_json: *const *const c_char,
    /// `count` insertion times in milliseconds since the Unix epoch, or NULL for 0.
    pub inserted_at_ms: *const i64,
}

impl akidb_documents_view {
    /// The documents, copied out of the caller's arrays.
    pub(crate) fn to_documents(&self) -> Result<Vec<VectorDocument>, Failure> {
        let dimension = self.dimension as usize;
        let floats = self
            .count
            .checked_mul(dimension)
            .ok_or_else(|| Failure::invalid("count * dimension overflows"))?;
        let vectors = marshal::optional_array(self.vectors, floats)
            .ok_or_else(|| Failure::null("view->vectors"))?;
        let ids = marshal::optional_array(self.document_ids, self.count);
        let external = marshal::optional_array(self.external_ids, self.count);
        let metadata = marshal::optional_array(self.metadata_json, self.count);
        let times = marshal::optional_array(self.inserted_at_ms, self.count);
        let optional_string =
            |array: Option<&[*const c_char]>, i: usize, name: &str| match array.map(|a| a[i]) {
                Some(ptr) if !ptr.is_null() => marshal::string(ptr, name).map(Some),
                _ => Ok(None),
            };
        (0..self.count)
            .map(|i| {
                let id = ids.map_or_else(Uuid::now_v7, |ids| Uuid::from_bytes(ids[i]));
                let vector = vectors[i * dimension..(i + 1) * dimension].to_vec();
                let mut doc = VectorDocument::new(id, vector)
                    .with_inserted_at(Timestamp::from_millis(times.map_or(0, |t| t[i])));
                doc.external_id =
                    optional_string(external, i, "view->external_ids[i]")?.map(str::to_owned);
                if let Some(json) = optional_string(metadata, i, "view->metadata_json[i]")? {
                    doc.metadata = Some(serde_json_value(json, i)?);
                }
                Ok(doc)
            })
            .collect()
    }
}

fn serde_json_value(json: &str, i: usize) -> Result<serde_json::Value, Failure> {
    serde_json::from_str(json).map_err(|e| {
        Failure::new(
            akidb_result::AKIDB_ERR_VALIDATION,
            format!("document #{i}: metadata_json is not valid JSON: {e}"),
        )
    })
}

/// Documents owned by the library (from a decode or a restore), laid out for C: one
/// contiguous float matrix, and per-document ids, strings and times. Free with
/// `akidb_documents_free`.
pub struct akidb_documents {
    dimension: u32,
    vectors: Vec<f32>,
    ids: Vec<[u8; 16]>,
    external_ids: Vec<Option<CString>>,
    metadata_json: Vec<Option<CString>>,
    inserted_at_ms: Vec<i64>,
}

impl akidb_documents {
    pub(crate) fn from_documents(docs: Vec<VectorDocument>) -> Result<Self, Failure> {
        let dimension = docs.first().map_or(0, VectorDocument::dimension);
        let mut out = akidb_documents {
            dimension: u32::try_from(dimension)
                .map_err(|_| Failure::invalid("the dimension does not fit in 32 bits"))?,
            vectors: Vec::with_capacity(docs.len() * dimension),
            ids: Vec::with_capacity(docs.len()),
            external_ids: Vec::with_capacity(docs.len()),
            metadata_json: Vec::with_capacity(docs.len()),
            inserted_at_ms: Vec::with_capacity(docs.len()),
        };
        let c_string = |text: String, what: &str| {
            CString::new(text).map_err(|_| {
                Failure::invalid(format!(
                    "{what} contains a NUL byte and cannot be a C string"
                ))
            })
        };
        for doc in docs {
            out.vectors.extend_from_slice(&doc.vector);
            out.ids.push(doc.document_id.into_bytes());
            out.external_ids.push(
                doc.external_id
                    .map(|s| c_string(s, "an external id"))
                    .transpose()?,
            );
            out.metadata_json.push(
                doc.metadata
                    .map(|m| c_string(m.to_string(), "a metadata JSON text"))
                    .transpose()?,
            );
            out.inserted_at_ms.push(doc.inserted_at.as_millis());
        }
        Ok(out)
    }

    fn count(&self) -> usize {
        self.ids.len()
    }
}

fn documents<'a>(docs: *const akidb_documents) -> Option<&'a akidb_documents> {
    // SAFETY: NULL or a pointer from this library, not yet freed.
    unsafe { docs.as_ref() }
}

/// How many documents; 0 for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_count(docs: *const akidb_documents) -> usize {
    documents(docs).map_or(0, akidb_documents::count)
}

/// The length of every vector; 0 for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_dimension(docs: *const akidb_documents) -> u32 {
    documents(docs).map_or(0, |d| d.dimension)
}

/// `count * dimension` floats, row after row, owned by `docs` and valid until it is freed;
/// NULL for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_vectors(docs: *const akidb_documents) -> *const f32 {
    documents(docs).map_or(std::ptr::null(), |d| d.vectors.as_ptr())
}

/// Copies document `index`'s 16-byte UUID into `id_out`.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_id(
    docs: *const akidb_documents,
    index: usize,
    id_out: *mut [u8; 16],
) -> akidb_result {
    crate::error::guard(std::ptr::null_mut(), || {
        let docs = marshal::reference(docs, "docs")?;
        let out = marshal::out(id_out, "id_out")?;
        *out = *docs.ids.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "index {index} is out of range ({} documents)",
                docs.count()
            ))
        })?;
        Ok(())
    })
}

/// Document `index`'s external id (UTF-8), owned by `docs`; NULL if it has none or for an index
/// out of range.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_external_id(
    docs: *const akidb_documents,
    index: usize,
) -> *const c_char {
    documents(docs)
        .and_then(|d| d.external_ids.get(index)?.as_ref())
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Document `index`'s metadata as JSON text, owned by `docs`; NULL if it has none or for an
/// index out of range.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_metadata_json(
    docs: *const akidb_documents,
    index: usize,
) -> *const c_char {
    documents(docs)
        .and_then(|d| d.metadata_json.get(index)?.as_ref())
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Document `index`'s insertion time in milliseconds since the Unix epoch; 0 for an index out
/// of range.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_inserted_at_ms(
    docs: *const akidb_documents,
    index: usize,
) -> i64 {
    documents(docs)
        .and_then(|d| d.inserted_at_ms.get(index).copied())
        .unwrap_or(0)
}

/// Frees documents. NULL is accepted.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_documents_free(docs: *mut akidb_documents) {
    // SAFETY: the header documents NULL or a handle from this library, freed once.
    unsafe { crate::handle::free_handle(docs) }
}

/// Bytes owned by the library (an encoded snapshot file). Free with `akidb_bytes_free`.
pub struct akidb_bytes {
    pub(crate) data: Vec<u8>,
}

/// The bytes, valid until `bytes` is freed; NULL for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_bytes_data(bytes: *const akidb_bytes) -> *const u8 {
    // SAFETY: NULL or a pointer from this library, not yet freed.
    unsafe { bytes.as_ref() }.map_or(std::ptr::null(), |b| b.data.as_ptr())
}

/// How many bytes; 0 for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_bytes_len(bytes: *const akidb_bytes) -> usize {
    // SAFETY: as above.
    unsafe { bytes.as_ref() }.map_or(0, |b| b.data.len())
}

/// Frees bytes. NULL is accepted.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_bytes_free(bytes: *mut akidb_bytes) {
    // SAFETY: the header documents NULL or a handle from this library, freed once.
    unsafe { crate::handle::free_handle(bytes) }
}
