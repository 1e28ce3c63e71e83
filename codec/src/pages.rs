//! A walk over a column chunk's page headers before parquet reads its pages.
//!
//! parquet sizes buffers by what a page header declares, before reading the page: a
//! decompression buffer of `uncompressed_page_size` bytes, and offsets for `num_values`
//! entries of a dictionary page. A header of a few hostile bytes could so make it ask for
//! gigabytes (docs/FUZZING.md, finding 6). The footer's sizes are checked against
//! [`Limits`](crate::Limits); this holds each page header to its row group's checked size.
//!
//! The same walk refuses two kinds of page that parquet 60 panics on (docs/FUZZING.md, findings
//! 3 and 4), which on wasm would abort the module: a dictionary-encoded data page with no
//! dictionary page before it, and a dictionary page of no entries that has bytes.
//!
//! The headers are Thrift compact structs, which parquet does not expose a parser for; they are
//! walked with the codec's own reader ([`thrift`](crate::thrift)). Only the fields checked here
//! are read; every other field is skipped by its wire type, so a writer's optional fields
//! (statistics, size statistics, a CRC) pass through.

use crate::thrift::{Cursor, Wire};

/// Checks every page header of the column chunk `chunk` (its bytes, from its first page to its
/// end). No page may be larger uncompressed than `max_page_bytes`, end beyond the chunk,
/// declare a dictionary of more entries than its bytes could hold (or of none, with bytes), or
/// be dictionary-encoded with no dictionary page before it. The error says which page and why.
///
/// `after_dictionary` says the bytes are pages after their chunk's dictionary page (a partial
/// read's), which is held apart.
pub(crate) fn check_pages(
    chunk: &[u8],
    max_page_bytes: u64,
    after_dictionary: bool,
) -> Result<(), String> {
    let mut at = 0;
    let mut page = 0usize;
    let mut dictionary_seen = after_dictionary;
    while at < chunk.len() {
        let mut cursor = Cursor::new(chunk, at);
        let header = read_page_header(&mut cursor)
            .map_err(|why| format!("page {page} at byte {at}: its header is unreadable ({why})"))?;
        let bad = |why: String| format!("page {page} at byte {at}: {why}");
        let uncompressed = u64::try_from(header.uncompressed_page_size)
            .map_err(|_| bad("a negative uncompressed size".into()))?;
        if uncompressed > max_page_bytes {
            return Err(bad(format!(
                "it declares {uncompressed} bytes uncompressed, more than its row group's \
                 {max_page_bytes}"
            )));
        }
        let compressed = usize::try_from(header.compressed_page_size)
            .map_err(|_| bad("a negative compressed size".into()))?;
        if let Some(entries) = header.dictionary_entries {
            // A dictionary page is PLAIN-encoded: every entry takes at least a byte.
            if !u64::try_from(entries)
                .is_ok_and(|n| n <= uncompressed && (n > 0 || uncompressed == 0))
            {
                return Err(bad(format!(
                    "its dictionary declares {entries} entries in {uncompressed} bytes"
                )));
            }
            dictionary_seen = true;
        }
        if header
            .data_encoding
            .is_some_and(|e| e == PLAIN_DICTIONARY || e == RLE_DICTIONARY)
            && !dictionary_seen
        {
            return Err(bad(
                "a dictionary-encoded data page with no dictionary page before it".into(),
            ));
        }
        at = cursor
            .position()
            .checked_add(compressed)
            .filter(|&end| end <= chunk.len())
            .ok_or_else(|| {
                bad(format!(
                    "its {compressed} bytes run past the column chunk's end (byte {})",
                    chunk.len()
                ))
            })?;
        page += 1;
    }
    Ok(())
}

/// The length of the page header at the start of `bytes` and the length of the page's body
/// after it, for the walk that checksums a file's pages as they are written
/// (the `PageWalker` of `page_checksums`). Fails on a header that is truncated or malformed.
pub(crate) fn page_extent(bytes: &[u8]) -> Result<(usize, usize), String> {
    let mut cursor = Cursor::new(bytes, 0);
    let header = read_page_header(&mut cursor)?;
    let body = usize::try_from(header.compressed_page_size)
        .map_err(|_| "a negative compressed size".to_owned())?;
    Ok((cursor.position(), body))
}

/// The fields of a Thrift `PageHeader` (parquet.thrift) that bound what parquet allocates.
#[derive(Debug, Default)]
struct PageHeader {
    uncompressed_page_size: i32,
    compressed_page_size: i32,
    dictionary_entries: Option<i32>,
    /// The values' encoding of a data page (v1 or v2).
    data_encoding: Option<i32>,
}

// Field ids of parquet.thrift.
const UNCOMPRESSED_PAGE_SIZE: i16 = 2;
const COMPRESSED_PAGE_SIZE: i16 = 3;
const DATA_PAGE_HEADER: i16 = 5;
const DATA_PAGE_ENCODING: i16 = 2;
const DICTIONARY_PAGE_HEADER: i16 = 7;
const DICTIONARY_NUM_VALUES: i16 = 1;
const DATA_PAGE_HEADER_V2: i16 = 8;
const DATA_PAGE_V2_ENCODING: i16 = 4;
// Values of the Encoding enum.
const PLAIN_DICTIONARY: i32 = 2;
const RLE_DICTIONARY: i32 = 8;

fn read_page_header(cursor: &mut Cursor<'_>) -> Result<PageHeader, String> {
    let mut header = PageHeader::default();
    let (mut uncompressed, mut compressed) = (None, None);
    cursor.read_struct(|cursor, id, wire| {
        match (id, wire) {
            (UNCOMPRESSED_PAGE_SIZE, Wire::I32) => uncompressed = Some(cursor.read_i32()?),
            (COMPRESSED_PAGE_SIZE, Wire::I32) => compressed = Some(cursor.read_i32()?),
            (DICTIONARY_PAGE_HEADER, Wire::Struct) => {
                let mut entries = None;
                cursor.read_struct(|cursor, id, wire| {
                    match (id, wire) {
                        (DICTIONARY_NUM_VALUES, Wire::I32) => entries = Some(cursor.read_i32()?),
                        _ => cursor.skip(wire)?,
                    }
                    Ok(())
                })?;
                header.dictionary_entries =
                    Some(entries.ok_or("a dictionary page header without num_values")?);
            }
            (DATA_PAGE_HEADER | DATA_PAGE_HEADER_V2, Wire::Struct) => {
                let wanted = match id {
                    DATA_PAGE_HEADER => DATA_PAGE_ENCODING,
                    _ => DATA_PAGE_V2_ENCODING,
                };
                cursor.read_struct(|cursor, id, wire| {
                    match wire {
                        Wire::I32 if id == wanted => {
                            header.data_encoding = Some(cursor.read_i32()?)
                        }
                        _ => cursor.skip(wire)?,
                    }
                    Ok(())
                })?;
            }
            _ => cursor.skip(wire)?,
        }
        Ok(())
    })?;
    header.uncompressed_page_size = uncompressed.ok_or("no uncompressed_page_size")?;
    header.compressed_page_size = compressed.ok_or("no compressed_page_size")?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page header: type, sizes, then the dictionary page header if `entries` is given.
    fn header(uncompressed: i32, compressed: i32, entries: Option<i32>) -> Vec<u8> {
        let zigzag = |v: i32| ((v << 1) ^ (v >> 31)) as u32;
        let varint = |mut v: u32, out: &mut Vec<u8>| loop {
            if v < 0x80 {
                out.push(v as u8);
                break;
            }
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        };
        let mut out = vec![0x15];
        varint(zigzag(if entries.is_some() { 2 } else { 0 }), &mut out);
        out.push(0x15);
        varint(zigzag(uncompressed), &mut out);
        out.push(0x15);
        varint(zigzag(compressed), &mut out);
        // An optional field the walk does not read: a CRC, then a binary and a list of bools.
        out.extend([0x15, 0x02]);
        if let Some(entries) = entries {
            out.push(0x3c); // field 7, a struct
            out.push(0x15);
            varint(zigzag(entries), &mut out);
            out.extend([0x15, 0x00]); // encoding PLAIN
            out.extend([0x18, 0x02, b'h', b'i']); // field 3 as a binary, which is not read
            out.extend([0x19, 0x21, 0x01, 0x00]); // field 4 (unknown), a list of two bools
            out.push(0x00);
        }
        out.push(0x00);
        out
    }

    /// A v1 data page header with values in `encoding`.
    fn data_page(uncompressed: u8, compressed: u8, encoding: u8) -> Vec<u8> {
        // type DATA_PAGE, the sizes (small enough for one-byte zigzag varints), then field 5:
        // num_values 3, the encoding, RLE levels.
        let mut out = vec![0x15, 0x00, 0x15, uncompressed * 2, 0x15, compressed * 2];
        out.extend([
            0x2c,
            0x15,
            0x06,
            0x15,
            encoding * 2,
            0x15,
            0x06,
            0x15,
            0x06,
            0x00,
        ]);
        out.push(0x00);
        out
    }

    fn chunk(pages: &[(Vec<u8>, usize)]) -> Vec<u8> {
        pages
            .iter()
            .flat_map(|(head, body)| head.iter().copied().chain(std::iter::repeat_n(7, *body)))
            .collect()
    }

    #[test]
    fn a_well_formed_chunk_passes() {
        let bytes = chunk(&[(header(40, 10, Some(5)), 10), (header(100, 30, None), 30)]);
        assert_eq!(check_pages(&bytes, 1000, false), Ok(()));
    }

    #[test]
    fn dictionary_encoded_pages_need_a_dictionary_page_first() {
        let with = chunk(&[(header(40, 10, Some(5)), 10), (data_page(20, 10, 8), 10)]);
        assert_eq!(check_pages(&with, 1000, false), Ok(()));
        let plain = chunk(&[(data_page(20, 10, 0), 10)]);
        assert_eq!(check_pages(&plain, 1000, false), Ok(()));
        for encoding in [2, 8] {
            let without = chunk(&[(data_page(20, 10, encoding), 10)]);
            let why = check_pages(&without, 1000, false).unwrap_err();
            assert!(why.contains("with no dictionary page before it"), "{why}");
        }
    }

    #[test]
    fn an_empty_dictionary_with_bytes_is_refused() {
        assert_eq!(
            check_pages(&chunk(&[(header(0, 0, Some(0)), 0)]), 1000, false),
            Ok(())
        );
        let why = check_pages(&chunk(&[(header(8, 8, Some(0)), 8)]), 1000, false).unwrap_err();
        assert!(why.contains("declares 0 entries in 8 bytes"), "{why}");
    }

    #[test]
    fn a_dictionary_of_more_entries_than_bytes_is_refused() {
        let bytes = chunk(&[(header(40, 10, Some(1_657_113_367)), 10)]);
        let why = check_pages(&bytes, 1000, false).unwrap_err();
        assert!(
            why.contains("dictionary declares 1657113367 entries in 40 bytes"),
            "{why}"
        );
    }

    #[test]
    fn a_page_larger_than_its_row_group_is_refused() {
        let bytes = chunk(&[(header(40, 10, None), 10), (header(i32::MAX, 5, None), 5)]);
        let why = check_pages(&bytes, 1000, false).unwrap_err();
        assert!(why.starts_with("page 1 at byte"), "{why}");
        assert!(why.contains("2147483647 bytes uncompressed"), "{why}");
    }

    #[test]
    fn negative_sizes_and_overruns_are_refused() {
        for (bytes, expected) in [
            (
                chunk(&[(header(-1, 10, None), 10)]),
                "negative uncompressed",
            ),
            (chunk(&[(header(10, -1, None), 0)]), "negative compressed"),
            (
                chunk(&[(header(10, 11, None), 10)]),
                "run past the column chunk's end",
            ),
            (
                chunk(&[(header(40, 10, Some(-3)), 10)]),
                "declares -3 entries",
            ),
        ] {
            let why = check_pages(&bytes, 1000, false).unwrap_err();
            assert!(why.contains(expected), "{why} should say {expected}");
        }
    }

    #[test]
    fn truncated_and_malformed_headers_are_refused_without_panicking() {
        let whole = header(40, 10, Some(5));
        for end in 0..whole.len() {
            let why = check_pages(&whole[..end.max(1)], 1000, false).unwrap_err();
            assert!(why.contains("header is unreadable"), "{end}: {why}");
        }
        // A list declaring more elements than there are bytes, and a runaway nesting.
        let mut huge_list = header(40, 0, None);
        huge_list.pop();
        huge_list.extend([0x49, 0xf1, 0xff, 0xff, 0xff, 0x0f]);
        assert!(
            check_pages(&huge_list, 1000, false)
                .unwrap_err()
                .contains("elements declared")
        );
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 40).collect();
        assert!(
            check_pages(&deep, 1000, false)
                .unwrap_err()
                .contains("nested more than")
        );
    }
}
