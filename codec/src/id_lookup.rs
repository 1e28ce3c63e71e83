//! Finding a few ids in a data part's id index by ranged reads (a partial restore): the
//! index's tail first, checked against the SHA-256 its manifest entry records, then, per id,
//! the page of ids whose statistics span it and the page of rows beside it, each checked
//! against the page checksums the tail records. The tail also carries the part's own page
//! checksums, which the reads of the part's pages then need.

use std::ops::Range;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelectionPolicy};
use parquet::bloom_filter::Sbbf;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use uuid::Uuid;

use crate::checksum::Sha256Digest;
use crate::config::Limits;
use crate::decode::{
    FileSlice, check_held_pages, checked_tail_metadata, guard, page_ranges, parse_key, selection,
};
use crate::error::{DocumentRef, Error, Result};
use crate::id_file::{IdFileFooter, check_id_file};
use crate::id_index::{KIND, schema};
use crate::manifest::FileTail;
use crate::metadata::SnapshotHeader;
use crate::page_checksums::{FileLayout, merge_ranges};
use crate::schema::footer_keys;

/// The leaf columns a lookup reads: `document_id` and `row` (not the content hash).
const ID_AND_ROW: [usize; 2] = [0, 1];

/// A data part's id index opened from its tail, to find a few ids by ranged reads.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let docs: Vec<_> = (0..5_000u128)
///     .map(|i| VectorDocument::new(Uuid::from_u128(i * 7 + 1), vec![1.0; 4]))
///     .collect();
/// let mut writer = ParquetWriter::try_new(Vec::new(), header, ParquetConfig::default())?
///     .with_id_index();
/// writer.write(&docs)?;
/// let index = writer.take_id_index().expect("asked for");
/// let (_part, part_summary) = writer.finish()?;
/// let (file, summary) = index.finish(&header, &part_summary)?;
/// let entry = PartEntry::new("parts/c/p.parquet", PartKind::Data, &part_summary)
///     .with_index("parts/c/p.ids.parquet", &summary);
/// let tail = entry.index.as_ref().and_then(|i| i.tail).expect("recorded");
///
/// // The tail, as its manifest entry describes it...
/// let tail_bytes = bytes::Bytes::copy_from_slice(&file[file.len() - tail.bytes as usize..]);
/// let lookup = IdLookup::open(tail_bytes, file.len() as u64, &tail, &Limits::default())?;
/// assert_eq!(lookup.part_layout(), part_summary.layout.as_ref());
///
/// // ...then the pages it names for the ids wanted.
/// let wanted = [Uuid::from_u128(7 * 4_321 + 1), Uuid::from_u128(9)];
/// let ranges = lookup.pages_for(&wanted);
/// let fetched: Vec<_> = ranges
///     .iter()
///     .map(|r| (r.start, bytes::Bytes::copy_from_slice(&file[r.start as usize..r.end as usize])))
///     .collect();
/// assert!(fetched.iter().map(|(_, b)| b.len()).sum::<usize>() < file.len() / 4);
/// let found = lookup.find(&wanted, fetched)?;
/// assert_eq!(found, [(wanted[0], 4_321)], "the second id is not in the part");
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IdLookup {
    footer: IdFileFooter,
    /// The index's own pages, and its tail.
    layout: FileLayout,
    /// The part's pages, where the index records them.
    part_layout: Option<FileLayout>,
    part_checksum: Sha256Digest,
    file_len: u64,
    /// Each row group's Bloom filter of its ids, where its tail holds one (indexes from before
    /// filters have none, and every id is looked for in their pages).
    filters: Vec<Option<Sbbf>>,
}

impl IdLookup {
    /// Opens the id index of `file_len` bytes from `tail`, its last bytes, once they are the
    /// `expected` tail its manifest entry records.
    ///
    /// # Errors
    ///
    /// [`Error::DataCorruption`] if the tail differs or is damaged; [`Error::Decoding`] if it
    /// is not an id index's, or one without page checksums (written before partial reads:
    /// read the whole index, or the whole part, instead).
    pub fn open(tail: Bytes, file_len: u64, expected: &FileTail, limits: &Limits) -> Result<Self> {
        guard(|| {
            let own = FileLayout::of_pages(Vec::new()).with_tail(expected.bytes, expected.sha256);
            own.verify_tail(&tail)?;
            let metadata = checked_tail_metadata(&tail, file_len, limits)?;
            let footer = check_id_file(metadata, KIND, &schema())?;
            let part_checksum = parse_key(
                footer_keys::PART_SHA256,
                footer.key(footer_keys::PART_SHA256)?,
            )?;
            let layout = FileLayout::from_text(footer.key(footer_keys::PAGES)?)?
                .with_tail(expected.bytes, expected.sha256);
            let part_layout = match footer.keys.get(footer_keys::PART_LAYOUT) {
                Some(text) => Some(FileLayout::from_text(text)?),
                None => None,
            };
            let filters = id_filters(&footer, tail, file_len, expected.bytes)?;
            Ok(IdLookup {
                footer,
                layout,
                part_layout,
                part_checksum,
                file_len,
                filters,
            })
        })
    }

    /// Collection, snapshot and creation time of the snapshot that wrote the index.
    pub fn header(&self) -> &SnapshotHeader {
        &self.footer.header
    }

    /// The SHA-256 of the part the index describes.
    pub fn part_checksum(&self) -> &Sha256Digest {
        &self.part_checksum
    }

    /// The part's pages and their checksums, and its tail's, where the index records them
    /// (indexes from before partial restores do not).
    pub fn part_layout(&self) -> Option<&FileLayout> {
        self.part_layout.as_ref()
    }

    /// The index's own pages and their checksums, with its tail: what
    /// [`coalesce`](FileLayout::coalesce) needs to join the ranges of
    /// [`pages_for`](Self::pages_for).
    pub fn layout(&self) -> &FileLayout {
        &self.layout
    }

    /// The documents of the part, as the index counts them.
    pub fn len(&self) -> u64 {
        self.footer.count
    }

    /// Whether the part holds no document (a valid index never says so).
    pub fn is_empty(&self) -> bool {
        self.footer.count == 0
    }

    /// The byte ranges of the index to fetch to find `ids` (in any order): per id, the page of
    /// ids whose statistics span it and the page of rows beside it, adjacent pages merged.
    pub fn pages_for(&self, ids: &[Uuid]) -> Vec<Range<u64>> {
        let metadata = self.footer.arrow.metadata();
        let ranges = (self.runs_for(ids).into_iter())
            .filter_map(|(group, runs)| page_ranges(metadata, group, ID_AND_ROW, &runs))
            .flatten();
        self.layout.covering(ranges)
    }

    /// Finds `ids` (in any order) in `pages`, the byte ranges [`pages_for`](Self::pages_for)
    /// named, each with its offset: the ids the part holds, each with its row, sorted by id.
    ///
    /// # Errors
    ///
    /// [`Error::DataCorruption`] for a page whose checksum differs, or entries out of order or
    /// beyond the part's rows.
    pub fn find(&self, ids: &[Uuid], pages: Vec<(u64, Bytes)>) -> Result<Vec<(Uuid, u64)>> {
        for (offset, bytes) in &pages {
            self.layout.verify_pages(*offset, bytes)?;
        }
        let slice = FileSlice::pieces(pages, self.file_len).ok_or_else(|| {
            Error::validation(
                DocumentRef::NONE,
                "the pages given overlap or lie beyond the id index",
            )
        })?;
        let mut wanted = ids.to_vec();
        wanted.sort_unstable();
        guard(|| {
            let mut found = Vec::new();
            for (group, runs) in self.runs_for(&wanted) {
                self.find_in_group(&wanted, &slice, group, &runs, &mut found)?;
            }
            Ok(found)
        })
    }

    fn find_in_group(
        &self,
        wanted: &[Uuid],
        slice: &FileSlice,
        group: usize,
        runs: &[Range<usize>],
        found: &mut Vec<(Uuid, u64)>,
    ) -> Result<()> {
        let metadata = self.footer.arrow.metadata();
        let unreadable = |e: parquet::errors::ParquetError| {
            Error::corruption_from(
                format!("row group {group} of the id index is unreadable"),
                e,
            )
        };
        let rg = metadata.row_group(group);
        check_held_pages(
            metadata,
            slice,
            group,
            rg.total_byte_size().max(0) as u64,
            false,
        )?;
        let group_rows = rg.num_rows().max(0) as usize;
        let projection =
            ProjectionMask::leaves(metadata.file_metadata().schema_descr(), ID_AND_ROW);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
            slice.clone(),
            self.footer.arrow.clone(),
        )
        .with_row_groups(vec![group])
        .with_projection(projection)
        .with_row_selection(selection(runs, group_rows))
        .with_row_selection_policy(RowSelectionPolicy::Selectors)
        .build()
        .map_err(unreadable)?;
        let mut previous: Option<Uuid> = None;
        for batch in reader {
            let batch =
                batch.map_err(|e| Error::corruption_from("the id index is unreadable", e))?;
            let (Some(ids), Some(rows)) = (
                batch.column(0).as_fixed_size_binary_opt(),
                batch.column(1).as_primitive_opt::<Int64Type>(),
            ) else {
                return Err(Error::decoding("the id index's columns are not id and row"));
            };
            if ids.value_length() != 16 || ids.null_count() + rows.null_count() > 0 {
                return Err(Error::corruption("the id index holds a null or a short id"));
            }
            for i in 0..batch.num_rows() {
                let id =
                    Uuid::from_slice(ids.value(i)).map_err(|e| Error::corruption(e.to_string()))?;
                if previous.is_some_and(|p| p >= id) {
                    return Err(Error::corruption(format!(
                        "the id index's ids are not in ascending order at {id}"
                    )));
                }
                previous = Some(id);
                if wanted.binary_search(&id).is_ok() {
                    let row = u64::try_from(rows.value(i))
                        .ok()
                        .filter(|&r| r < self.footer.count)
                        .ok_or_else(|| {
                            Error::corruption(format!(
                                "the id index gives document {id} row {}, which is not one of \
                                 its part's {} rows",
                                rows.value(i),
                                self.footer.count
                            ))
                        })?;
                    found.push((id, row));
                }
            }
        }
        Ok(())
    }

    /// The rows of the index (by row group, counted within it) whose pages may hold `ids`
    /// (sorted): the pages of `document_id` whose min/max span one of them.
    fn runs_for(&self, ids: &[Uuid]) -> Vec<(usize, Vec<Range<usize>>)> {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        let metadata = self.footer.arrow.metadata();
        let Some(index) = metadata.page_index() else {
            return Vec::new();
        };
        let mut by_group = Vec::new();
        for (group, rg) in metadata.row_groups().iter().enumerate() {
            let Some(offsets) = index.offset_index(group, 0) else {
                continue;
            };
            let pages = offsets.page_locations();
            let bounds = match index.column_index(group, 0) {
                Some(ColumnIndexMetaData::FIXED_LEN_BYTE_ARRAY(bounds)) => Some(bounds),
                _ => None,
            };
            let filter = self.filters.get(group).and_then(Option::as_ref);
            let maybe_held: Vec<Uuid>;
            let sorted = match filter {
                Some(filter) => {
                    maybe_held = (sorted.iter())
                        .filter(|id| filter.check(id.as_bytes().as_slice()))
                        .copied()
                        .collect();
                    &maybe_held
                }
                None => &sorted,
            };
            let mut runs = Vec::new();
            for (page, location) in pages.iter().enumerate() {
                let (min, max) = bounds.map_or((None, None), |b| {
                    let id = |v: Option<&[u8]>| v.and_then(|v| Uuid::from_slice(v).ok());
                    (id(b.min_value(page)), id(b.max_value(page)))
                });
                let from = min.map_or(0, |min| sorted.partition_point(|id| *id < min));
                let spans = sorted
                    .get(from)
                    .is_some_and(|id| max.is_none_or(|max| *id <= max));
                if spans {
                    let first = location.first_row_index.max(0) as usize;
                    let end = pages
                        .get(page + 1)
                        .map_or(rg.num_rows().max(0) as usize, |n| {
                            n.first_row_index.max(0) as usize
                        });
                    runs.push(first as u64..end as u64);
                }
            }
            let runs: Vec<Range<usize>> = merge_ranges(runs)
                .into_iter()
                .map(|r| r.start as usize..r.end as usize)
                .collect();
            if !runs.is_empty() {
                by_group.push((group, runs));
            }
        }
        by_group
    }
}

/// The Bloom filter of each row group's ids, from the index's `tail` (its last `tail_bytes` of
/// `file_len`), checked with it: a filter the footer places elsewhere is not used.
fn id_filters(
    footer: &IdFileFooter,
    tail: Bytes,
    file_len: u64,
    tail_bytes: u64,
) -> Result<Vec<Option<Sbbf>>> {
    let start = file_len.saturating_sub(tail_bytes);
    let Some(slice) = FileSlice::new(start, tail, file_len) else {
        return Ok(Vec::new());
    };
    let metadata = footer.arrow.metadata();
    let mut filters = Vec::with_capacity(metadata.num_row_groups());
    for rg in metadata.row_groups() {
        let ids = rg.column(0);
        let within = ids
            .bloom_filter_offset()
            .and_then(|offset| u64::try_from(offset).ok())
            .is_some_and(|offset| offset >= start);
        let filter = match within {
            true => Sbbf::read_from_column_chunk(ids, &slice).map_err(|e| {
                Error::corruption_from("the id index's Bloom filter is unreadable", e)
            })?,
            false => None,
        };
        // parquet indexes a filter's blocks without a bound, and a header can say it has none:
        // one check here, under `guard`, turns that into DataCorruption before any lookup.
        if let Some(filter) = &filter {
            filter.check(Uuid::nil().as_bytes().as_slice());
        }
        filters.push(filter);
    }
    Ok(filters)
}
