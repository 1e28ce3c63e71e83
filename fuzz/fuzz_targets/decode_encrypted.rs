//! Arbitrary bytes as an encrypted snapshot, read with the key its seeds were written under; the
//! body is the codec's, so regression tests replay findings through the same code.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: akidb_snapshot_codec::fuzzing::report_caught_panics(),
    |data: &[u8]| {
        akidb_snapshot_codec::fuzzing::decode_encrypted_bytes(data);
    }
);
