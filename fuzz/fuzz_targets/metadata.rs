//! Arbitrary bytes as a snapshot's metadata file; the body is the codec's.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    akidb_snapshot_codec::fuzzing::metadata_bytes(data);
});
