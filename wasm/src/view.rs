//! What the codec returns, as the JavaScript objects the API documents: camelCase keys, ids as
//! UUID strings, timestamps as RFC 3339 strings beside their milliseconds, vectors as
//! `Float32Array`s.

use std::collections::BTreeMap;

use akidb_snapshot_codec::{SnapshotFile, VectorDocument, VectorStats};
use serde::Serialize;
use wasm_bindgen::JsValue;

/// The result of `inspect`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary<'a> {
    format: &'static str,
    /// The ids and time are `null` for a Parquet file another tool wrote without the
    /// `akidb.*` footer keys (a part adopted by `snapshot import`).
    collection_id: Option<String>,
    snapshot_id: Option<String>,
    /// RFC 3339 for the years 0–9999; `null` beyond, where the milliseconds still are.
    created_at: Option<String>,
    created_at_millis: Option<i64>,
    vector_count: u64,
    dimension: u32,
    file_bytes: u64,
    /// The rest are what a Parquet footer says; `null` (or empty) for JSON.
    schema_version: Option<u32>,
    compression: Option<&'static str>,
    compressed_bytes: Option<u64>,
    uncompressed_bytes: Option<u64>,
    created_by: Option<&'a str>,
    row_groups: Vec<RowGroup>,
    footer: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowGroup {
    rows: u64,
    byte_start: u64,
    byte_end: u64,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
}

impl<'a> Summary<'a> {
    pub(crate) fn of(file: &'a SnapshotFile) -> Self {
        let header = file.header();
        let info = file.parquet_info();
        Summary {
            format: file.format().extension(),
            collection_id: header.map(|h| h.collection_id.to_string()),
            snapshot_id: header.map(|h| h.snapshot_id.to_string()),
            created_at: header.and_then(|h| h.created_at.to_rfc3339()),
            created_at_millis: header.map(|h| h.created_at.as_millis()),
            vector_count: file.vector_count(),
            dimension: file.dimension(),
            file_bytes: file.file_bytes(),
            schema_version: info.map(|i| i.schema_version),
            compression: info.and_then(|i| i.compression).map(|c| c.name()),
            compressed_bytes: info.map(|i| i.compressed_bytes),
            uncompressed_bytes: info.map(|i| i.uncompressed_bytes),
            created_by: info.and_then(|i| i.created_by.as_deref()),
            row_groups: info
                .into_iter()
                .flat_map(|i| &i.row_groups)
                .map(|rg| RowGroup {
                    rows: rg.rows,
                    byte_start: rg.byte_range.start,
                    byte_end: rg.byte_range.end,
                    compressed_bytes: rg.compressed_bytes,
                    uncompressed_bytes: rg.uncompressed_bytes,
                })
                .collect(),
            footer: info.map(|i| &i.footer),
        }
    }
}

/// The result of `vectorStats`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Stats {
    vectors: u64,
    dimension: usize,
    means: Vec<f64>,
    std_devs: Vec<f64>,
    norm_histogram: NormHistogram,
    non_finite_values: u64,
    vectors_with_non_finite: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NormHistogram {
    min: f64,
    max: f64,
    counts: Vec<u64>,
}

impl From<VectorStats> for Stats {
    fn from(stats: VectorStats) -> Self {
        Stats {
            vectors: stats.vectors,
            dimension: stats.dimensions.len(),
            means: stats.dimensions.iter().map(|d| d.mean).collect(),
            std_devs: stats.dimensions.iter().map(|d| d.std_dev).collect(),
            norm_histogram: NormHistogram {
                min: stats.norms.min,
                max: stats.norms.max,
                counts: stats.norms.counts,
            },
            non_finite_values: stats.non_finite_values,
            vectors_with_non_finite: stats.vectors_with_non_finite,
        }
    }
}

/// The result of `verify`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Verified {
    pub(crate) sha256: String,
    pub(crate) checksum_checked: bool,
    pub(crate) vector_count: u64,
}

/// One document, every field but the vector, which [`document`] adds as a `Float32Array`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    position: u64,
    document_id: String,
    external_id: Option<&'a str>,
    metadata: Option<&'a serde_json::Value>,
    inserted_at: Option<String>,
    inserted_at_millis: i64,
}

/// `doc`, at `position` in its file, as a JavaScript object.
pub(crate) fn document(doc: &VectorDocument, position: u64) -> Result<JsValue, JsValue> {
    let object = to_js(&Document {
        position,
        document_id: doc.document_id.to_string(),
        external_id: doc.external_id.as_deref(),
        metadata: doc.metadata.as_ref(),
        inserted_at: doc.inserted_at.to_rfc3339(),
        inserted_at_millis: doc.inserted_at.as_millis(),
    })?;
    let vector = js_sys::Float32Array::from(doc.vector.as_slice());
    js_sys::Reflect::set(&object, &"vector".into(), &vector)?;
    Ok(object)
}

/// `value` as plain JavaScript objects and numbers (no `Map`, no `BigInt`), as JSON would give.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(JsValue::from)
}
