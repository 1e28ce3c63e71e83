//! The bodies of the fuzz targets in `fuzz/` (feature `fuzzing`), here so that the regression
//! tests in `codec/tests/fuzz_regressions.rs` replay a finding through the very same code.
//!
//! Each function takes what the fuzzer made, runs every entry point that reads it, and panics
//! only when a property that must hold does not: a decoder may refuse any input, but never panic,
//! and every reader of the same bytes must agree with the others.

use bytes::Bytes;

use crate::checksum::Sha256Digest;
use crate::config::{Limits, ParquetConfig};
use crate::decode::{
    FooterParse, ParquetFooter, ParquetReader, SnapshotInfo, decode_parquet,
    decode_parquet_verified, inspect_parquet,
};
use crate::encode::encode_parquet;
use crate::encryption::KeyRing;
use crate::file::SnapshotFile;
use crate::id_index::decode_id_index;
use crate::id_lookup::IdLookup;
use crate::json::{decode_json as json_decode, encode_json};
use crate::manifest::FileTail;
use crate::metadata::{SnapshotHeader, SnapshotMetadata};
use crate::model::VectorDocument;
use crate::page_checksums::{FileLayout, PageWalker};
use crate::tombstones::{decode_tombstones, encode_tombstones};

/// Small limits, so that what a hostile footer may ask for stays within the fuzzer's memory
/// limit (`-rss_limit_mb=2048`) whatever the input.
pub fn limits() -> Limits {
    Limits {
        max_rows: 1 << 16,
        max_dimension: 4_096,
        max_row_group_bytes: 64 << 20,
    }
}

/// Arbitrary bytes as a Parquet snapshot, through every reader: whole, verified, streaming (as
/// documents and as Arrow), footer only, footer from a tail, and [`SnapshotFile`]. Whatever the
/// whole-file decode reads, the untrusting readers read the same.
pub fn decode_parquet_bytes(data: &[u8]) {
    let limits = limits();
    let file = Bytes::copy_from_slice(data);
    let whole = decode_parquet(file.clone(), &limits);
    let info = inspect_parquet(data, &limits);

    // A verified file's offset index is trusted (only the writer's own files match their
    // recorded SHA-256), so the digest of hostile bytes lets them steer that path: it must not
    // panic, but it need not agree with the plain decode.
    let _ = decode_parquet_verified(file.clone(), &Sha256Digest::of(data), &limits);

    let streamed: Option<Vec<VectorDocument>> = ParquetReader::try_new(file.clone(), &limits)
        .ok()
        .and_then(|reader| reader.collect::<Result<Vec<_>, _>>().ok())
        .map(|groups| groups.into_iter().flatten().collect());
    let arrow_rows: Option<usize> = ParquetReader::arrow(file.clone(), &limits)
        .ok()
        .and_then(|reader| reader.collect::<Result<Vec<_>, _>>().ok())
        .map(|groups| groups.iter().flatten().map(|b| b.num_rows()).sum());

    if let Ok(docs) = &whole {
        let info = info
            .as_ref()
            .expect("a file that decodes has a readable footer");
        assert_eq!(docs.len() as u64, info.vector_count, "count vs footer");
        let streamed = streamed.expect("a file that decodes whole decodes row group by row group");
        assert_eq!(bits(&streamed), bits(docs), "streamed vs whole");
        assert_eq!(arrow_rows, Some(docs.len()), "Arrow rows vs documents");
    }

    if let Ok(info) = &info {
        assert_tail_footer(&file, info, &limits, &KeyRing::default());
    }

    if let Ok(snapshot) = SnapshotFile::open(file, &limits) {
        let count = snapshot.vector_count();
        let page = snapshot.documents(count / 2..count / 2 + 3);
        if let (Ok(page), Ok(docs)) = (&page, &whole) {
            let start = (count / 2) as usize;
            assert_eq!(bits(page), bits(&docs[start..start + page.len()]), "a page");
        }
        let stats = snapshot.vector_stats(8);
        if whole.is_ok() {
            assert_eq!(stats.map(|s| s.vectors).ok(), Some(count), "stats count");
        }
        let _ = snapshot.verify(None);
    }
}

/// The master key the `decode_encrypted` target's seeds are encrypted under, so that mutations
/// of them reach past the key material into the footer and pages.
#[cfg(feature = "encryption")]
pub fn encrypted_seed_key() -> crate::encryption::MasterKey {
    crate::encryption::MasterKey::new("fuzz", &[0x5a; 32]).expect("a 32-byte key")
}

/// Arbitrary bytes as an encrypted snapshot, read with the seeds' key: whole, footer only, and
/// the footer from a tail, which must be the whole file's. Hostile key material, crypto metadata
/// and module lengths come before any authentication, so they are what this reaches.
#[cfg(feature = "encryption")]
pub fn decode_encrypted_bytes(data: &[u8]) {
    use crate::decode::{decode_parquet_with_keys, inspect_parquet_with_keys};

    let limits = limits();
    let keys = KeyRing::from(encrypted_seed_key());
    let file = Bytes::copy_from_slice(data);
    let whole = decode_parquet_with_keys(file.clone(), &limits, &keys);
    let info = inspect_parquet_with_keys(data, &limits, &keys);
    if let Ok(docs) = &whole {
        let info = info
            .as_ref()
            .expect("a file that decodes has a readable footer");
        assert_eq!(docs.len() as u64, info.vector_count, "count vs footer");
    }
    if let Ok(info) = &info {
        assert_tail_footer(&file, info, &limits, &keys);
    }
}

/// The footer parsed from a tail of `file`, as a ranged reader gets it (the suggested tail,
/// then once the tail the footer says it needs), is `info`, the whole file's.
fn assert_tail_footer(file: &Bytes, info: &SnapshotInfo, limits: &Limits, keys: &KeyRing) {
    let len = file.len();
    let parse =
        |from: usize| ParquetFooter::parse_with_keys(file.slice(from..), len as u64, limits, keys);
    let tail_len = (ParquetFooter::SUGGESTED_TAIL_BYTES as usize).min(len);
    let parsed = match parse(len - tail_len) {
        Ok(FooterParse::NeedTail(needed)) => {
            assert!(needed as usize <= len, "NeedTail beyond the file");
            parse(len - needed as usize)
        }
        other => other,
    };
    match parsed {
        Ok(FooterParse::Complete(footer)) => assert_eq!(footer.info(), info),
        Ok(FooterParse::NeedTail(_)) => panic!("a second NeedTail after fetching it"),
        Err(e) => panic!("the tail's footer fails where the whole file's parses: {e}"),
    }
}

/// Arbitrary bytes as a legacy JSON snapshot. What decodes re-encodes to a file that decodes to
/// the same documents, and [`SnapshotFile`] reads it alike.
pub fn decode_json_bytes(data: &[u8]) {
    let Ok(snapshot) = json_decode(data) else {
        return;
    };
    let opened = SnapshotFile::open(Bytes::copy_from_slice(data), &limits());
    if let Ok(opened) = opened {
        assert_eq!(opened.vector_count(), snapshot.documents.len() as u64);
    }
    // Re-encoding refuses what a writer must never write (no documents, times beyond RFC 3339).
    if let Ok((bytes, _)) = encode_json(&snapshot.documents, &snapshot.header) {
        let again = json_decode(&bytes).expect("what the encoder writes decodes");
        assert_eq!(again.header, snapshot.header);
        assert_eq!(bits(&again.documents), bits(&snapshot.documents));
    }
}

/// Arbitrary bytes as a tombstone part: refused or read, never a panic; what is read holds
/// distinct ids in ascending order, as many as the footer says, and writes back to the same ids.
pub fn decode_tombstones_bytes(data: &[u8]) {
    if let Ok(read) = decode_tombstones(Bytes::copy_from_slice(data), &limits()) {
        assert!(
            read.ids.windows(2).all(|w| w[0] < w[1]),
            "ids ascending and distinct"
        );
        if let Ok((again, _)) = encode_tombstones(read.ids.iter().copied(), &read.header) {
            let back = decode_tombstones(again.into(), &limits()).expect("our own file reads");
            assert_eq!(back, read, "a tombstone part read back");
        }
    }
}

/// Arbitrary bytes as an id index: refused or read, never a panic; what is read holds distinct
/// ids in ascending order, each row of its part once.
pub fn decode_id_index_bytes(data: &[u8]) {
    if let Ok(read) = decode_id_index(Bytes::copy_from_slice(data), &limits()) {
        let rows = read.rows();
        assert!(
            rows.windows(2).all(|w| w[0].id < w[1].id),
            "ids ascending and distinct"
        );
        let mut positions: Vec<u64> = rows.iter().map(|r| r.row).collect();
        positions.sort_unstable();
        assert!(
            positions.iter().enumerate().all(|(i, &p)| p == i as u64),
            "each row once"
        );
        for row in rows {
            assert_eq!(read.get(&row.id), Some(row), "every id is found");
        }
    }
}

/// Arbitrary bytes read by pages, as a partial restore reads them, with the page checksums a
/// writer of those very bytes would have recorded: a hostile writer's own, which every check
/// passes, so only the decoders stand between the bytes and a panic. The pages are those a walk
/// from byte 4 finds; the tail, the rest. Then the same bytes as an id index's tail, and as the
/// text of a layout. Nothing may panic; a row decoded by pages of a file that also decodes whole
/// must agree with it only where the file is one a writer made (not asserted).
pub fn partial_read_bytes(data: &[u8]) {
    let limits = limits();
    let file = Bytes::copy_from_slice(data);
    let _ = FileLayout::from_text(&String::from_utf8_lossy(data));

    // As an id index's tail, checked against its own digest.
    let tail = FileTail {
        bytes: data.len() as u64,
        sha256: Sha256Digest::of(data),
    };
    if let Ok(lookup) = IdLookup::open(file.clone(), data.len() as u64, &tail, &limits) {
        let ids = [
            uuid::Uuid::from_u128(1),
            uuid::Uuid::from_u128(u128::MAX / 3),
        ];
        let ranges = lookup.pages_for(&ids);
        let pieces: Vec<(u64, Bytes)> = (ranges.iter())
            .filter(|r| r.end <= data.len() as u64)
            .map(|r| (r.start, file.slice(r.start as usize..r.end as usize)))
            .collect();
        let _ = lookup.find(&ids, pieces);
    }

    // As a data file whose layout is what a walk of its bytes finds.
    let mut walker = PageWalker::new(4);
    // The walk stops, or waits for more, where the bytes stop reading as pages.
    let _ = walker.feed(data);
    let end = (walker.pages().last()).map_or(4.min(data.len()), |p| (p.offset + p.len) as usize);
    let tail_bytes = &data[end..];
    let layout = FileLayout::of_pages(walker.pages().to_vec())
        .with_tail(tail_bytes.len() as u64, Sha256Digest::of(tail_bytes));
    let tail = file.slice(end..);
    let Ok(footer) = ParquetFooter::from_checked_tail(tail, data.len() as u64, &layout, &limits)
    else {
        return;
    };
    let rows = footer.info().vector_count;
    let _ = footer.rows_inserted_within(Some(0), None);
    let (first, front, back_half) = (0..1.min(rows), 0..rows.min(3), rows / 2..rows);
    for wanted in [vec![first], vec![back_half.clone()], vec![front, back_half]] {
        let wanted: Vec<_> = wanted.into_iter().filter(|r| !r.is_empty()).collect();
        let wanted = crate::page_checksums::merge_ranges(wanted);
        let Ok(ranges) = footer.pages_of_rows(&wanted) else {
            continue;
        };
        let pieces: Vec<(u64, Bytes)> = (ranges.iter())
            .filter(|r| r.end <= data.len() as u64)
            .map(|r| (r.start, file.slice(r.start as usize..r.end as usize)))
            .collect();
        let _ = footer.decode_pages::<VectorDocument>(&wanted, pieces, &layout);
    }
    // The first and last rows as if found by id: the id and dimension pages left out.
    let mut ends = vec![0, rows.saturating_sub(1)];
    ends.dedup();
    ends.retain(|&r| r < rows);
    let by_id: Vec<(u64, uuid::Uuid)> = (ends.into_iter())
        .map(|r| (r, uuid::Uuid::from_u128(u128::from(r) + 1)))
        .collect();
    let runs: Vec<_> = by_id.iter().map(|&(r, _)| r..r + 1).collect();
    if let Ok(ranges) = footer.pages_of_rows_by_id(&runs) {
        let pieces: Vec<(u64, Bytes)> = (ranges.iter())
            .filter(|r| r.end <= data.len() as u64)
            .map(|r| (r.start, file.slice(r.start as usize..r.end as usize)))
            .collect();
        let _ = footer.decode_rows_by_id::<VectorDocument>(&by_id, pieces, &layout);
    }
}

/// Arbitrary bytes as a metadata file: what parses is written back to JSON that parses to the
/// same metadata.
pub fn metadata_bytes(data: &[u8]) {
    let Ok(metadata) = SnapshotMetadata::from_json(data) else {
        return;
    };
    if let Ok(json) = metadata.to_json() {
        let again = SnapshotMetadata::from_json(&json).expect("written metadata parses");
        assert_eq!(again, metadata);
    }
}

/// Documents encoded with `config` decode to the same documents, every float bit for bit; what
/// the encoder refuses is refused with `Validation`.
pub fn roundtrip(docs: &[VectorDocument], header: &SnapshotHeader, config: &ParquetConfig) {
    let (bytes, summary) = match encode_parquet(docs, header, config) {
        Ok(encoded) => encoded,
        Err(e) => {
            assert_eq!(e.kind(), crate::ErrorKind::Validation, "{e}");
            return;
        }
    };
    let back = decode_parquet_verified(bytes.into(), &summary.checksum_sha256, &Limits::default())
        .expect("what the encoder writes decodes");
    assert_eq!(bits(&back), bits(docs), "roundtrip");
}

/// Documents compared with every float as its bits, so NaN payloads and `-0.0` count.
fn bits(docs: &[VectorDocument]) -> Vec<(VectorDocument, Vec<u32>)> {
    docs.iter()
        .map(|d| {
            let mut without = d.clone();
            without.vector = Vec::new();
            (without, d.vector.iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

/// For targets whose decoders run inside the codec's panic guard: puts back Rust's default panic
/// hook in place of libFuzzer's aborting one, so that a panic inside parquet that the guard turns
/// into `DataCorruption` is printed and counted (scripts/fuzz.sh lists them; docs/FUZZING.md
/// names each) instead of stopping the run. A panic that escapes the guard still aborts:
/// libfuzzer-sys catches the unwind around the target and aborts.
pub fn report_caught_panics() {
    drop(std::panic::take_hook());
}
