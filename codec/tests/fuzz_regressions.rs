//! Replays the fuzz targets' inputs through their own bodies (`akidb_snapshot_codec::fuzzing`):
//! the committed seeds, which must also decode, and every file of `tests/data/bad/`, where the
//! fuzzer's minimised findings are kept beside their expected errors (`golden.rs`).

use std::path::{Path, PathBuf};

use akidb_snapshot_codec::fuzzing;
use akidb_snapshot_codec::*;

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds")
            .join(target),
    )
}

#[test]
fn parquet_seeds_decode_and_hold_every_property() {
    for (path, bytes) in seeds("decode_parquet") {
        let docs = decode_parquet(bytes.clone().into(), &fuzzing::limits());
        assert!(docs.is_ok(), "{}: {:?}", path.display(), docs.err());
        fuzzing::decode_parquet_bytes(&bytes);
    }
}

#[test]
fn json_seeds_decode_and_hold_every_property() {
    for (path, bytes) in seeds("decode_json") {
        assert!(decode_json(&bytes).is_ok(), "{}", path.display());
        fuzzing::decode_json_bytes(&bytes);
    }
}

#[test]
fn metadata_seeds_parse_and_hold_every_property() {
    for (path, bytes) in seeds("metadata") {
        assert!(
            SnapshotMetadata::from_json(&bytes).is_ok(),
            "{}",
            path.display()
        );
        fuzzing::metadata_bytes(&bytes);
    }
}

#[test]
fn tombstone_seeds_decode_and_hold_every_property() {
    let seeds = seeds("decode_tombstones");
    assert!(!seeds.is_empty());
    for (path, bytes) in seeds {
        let read = decode_tombstones(bytes.clone().into(), &fuzzing::limits());
        assert!(read.is_ok(), "{}: {:?}", path.display(), read.err());
        fuzzing::decode_tombstones_bytes(&bytes);
    }
}

#[test]
fn encrypted_seeds_decode_with_their_key_and_hold_every_property() {
    let seeds = seeds("decode_encrypted");
    assert!(!seeds.is_empty());
    let keys = KeyRing::from(fuzzing::encrypted_seed_key());
    for (path, bytes) in seeds {
        let read = decode_parquet_with_keys(bytes.clone().into(), &fuzzing::limits(), &keys);
        assert!(read.is_ok(), "{}: {:?}", path.display(), read.err());
        let keyless = decode_parquet(bytes.clone().into(), &fuzzing::limits());
        assert_eq!(keyless.unwrap_err().kind(), ErrorKind::EncryptionKey);
        fuzzing::decode_encrypted_bytes(&bytes);
    }
}

#[test]
fn id_index_seeds_decode_and_hold_every_property() {
    let seeds = seeds("decode_id_index");
    assert!(!seeds.is_empty());
    for (path, bytes) in seeds {
        let read = decode_id_index(bytes.clone().into(), &fuzzing::limits());
        assert!(read.is_ok(), "{}: {:?}", path.display(), read.err());
        fuzzing::decode_id_index_bytes(&bytes);
    }
}

#[test]
fn every_bad_file_holds_every_property() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    for (_, bytes) in files(&bad) {
        fuzzing::decode_parquet_bytes(&bytes);
        fuzzing::decode_tombstones_bytes(&bytes);
        fuzzing::decode_id_index_bytes(&bytes);
        fuzzing::decode_json_bytes(&bytes);
    }
}

#[test]
fn partial_read_seeds_replay_without_a_panic() {
    for (path, bytes) in seeds("partial_read")
        .into_iter()
        .chain(seeds("decode_parquet"))
    {
        eprintln!("{}", path.display());
        fuzzing::partial_read_bytes(&bytes);
    }
    // The writer's own part reads by pages: the walk finds the pages the writer recorded.
    let (_, part) = seeds("partial_read")
        .into_iter()
        .find(|(p, _)| p.ends_with("part-300x8.parquet"))
        .unwrap();
    let (_, text) = seeds("partial_read")
        .into_iter()
        .find(|(p, _)| p.ends_with("part-layout.txt"))
        .unwrap();
    let layout = FileLayout::from_text(std::str::from_utf8(&text).unwrap()).unwrap();
    let tail = &part[part.len() - layout.tail_bytes as usize..];
    let footer = ParquetFooter::from_checked_tail(
        bytes::Bytes::copy_from_slice(tail),
        part.len() as u64,
        &layout,
        &fuzzing::limits(),
    )
    .unwrap();
    assert_eq!(footer.info().vector_count, 300);
}
