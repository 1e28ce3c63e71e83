//! Checksums of a Parquet file's pages, taken as the file is written, so that a reader that
//! fetches a few pages can check each of them without reading the whole file
//! (docs/FORMAT.md, "Page checksums").
//!
//! The SHA-256 of a part covers every byte, but only a reader of every byte can check it.
//! parquet 60 writes no page CRC, and a CRC would cover neither the page header nor the footer,
//! whose offsets say where the pages are. So a writer walks the page headers of the bytes it
//! writes ([`PageWalker`]), takes XXH3-64 of each whole page (header and body), and the
//! SHA-256 of what follows the last page (the page index and the footer): [`FileLayout`].

use std::hash::Hasher;
use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use twox_hash::XxHash3_64;

use crate::checksum::Sha256Digest;
use crate::error::{Error, Result};
use crate::pages::page_extent;

/// One page of a file: where it is, and the XXH3-64 (seed 0) of its bytes, header included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageChecksum {
    /// Its first byte in the file.
    pub offset: u64,
    /// Its length in bytes, header included.
    pub len: u64,
    /// XXH3-64 of those bytes.
    pub xxh3: u64,
}

impl PageChecksum {
    /// The page's bytes in the file.
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset + self.len
    }
}

/// What a writer learned of a file's layout as it wrote it: each page with its checksum, in
/// file order, and the length and SHA-256 of the file's tail (everything after the last page:
/// the page index and the footer). With it a reader checks any page it fetched, and the
/// footer, without the rest of the file.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let docs: Vec<_> = (0..1_000u128)
///     .map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![i as f32; 64]))
///     .collect();
/// let (file, summary) = encode_parquet(&docs, &header, &ParquetConfig::default())?;
/// let layout = summary.layout.expect("a written file has one");
/// assert!(layout.pages().len() > 6, "small pages, several per column");
///
/// // Each page, and the tail, checks against the bytes written...
/// let page = layout.pages()[3];
/// let bytes = &file[page.offset as usize..(page.offset + page.len) as usize];
/// layout.verify_pages(page.offset, bytes)?;
/// layout.verify_tail(&file[file.len() - layout.tail_bytes as usize..])?;
///
/// // ...and a flipped bit anywhere in them is DataCorruption.
/// let mut damaged = bytes.to_vec();
/// let middle = damaged.len() / 2;
/// damaged[middle] ^= 4;
/// let err = layout.verify_pages(page.offset, &damaged).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::DataCorruption);
///
/// // It travels as text, in a footer key of the part's id index.
/// assert_eq!(FileLayout::from_text(&layout.to_text())?, layout);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileLayout {
    pages: Vec<PageChecksum>,
    /// The bytes after the last page, to the end of the file.
    pub tail_bytes: u64,
    /// Their SHA-256.
    pub tail_sha256: Sha256Digest,
}

/// The version byte that starts [`FileLayout::to_text`]'s bytes.
const TEXT_VERSION: u8 = 1;

impl FileLayout {
    /// A layout of `pages` alone, its tail left empty: what a file records of its own pages
    /// (its tail is recorded elsewhere, see [`with_tail`](Self::with_tail)).
    pub(crate) fn of_pages(pages: Vec<PageChecksum>) -> Self {
        FileLayout {
            pages,
            tail_bytes: 0,
            tail_sha256: Sha256Digest::of(&[]),
        }
    }

    /// This layout with the tail recorded apart.
    pub(crate) fn with_tail(mut self, tail_bytes: u64, tail_sha256: Sha256Digest) -> Self {
        (self.tail_bytes, self.tail_sha256) = (tail_bytes, tail_sha256);
        self
    }

    /// The pages, in file order.
    pub fn pages(&self) -> &[PageChecksum] {
        &self.pages
    }

    /// The first byte of the tail, in a file of `file_len` bytes.
    pub fn tail_start(&self, file_len: u64) -> u64 {
        file_len.saturating_sub(self.tail_bytes)
    }

    /// Checks `bytes`, read from `offset` of the file: they must be whole pages, one after
    /// another, each with the checksum recorded for it.
    ///
    /// # Errors
    ///
    /// [`Error::DataCorruption`] naming the first page that differs; [`Error::Validation`] if
    /// `offset` is not where a page starts or the bytes end inside a page (a reader's mistake).
    pub fn verify_pages(&self, offset: u64, bytes: &[u8]) -> Result<()> {
        let first = self.pages.partition_point(|p| p.offset < offset);
        let mut at = 0usize;
        for page in &self.pages[first..] {
            if at == bytes.len() {
                break;
            }
            if page.offset != offset + at as u64 {
                break;
            }
            let Some(body) = usize::try_from(page.len)
                .ok()
                .and_then(|len| bytes.get(at..at.checked_add(len)?))
            else {
                break;
            };
            let actual = XxHash3_64::oneshot(body);
            if actual != page.xxh3 {
                return Err(Error::corruption(format!(
                    "the page at bytes {:?} has XXH3-64 {actual:016x}, but {:016x} was recorded \
                     when it was written",
                    page.range(),
                    page.xxh3
                )));
            }
            at += body.len();
        }
        if at != bytes.len() {
            return Err(Error::validation(
                crate::DocumentRef::NONE,
                format!(
                    "bytes {offset}..{} are not whole pages of the file (checked up to {})",
                    offset + bytes.len() as u64,
                    offset + at as u64
                ),
            ));
        }
        Ok(())
    }

    /// Checks the file's tail (its last [`tail_bytes`](Self::tail_bytes) bytes).
    ///
    /// # Errors
    ///
    /// [`Error::DataCorruption`] if its length or SHA-256 is not the one recorded.
    pub fn verify_tail(&self, tail: &[u8]) -> Result<()> {
        if tail.len() as u64 != self.tail_bytes {
            return Err(Error::corruption(format!(
                "the file's tail is {} bytes, but {} were recorded when it was written",
                tail.len(),
                self.tail_bytes
            )));
        }
        let actual = Sha256Digest::of(tail);
        if actual != self.tail_sha256 {
            return Err(Error::corruption(format!(
                "SHA-256 of the file's tail (page index and footer) is {actual}, but {} was \
                 recorded when it was written",
                self.tail_sha256
            )));
        }
        Ok(())
    }

    /// The pages that hold any of the bytes `ranges` (sorted or not), merged into runs of
    /// adjacent pages: what a reader fetches so that every byte it uses can be checked.
    pub fn covering(&self, ranges: impl IntoIterator<Item = Range<u64>>) -> Vec<Range<u64>> {
        let mut wanted: Vec<Range<u64>> = Vec::new();
        for range in ranges {
            let first = self
                .pages
                .partition_point(|p| p.offset + p.len <= range.start);
            for page in self.pages[first..]
                .iter()
                .take_while(|p| p.offset < range.end.max(range.start + 1))
            {
                wanted.push(page.range());
            }
        }
        merge_ranges(wanted)
    }

    /// `ranges` (ascending runs of whole pages, as [`covering`](Self::covering) gives them)
    /// with every gap of at most `max_gap` bytes between two of them filled, where the gap is
    /// whole recorded pages: fewer reads, each still of whole pages that check.
    ///
    /// ```
    /// use akidb_snapshot_codec::*;
    /// use uuid::Uuid;
    ///
    /// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    /// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let docs: Vec<_> = (0..1_000u128)
    ///     .map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![i as f32; 64]))
    ///     .collect();
    /// let (_, summary) = encode_parquet(&docs, &header, &ParquetConfig::default())?;
    /// let layout = summary.layout.expect("a written file has one");
    /// let [a, b, c] = [2, 4, 9].map(|i| layout.pages()[i].range());
    /// let gap = b.start - a.end;
    ///
    /// // The gap between the first two is filled; the third is too far.
    /// let reads = layout.coalesce(vec![a.clone(), b.clone(), c.clone()], gap);
    /// assert_eq!(reads, [a.start..b.end, c.clone()]);
    /// assert_eq!(layout.coalesce(vec![a.clone(), b.clone()], gap - 1), [a, b]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn coalesce(&self, ranges: Vec<Range<u64>>, max_gap: u64) -> Vec<Range<u64>> {
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last)
                    if range.start >= last.end
                        && range.start - last.end <= max_gap
                        && self.whole_pages(last.end..range.start) =>
                {
                    last.end = range.end;
                }
                _ => merged.push(range),
            }
        }
        merged
    }

    /// Whether `bytes` are recorded pages, one after another, from its start to its end.
    fn whole_pages(&self, bytes: Range<u64>) -> bool {
        let covered = self.covering(std::iter::once(bytes.clone()));
        covered.len() == 1 && covered[0] == bytes
    }

    /// The layout as text: base64 of a version byte, the page count, then per page the gap
    /// since the previous page's end and its length (LEB128 varints) and its XXH3-64 (8 bytes,
    /// little-endian); then the tail's length (varint) and SHA-256 (32 bytes).
    pub fn to_text(&self) -> String {
        let mut out = Vec::with_capacity(self.pages.len() * 11 + 48);
        out.push(TEXT_VERSION);
        put_varint(&mut out, self.pages.len() as u64);
        let mut end = 0;
        for page in &self.pages {
            put_varint(&mut out, page.offset - end);
            put_varint(&mut out, page.len);
            out.extend(page.xxh3.to_le_bytes());
            end = page.offset + page.len;
        }
        put_varint(&mut out, self.tail_bytes);
        out.extend(self.tail_sha256.as_bytes());
        BASE64.encode(out)
    }

    /// Reads [`to_text`](Self::to_text)'s form.
    ///
    /// # Errors
    ///
    /// [`Error::DataCorruption`] for text that is not a layout.
    pub fn from_text(text: &str) -> Result<Self> {
        let bad =
            |why: &str| Error::corruption(format!("the page checksums are unreadable: {why}"));
        let bytes = BASE64.decode(text).map_err(|_| bad("not base64"))?;
        let mut input = bytes.as_slice();
        if take(&mut input, 1).map_err(bad)? != [TEXT_VERSION] {
            return Err(bad("an unknown version"));
        }
        let count = get_varint(&mut input).map_err(bad)?;
        // Every page takes at least 10 bytes, so the count cannot size more than the input.
        if count > input.len() as u64 / 10 {
            return Err(bad("more pages than bytes"));
        }
        let mut pages = Vec::with_capacity(count as usize);
        let mut end = 0u64;
        for _ in 0..count {
            let offset = end
                .checked_add(get_varint(&mut input).map_err(bad)?)
                .ok_or_else(|| bad("an offset past 2^64"))?;
            let len = get_varint(&mut input).map_err(bad)?;
            let mut hash = [0; 8];
            hash.copy_from_slice(take(&mut input, 8).map_err(bad)?);
            end = offset
                .checked_add(len)
                .ok_or_else(|| bad("a page past 2^64"))?;
            pages.push(PageChecksum {
                offset,
                len,
                xxh3: u64::from_le_bytes(hash),
            });
        }
        let tail_bytes = get_varint(&mut input).map_err(bad)?;
        let mut digest = [0; 32];
        digest.copy_from_slice(take(&mut input, 32).map_err(bad)?);
        if !input.is_empty() {
            return Err(bad("bytes after the end"));
        }
        Ok(FileLayout {
            pages,
            tail_bytes,
            tail_sha256: digest.into(),
        })
    }
}

/// Sorts `ranges` and merges those that touch or overlap.
pub(crate) fn merge_ranges(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_unstable_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(input: &mut &[u8]) -> Result<u64, &'static str> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = take(input, 1)?[0];
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err("a varint longer than 64 bits")
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], &'static str> {
    if input.len() < n {
        return Err("it ends early");
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

/// A page header longer than this is not one parquet wrote.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Walks the pages of a Parquet file as its bytes are written, however the writes split them,
/// and takes each page's checksum; then the SHA-256 of the tail. Bytes before the first page
/// (the magic) are counted, not walked.
pub(crate) struct PageWalker {
    /// The file offset of the next byte fed.
    at: u64,
    /// Where the first page starts.
    first_page: u64,
    state: Walk,
    pages: Vec<PageChecksum>,
    hasher: XxHash3_64,
    /// The bytes of a page header that a write cut short.
    header: Vec<u8>,
}

impl std::fmt::Debug for PageWalker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageWalker")
            .field("at", &self.at)
            .field("pages", &self.pages.len())
            .finish_non_exhaustive()
    }
}

enum Walk {
    /// At a page header.
    Header,
    /// Inside the body of the page that starts at `start`, with `left` bytes to go.
    Body { start: u64, left: u64 },
    /// Past the last page: hashing the tail, which starts at `start`.
    Tail { start: u64, hasher: Box<Sha256> },
}

impl PageWalker {
    /// A walker of a file whose first page starts at `first_page`.
    pub(crate) fn new(first_page: u64) -> Self {
        PageWalker {
            at: 0,
            first_page,
            state: Walk::Header,
            pages: Vec::new(),
            hasher: XxHash3_64::default(),
            header: Vec::new(),
        }
    }

    /// Walks the next bytes of the file.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        if self.at < self.first_page {
            let skip = bytes.len().min((self.first_page - self.at) as usize);
            self.at += skip as u64;
            bytes = &bytes[skip..];
        }
        while !bytes.is_empty() {
            match &mut self.state {
                Walk::Tail { hasher, .. } => {
                    hasher.update(bytes);
                    self.at += bytes.len() as u64;
                    return Ok(());
                }
                Walk::Body { start, left } => {
                    let n = bytes
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    self.hasher.write(&bytes[..n]);
                    *left -= n as u64;
                    self.at += n as u64;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        let start = *start;
                        self.end_page(start);
                    }
                }
                Walk::Header => {
                    let used = self.header_from(bytes)?;
                    bytes = &bytes[used..];
                }
            }
        }
        Ok(())
    }

    /// Reads a page header from what a cut-short write left and the start of `bytes`; returns
    /// how many of `bytes` it used. A header cut short again is kept for the next write.
    fn header_from(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let had = self.header.len();
        let parsed = if had == 0 {
            page_extent(bytes)
        } else {
            let more = bytes.len().min(MAX_HEADER_BYTES - had);
            self.header.extend_from_slice(&bytes[..more]);
            page_extent(&self.header)
        };
        match parsed {
            Ok((header_len, body)) => {
                let used = header_len - had;
                let header = if had == 0 {
                    &bytes[..header_len]
                } else {
                    &self.header[..header_len]
                };
                self.hasher.write(header);
                self.header.clear();
                self.at += used as u64;
                let start = self.at - header_len as u64;
                self.state = Walk::Body {
                    start,
                    left: body as u64,
                };
                if body == 0 {
                    self.end_page(start);
                }
                Ok(used)
            }
            Err(why) => {
                if had == 0 {
                    // A header cut by the end of the write: keep it whole for the next one.
                    self.header
                        .extend_from_slice(&bytes[..bytes.len().min(MAX_HEADER_BYTES)]);
                }
                if self.header.len() >= MAX_HEADER_BYTES {
                    return Err(format!(
                        "the page header at byte {} is unreadable ({why})",
                        self.at
                    ));
                }
                let used = self.header.len() - had;
                self.at += used as u64;
                Ok(used)
            }
        }
    }

    fn end_page(&mut self, start: u64) {
        let hasher = std::mem::take(&mut self.hasher);
        self.pages.push(PageChecksum {
            offset: start,
            len: self.at - start,
            xxh3: hasher.finish(),
        });
        self.state = Walk::Header;
    }

    /// Marks the end of the pages: what follows is the tail. Fails if a page is unfinished.
    pub(crate) fn end_pages(&mut self) -> Result<(), String> {
        match self.state {
            Walk::Header if self.header.is_empty() => {
                self.state = Walk::Tail {
                    start: self.at,
                    hasher: Box::default(),
                };
                Ok(())
            }
            Walk::Tail { .. } => Ok(()),
            _ => Err(format!("the pages end inside a page, at byte {}", self.at)),
        }
    }

    /// The pages walked so far.
    pub(crate) fn pages(&self) -> &[PageChecksum] {
        &self.pages
    }

    /// The layout of the whole file, once every byte was fed; `None` if
    /// [`end_pages`](Self::end_pages) never marked where the pages end.
    pub(crate) fn finish(self) -> Option<FileLayout> {
        let Walk::Tail { start, hasher } = self.state else {
            return None;
        };
        Some(FileLayout {
            pages: self.pages,
            tail_bytes: self.at - start,
            tail_sha256: Sha256Digest::from(<[u8; 32]>::from(hasher.finalize())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v1 data page header of a body of `body` bytes (small enough for one-byte varints).
    fn header(body: u8) -> Vec<u8> {
        let mut out = vec![0x15, 0x00, 0x15, body * 2, 0x15, body * 2];
        out.extend([0x2c, 0x15, 0x02, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00]);
        out.push(0x00);
        out
    }

    fn file(bodies: &[u8], tail: &[u8]) -> (Vec<u8>, Vec<Range<u64>>) {
        let mut out = b"PAR1".to_vec();
        let mut pages = Vec::new();
        for (i, &body) in bodies.iter().enumerate() {
            let start = out.len() as u64;
            out.extend(header(body));
            out.extend(std::iter::repeat_n(i as u8, body as usize));
            pages.push(start..out.len() as u64);
        }
        out.extend(tail);
        (out, pages)
    }

    fn walk(bytes: &[u8], data_end: usize, split: usize) -> FileLayout {
        let mut walker = PageWalker::new(4);
        for piece in bytes[..data_end].chunks(split) {
            walker.feed(piece).unwrap();
        }
        walker.end_pages().unwrap();
        for piece in bytes[data_end..].chunks(split) {
            walker.feed(piece).unwrap();
        }
        walker.finish().unwrap()
    }

    #[test]
    fn however_the_writes_cut_the_bytes_the_pages_are_found() {
        let tail = b"footer bytes PAR1";
        let (bytes, pages) = file(&[10, 0, 60, 3], tail);
        let data_end = bytes.len() - tail.len();
        let whole = walk(&bytes, data_end, bytes.len());
        let found: Vec<_> = whole.pages().iter().map(PageChecksum::range).collect();
        assert_eq!(found, pages);
        assert_eq!(whole.tail_bytes, tail.len() as u64);
        whole.verify_tail(tail).unwrap();
        for split in [1, 2, 3, 7, 16, 33] {
            assert_eq!(
                walk(&bytes, data_end, split),
                whole,
                "writes of {split} bytes"
            );
        }
        // Two adjacent pages check together; a range that cuts a page is the reader's error.
        let (a, b) = (&pages[2], &pages[3]);
        whole
            .verify_pages(a.start, &bytes[a.start as usize..b.end as usize])
            .unwrap();
        let cut = whole
            .verify_pages(a.start, &bytes[a.start as usize..b.end as usize - 1])
            .unwrap_err();
        assert_eq!(cut.kind(), crate::ErrorKind::Validation);
        let covering = whole.covering([a.start + 2..a.start + 3, b.end - 1..b.end]);
        assert_eq!(covering.len(), 1);
        assert_eq!(covering[0], a.start..b.end);
    }

    #[test]
    fn an_unfinished_page_or_an_unreadable_header_is_an_error() {
        let (bytes, _) = file(&[10], b"");
        let mut walker = PageWalker::new(4);
        walker.feed(&bytes[..bytes.len() - 1]).unwrap();
        assert!(walker.end_pages().unwrap_err().contains("inside a page"));

        let mut walker = PageWalker::new(4);
        let junk = vec![0xffu8; MAX_HEADER_BYTES + 10];
        let why = walker.feed(&junk).unwrap_err();
        assert!(why.contains("unreadable"), "{why}");
    }

    #[test]
    fn damaged_text_is_data_corruption() {
        let (bytes, _) = file(&[5, 6], b"tail");
        let layout = walk(&bytes, bytes.len() - 4, 8);
        let text = layout.to_text();
        assert_eq!(FileLayout::from_text(&text).unwrap(), layout);
        for bad in ["", "!!!", &text[..text.len() - 8], "AQ=="] {
            let err = FileLayout::from_text(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::DataCorruption, "{bad}");
        }
    }
}
