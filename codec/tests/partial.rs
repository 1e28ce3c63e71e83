//! Reading a few rows from the pages that hold them: exactly the rows asked for, from a small
//! share of the file, and never a wrong row from a damaged page.

// Rows are asked for as slices of ranges: a slice of one range is one run of rows.
#![allow(clippy::single_range_in_vec_init)]

mod common;

use std::ops::Range;

use akidb_snapshot_codec::*;
use bytes::Bytes;
use common::header;
use uuid::Uuid;

const ROWS: usize = 6_000;

fn documents() -> Vec<VectorDocument> {
    (0..ROWS)
        .map(|i| {
            let mut doc = VectorDocument::new(
                Uuid::from_u128(0x9e37_79b9_7f4a_7c15_u128.wrapping_mul(i as u128 + 1)),
                (0..128).map(|d| noise(i * 128 + d)).collect(),
            )
            .with_inserted_at(Timestamp::from_millis(1_700_000_000_000 + i as i64 * 1_000));
            if i % 3 != 0 {
                doc = doc.with_external_id(format!("ext-{i}"));
            }
            if i % 5 != 0 {
                // Few distinct values, so the chunk keeps a dictionary page.
                let lang = ["en", "fr", "de"][i % 3];
                doc = doc.with_metadata(serde_json::json!({ "lang": lang }));
            }
            doc
        })
        .collect()
}

/// Floats that do not compress, as embeddings do not.
fn noise(seed: usize) -> f32 {
    let x = (seed as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
}

struct Written {
    file: Vec<u8>,
    layout: FileLayout,
    footer: ParquetFooter,
}

fn written(config: ParquetConfig) -> Written {
    let (file, summary) = encode_parquet(&documents(), &header(), &config).unwrap();
    let layout = summary.layout.expect("the writer walks its pages");
    let tail = Bytes::copy_from_slice(&file[layout.tail_start(file.len() as u64) as usize..]);
    let footer =
        ParquetFooter::from_checked_tail(tail, file.len() as u64, &layout, &Limits::default())
            .unwrap();
    Written {
        file,
        layout,
        footer,
    }
}

impl Written {
    fn fetch(&self, ranges: &[Range<u64>]) -> Vec<(u64, Bytes)> {
        ranges
            .iter()
            .map(|r| {
                let bytes = &self.file[r.start as usize..r.end as usize];
                (r.start, Bytes::copy_from_slice(bytes))
            })
            .collect()
    }

    fn read(&self, rows: &[Range<u64>]) -> (Vec<VectorDocument>, u64) {
        let ranges = self.footer.pages_of_rows(rows).unwrap();
        let fetched: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        let docs = (self.footer)
            .decode_pages(rows, self.fetch(&ranges), &self.layout)
            .unwrap();
        (docs, fetched)
    }
}

#[test]
fn rows_found_by_id_skip_the_id_and_dimension_pages() {
    let w = written(ParquetConfig::default().with_row_group_size(2_000));
    let docs = documents();
    let rows = [5u64, 6, 1_999, 2_000, 4_321, 5_999];
    let ids: Vec<(u64, Uuid)> = (rows.iter())
        .map(|&r| (r, docs[r as usize].document_id))
        .collect();
    let runs: Vec<Range<u64>> = rows.iter().map(|&r| r..r + 1).collect();
    let by_id = w.footer.pages_of_rows_by_id(&runs).unwrap();
    let every_column = w.footer.pages_of_rows(&runs).unwrap();
    let bytes = |ranges: &[Range<u64>]| ranges.iter().map(|r| r.end - r.start).sum::<u64>();
    // Six rows, each with an id page of its own: those are not fetched.
    assert!(
        bytes(&by_id) + 6 * 1_000 < bytes(&every_column),
        "{} bytes by id, {} with every column",
        bytes(&by_id),
        bytes(&every_column)
    );
    let read: Vec<VectorDocument> = (w.footer)
        .decode_rows_by_id(&ids, w.fetch(&by_id), &w.layout)
        .unwrap();
    let expected: Vec<_> = rows.iter().map(|&r| docs[r as usize].clone()).collect();
    assert_eq!(read, expected);
    let batches: Vec<arrow_array::RecordBatch> = (w.footer)
        .decode_rows_by_id(&ids, w.fetch(&by_id), &w.layout)
        .unwrap();
    let whole: Vec<arrow_array::RecordBatch> = (w.footer)
        .decode_pages(&runs, w.fetch(&every_column), &w.layout)
        .unwrap();
    assert_eq!(batches, whole, "the same batches, schema and all");

    // Ids out of order, or rows the pages do not hold, are errors, not wrong rows.
    let backwards: Vec<(u64, Uuid)> = ids.iter().rev().copied().collect();
    let err = (w.footer)
        .decode_rows_by_id::<VectorDocument>(&backwards, w.fetch(&by_id), &w.layout)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let elsewhere = [(3_000u64, docs[3_000].document_id)];
    assert!(
        (w.footer)
            .decode_rows_by_id::<VectorDocument>(&elsewhere, w.fetch(&by_id), &w.layout)
            .is_err()
    );
}

#[test]
fn a_few_rows_come_back_exactly_from_a_small_share_of_the_file() {
    let w = written(ParquetConfig::default().with_row_group_size(2_000));
    let docs = documents();
    let rows: Vec<Range<u64>> = [5u64, 6, 1_999, 2_000, 4_321, 5_999]
        .into_iter()
        .map(|r| r..r + 1)
        .collect();
    let (read, fetched) = w.read(&rows);
    let expected: Vec<_> = rows
        .iter()
        .map(|r| docs[r.start as usize].clone())
        .collect();
    assert_eq!(read, expected);
    assert!(
        fetched * 10 < w.file.len() as u64,
        "{fetched} bytes fetched of {}",
        w.file.len()
    );

    // A run across row groups, and every row at once, agree with the whole file.
    let (read, _) = w.read(&[1_990..2_010]);
    assert_eq!(read, docs[1_990..2_010]);
    let (read, fetched) = w.read(&[0..ROWS as u64]);
    assert_eq!(read, docs);
    assert!(fetched < w.file.len() as u64);
}

#[test]
fn one_row_costs_about_a_page_per_column() {
    let w = written(ParquetConfig::default());
    let ranges = w.footer.pages_of_rows(&[3_000..3_001]).unwrap();
    let fetched: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    // A vector page of about 32 KiB, the other columns' pages, dictionaries.
    assert!(
        fetched < 64 * 1024,
        "{fetched} bytes for one row: {ranges:?}"
    );
    let mut small = ParquetConfig::default().with_page_bytes(4 * 1024);
    small = small.with_row_group_size(ROWS);
    let w = written(small);
    let ranges = w.footer.pages_of_rows(&[3_000..3_001]).unwrap();
    let fetched_small: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    assert!(fetched_small < fetched / 3, "{fetched_small} vs {fetched}");
}

#[test]
fn a_time_range_selects_by_page_statistics() {
    let w = written(ParquetConfig::default().with_row_group_size(2_500));
    let since = 1_700_000_000_000 + 1_234 * 1_000;
    let until = 1_700_000_000_000 + 1_300 * 1_000;
    let candidates = w
        .footer
        .rows_inserted_within(Some(since), Some(until))
        .unwrap();
    let covered: u64 = candidates.iter().map(|r| r.end - r.start).sum();
    assert!(
        candidates
            .iter()
            .any(|r| r.contains(&1_234) && r.contains(&1_300))
    );
    assert!(covered <= 2_048, "{covered} candidate rows for 67 in range");
    let (read, _) = w.read(&candidates);
    let within: Vec<_> = read
        .into_iter()
        .filter(|d| (since..=until).contains(&d.inserted_at.as_millis()))
        .collect();
    assert_eq!(within, documents()[1_234..=1_300]);
    assert!(
        w.footer
            .rows_inserted_within(Some(i64::MAX), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_damaged_page_or_tail_is_data_corruption_never_a_wrong_row() {
    let w = written(ParquetConfig::default().with_row_group_size(2_000));
    let rows = [2_500..2_503];
    let ranges = w.footer.pages_of_rows(&rows).unwrap();
    for range in &ranges {
        for at in [range.start, (range.start + range.end) / 2, range.end - 1] {
            let mut fetched = w.fetch(&ranges);
            let piece = fetched.iter_mut().find(|(o, _)| *o == range.start).unwrap();
            let mut bytes = piece.1.to_vec();
            bytes[(at - range.start) as usize] ^= 0x10;
            piece.1 = bytes.into();
            let err = w
                .footer
                .decode_pages::<VectorDocument>(&rows, fetched, &w.layout);
            assert_eq!(
                err.unwrap_err().kind(),
                ErrorKind::DataCorruption,
                "byte {at}"
            );
        }
    }
    // Bytes that are not whole pages are the caller's mistake.
    let mut fetched = w.fetch(&ranges);
    fetched[0].1 = fetched[0].1.slice(1..);
    fetched[0].0 += 1;
    let err = w
        .footer
        .decode_pages::<VectorDocument>(&rows, fetched, &w.layout);
    assert_eq!(err.unwrap_err().kind(), ErrorKind::Validation);

    let tail_start = w.layout.tail_start(w.file.len() as u64) as usize;
    let mut tail = w.file[tail_start..].to_vec();
    tail[10] ^= 1;
    let err = ParquetFooter::from_checked_tail(
        tail.into(),
        w.file.len() as u64,
        &w.layout,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption);
}
