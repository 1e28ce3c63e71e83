//! One row group's vector column encoded on two threads.
//!
//! Row groups are the unit of parallel encoding, so a snapshot of a single row group (10,000
//! vectors or fewer at the default size) would use one core. Its vector column, nearly all of
//! the work, is therefore encoded in two halves by two column writers whose pages are captured,
//! and spliced into one column chunk: the pages end to end, counts and sizes summed, the offset
//! index concatenated with the second half's offsets and rows shifted. The vector column has no
//! dictionary, statistics or bloom filter (`writer_properties` sees to it), so there is nothing
//! else to merge; [`splice`] refuses a chunk that has any, rather than write a wrong one.
//!
//! The spliced chunk stays the pages as captured ([`Pages`]), read in place as it is appended:
//! joining them first would copy the whole vector column into fresh memory once more.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes};
use parquet::column::page_store::{PageKey, PageStore, PageStoreArgs, PageStoreFactory};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::reader::{ChunkReader, Length};

/// The pages of one column chunk, in the order its writer produced them: file order, for a
/// column without a dictionary page.
#[derive(Debug, Default, Clone)]
pub(super) struct CapturedPages(Arc<Mutex<Vec<Bytes>>>);

impl CapturedPages {
    fn pages(&self) -> Vec<Bytes> {
        self.0.lock().map(|pages| pages.clone()).unwrap_or_default()
    }
}

impl PageStore for CapturedPages {
    fn put(&mut self, value: Bytes) -> Result<PageKey> {
        let mut pages = self
            .0
            .lock()
            .map_err(|_| ParquetError::General("a page capture was poisoned".into()))?;
        pages.push(value);
        Ok(PageKey::new((pages.len() - 1) as u64))
    }

    fn take(&mut self, key: PageKey) -> Result<Bytes> {
        let pages = self
            .0
            .lock()
            .map_err(|_| ParquetError::General("a page capture was poisoned".into()))?;
        pages
            .get(key.get() as usize)
            .cloned()
            .ok_or_else(|| ParquetError::General("no captured page under that key".into()))
    }
}

/// Gives each column writer a [`CapturedPages`], and keeps a handle to it by column.
#[derive(Debug, Default)]
pub(super) struct PageCapture(Mutex<Vec<(usize, CapturedPages)>>);

impl PageCapture {
    /// The pages written to column `column` (a leaf index) by the writers this capture served.
    pub(super) fn column(&self, column: usize) -> Option<CapturedPages> {
        let stores = self.0.lock().ok()?;
        stores
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, pages)| pages.clone())
    }
}

impl PageStoreFactory for PageCapture {
    fn create(&self, args: &PageStoreArgs<'_>) -> Result<Box<dyn PageStore>> {
        let pages = CapturedPages::default();
        self.0
            .lock()
            .map_err(|_| ParquetError::General("a page capture was poisoned".into()))?
            .push((args.column_index(), pages.clone()));
        Ok(Box::new(pages))
    }
}

/// One column chunk from two halves encoded apart: its bytes, and its metadata as if one writer
/// had written them, offsets counted from the chunk's start.
pub(super) fn splice(
    first: (ColumnCloseResult, CapturedPages),
    second: (ColumnCloseResult, CapturedPages),
) -> Result<(Pages, ColumnCloseResult)> {
    let ((a, a_pages), (b, b_pages)) = (first, second);
    let mergeable = |c: &ColumnCloseResult| {
        c.metadata.dictionary_page_offset().is_none()
            && c.metadata.statistics().is_none()
            && c.column_index.is_none()
            && c.bloom_filter.is_none()
            && c.metadata.data_page_offset() == 0
    };
    if !mergeable(&a) || !mergeable(&b) {
        return Err(ParquetError::General(
            "only a column chunk without dictionary, statistics or bloom filter can be spliced"
                .into(),
        ));
    }
    let (a_pages, b_pages) = (a_pages.pages(), b_pages.pages());
    let length = |pages: &[Bytes]| pages.iter().map(Bytes::len).sum::<usize>();
    let (a_len, b_len) = (length(&a_pages), length(&b_pages));
    if a_len as i64 != a.metadata.compressed_size() || b_len as i64 != b.metadata.compressed_size()
    {
        return Err(ParquetError::General(
            "the captured pages do not add up to the column chunks written".into(),
        ));
    }
    let pages = Pages(a_pages.into_iter().chain(b_pages).collect());

    let offset_index = match (&a.offset_index, &b.offset_index) {
        (Some(ai), Some(bi)) => {
            let shifted = bi.page_locations().iter().map(|p| PageLocation {
                offset: p.offset + a_len as i64,
                compressed_page_size: p.compressed_page_size,
                first_row_index: p.first_row_index + a.rows_written as i64,
            });
            Some(OffsetIndexMetaData {
                page_locations: ai.page_locations().iter().cloned().chain(shifted).collect(),
                unencoded_byte_array_data_bytes: None,
            })
        }
        (None, None) => None,
        _ => {
            return Err(ParquetError::General(
                "one half has an offset index and the other not".into(),
            ));
        }
    };
    let metadata = a
        .metadata
        .clone()
        .into_builder()
        .set_num_values(a.metadata.num_values() + b.metadata.num_values())
        .set_total_compressed_size(a.metadata.compressed_size() + b.metadata.compressed_size())
        .set_total_uncompressed_size(
            a.metadata.uncompressed_size() + b.metadata.uncompressed_size(),
        )
        .build()?;
    Ok((
        pages,
        ColumnCloseResult {
            bytes_written: a.bytes_written + b.bytes_written,
            rows_written: a.rows_written + b.rows_written,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index,
        },
    ))
}

/// A column chunk as the pages it was written in, end to end.
#[derive(Debug)]
pub(super) struct Pages(Vec<Bytes>);

impl Pages {
    /// The pages from byte `start` of the chunk on.
    fn from(&self, start: u64) -> VecDeque<Bytes> {
        let mut skip = start as usize;
        let mut rest = VecDeque::with_capacity(self.0.len());
        for page in &self.0 {
            if skip >= page.len() {
                skip -= page.len();
            } else {
                rest.push_back(page.slice(skip..));
                skip = 0;
            }
        }
        rest
    }
}

impl Length for Pages {
    fn len(&self) -> u64 {
        self.0.iter().map(|p| p.len() as u64).sum()
    }
}

impl ChunkReader for Pages {
    type T = PagesReader;

    fn get_read(&self, start: u64) -> Result<PagesReader> {
        Ok(PagesReader(self.from(start)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        let mut bytes = vec![0; length];
        self.get_read(start)?.read_exact(&mut bytes).map_err(|_| {
            ParquetError::EOF(format!(
                "{length} bytes from {start} run past the chunk's end"
            ))
        })?;
        Ok(bytes.into())
    }
}

/// Reads [`Pages`] front to back.
#[derive(Debug)]
pub(super) struct PagesReader(VecDeque<Bytes>);

impl Read for PagesReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(page) = self.0.front_mut() else {
            return Ok(0);
        };
        let n = page.len().min(buf.len());
        buf[..n].copy_from_slice(&page[..n]);
        page.advance(n);
        if page.is_empty() {
            self.0.pop_front();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_as_one_chunk_from_any_offset() {
        let pages = Pages([&b"abc"[..], b"de", b"fgh"].map(Bytes::from_static).into());
        assert_eq!(pages.len(), 8);
        let mut read = String::new();
        pages
            .get_read(2)
            .unwrap()
            .read_to_string(&mut read)
            .unwrap();
        assert_eq!(read, "cdefgh");
        assert_eq!(pages.get_bytes(1, 5).unwrap(), "bcdef");
        assert_eq!(pages.get_bytes(3, 5).unwrap(), "defgh");
        assert!(pages.get_bytes(6, 5).is_err());
    }
}
