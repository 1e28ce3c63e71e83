//! Arbitrary bytes as a legacy JSON snapshot; the body is the codec's.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    akidb_snapshot_codec::fuzzing::decode_json_bytes(data);
});
