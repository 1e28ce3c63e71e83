//! Reading a few rows of a Parquet file from the pages that hold them (a partial restore):
//! which byte ranges to fetch, and the rows decoded from what was fetched, every fetched page
//! checked first against the checksums recorded when the file was written
//! ([`FileLayout`]). The offset index says where each page of each column lies and which rows
//! it holds; it is trusted only from a tail whose SHA-256 held.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{ArrayRef, FixedSizeBinaryArray, Int32Array, RecordBatch};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use uuid::Uuid;

use super::batch::DecodedRow;
use super::encrypted::check_modules;
use super::footer::{FooterParse, ParquetFooter, chunk_start};
use super::slice::FileSlice;
use crate::config::Limits;
use crate::error::{DocumentRef, Error, Result};
use crate::page_checksums::{FileLayout, merge_ranges};
use crate::pages::check_pages;
use crate::schema::columns;

impl ParquetFooter {
    /// The footer of a file of `file_len` bytes with its page index (offsets and statistics of
    /// every page), from `tail`, the file's last [`tail_bytes`](FileLayout::tail_bytes), once
    /// their SHA-256 is the one `layout` recorded: what
    /// [`pages_of_rows`](Self::pages_of_rows) needs to say which pages hold a row.
    ///
    /// # Errors
    ///
    /// [`Error::DataCorruption`] if the tail is not the one written, or holds no usable footer
    /// and page index; the footer's own errors as [`parse`](Self::parse) gives them.
    pub fn from_checked_tail(
        tail: Bytes,
        file_len: u64,
        layout: &FileLayout,
        limits: &Limits,
    ) -> Result<ParquetFooter> {
        layout.verify_tail(&tail)?;
        let FooterParse::Complete(mut footer) = Self::parse(tail.clone(), file_len, limits)? else {
            return Err(Error::corruption(
                "the recorded tail does not hold the whole footer",
            ));
        };
        let slice = FileSlice::new(layout.tail_start(file_len), tail, file_len)
            .ok_or_else(|| Error::corruption("the recorded tail is longer than the file"))?;
        footer.load_offset_index_from(&slice, true);
        if footer.info().row_groups.is_empty() || footer.vector_pages(0).is_some() {
            Ok(*footer)
        } else {
            Err(Error::corruption(
                "the file's page index is missing or inconsistent, though its tail is the one \
                 written",
            ))
        }
    }

    /// The byte ranges to fetch to decode the file's rows `rows` (ascending, not overlapping):
    /// in each column, the pages that hold any of them, and the column's dictionary page; runs
    /// of adjacent pages merged. Needs the page index
    /// ([`from_checked_tail`](Self::from_checked_tail)).
    pub fn pages_of_rows(&self, rows: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        let columns: Vec<usize> = (0..self.leaves()).collect();
        self.pages_of(rows, &columns)
    }

    /// As [`pages_of_rows`](Self::pages_of_rows), for rows found by their ids (through an id
    /// index): the pages of `document_id` and `dimension` are left out, since
    /// [`decode_rows_by_id`](Self::decode_rows_by_id) knows their values.
    pub fn pages_of_rows_by_id(&self, rows: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        match self.by_id() {
            Some((leaves, _)) => self.pages_of(rows, &leaves),
            None => self.pages_of_rows(rows),
        }
    }

    /// Decodes the rows `ids` names (each row with its document's id, as an id index gave
    /// them; ascending rows) from `pages`, as [`pages_of_rows_by_id`](Self::pages_of_rows_by_id)
    /// named them: `document_id` and `dimension` are filled in, not read. Every range is
    /// checked against `layout` before any of it is decoded.
    ///
    /// # Errors
    ///
    /// As [`decode_pages`](Self::decode_pages); [`Error::Validation`] for rows not ascending.
    pub fn decode_rows_by_id<T: DecodedRow>(
        &self,
        ids: &[(u64, Uuid)],
        pages: Vec<(u64, Bytes)>,
        layout: &FileLayout,
    ) -> Result<Vec<T>> {
        if ids.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Error::validation(
                DocumentRef::NONE,
                "rows to decode by id must be ascending and distinct",
            ));
        }
        let rows: Vec<Range<u64>> = ids.iter().map(|&(row, _)| row..row + 1).collect();
        let Some((_, roots)) = self.by_id() else {
            return self.decode_pages(&rows, pages, layout);
        };
        let slice = self.checked_slice(pages, layout)?;
        let projection = ProjectionMask::roots(
            self.arrow().metadata().file_metadata().schema_descr(),
            roots,
        );
        let mut decoded = Vec::new();
        for (group, runs) in self.runs_by_group(&rows) {
            self.decode_batches(
                slice.clone(),
                group,
                &runs,
                Some(projection.clone()),
                &mut |batch, first| {
                    let whole = self.with_ids(batch, first, ids)?;
                    T::append(whole, first, &mut decoded)
                },
            )?;
        }
        Ok(decoded)
    }

    /// `batch`, rows from `first` decoded without `document_id` and `dimension`, with those
    /// columns put back: the ids from `ids` (rows ascending), the file's dimension.
    fn with_ids(&self, batch: RecordBatch, first: u64, ids: &[(u64, Uuid)]) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let at = ids.partition_point(|&(row, _)| row < first);
        let known = ids.get(at..at + rows).filter(|known| {
            (known.iter().zip(first..)).all(|(&(row, _), expected)| row == expected)
        });
        let Some(known) = known else {
            return Err(Error::corruption(format!(
                "rows {first}..{} were decoded, not the rows whose ids were given",
                first + rows as u64
            )));
        };
        let schema = self.arrow().schema();
        let mut read = batch.columns().iter();
        let columns = (schema.fields().iter())
            .map(|field| match field.name().as_str() {
                columns::DOCUMENT_ID => Ok(Arc::new(
                    FixedSizeBinaryArray::try_from_iter(
                        known.iter().map(|(_, id)| id.into_bytes()),
                    )
                    .map_err(|e| Error::decoding(e.to_string()))?,
                ) as ArrayRef),
                columns::DIMENSION => Ok(Arc::new(Int32Array::from_value(
                    self.info().dimension as i32,
                    rows,
                )) as ArrayRef),
                _ => read
                    .next()
                    .cloned()
                    .ok_or_else(|| Error::decoding("a decoded batch lacks a column")),
            })
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| {
            Error::decoding(format!(
                "the rows decoded by id do not fit the file's schema: {e}"
            ))
        })
    }

    /// The leaf columns and the root columns to read of rows found by id, if the file has
    /// `document_id` as 16-byte values and `dimension` as 32-bit integers (as this codec writes
    /// them): all but those two.
    fn by_id(&self) -> Option<(Vec<usize>, Vec<usize>)> {
        let schema = self.arrow().schema();
        let known = |name: &str, ty: &DataType| {
            schema
                .field_with_name(name)
                .is_ok_and(|f| f.data_type() == ty)
        };
        if !known(columns::DOCUMENT_ID, &DataType::FixedSizeBinary(16))
            || !known(columns::DIMENSION, &DataType::Int32)
        {
            return None;
        }
        let descr = self.arrow().metadata().file_metadata().schema_descr();
        let skipped = |root: &str| root == columns::DOCUMENT_ID || root == columns::DIMENSION;
        let leaves = (0..descr.num_columns())
            .filter(|&c| !skipped(&descr.column(c).path().parts()[0]))
            .collect();
        let roots = (0..descr.root_schema().get_fields().len())
            .filter(|&r| !skipped(descr.root_schema().get_fields()[r].name()))
            .collect();
        Some((leaves, roots))
    }

    /// The number of leaf columns.
    fn leaves(&self) -> usize {
        self.arrow()
            .metadata()
            .file_metadata()
            .schema_descr()
            .num_columns()
    }

    /// The byte ranges of the pages of `columns` (leaves) that hold `rows`.
    fn pages_of(&self, rows: &[Range<u64>], columns: &[usize]) -> Result<Vec<Range<u64>>> {
        let metadata = self.arrow().metadata();
        let mut ranges = Vec::new();
        if metadata.page_index().is_none() {
            return Err(no_index());
        }
        for (group, runs) in self.runs_by_group(rows) {
            let columns = columns.iter().copied();
            let pages = page_ranges(metadata, group, columns, &runs).ok_or_else(|| {
                Error::corruption(format!(
                    "the page index of row group {group} names pages that cannot be: no bytes, \
                     before their dictionary, or past the end of the file"
                ))
            })?;
            ranges.extend(pages);
        }
        Ok(merge_ranges(ranges))
    }

    /// Decodes the file's rows `rows` (ascending, not overlapping) from `pages`, byte ranges
    /// of the file each with its offset, as [`pages_of_rows`](Self::pages_of_rows) named them.
    /// Every range is checked against `layout` before any of it is decoded.
    ///
    /// # Errors
    ///
    /// [`Error::DataCorruption`] for a page whose checksum differs: never a wrong row.
    pub fn decode_pages<T: DecodedRow>(
        &self,
        rows: &[Range<u64>],
        pages: Vec<(u64, Bytes)>,
        layout: &FileLayout,
    ) -> Result<Vec<T>> {
        let slice = self.checked_slice(pages, layout)?;
        let mut decoded = Vec::new();
        for (group, runs) in self.runs_by_group(rows) {
            decoded.extend(self.decode_runs::<T>(slice.clone(), group, &runs)?);
        }
        Ok(decoded)
    }

    /// `pages` as a slice of the file, once each checks against `layout`.
    fn checked_slice(&self, pages: Vec<(u64, Bytes)>, layout: &FileLayout) -> Result<FileSlice> {
        for (offset, bytes) in &pages {
            layout.verify_pages(*offset, bytes)?;
        }
        let file_len = self.info().file_bytes;
        let slice = FileSlice::pieces(pages, file_len).ok_or_else(|| {
            Error::validation(
                DocumentRef::NONE,
                format!("the pages given overlap or lie beyond the file's {file_len} bytes"),
            )
        })?;
        if self.vector_pages(0).is_none() && !self.info().row_groups.is_empty() {
            return Err(no_index());
        }
        Ok(slice)
    }

    /// The rows that may have been inserted within `since..=until` (milliseconds since the
    /// epoch, either end open), by the `inserted_at` statistics of each page: every such row,
    /// and the others of the pages they share, for the caller to filter exactly once decoded.
    /// A page without statistics is kept. Needs the page index.
    pub fn rows_inserted_within(
        &self,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<Vec<Range<u64>>> {
        let metadata = self.arrow().metadata();
        let index = metadata.page_index().ok_or_else(no_index)?;
        let column = (self.leaf(columns::INSERTED_AT))
            .ok_or_else(|| Error::decoding("the file has no inserted_at column"))?;
        let mut rows = Vec::new();
        let mut group_first = 0u64;
        for (group, info) in self.info().row_groups.iter().enumerate() {
            let pages = index
                .offset_index(group, column)
                .ok_or_else(no_index)?
                .page_locations();
            let bounds = index.column_index(group, column);
            for (page, location) in pages.iter().enumerate() {
                let (min, max) = match bounds {
                    Some(ColumnIndexMetaData::INT64(index)) => (
                        index.min_value(page).copied(),
                        index.max_value(page).copied(),
                    ),
                    _ => (None, None),
                };
                let after_until = until.zip(min).is_some_and(|(u, min)| min > u);
                let before_since = since.zip(max).is_some_and(|(s, max)| max < s);
                if after_until || before_since {
                    continue;
                }
                let first = location.first_row_index as u64;
                let end = pages
                    .get(page + 1)
                    .map_or(info.rows, |next| next.first_row_index as u64);
                rows.push(group_first + first..group_first + end);
            }
            group_first += info.rows;
        }
        Ok(merge_ranges(rows))
    }

    /// The leaf column named `name`.
    fn leaf(&self, name: &str) -> Option<usize> {
        let descr = self.arrow().metadata().file_metadata().schema_descr();
        (0..descr.num_columns()).find(|&c| descr.column(c).path().parts()[0] == name)
    }

    /// `rows` (file rows, ascending) cut by row group: each group with its runs, counted
    /// within it.
    fn runs_by_group(&self, rows: &[Range<u64>]) -> Vec<(usize, Vec<Range<usize>>)> {
        let mut by_group: Vec<(usize, Vec<Range<usize>>)> = Vec::new();
        for run in rows.iter().filter(|r| !r.is_empty()) {
            for (group, local) in self.pieces(run.clone()) {
                match by_group.last_mut() {
                    Some((g, runs)) if *g == group => match runs.last_mut() {
                        Some(last) if last.end == local.start => last.end = local.end,
                        _ => runs.push(local),
                    },
                    _ => by_group.push((group, vec![local])),
                }
            }
        }
        by_group
    }
}

fn no_index() -> Error {
    Error::validation(
        DocumentRef::NONE,
        "the file's page index is not loaded: open the footer with from_checked_tail",
    )
}

/// The byte ranges, in the file of `metadata`, of the pages of `columns` in row group `group`
/// that hold any of `runs` (rows counted within the group, ascending), with each column's
/// dictionary page; `None` without an offset index, or with one that names a page of no bytes,
/// before its chunk's dictionary page or past the end of the file (a hostile writer's own
/// checksums pass, so the index is checked here too).
pub(crate) fn page_ranges(
    metadata: &ParquetMetaData,
    group: usize,
    columns: impl IntoIterator<Item = usize>,
    runs: &[Range<usize>],
) -> Option<Vec<Range<u64>>> {
    let index = metadata.page_index()?;
    let group_rows = u64::try_from(metadata.row_group(group).num_rows()).ok()?;
    let mut ranges = Vec::new();
    for column in columns {
        let pages = index.offset_index(group, column)?.page_locations();
        let chunk = metadata.row_group(group).column(column);
        let first = u64::try_from(pages.first()?.offset).ok()?;
        if let Some(dictionary) = chunk.dictionary_page_offset() {
            let dictionary = u64::try_from(dictionary).ok()?;
            (dictionary < first).then_some(())?;
            ranges.push(dictionary..first);
        }
        let mut run = 0;
        for (page, location) in pages.iter().enumerate() {
            let first_row = u64::try_from(location.first_row_index).ok()?;
            let end_row = match pages.get(page + 1) {
                Some(next) => u64::try_from(next.first_row_index).ok()?,
                None => group_rows,
            };
            while run < runs.len() && (runs[run].end as u64) <= first_row {
                run += 1;
            }
            if runs.get(run).is_some_and(|r| (r.start as u64) < end_row) {
                let start = u64::try_from(location.offset).ok()?;
                let len = u64::try_from(location.compressed_page_size).ok()?;
                (len > 0).then_some(())?;
                ranges.push(start..start.checked_add(len)?);
            }
        }
    }
    Some(ranges)
}

/// The selection of rows `runs` (ascending, counted within the group) of a group of
/// `group_rows`.
pub(crate) fn selection(runs: &[Range<usize>], group_rows: usize) -> RowSelection {
    let mut selectors = Vec::with_capacity(runs.len() * 2 + 1);
    let mut at = 0;
    for run in runs {
        selectors.push(RowSelector::skip(run.start - at));
        selectors.push(RowSelector::select(run.len()));
        at = run.end;
    }
    selectors.push(RowSelector::skip(group_rows.saturating_sub(at)));
    RowSelection::from(selectors)
}

/// Checks the page headers of row group `group` of the file of `metadata` that `reader`
/// holds, before parquet sizes buffers by them ([`pages`](crate::pages)): whole column chunks,
/// or the pages a partial read fetched (whole pages, which follow their chunk's dictionary
/// page if it has one). No page may be larger uncompressed than `max_page_bytes`. The footer
/// checks put each column chunk inside the file. The pages of an `encrypted` file are AES-GCM
/// modules, whose lengths are checked instead ([`check_modules`]).
pub(crate) fn check_held_pages(
    metadata: &ParquetMetaData,
    reader: &FileSlice,
    group: usize,
    max_page_bytes: u64,
    encrypted: bool,
) -> Result<()> {
    for column in metadata.row_group(group).columns() {
        let path = column.column_path().string();
        let bad =
            |why: String| Error::corruption(format!("row group {group}, column {path}: {why}"));
        let start = chunk_start(column) as u64;
        let chunk = start..start.saturating_add(column.compressed_size() as u64);
        for (offset, bytes) in reader.held_within(chunk) {
            if encrypted {
                check_modules(&bytes).map_err(|why| bad(format!("its pages {why}")))?;
                continue;
            }
            let after_dictionary = offset > start && column.dictionary_page_offset().is_some();
            check_pages(&bytes, max_page_bytes, after_dictionary).map_err(bad)?;
        }
    }
    Ok(())
}
