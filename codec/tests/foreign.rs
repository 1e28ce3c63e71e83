//! Files in the snapshot schema written by other tools (pyarrow, DuckDB, Polars) decode to the
//! same documents, whatever those tools choose for nullability and for the id's physical type.
//! A null where the schema needs a value, or an id that is not 16 bytes, is a decoding error
//! naming the column and the row.
//!
//! `tests/data/foreign/` was written by `tests/interop/write_foreign.py`, whose docstring gives
//! the five documents every file holds.

mod common;

use std::path::Path;

use akidb_snapshot_codec::*;
use bytes::Bytes;

fn file(name: &str) -> Bytes {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/foreign")
        .join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into()
}

/// The five documents of `write_foreign.py`, from its docstring, not from the files.
fn expected() -> Vec<VectorDocument> {
    common::foreign::documents()
}

const WRITERS: [&str; 3] = ["pyarrow.parquet", "duckdb.parquet", "polars.parquet"];

#[test]
fn files_of_other_writers_decode_to_the_same_documents() {
    for name in WRITERS {
        let bytes = file(name);
        let info = inspect_parquet(&bytes, &Limits::default()).unwrap();
        assert_eq!((info.vector_count, info.dimension), (5, 4), "{name}");
        let docs = decode_parquet(bytes.clone(), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(docs, expected(), "{name}");

        // As Arrow batches, in the snapshot schema whatever the file's own.
        let batches: Vec<_> = ParquetReader::arrow(bytes, &Limits::default())
            .unwrap()
            .flat_map(Result::unwrap)
            .collect();
        assert!(
            batches.iter().all(|b| b.schema() == arrow_schema(4)),
            "{name}"
        );
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            5,
            "{name}"
        );
    }
}

#[test]
fn a_null_or_a_short_id_is_named_by_column_and_row() {
    for (name, says) in [
        (
            "pyarrow-null-element.parquet",
            "row 3: vector[1] is null, and a snapshot needs a value there",
        ),
        (
            "polars-short-id.parquet",
            "row 2: `document_id` is 15 bytes, and a UUID is 16",
        ),
    ] {
        let bytes = file(name);
        // The footer is fine: only the rows break the schema.
        inspect_parquet(&bytes, &Limits::default()).unwrap();
        let err = decode_parquet(bytes.clone(), &Limits::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decoding, "{name}: {err}");
        assert!(err.to_string().contains(says), "{name}: {err}");
        let err = ParquetReader::arrow(bytes, &Limits::default())
            .unwrap()
            .find_map(Result::err)
            .unwrap();
        assert!(err.to_string().contains(says), "{name} as Arrow: {err}");
    }
}

#[test]
fn a_column_of_another_type_is_named_with_both_types() {
    // DuckDB's TIMESTAMPTZ is microseconds: readable Parquet, not the snapshot schema.
    let err = decode_parquet(file("duckdb-micros.parquet"), &Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("inserted_at")
            && text.contains("Timestamp(ms")
            && text.contains("Timestamp(µs"),
        "{text}"
    );
}

#[test]
fn files_without_footer_keys_take_count_and_dimension_from_their_columns() {
    for name in [
        "pyarrow-keyless.parquet",
        "pyarrow-keyless-nostats.parquet",
        "duckdb-keyless.parquet",
        "polars-keyless.parquet",
    ] {
        let bytes = file(name);
        let info = inspect_parquet(&bytes, &Limits::default()).unwrap();
        assert_eq!(info.header, None, "{name}");
        assert_eq!(info.schema_version, SCHEMA_VERSION, "{name}");
        assert_eq!((info.vector_count, info.dimension), (5, 4), "{name}");
        assert!(
            !info.footer.keys().any(|k| k.starts_with("akidb.")),
            "{name}"
        );
        let docs = decode_parquet(bytes.clone(), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(docs, expected(), "{name}");
        let file = SnapshotFile::open(bytes, &Limits::default()).unwrap();
        assert_eq!(file.header(), None, "{name}");
        assert_eq!(file.documents(1..3).unwrap(), expected()[1..3], "{name}");
    }
}

#[test]
fn a_file_without_footer_keys_must_still_have_one_dimension() {
    let err = inspect_parquet(
        &file("pyarrow-keyless-two-dimensions.parquet"),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("no `akidb.*` footer keys")
            && text.contains("`dimension` column holds more than one value (3 to 4)"),
        "{text}"
    );
}

#[test]
fn a_footer_with_some_keys_but_not_all_is_refused() {
    let bytes = file("pyarrow.parquet");
    let partial = common::rewrite_keys(&bytes, |keys| {
        keys.retain(|kv| kv.key != "akidb.snapshot_id")
    });
    let err = inspect_parquet(&partial, &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("the footer key `akidb.snapshot_id` is missing"),
        "{err}"
    );
}
