//! Arbitrary bytes through the C API's decoders, as a C host calls them: every call returns a
//! code, a failure comes with an error object (and no output), a success with output and no
//! error, and the three decoders agree on what they read. Run under AddressSanitizer, which
//! cargo fuzz enables, so a bad pointer in the marshalling is a crash. A panic inside parquet
//! that the C API's guard turns into an error code is reported, not a crash (as in
//! decode_parquet).
#![no_main]

use std::mem::MaybeUninit;
use std::ptr::null_mut;

use akidb_snapshot::*;
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};

/// Checks the error contract for `code` and frees the error.
fn check_outcome(code: akidb_result, error: *mut akidb_error) -> bool {
    let ok = code == akidb_result::AKIDB_OK;
    assert_eq!(
        error.is_null(),
        ok,
        "an error object exactly when the call failed"
    );
    if !ok {
        // SAFETY: a non-NULL error the library just handed out.
        unsafe {
            assert_eq!(akidb_error_code(error), code);
            let message = std::ffi::CStr::from_ptr(akidb_error_message(error));
            assert!(!message.to_bytes().is_empty(), "an error has a message");
            akidb_error_free(error);
        }
    }
    ok
}

libfuzzer_sys::fuzz_target!(init: akidb_snapshot_codec::fuzzing::report_caught_panics(), |data: &[u8]| {
    // SAFETY: `data` is readable for its length and every out-pointer is local storage.
    unsafe {
        let mut docs = null_mut();
        let mut error = null_mut();
        let code = akidb_decode_parquet(data.as_ptr(), data.len(), &mut docs, &mut error);
        let decoded = check_outcome(code, error).then(|| {
            let count = akidb_documents_count(docs);
            akidb_documents_free(docs);
            count
        });
        assert!(
            decoded.is_some() || docs.is_null(),
            "no documents on failure"
        );

        let mut info = MaybeUninit::<akidb_snapshot_info>::uninit();
        let mut error = null_mut();
        let code = akidb_inspect_parquet(data.as_ptr(), data.len(), info.as_mut_ptr(), &mut error);
        let inspected = check_outcome(code, error).then(|| info.assume_init().vector_count);

        let mut stream = MaybeUninit::<FFI_ArrowArrayStream>::uninit();
        let mut error = null_mut();
        let code =
            akidb_decode_parquet_arrow(data.as_ptr(), data.len(), stream.as_mut_ptr(), &mut error);
        let streamed = check_outcome(code, error).then(|| {
            let reader = RecordBatchStreamReader::try_new(stream.assume_init())
                .expect("the stream has a schema");
            reader
                .map(|batch| batch.map(|b| b.num_rows()))
                .sum::<Result<usize, _>>()
                .ok()
        });

        if let Some(count) = decoded {
            assert_eq!(inspected, Some(count as u64), "inspect agrees with decode");
            assert_eq!(
                streamed,
                Some(Some(count)),
                "the Arrow stream agrees with decode"
            );
        }
    }
});
