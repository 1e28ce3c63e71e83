//! Documents as Arrow, through the C Data Interface: a host's `ArrowArrayStream` is encoded
//! without copying its buffers, and a snapshot decodes into a stream the host pulls from, a
//! row group at a time.

use std::collections::VecDeque;

use akidb_snapshot_codec::{Limits, ParquetReader, ParquetWriter, arrow_schema};
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{Array, RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use futures::TryStreamExt;
use storage::{Selection, Shard};

use crate::codec::{akidb_parquet_options, header};
use crate::documents::akidb_bytes;
use crate::error::{Failure, akidb_error, akidb_result, guard};
use crate::handle::into_handle;
use crate::marshal;
use crate::store::{self, akidb_store};

/// Encodes the batches of `stream` as a Parquet snapshot file, like `akidb_encode_parquet`.
/// Each batch is a struct array with the columns of a snapshot, by name in any order:
/// `document_id` fixed_size_binary(16), `external_id` utf8 (nullable), `dimension` int32,
/// `vector` fixed_size_list of non-null float32, `metadata_json` utf8 (nullable, JSON),
/// `inserted_at` timestamp in milliseconds. Their buffers are read in place, never copied.
///
/// Ownership: the library takes `*stream` (moves it out, leaving it released) and releases it
/// before returning, whatever the result. On success, `*bytes_out` is a new buffer the caller
/// frees with `akidb_bytes_free`.
///
/// # Safety
/// `stream` is NULL or a valid `struct ArrowArrayStream` whose arrays agree with their schema
/// (as the C Data Interface requires); the other pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_encode_parquet_arrow(
    stream: *mut FFI_ArrowArrayStream,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    created_at_ms: i64,
    options: *const akidb_parquet_options,
    bytes_out: *mut *mut akidb_bytes,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        // Taken first, so that it is released whatever fails next.
        let batches = import(stream)?;
        let out = marshal::out(bytes_out, "bytes_out")?;
        let header = header(collection_id, snapshot_id, created_at_ms)?;
        let config = akidb_parquet_options::config(options)?;
        let mut writer = ParquetWriter::try_new(Vec::new(), header, config)?;
        for batch in batches {
            writer.write_batch(&checked(batch)?)?;
        }
        let (data, _) = writer.finish()?;
        *out = into_handle(akidb_bytes { data });
        Ok(())
    })
}

/// Decodes a Parquet snapshot file of `len` bytes into `*stream_out`, a new
/// `struct ArrowArrayStream` whose schema is the snapshot's (`document_id` carries the
/// `arrow.uuid` extension, `metadata_json` the `arrow.json` one, `inserted_at` is a UTC
/// timestamp in milliseconds). The footer is checked now; each `get_next` decodes the next
/// row group (from a copy of `data` the stream keeps, so `data` may be freed at once) and fails
/// with the codec's message on a damaged one. The caller releases the stream with its
/// `release` callback; the arrays it yields are the caller's, released the same way.
///
/// # Safety
/// `data` holds `len` readable bytes; `stream_out` is NULL or points to writable storage for a
/// `struct ArrowArrayStream` (its previous content is overwritten, not released).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_decode_parquet_arrow(
    data: *const u8,
    len: usize,
    stream_out: *mut FFI_ArrowArrayStream,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        if stream_out.is_null() {
            return Err(Failure::null("stream_out"));
        }
        let bytes = marshal::bytes(data, len, "data")?;
        let reader =
            ParquetReader::arrow(bytes::Bytes::copy_from_slice(bytes), &Limits::default())?;
        let batches = RowGroups {
            schema: akidb_snapshot_codec::arrow_schema(reader.info().dimension as i32),
            reader,
            pending: VecDeque::new(),
        };
        let stream = FFI_ArrowArrayStream::new(Box::new(batches));
        // SAFETY: checked non-NULL; the header documents writable storage, whose previous
        // content must not be dropped (it may be uninitialised).
        unsafe { stream_out.write(stream) };
        Ok(())
    })
}

/// Creates a snapshot in collection `collection_id` (the configured format) from the batches
/// of `stream`, which have the columns `akidb_encode_parquet_arrow` describes, and writes its
/// new UUID to `snapshot_id_out`. Blocks until the snapshot is committed; the stream is pulled
/// on the calling thread, a row group at a time, and its buffers are encoded in place.
///
/// Ownership: the library takes `*stream` as `akidb_encode_parquet_arrow` does.
///
/// # Safety
/// As for `akidb_encode_parquet_arrow`; `store` is NULL or a store from `akidb_store_open*`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_create_arrow(
    store: *const akidb_store,
    collection_id: *const [u8; 16],
    stream: *mut FFI_ArrowArrayStream,
    snapshot_id_out: *mut [u8; 16],
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let batches = import(stream)?;
        let store = store::store(store)?;
        let collection = store::collection(collection_id)?;
        let out = marshal::out(snapshot_id_out, "snapshot_id_out")?;
        let encoding = store.backend.encoding();
        let create = store.backend.store().try_create_snapshot_arrow(
            collection,
            &encoding,
            futures::stream::iter(batches.map(checked)),
        );
        let metadata = store.runtime.block_on(create)?;
        *out = metadata.snapshot_id.as_uuid().into_bytes();
        Ok(())
    })
}

/// Restores a snapshot into `*stream_out`, a new `struct ArrowArrayStream` of the schema
/// `akidb_decode_parquet_arrow` describes. Returns once every check passed (size, SHA-256,
/// count and dimension), so the stream holds only verified rows and never fails; it keeps
/// them in memory until released. The caller releases the stream with its `release` callback.
///
/// # Safety
/// `store` is NULL or a store from `akidb_store_open*`; `stream_out` as for
/// `akidb_decode_parquet_arrow`; the other pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_restore_arrow(
    store: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    stream_out: *mut FFI_ArrowArrayStream,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let store = store::store(store)?;
        let (c, s) = (
            store::collection(collection_id)?,
            store::snapshot(snapshot_id)?,
        );
        if stream_out.is_null() {
            return Err(Failure::null("stream_out"));
        }
        let restore = async {
            let groups = store.backend.store().restore_snapshot_arrow(c, s).await?;
            groups.try_concat().await
        };
        let batches = store.runtime.block_on(restore)?;
        // A snapshot holds at least one document, so at least one batch.
        let schema = batches.first().map(RecordBatch::schema).ok_or_else(|| {
            Failure::new(
                akidb_result::AKIDB_ERR_INTERNAL,
                "a verified snapshot restored no batch",
            )
        })?;
        export(stream_out, batches, schema);
        Ok(())
    })
}

/// Restores the documents of a snapshot whose ids are among the `id_count` UUIDs at `ids`,
/// in the snapshot's order, into `*stream_out`, a new `struct ArrowArrayStream` of the schema
/// `akidb_decode_parquet_arrow` describes (empty if none is held). A v2 snapshot is read by
/// the pages that hold them, each checked against the checksums recorded when it was written
/// (a damaged one is `AKIDB_ERR_DATA_CORRUPTION`); older snapshots are read whole and checked.
/// `*missing_out`, unless NULL, receives how many of the ids the snapshot does not hold; with
/// `strict`, any such id fails the call with `AKIDB_ERR_NOT_FOUND`, naming the first few.
/// Returns once every read was checked; the caller releases the stream with its `release`
/// callback.
///
/// # Safety
/// `store` is NULL or a store from `akidb_store_open*`; `ids` holds `id_count` UUIDs (NULL only
/// when 0); `stream_out` as for `akidb_decode_parquet_arrow`; the other pointers are NULL or
/// valid.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn akidb_store_restore_ids_arrow(
    store: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    ids: *const [u8; 16],
    id_count: usize,
    strict: bool,
    stream_out: *mut FFI_ArrowArrayStream,
    missing_out: *mut usize,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let store = store::store(store)?;
        let (c, s) = (
            store::collection(collection_id)?,
            store::snapshot(snapshot_id)?,
        );
        let selection = Selection::all()
            .with_ids(marshal::uuids(ids, id_count, "ids")?)
            .strict(strict);
        if stream_out.is_null() {
            return Err(Failure::null("stream_out"));
        }
        let restore = async {
            let mut selected = (store.backend.store())
                .restore_selected_arrow(c, s, Shard::ALL, &selection)
                .await?;
            let batches = (&mut selected).try_concat().await?;
            Ok::<_, storage::Error>((batches, selected.report(), selected.dimension()))
        };
        let (batches, report, dimension) = store.runtime.block_on(restore)?;
        // SAFETY: the header documents NULL or a valid `size_t` to write.
        if let Some(missing) = unsafe { missing_out.as_mut() } {
            *missing = report.missing_ids.len();
        }
        let schema = arrow_schema(i32::try_from(dimension).unwrap_or(i32::MAX));
        export(stream_out, batches, schema);
        Ok(())
    })
}

/// Hands `batches` of `schema` to the caller as `*stream_out`.
fn export(stream_out: *mut FFI_ArrowArrayStream, batches: Vec<RecordBatch>, schema: SchemaRef) {
    let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    // SAFETY: the callers checked `stream_out` is non-NULL; the header documents it valid to
    // write, as in `akidb_decode_parquet_arrow`.
    unsafe { stream_out.write(FFI_ArrowArrayStream::new(Box::new(reader))) };
}

/// Takes the caller's stream, leaving a released one in its place.
fn import(stream: *mut FFI_ArrowArrayStream) -> Result<RecordBatchStreamReader, Failure> {
    if stream.is_null() {
        return Err(Failure::null("stream"));
    }
    // SAFETY: checked non-NULL; the header documents a valid stream. `from_raw` moves it out
    // and refuses one already released.
    unsafe { RecordBatchStreamReader::from_raw(stream) }.map_err(|e| arrow_failure("stream", e))
}

/// A batch from the host, after checking it is internally consistent (offsets in range, UTF-8
/// strings): the import trusts the producer, the codec then reads every value.
fn checked(batch: Result<RecordBatch, ArrowError>) -> Result<RecordBatch, Failure> {
    let batch = batch.map_err(|e| arrow_failure("stream", e))?;
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        column
            .to_data()
            .validate_full()
            .map_err(|e| arrow_failure(&format!("column `{}`", field.name()), e))?;
    }
    Ok(batch)
}

fn arrow_failure(what: &str, e: ArrowError) -> Failure {
    Failure::invalid(format!("the Arrow {what} is not usable: {e}"))
}

/// A snapshot's row groups as a `RecordBatchReader`, decoded as the host asks for them.
struct RowGroups {
    schema: SchemaRef,
    reader: ParquetReader<RecordBatch>,
    /// The batches of the row group being handed out.
    pending: VecDeque<RecordBatch>,
}

impl Iterator for RowGroups {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = self.pending.pop_front() {
                return Some(Ok(batch));
            }
            match self.reader.next()? {
                Ok(group) => self.pending.extend(group),
                Err(e) => return Some(Err(ArrowError::ExternalError(Box::new(e)))),
            }
        }
    }
}

impl RecordBatchReader for RowGroups {
    fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;
    use std::sync::Arc;

    use akidb_snapshot_codec::{
        CollectionId, ParquetConfig, SnapshotHeader, SnapshotId, Timestamp, VectorDocument,
        encode_parquet,
    };
    use arrow_array::StringArray;
    use arrow_buffer::{Buffer, OffsetBuffer};
    use arrow_schema::ArrowError;

    use super::*;
    use crate::error::{akidb_error_code, akidb_error_free, akidb_error_message};

    /// A snapshot batch whose `external_id` bytes are not UTF-8: a producer broke the C Data
    /// Interface's promise, which import alone does not check.
    fn batch_with_invalid_utf8() -> RecordBatch {
        let header = SnapshotHeader::new(
            CollectionId::from_uuid(uuid::Uuid::from_u128(1)),
            SnapshotId::from_uuid(uuid::Uuid::from_u128(2)),
            Timestamp::from_millis(0),
        );
        let docs = [VectorDocument::new(uuid::Uuid::from_u128(3), vec![1.0; 4])];
        let (file, _) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
        let batch = ParquetReader::arrow(file.into(), &Limits::default())
            .unwrap()
            .flat_map(Result::unwrap)
            .next()
            .unwrap();
        // SAFETY: deliberately not UTF-8, to see the library refuse it; nothing reads it as str
        // before the check.
        let external_ids = unsafe {
            StringArray::new_unchecked(
                OffsetBuffer::new(vec![0, 2].into()),
                Buffer::from(vec![0xffu8, 0xfe]),
                None,
            )
        };
        let mut columns = batch.columns().to_vec();
        columns[1] = Arc::new(external_ids);
        RecordBatch::try_new(batch.schema(), columns).unwrap()
    }

    #[test]
    fn strings_that_are_not_utf8_are_an_invalid_argument() {
        let batch = batch_with_invalid_utf8();
        let schema = batch.schema();
        let reader = RecordBatchIterator::new([Ok::<_, ArrowError>(batch)], schema);
        let mut stream = FFI_ArrowArrayStream::new(Box::new(reader));
        let (mut bytes, mut error) = (std::ptr::null_mut(), std::ptr::null_mut());
        let id = [7u8; 16];
        // SAFETY: every pointer is valid for the call.
        let code = unsafe {
            akidb_encode_parquet_arrow(
                &mut stream,
                &id,
                &id,
                0,
                std::ptr::null(),
                &mut bytes,
                &mut error,
            )
        };
        assert_eq!(code, akidb_result::AKIDB_ERR_INVALID_ARGUMENT);
        assert!(bytes.is_null() && stream.release().is_none());
        // SAFETY: a failed call stored an error object.
        unsafe {
            assert_eq!(akidb_error_code(error), code);
            let message = CStr::from_ptr(akidb_error_message(error)).to_str().unwrap();
            assert!(message.contains("column `external_id`"), "{message}");
            akidb_error_free(error);
        }
    }
}
