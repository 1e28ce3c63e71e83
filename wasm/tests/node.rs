//! The browser build's API, run in Node by wasm-bindgen-test-runner:
//! `cargo test -p akidb-snapshot-wasm --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use akidb_snapshot_codec::{
    CollectionId, Compression, ParquetConfig, SnapshotHeader, SnapshotId, Timestamp,
    VectorDocument, encode_json, encode_parquet,
};
use akidb_snapshot_wasm::{
    DEFAULT_NORM_BINS, Snapshot, inspect, read_by_ids, read_documents, vector_stats, verify,
    version,
};
use js_sys::{Array, Float32Array, Reflect};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const DIM: usize = 4;

fn header() -> SnapshotHeader {
    SnapshotHeader::new(
        CollectionId::from_uuid(Uuid::from_u128(0x0193_a5b0_0000_7000_8000_0000_0000_0001)),
        SnapshotId::from_uuid(Uuid::from_u128(0x0193_a5b0_1111_7000_8000_0000_0000_0002)),
        Timestamp::from_millis(1_732_400_000_123),
    )
}

/// 25 documents; the third holds a NaN with a payload, every fifth has metadata.
fn docs() -> Vec<VectorDocument> {
    (0..25u32)
        .map(|i| {
            let mut vector: Vec<f32> = (0..DIM).map(|d| (i * 10 + d as u32) as f32).collect();
            if i == 2 {
                vector[1] = f32::from_bits(0x7fc0_0abc);
            }
            let doc = VectorDocument::new(Uuid::from_u128(u128::from(i) + 1), vector)
                .with_external_id(format!("ext-{i}"))
                .with_inserted_at(Timestamp::from_millis(1_700_000_000_000 + i64::from(i)));
            if i % 5 == 0 {
                doc.with_metadata(serde_json::json!({"n": i, "tags": ["a", "b"]}))
            } else {
                doc
            }
        })
        .collect()
}

fn parquet(compression: Compression) -> Vec<u8> {
    let config = ParquetConfig::default()
        .with_compression(compression)
        .with_row_group_size(10);
    encode_parquet(&docs(), &header(), &config).unwrap().0
}

fn finite_json() -> Vec<u8> {
    let mut docs = docs();
    docs[2].vector[1] = 0.5;
    encode_json(&docs, &header()).unwrap().0
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

fn number(value: &JsValue, key: &str) -> f64 {
    get(value, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

fn string(value: &JsValue, key: &str) -> String {
    get(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

/// The thrown value is a JavaScript `Error` of `kind`, whose message contains `words`.
fn assert_error(thrown: JsValue, kind: &str, words: &str) {
    let error: js_sys::Error = thrown
        .dyn_into()
        .unwrap_or_else(|v| panic!("not an Error: {v:?}"));
    let message = String::from(error.message());
    assert_eq!(String::from(error.name()), kind, "{message}");
    assert_eq!(string(&error, "kind"), kind);
    assert!(message.contains(words), "`{message}` lacks `{words}`");
}

#[wasm_bindgen_test]
fn inspect_reads_the_footer_of_every_compression() {
    for compression in [
        Compression::None,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd { level: 3 },
    ] {
        let info = inspect(parquet(compression)).unwrap();
        assert_eq!(string(&info, "format"), "parquet");
        assert_eq!(string(&info, "compression"), compression.name());
        assert_eq!(number(&info, "vectorCount"), 25.0);
        assert_eq!(number(&info, "dimension"), DIM as f64);
        assert_eq!(number(&info, "schemaVersion"), 1.0);
        assert_eq!(
            string(&info, "collectionId"),
            "0193a5b0-0000-7000-8000-000000000001"
        );
        assert_eq!(
            string(&info, "snapshotId"),
            "0193a5b0-1111-7000-8000-000000000002"
        );
        assert_eq!(string(&info, "createdAt"), "2024-11-23T22:13:20.123Z");
        assert_eq!(number(&info, "createdAtMillis"), 1_732_400_000_123.0);
        let groups: Array = get(&info, "rowGroups").dyn_into().unwrap();
        let rows: Vec<f64> = groups.iter().map(|g| number(&g, "rows")).collect();
        assert_eq!(rows, [10.0, 10.0, 5.0]);
        assert!(number(&groups.get(0), "byteEnd") > number(&groups.get(0), "byteStart"));
        assert!(number(&info, "compressedBytes") > 0.0);
        assert!(string(&info, "createdBy").contains("akidb-snapshot"));
        assert_eq!(string(&get(&info, "footer"), "akidb.vector_count"), "25");
        // Parquet's base64 Arrow schema is not shown.
        assert!(get(&get(&info, "footer"), "ARROW:schema").is_undefined());
    }
}

#[wasm_bindgen_test]
fn inspect_reads_a_json_snapshot() {
    let bytes = finite_json();
    let size = bytes.len() as f64;
    let info = inspect(bytes).unwrap();
    assert_eq!(string(&info, "format"), "json");
    assert_eq!(number(&info, "vectorCount"), 25.0);
    assert_eq!(number(&info, "dimension"), DIM as f64);
    assert_eq!(number(&info, "fileBytes"), size);
    assert!(get(&info, "compression").is_null());
    assert!(get(&info, "schemaVersion").is_null());
    assert!(get(&info, "footer").is_null());
    assert_eq!(Array::from(&get(&info, "rowGroups")).length(), 0);
}

#[wasm_bindgen_test]
fn a_page_of_documents_crosses_row_groups() {
    let expected = docs();
    let page = read_documents(parquet(Compression::Zstd { level: 1 }), 8.0, 5.0).unwrap();
    assert_eq!(page.length(), 5);
    for (doc, want) in page.iter().zip(&expected[8..13]) {
        let position = number(&doc, "position") as usize;
        assert_eq!(&expected[position], want);
        assert_eq!(string(&doc, "documentId"), want.document_id.to_string());
        assert_eq!(
            get(&doc, "externalId").as_string(),
            want.external_id.clone()
        );
        assert_eq!(
            number(&doc, "insertedAtMillis"),
            want.inserted_at.as_millis() as f64
        );
        assert_eq!(
            get(&doc, "insertedAt").as_string(),
            want.inserted_at.to_rfc3339()
        );
        let vector: Float32Array = get(&doc, "vector").dyn_into().unwrap();
        assert_eq!(vector.to_vec(), want.vector);
        match &want.metadata {
            Some(_) => {
                let metadata = get(&doc, "metadata");
                assert_eq!(number(&metadata, "n"), position as f64);
                assert!(Array::is_array(&get(&metadata, "tags")));
            }
            None => assert!(get(&doc, "metadata").is_null()),
        }
    }
}

#[wasm_bindgen_test]
fn read_by_ids_finds_documents_across_row_groups() {
    let expected = docs();
    let wanted = vec![
        expected[17].document_id.to_string(),
        "00000000-0000-4000-8000-00000000ffff".to_owned(),
        format!(" {} ", expected[4].document_id),
    ];
    for bytes in [parquet(Compression::Zstd { level: 1 }), finite_json()] {
        let found = read_by_ids(bytes.clone(), wanted.clone()).unwrap();
        let positions: Vec<f64> = found.iter().map(|d| number(&d, "position")).collect();
        assert_eq!(
            positions,
            [4.0, 17.0],
            "in the file's order; the unknown id absent"
        );
        for doc in found.iter() {
            let id = string(&doc, "documentId");
            let want = expected
                .iter()
                .find(|d| d.document_id.to_string() == id)
                .unwrap();
            let vector: Float32Array = get(&doc, "vector").dyn_into().unwrap();
            assert_eq!(vector.to_vec(), want.vector);
        }
        let snapshot = Snapshot::new(bytes).unwrap();
        assert!(snapshot.read_by_ids(Vec::new()).unwrap().length() == 0);
        assert_error(
            snapshot
                .read_by_ids(vec!["not-a-uuid".to_owned()])
                .unwrap_err(),
            "Validation",
            "not a document id",
        );
    }
}

#[wasm_bindgen_test]
fn a_nan_payload_reaches_the_float32_array() {
    let page = read_documents(parquet(Compression::Snappy), 2.0, 1.0).unwrap();
    let vector: Float32Array = get(&page.get(0), "vector").dyn_into().unwrap();
    assert_eq!(vector.get_index(1).to_bits(), 0x7fc0_0abc);
}

#[wasm_bindgen_test]
fn a_page_past_the_end_is_short_or_empty() {
    let snapshot = Snapshot::new(parquet(Compression::Lz4)).unwrap();
    assert_eq!(snapshot.read_documents(20.0, 100.0).unwrap().length(), 5);
    assert_eq!(snapshot.read_documents(25.0, 10.0).unwrap().length(), 0);
    assert_eq!(snapshot.read_documents(0.0, 0.0).unwrap().length(), 0);
    let json = Snapshot::new(finite_json()).unwrap();
    let page = json.read_documents(23.0, 10.0).unwrap();
    assert_eq!(page.length(), 2);
    assert_eq!(number(&page.get(0), "position"), 23.0);
}

#[wasm_bindgen_test]
fn a_page_needs_whole_non_negative_numbers() {
    let snapshot = Snapshot::new(parquet(Compression::None)).unwrap();
    for (offset, limit, words) in [
        (-1.0, 10.0, "offset must be a whole number"),
        (1.5, 10.0, "offset must be a whole number"),
        (0.0, f64::NAN, "limit must be a whole number"),
        (0.0, f64::INFINITY, "limit must be a whole number"),
    ] {
        assert_error(
            snapshot.read_documents(offset, limit).unwrap_err(),
            "Validation",
            words,
        );
    }
}

#[wasm_bindgen_test]
fn vector_stats_summarise_every_row_group() {
    let stats = vector_stats(parquet(Compression::Zstd { level: 1 }), Some(5)).unwrap();
    assert_eq!(number(&stats, "vectors"), 25.0);
    assert_eq!(number(&stats, "dimension"), DIM as f64);
    assert_eq!(number(&stats, "nonFiniteValues"), 1.0);
    assert_eq!(number(&stats, "vectorsWithNonFinite"), 1.0);
    let means: Vec<f64> = Array::from(&get(&stats, "means"))
        .iter()
        .map(|m| m.as_f64().unwrap())
        .collect();
    // Dimension d holds 10 i + d for i in 0..25: mean 120 + d; dimension 1 lacks i = 2.
    assert_eq!(means[0], 120.0);
    assert_eq!(
        means[1],
        (0..25).filter(|&i| i != 2).map(|i| 10 * i + 1).sum::<u32>() as f64 / 24.0
    );
    assert_eq!(Array::from(&get(&stats, "stdDevs")).length(), DIM as u32);
    let histogram = get(&stats, "normHistogram");
    let counts: Vec<f64> = Array::from(&get(&histogram, "counts"))
        .iter()
        .map(|c| c.as_f64().unwrap())
        .collect();
    assert_eq!(counts.len(), 5);
    assert_eq!(counts.iter().sum::<f64>(), 24.0);
    assert!(number(&histogram, "min") < number(&histogram, "max"));
}

#[wasm_bindgen_test]
fn vector_stats_default_bins_and_json() {
    let stats = vector_stats(finite_json(), None).unwrap();
    assert_eq!(number(&stats, "nonFiniteValues"), 0.0);
    let counts = Array::from(&get(&get(&stats, "normHistogram"), "counts"));
    assert_eq!(counts.length(), DEFAULT_NORM_BINS);
    assert_error(
        vector_stats(finite_json(), Some(0)).unwrap_err(),
        "Validation",
        "bins must be at least 1",
    );
}

#[wasm_bindgen_test]
fn verify_checks_the_digest_and_every_row_group() {
    let bytes = parquet(Compression::Snappy);
    let digest = akidb_snapshot_codec::Sha256Digest::of(&bytes).to_string();

    let checked = verify(bytes.clone(), Some(digest.clone())).unwrap();
    assert_eq!(string(&checked, "sha256"), digest);
    assert_eq!(get(&checked, "checksumChecked"), JsValue::TRUE);
    assert_eq!(number(&checked, "vectorCount"), 25.0);

    let unchecked = verify(bytes.clone(), None).unwrap();
    assert_eq!(string(&unchecked, "sha256"), digest);
    assert_eq!(get(&unchecked, "checksumChecked"), JsValue::FALSE);

    assert_error(
        verify(bytes.clone(), Some("00".repeat(32))).unwrap_err(),
        "DataCorruption",
        &digest,
    );
    assert_error(
        verify(bytes.clone(), Some("not hex".into())).unwrap_err(),
        "Validation",
        "not a SHA-256 digest",
    );

    // The footer reads, but the second row group's first page header is garbage.
    let info = inspect(bytes.clone()).unwrap();
    let start = number(&Array::from(&get(&info, "rowGroups")).get(1), "byteStart") as usize;
    let mut damaged = bytes;
    damaged[start..start + 8].fill(0xff);
    let snapshot = Snapshot::new(damaged).unwrap();
    assert_eq!(snapshot.read_documents(0.0, 10.0).unwrap().length(), 10);
    assert_error(
        snapshot.verify(None).unwrap_err(),
        "DataCorruption",
        "row group 1",
    );
}

#[wasm_bindgen_test]
fn what_is_not_a_snapshot_throws_a_typed_error() {
    let truncated = {
        let mut bytes = parquet(Compression::Zstd { level: 1 });
        bytes.truncate(bytes.len() / 2);
        bytes
    };
    let cases: [(Vec<u8>, &str, &str); 5] = [
        (
            b"\x89PNG\r\n\x1a\n".to_vec(),
            "DataCorruption",
            "not a snapshot",
        ),
        (Vec::new(), "DataCorruption", "empty"),
        (truncated, "DataCorruption", "Parquet magic"),
        (
            b"{\"documents\": []}".to_vec(),
            "Decoding",
            "not an akidb snapshot",
        ),
        (
            b"{\"documents\": [".to_vec(),
            "DataCorruption",
            "unreadable",
        ),
    ];
    for (bytes, kind, words) in cases {
        assert_error(inspect(bytes.clone()).unwrap_err(), kind, words);
        assert_error(
            read_documents(bytes.clone(), 0.0, 1.0).unwrap_err(),
            kind,
            words,
        );
        assert_error(vector_stats(bytes.clone(), None).unwrap_err(), kind, words);
        assert_error(verify(bytes, None).unwrap_err(), kind, words);
    }
}

#[wasm_bindgen_test]
fn a_newer_schema_version_says_to_upgrade() {
    let mut bytes = parquet(Compression::Snappy);
    // The footer's thrift holds the key, then the value as a one-byte string: "1" becomes "9"
    // in place, every length unchanged.
    let key = b"akidb.schema_version";
    let at = bytes
        .windows(key.len())
        .rposition(|w| w == key)
        .expect("the footer holds the key")
        + key.len();
    let value = at + bytes[at..].iter().position(|&b| b == b'1').unwrap();
    assert!(value - at <= 3, "the value follows the key");
    bytes[value] = b'9';
    assert_error(
        inspect(bytes).unwrap_err(),
        "UnsupportedSchemaVersion",
        "upgrade akidb-snapshot",
    );
}

#[wasm_bindgen_test]
fn a_dimension_above_the_limit_is_refused() {
    let doc = VectorDocument::new(Uuid::from_u128(1), vec![0.0; 65_537]);
    let (bytes, _) = encode_parquet(&[doc], &header(), &ParquetConfig::default()).unwrap();
    assert_error(
        Snapshot::new(bytes).unwrap_err(),
        "LimitExceeded",
        "max_dimension",
    );
}

#[wasm_bindgen_test]
fn version_is_the_crate_version() {
    assert_eq!(version(), env!("CARGO_PKG_VERSION"));
}

/// Files in the snapshot schema written by pyarrow, DuckDB and Polars (made by
/// tests/interop/write_foreign.py, whose docstring gives their five documents), with the
/// `akidb.*` footer keys and without (a v2 part that `snapshot import` adopted).
const FOREIGN: [(&str, &[u8]); 5] = [
    (
        "pyarrow",
        include_bytes!("../../codec/tests/data/foreign/pyarrow.parquet"),
    ),
    (
        "duckdb",
        include_bytes!("../../codec/tests/data/foreign/duckdb.parquet"),
    ),
    (
        "polars",
        include_bytes!("../../codec/tests/data/foreign/polars.parquet"),
    ),
    (
        "pyarrow-keyless",
        include_bytes!("../../codec/tests/data/foreign/pyarrow-keyless.parquet"),
    ),
    (
        "duckdb-keyless",
        include_bytes!("../../codec/tests/data/foreign/duckdb-keyless.parquet"),
    ),
];

#[wasm_bindgen_test]
fn files_other_tools_wrote_are_inspected_and_read() {
    for (writer, bytes) in FOREIGN {
        let info = inspect(bytes.to_vec()).unwrap();
        assert_eq!(number(&info, "vectorCount"), 5.0, "{writer}");
        assert_eq!(number(&info, "dimension"), 4.0, "{writer}");
        let keyless = writer.ends_with("keyless");
        assert_eq!(get(&info, "collectionId").is_null(), keyless, "{writer}");
        assert_eq!(get(&info, "createdAtMillis").is_null(), keyless, "{writer}");
        let page = read_documents(bytes.to_vec(), 0.0, 5.0).unwrap();
        assert_eq!(page.length(), 5, "{writer}");
        for (i, doc) in page.iter().enumerate() {
            assert_eq!(
                string(&doc, "documentId"),
                format!("00000000-0000-4000-8000-00000000000{}", i + 1),
                "{writer}"
            );
            let vector: Float32Array = get(&doc, "vector").dyn_into().unwrap();
            assert_eq!(vector.get_index(3), i as f32 + 0.75, "{writer}");
        }
    }
    let holed = include_bytes!("../../codec/tests/data/foreign/pyarrow-null-element.parquet");
    assert_error(
        read_documents(holed.to_vec(), 0.0, 5.0).unwrap_err(),
        "Decoding",
        "row 3: vector[1] is null",
    );
}
