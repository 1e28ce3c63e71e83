//! The browser build of akidb-snapshot: a snapshot file's bytes in, what it holds out, with the
//! codec compiled to WebAssembly by wasm-bindgen (no storage, no threads, no network).
//!
//! Every function takes the whole file as a `Uint8Array`, Parquet or legacy JSON (told apart by
//! its first bytes), and throws a JavaScript `Error` whose `name` and `kind` are the codec's
//! error kind (`DataCorruption`, `Decoding`, `Validation`, `UnsupportedSchemaVersion`,
//! `LimitExceeded`) for anything that is not a readable snapshot. The functions parse the file
//! again on each call; a page that makes several calls opens a [`Snapshot`] once instead.
//!
//! ```js
//! import init, { Snapshot, inspect } from "./pkg/akidb_snapshot_wasm.js";
//! await init();
//! const bytes = new Uint8Array(await file.arrayBuffer());
//! console.log(inspect(bytes).vectorCount);
//!
//! const snapshot = new Snapshot(bytes);
//! const [first] = snapshot.readDocuments(0, 1); // first.vector is a Float32Array
//! try { snapshot.verify("00".repeat(32)); } catch (e) { console.log(e.kind); } // DataCorruption
//! ```
//!
//! This crate only marshals: what a snapshot is, how it is paged, summarised and checked lives
//! in the codec (`SnapshotFile`, `VectorStatsBuilder`).

mod error;
mod view;

use akidb_snapshot_codec::{
    DocumentFilter, DocumentRef, Error, Limits, Sha256Digest, SnapshotFile,
};
use bytes::Bytes;
use wasm_bindgen::prelude::*;

use error::to_js;

/// Bins of the norm histogram when the caller names none.
pub const DEFAULT_NORM_BINS: u32 = 32;

/// A snapshot file opened once: its format recognised and its footer (or, for JSON, the whole
/// file) read and checked. Row groups are decoded only when a method needs them, one at a time.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Snapshot {
    file: SnapshotFile,
}

#[wasm_bindgen]
impl Snapshot {
    /// Opens the snapshot in `bytes`, under the codec's default `Limits`.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>) -> Result<Snapshot, JsValue> {
        let file = SnapshotFile::open(Bytes::from(bytes), &Limits::default()).map_err(to_js)?;
        Ok(Snapshot { file })
    }

    /// What the file says of itself, without decoding any vector: `format`, `collectionId`,
    /// `snapshotId`, `createdAt` (RFC 3339) and `createdAtMillis`, `vectorCount`, `dimension`,
    /// `fileBytes`; and from a Parquet footer `schemaVersion`, `compression`,
    /// `compressedBytes`, `uncompressedBytes`, `createdBy`, `rowGroups` (`rows`, `byteStart`,
    /// `byteEnd`, sizes) and `footer` (every key-value pair); `null` for JSON.
    pub fn inspect(&self) -> Result<JsValue, JsValue> {
        view::to_js(&view::Summary::of(&self.file))
    }

    /// Up to `limit` documents from position `offset`, decoding only the row groups that hold
    /// them: `position`, `documentId` (a UUID string), `externalId`, `metadata` (a plain
    /// object, or `null`), `insertedAt` and `insertedAtMillis`, and `vector` (a
    /// `Float32Array`). Fewer, or none, past the end of the file.
    #[wasm_bindgen(js_name = readDocuments)]
    pub fn read_documents(&self, offset: f64, limit: f64) -> Result<js_sys::Array, JsValue> {
        let offset = whole_number("offset", offset)?;
        let limit = whole_number("limit", limit)?;
        let docs = self
            .file
            .documents(offset..offset.saturating_add(limit))
            .map_err(to_js)?;
        let page = js_sys::Array::new_with_length(docs.len() as u32);
        for (i, doc) in docs.iter().enumerate() {
            page.set(i as u32, view::document(doc, offset + i as u64)?);
        }
        Ok(page)
    }

    /// The documents whose ids are among `ids` (UUID strings), in the file's order, each as
    /// [`readDocuments`](Self::read_documents) gives it (with its `position`); an id the file
    /// does not hold is simply not there. Throws `Validation` for a string that is not a UUID.
    #[wasm_bindgen(js_name = readByIds)]
    pub fn read_by_ids(&self, ids: Vec<String>) -> Result<js_sys::Array, JsValue> {
        let ids = ids
            .iter()
            .map(|id| {
                id.trim()
                    .parse::<uuid::Uuid>()
                    .map_err(|e| to_js(invalid(&format!("`{id}` is not a document id: {e}"))))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let found = self
            .file
            .select(&DocumentFilter::all().with_ids(ids))
            .map_err(to_js)?;
        let docs = js_sys::Array::new_with_length(found.len() as u32);
        for (i, (position, doc)) in found.iter().enumerate() {
            docs.set(i as u32, view::document(doc, *position)?);
        }
        Ok(docs)
    }

    /// Statistics of every vector, one row group at a time: `vectors`, `dimension`, `means`
    /// and `stdDevs` (one per dimension, of its finite values), `normHistogram` (`min`, `max`,
    /// `counts` in `bins` equal bins, default [`DEFAULT_NORM_BINS`], of the vectors whose values
    /// are all finite), `nonFiniteValues` and `vectorsWithNonFinite`.
    #[wasm_bindgen(js_name = vectorStats)]
    pub fn vector_stats(&self, bins: Option<u32>) -> Result<JsValue, JsValue> {
        let bins = bins.unwrap_or(DEFAULT_NORM_BINS);
        if bins == 0 {
            return Err(to_js(invalid("bins must be at least 1")));
        }
        let stats = self.file.vector_stats(bins as usize).map_err(to_js)?;
        view::to_js(&view::Stats::from(stats))
    }

    /// Checks the whole file: its SHA-256 against `expectedSha256` (64 hex digits, as the
    /// snapshot's metadata file records it) when given, then every row group decoded as a
    /// restore would. Returns `sha256` (the file's), `checksumChecked` and `vectorCount`;
    /// throws `DataCorruption` when the digest differs or a row group is damaged.
    pub fn verify(&self, expected_sha256: Option<String>) -> Result<JsValue, JsValue> {
        let expected = expected_sha256
            .map(|hex| hex.trim().parse::<Sha256Digest>().map_err(Error::from))
            .transpose()
            .map_err(to_js)?;
        let digest = self.file.verify(expected.as_ref()).map_err(to_js)?;
        view::to_js(&view::Verified {
            sha256: digest.to_string(),
            checksum_checked: expected.is_some(),
            vector_count: self.file.vector_count(),
        })
    }
}

/// [`Snapshot::inspect`] of `bytes`.
#[wasm_bindgen]
pub fn inspect(bytes: Vec<u8>) -> Result<JsValue, JsValue> {
    Snapshot::new(bytes)?.inspect()
}

/// [`Snapshot::read_documents`] of `bytes`.
#[wasm_bindgen(js_name = readDocuments)]
pub fn read_documents(bytes: Vec<u8>, offset: f64, limit: f64) -> Result<js_sys::Array, JsValue> {
    Snapshot::new(bytes)?.read_documents(offset, limit)
}

/// [`Snapshot::read_by_ids`] of `bytes`.
#[wasm_bindgen(js_name = readByIds)]
pub fn read_by_ids(bytes: Vec<u8>, ids: Vec<String>) -> Result<js_sys::Array, JsValue> {
    Snapshot::new(bytes)?.read_by_ids(ids)
}

/// [`Snapshot::vector_stats`] of `bytes`.
#[wasm_bindgen(js_name = vectorStats)]
pub fn vector_stats(bytes: Vec<u8>, bins: Option<u32>) -> Result<JsValue, JsValue> {
    Snapshot::new(bytes)?.vector_stats(bins)
}

/// [`Snapshot::verify`] of `bytes`.
#[wasm_bindgen]
pub fn verify(bytes: Vec<u8>, expected_sha256: Option<String>) -> Result<JsValue, JsValue> {
    Snapshot::new(bytes)?.verify(expected_sha256)
}

/// The version of akidb-snapshot this module was built from.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A JavaScript number that must be a whole, non-negative, exactly representable count.
fn whole_number(name: &str, value: f64) -> Result<u64, JsValue> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if value.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&value) {
        Ok(value as u64)
    } else {
        Err(to_js(invalid(&format!(
            "{name} must be a whole number from 0 to 2^53 - 1, not {value}"
        ))))
    }
}

/// The codec's error for an argument the caller must change.
fn invalid(reason: &str) -> Error {
    Error::Validation {
        document: DocumentRef::NONE,
        reason: reason.to_owned(),
    }
}
