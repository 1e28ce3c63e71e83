//! One row group's vector column encoded on two threads.
//!
//! Row groups are the unit of parallel encoding, so a snapshot of a single row group (10,000
//! vectors or fewer at the default size) would use one core. Its vector column, nearly all of
//! the work, is therefore encoded in two halves by two column writers whose pages are captured,
//! and spliced into one column chunk: the pages end to end, counts and sizes summed, the offset
//! index concatenated with the second half's offsets and rows shifted. The vector column has no
//! dictionary, statistics or bloom filter (`writer_properties` sees to it), so there is nothing
//! else to merge; [`splice`] refuses a chunk that has any, rather than write a wrong one.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use parquet::column::page_store::{PageKey, PageStore, PageStoreArgs, PageStoreFactory};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};

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
) -> Result<(Bytes, ColumnCloseResult)> {
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
    let mut bytes = BytesMut::with_capacity(a_len + b_len);
    for page in a_pages.iter().chain(&b_pages) {
        bytes.extend_from_slice(page);
    }

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
        bytes.freeze(),
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
