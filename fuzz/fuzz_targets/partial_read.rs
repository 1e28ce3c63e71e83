//! Arbitrary bytes read by pages, as a partial restore reads a part and its id index; the body
//! is the codec's, so regression tests replay findings through the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: akidb_snapshot_codec::fuzzing::report_caught_panics(),
    |data: &[u8]| {
        akidb_snapshot_codec::fuzzing::partial_read_bytes(data);
    }
);
