//! The C API of akidb-snapshot: Parquet vector snapshots for databases written in C, C++, Go,
//! Zig and anything else that links a C library. The header, `include/akidb_snapshot.h`, is
//! generated from this crate by cbindgen and is the API's documentation.
//!
//! Conventions, after rustls-ffi:
//! - every symbol starts with `akidb_`; handles are opaque and freed by their `*_free`, which
//!   accepts NULL;
//! - every fallible function returns an [`akidb_result`]; on failure it stores a new
//!   `akidb_error` (code and message) in its last argument when that is not NULL, which the
//!   caller frees with `akidb_error_free`; nothing is half-done;
//! - no panic crosses the boundary: each entry point catches unwinding and reports
//!   `AKIDB_ERR_PANIC`;
//! - this crate only marshals: every rule lives in the codec or the storage crate.
#![allow(unsafe_code, non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod arrow;
mod changes;
mod codec;
mod copy;
mod documents;
mod error;
mod handle;
mod marshal;
mod shards;
mod store;

pub use arrow::{
    akidb_decode_parquet_arrow, akidb_encode_parquet_arrow, akidb_store_create_arrow,
    akidb_store_restore_arrow, akidb_store_restore_ids_arrow,
};
pub use changes::{
    akidb_store_append, akidb_store_compact, akidb_store_create_incremental, akidb_store_update,
};
pub use codec::{
    akidb_compression, akidb_decode_parquet, akidb_encode_parquet, akidb_inspect_parquet,
    akidb_parquet_options, akidb_snapshot_info,
};
pub use copy::{akidb_copy_report, akidb_store_copy};
pub use documents::{
    akidb_bytes, akidb_bytes_data, akidb_bytes_free, akidb_bytes_len, akidb_documents,
    akidb_documents_count, akidb_documents_dimension, akidb_documents_external_id,
    akidb_documents_free, akidb_documents_id, akidb_documents_inserted_at_ms,
    akidb_documents_metadata_json, akidb_documents_vectors, akidb_documents_view,
};
pub use error::{
    akidb_error, akidb_error_code, akidb_error_free, akidb_error_message, akidb_result,
    akidb_result_name,
};
pub use shards::{
    akidb_store_abort, akidb_store_begin, akidb_store_commit, akidb_store_create_shard,
    akidb_store_restore_shard,
};
pub use store::{
    akidb_format, akidb_retention, akidb_snapshot_list, akidb_snapshot_list_free,
    akidb_snapshot_list_get, akidb_snapshot_list_len, akidb_snapshot_metadata, akidb_store,
    akidb_store_create, akidb_store_delete, akidb_store_free, akidb_store_gc, akidb_store_list,
    akidb_store_open, akidb_store_open_toml, akidb_store_prune, akidb_store_restore,
    akidb_store_verify,
};

/// The library's version, e.g. "0.1.0": a static string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn akidb_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
