//! Looking ids up in an id index by its tail and a few pages: the rows found are exactly those
//! the whole index gives, from a small share of its bytes, and a damaged tail or page is
//! DataCorruption, never a wrong row.

mod common;

use std::ops::Range;
use std::sync::OnceLock;

use akidb_snapshot_codec::*;
use bytes::Bytes;
use uuid::Uuid;

/// More documents than an index row group holds (2^20), so lookups span groups and filters.
const ROWS: u128 = (1 << 20) + 4_000;

struct Written {
    index: Vec<u8>,
    tail: FileTail,
    part_layout: FileLayout,
}

fn id(i: u128) -> Uuid {
    Uuid::from_u128(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | 1)
}

/// Written once for every test: a million documents take seconds.
fn written() -> &'static Written {
    static WRITTEN: OnceLock<Written> = OnceLock::new();
    WRITTEN.get_or_init(write)
}

fn write() -> Written {
    let docs: Vec<_> = (0..ROWS)
        .map(|i| VectorDocument::new(id(i), vec![i as f32]))
        .collect();
    let config = ParquetConfig::default().with_row_group_size(200_000);
    let mut writer = ParquetWriter::try_new(Vec::new(), common::header(), config)
        .unwrap()
        .with_id_index();
    writer.write(&docs).unwrap();
    let index = writer.take_id_index().unwrap();
    let (_, part) = writer.finish().unwrap();
    let (file, summary) = index.finish(&common::header(), &part).unwrap();
    let entry = PartEntry::new("p", PartKind::Data, &part).with_index("i", &summary);
    Written {
        index: file,
        tail: entry.index.unwrap().tail.unwrap(),
        part_layout: part.layout.unwrap(),
    }
}

impl Written {
    fn open(&self) -> Result<IdLookup> {
        let tail = &self.index[self.index.len() - self.tail.bytes as usize..];
        IdLookup::open(
            Bytes::copy_from_slice(tail),
            self.index.len() as u64,
            &self.tail,
            &Limits::default(),
        )
    }

    fn fetch(&self, ranges: &[Range<u64>]) -> Vec<(u64, Bytes)> {
        (ranges.iter())
            .map(|r| {
                let bytes = &self.index[r.start as usize..r.end as usize];
                (r.start, Bytes::copy_from_slice(bytes))
            })
            .collect()
    }
}

#[test]
fn lookups_find_exactly_the_rows_of_the_ids_held() {
    let w = written();
    let lookup = w.open().unwrap();
    assert_eq!(lookup.len(), ROWS as u64);
    assert_eq!(lookup.part_layout(), Some(&w.part_layout));
    let held: Vec<u128> = vec![0, 1, (1 << 20) - 1, 1 << 20, ROWS - 1, 12_345];
    let mut wanted: Vec<Uuid> = held.iter().map(|&i| id(i)).collect();
    wanted.push(Uuid::from_u128(2)); // even, so never one of id()'s
    let ranges = lookup.pages_for(&wanted);
    let fetched: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    assert!(
        fetched * 20 < w.index.len() as u64,
        "{fetched} bytes of {}",
        w.index.len()
    );
    let found = lookup.find(&wanted, w.fetch(&ranges)).unwrap();
    let mut expected: Vec<(Uuid, u64)> = held.iter().map(|&i| (id(i), i as u64)).collect();
    expected.sort();
    assert_eq!(found, expected);
    assert!(lookup.find(&[], Vec::new()).unwrap().is_empty());
}

#[test]
fn ids_not_held_are_ruled_out_by_the_filters_before_any_page() {
    let w = written();
    let lookup = w.open().unwrap();
    // A thousand ids the part does not hold (id() gives odd ones): without the Bloom filters
    // each would fetch a page of ids and one of rows in both row groups, most of the index.
    let absent: Vec<Uuid> = (0..1_000u128).map(|i| Uuid::from_u128(i * 2 + 2)).collect();
    let ranges = lookup.pages_for(&absent);
    let fetched: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    // About 1% of 2,000 probes pass a filter at its false-positive rate: allow three times it.
    assert!(ranges.len() <= 2 * 60, "{} ranges", ranges.len());
    assert!(
        fetched * 50 < w.index.len() as u64,
        "{fetched} bytes of {}",
        w.index.len()
    );
    assert!(lookup.find(&absent, w.fetch(&ranges)).unwrap().is_empty());
}

#[test]
fn a_damaged_tail_or_page_is_data_corruption() {
    let w = written();
    let mut damaged = w.index.clone();
    let at = damaged.len() - 100;
    damaged[at] ^= 1;
    let tail = Bytes::copy_from_slice(&damaged[damaged.len() - w.tail.bytes as usize..]);
    let err = IdLookup::open(tail, damaged.len() as u64, &w.tail, &Limits::default());
    assert_eq!(err.unwrap_err().kind(), ErrorKind::DataCorruption);

    let lookup = w.open().unwrap();
    let wanted = [id(4_242)];
    let ranges = lookup.pages_for(&wanted);
    for range in &ranges {
        for at in [range.start, range.end - 1] {
            let mut fetched = w.fetch(&ranges);
            let piece = fetched.iter_mut().find(|(o, _)| *o == range.start).unwrap();
            let mut bytes = piece.1.to_vec();
            bytes[(at - range.start) as usize] ^= 0x40;
            piece.1 = bytes.into();
            let err = lookup.find(&wanted, fetched).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DataCorruption, "byte {at}");
        }
    }
}
