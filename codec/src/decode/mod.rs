//! Reading Parquet snapshots: whole ([`decode_parquet`]), one row group at a time
//! ([`ParquetReader`]), from fetched byte ranges ([`ParquetFooter`]), or the footer alone
//! ([`inspect_parquet`]).

mod batch;
mod encrypted;
mod file_metadata;
mod footer;
mod select;
mod slice;

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow_array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelectionPolicy};

pub use batch::DecodedRow;
pub(crate) use batch::append_documents;
pub use footer::{
    FooterParse, ParquetFooter, RowGroupInfo, SnapshotInfo, inspect_parquet,
    inspect_parquet_with_keys,
};
pub(crate) use footer::{checked_metadata, checked_tail_metadata, parse_key, reader_schema};

use crate::checksum::Sha256Digest;
use crate::config::{Limits, arrow_batch_rows};
use crate::encryption::KeyRing;
use crate::error::{Error, Result};
use crate::model::VectorDocument;
use crate::parallel::{map_ordered, workers};
use crate::record_batch::with_fixed_ids;
pub(crate) use select::{check_held_pages, page_ranges, selection};
pub(crate) use slice::FileSlice;

/// Decodes a whole Parquet snapshot. Row groups are decoded on all cores (feature `parallel`).
///
/// Any byte string gives `Ok` or a typed error, never a panic: damaged bytes are
/// [`Error::DataCorruption`], a Parquet file that is not a snapshot is [`Error::Decoding`].
/// Parquet carries no checksum of its own, so a flipped bit inside a float decodes; where the
/// file's SHA-256 is known (a metadata file records it), use [`decode_parquet_verified`].
///
/// ```
/// use akidb_snapshot_codec::{decode_parquet, ErrorKind, Limits};
///
/// let err = decode_parquet(bytes::Bytes::from_static(b"PAR1 not really PAR1"), &Limits::default())
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::DataCorruption);
/// ```
pub fn decode_parquet(file: Bytes, limits: &Limits) -> Result<Vec<VectorDocument>> {
    decode_parquet_with_keys(file, limits, &KeyRing::default())
}

/// As [`decode_parquet`], for a file that may be encrypted (docs/ENCRYPTION.md) under a master
/// key of `keys`; [`Error::EncryptionKey`] names the key a file needs that `keys` lacks. Every
/// page of an encrypted file is authenticated (AES-GCM) as it is decrypted, so a damaged one
/// is [`Error::DataCorruption`], never a changed value.
pub fn decode_parquet_with_keys(
    file: Bytes,
    limits: &Limits,
    keys: &KeyRing,
) -> Result<Vec<VectorDocument>> {
    let footer = ParquetFooter::of_file(&file, limits, keys)?;
    footer.decode_whole(file, None)
}

/// Checks that `file` has the SHA-256 `expected`, then decodes it. Once the bytes are known to
/// be the ones written, the file's page index can be trusted, so a row group is also cut
/// between cores at page boundaries (a damaged index could otherwise shift rows silently).
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let docs = vec![VectorDocument::new(Uuid::from_u128(3), vec![1.0, 2.0])];
/// let (file, summary) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
/// let back = decode_parquet_verified(file.clone().into(), &summary.checksum_sha256, &Limits::default());
/// assert_eq!(back.unwrap(), docs);
///
/// let mut damaged = file;
/// damaged[10] ^= 1;
/// let err = decode_parquet_verified(damaged.into(), &summary.checksum_sha256, &Limits::default());
/// assert_eq!(err.unwrap_err().kind(), ErrorKind::DataCorruption);
/// ```
pub fn decode_parquet_verified(
    file: Bytes,
    expected: &Sha256Digest,
    limits: &Limits,
) -> Result<Vec<VectorDocument>> {
    let mut footer = match ParquetFooter::of_file(&file, limits, &KeyRing::default()) {
        Ok(footer) => footer,
        // A damaged file is reported as such, whatever part of it the damage hit.
        Err(e) => return Err(expected.verify(&file).err().unwrap_or(e)),
    };
    if footer.parts_per_group(workers(usize::MAX)) > 1 {
        footer.load_offset_index_from(&FileSlice::whole(file.clone()), false);
    }
    footer.decode_whole(file, Some(expected))
}

/// Reads a Parquet snapshot one row group at a time: memory is bounded by the largest row
/// group, whatever the size of the file.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let docs: Vec<_> = (0..25u128).map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![1.0; 4])).collect();
/// let config = ParquetConfig::default().with_row_group_size(10);
/// let (file, _) = encode_parquet(&docs, &header, &config).unwrap();
///
/// let reader = ParquetReader::try_new(file.into(), &Limits::default()).unwrap();
/// assert_eq!(reader.info().vector_count, 25);
/// let sizes: Vec<usize> = reader.map(|batch| batch.unwrap().len()).collect();
/// assert_eq!(sizes, [10, 10, 5]);
/// ```
///
/// [`ParquetReader::arrow`] reads the same rows as Arrow batches instead, with no per-document
/// copy:
///
/// ```
/// # use akidb_snapshot_codec::*;
/// # use uuid::Uuid;
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// # let docs: Vec<_> = (0..25u128).map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![1.0; 4])).collect();
/// # let (file, _) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
/// let reader = ParquetReader::arrow(file.into(), &Limits::default()).unwrap();
/// let batches: Vec<_> = reader.flat_map(Result::unwrap).collect();
/// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 25);
/// assert_eq!(batches[0].schema(), arrow_schema(4));
/// ```
#[derive(Debug)]
pub struct ParquetReader<T: DecodedRow = VectorDocument> {
    file: FileSlice,
    footer: ParquetFooter,
    next_row_group: usize,
    rows: std::marker::PhantomData<fn() -> T>,
}

impl ParquetReader {
    /// Reads and checks the footer of `file`, to read documents.
    pub fn try_new(file: Bytes, limits: &Limits) -> Result<Self> {
        Self::open(file, limits)
    }
}

impl ParquetReader<arrow_array::RecordBatch> {
    /// Reads and checks the footer of `file`, to read Arrow batches.
    pub fn arrow(file: Bytes, limits: &Limits) -> Result<Self> {
        Self::open(file, limits)
    }
}

impl<T: DecodedRow> ParquetReader<T> {
    fn open(file: Bytes, limits: &Limits) -> Result<Self> {
        let footer = ParquetFooter::of_file(&file, limits, &KeyRing::default())?;
        Ok(Self::with_footer(file, footer))
    }

    /// A reader of `file`, whose footer was already read and checked.
    pub(crate) fn with_footer(file: Bytes, footer: ParquetFooter) -> Self {
        ParquetReader {
            file: FileSlice::whole(file),
            footer,
            next_row_group: 0,
            rows: std::marker::PhantomData,
        }
    }

    /// What the footer says.
    pub fn info(&self) -> &footer::SnapshotInfo {
        self.footer.info()
    }
}

impl<T: DecodedRow> Iterator for ParquetReader<T> {
    /// One row group.
    type Item = Result<Vec<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.next_row_group;
        if index >= self.footer.info().row_groups.len() {
            return None;
        }
        let rows = self.footer.rows_of(index);
        let rows = self.footer.decode_rows(self.file.clone(), index, rows);
        // After an error the rest of the file is not trusted either.
        self.next_row_group = if rows.is_ok() { index + 1 } else { usize::MAX };
        Some(rows)
    }
}

impl ParquetFooter {
    /// Decodes row group `index` from `data`, the bytes of its
    /// [`byte_range`](RowGroupInfo::byte_range) in the file, as documents or Arrow batches.
    pub fn decode_row_group<T: DecodedRow>(&self, index: usize, data: Bytes) -> Result<Vec<T>> {
        let rows = self.group(index)?.rows as usize;
        self.decode_row_group_rows(index, 0..rows, data)
    }

    /// Decodes rows `rows` (counted within the group) of row group `index` from `data`, the
    /// bytes of the whole group as for [`decode_row_group`](Self::decode_row_group): a part
    /// from [`row_group_parts`](Self::row_group_parts), so that parts of one group are decoded
    /// on several cores. Without the offset index loaded, the rows before `rows` are decoded
    /// and dropped.
    pub fn decode_row_group_rows<T: DecodedRow>(
        &self,
        index: usize,
        rows: Range<usize>,
        data: Bytes,
    ) -> Result<Vec<T>> {
        let group = self.group(index)?;
        let (range, group_rows) = (group.byte_range.clone(), group.rows);
        if rows.start > rows.end || rows.end as u64 > group_rows {
            return Err(Error::validation(
                crate::error::DocumentRef::NONE,
                format!("rows {rows:?} were asked for, but row group {index} holds {group_rows}"),
            ));
        }
        let given = data.len() as u64;
        let slice = FileSlice::new(range.start, data, self.info().file_bytes)
            .filter(|_| given == range.end - range.start)
            .ok_or_else(|| {
                Error::validation(
                    crate::error::DocumentRef::NONE,
                    format!(
                        "row group {index} lies at bytes {range:?}, but {given} bytes were given"
                    ),
                )
            })?;
        self.decode_rows(slice, index, rows)
    }

    /// The rows of row group `index` in at most `parts` ranges that share no vector page, in
    /// order; the whole group in one range unless the offset index is loaded
    /// ([`load_offset_index`](Self::load_offset_index)), or if `index` is not a row group.
    pub fn row_group_parts(&self, index: usize, parts: usize) -> Vec<Range<usize>> {
        let Ok(group) = self.group(index) else {
            return Vec::new();
        };
        let rows = group.rows as usize;
        let mut bounds = vec![0];
        if let Some(pages) = self.vector_pages(index) {
            for k in 1..parts {
                let target = rows * k / parts;
                if let Some(&cut) = pages.iter().find(|&&first| first >= target)
                    && cut > *bounds.last().unwrap_or(&0)
                    && cut < rows
                {
                    bounds.push(cut);
                }
            }
        }
        bounds.push(rows);
        bounds.windows(2).map(|w| w[0]..w[1]).collect()
    }

    /// Into how many parts each row group is cut for `workers` threads: one when there are as
    /// many row groups as threads, more when there are fewer, so that every thread has a part.
    ///
    /// ```
    /// # use akidb_snapshot_codec::*;
    /// # use uuid::Uuid;
    /// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    /// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let docs: Vec<_> = (0..25u128).map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![1.0; 4])).collect();
    /// let (file, _) = encode_parquet(&docs, &header, &ParquetConfig::default().with_row_group_size(10)).unwrap();
    /// let FooterParse::Complete(footer) = ParquetFooter::parse(file.clone().into(), file.len() as u64, &Limits::default())
    ///     .unwrap() else { panic!("the whole file holds the footer") };
    /// assert_eq!((footer.parts_per_group(2), footer.parts_per_group(3), footer.parts_per_group(8)), (1, 1, 3));
    /// ```
    pub fn parts_per_group(&self, workers: usize) -> usize {
        workers.div_ceil(self.info().row_groups.len().max(1))
    }

    fn group(&self, index: usize) -> Result<&RowGroupInfo> {
        self.info().row_groups.get(index).ok_or_else(|| {
            Error::validation(
                crate::error::DocumentRef::NONE,
                format!(
                    "row group {index} was asked for, but the file has {}",
                    self.info().row_groups.len()
                ),
            )
        })
    }

    /// Decodes every row group of `file`, in parts on all cores. With `expected`, the SHA-256 is
    /// checked as one more part, beside the decoding rather than before it: what was decoded is
    /// returned only if the checksum holds, and decoding untrusted bytes is safe meanwhile.
    fn decode_whole<T: DecodedRow>(
        &self,
        file: Bytes,
        expected: Option<&Sha256Digest>,
    ) -> Result<Vec<T>> {
        let threads = workers(usize::MAX);
        // Smaller parts when the checksum takes a thread's time, so the others even out.
        let parts = self.parts(if expected.is_some() {
            threads * 2
        } else {
            threads
        });
        let whole = FileSlice::whole(file.clone());
        let decoded = map_ordered(parts.len() + 1, |i| match (i, expected) {
            (0, Some(digest)) => digest.verify(&file).map(|()| Vec::new()),
            (0, None) => Ok(Vec::new()),
            (i, _) => {
                let (index, rows) = parts[i - 1].clone();
                self.decode_rows(whole.clone(), index, rows)
            }
        });
        // Sized by what was decoded, never by the counts the footer declares.
        let decoded_rows = decoded
            .iter()
            .map(|part| part.as_ref().map_or(0, Vec::len))
            .sum();
        let mut documents = Vec::with_capacity(decoded_rows);
        for part in decoded {
            documents.append(&mut part?);
        }
        Ok(documents)
    }

    /// All the rows of row group `index`.
    pub(crate) fn rows_of(&self, index: usize) -> Range<usize> {
        0..self.info().row_groups[index].rows as usize
    }

    /// The work of decoding the whole file, for `workers` threads: each row group whole, or,
    /// when there are fewer row groups than threads and the offset index is loaded, cut at
    /// vector page boundaries so that no page is decompressed twice.
    fn parts(&self, workers: usize) -> Vec<(usize, Range<usize>)> {
        let parts_per_group = self.parts_per_group(workers);
        (0..self.info().row_groups.len())
            .flat_map(|index| {
                self.row_group_parts(index, parts_per_group)
                    .into_iter()
                    .map(move |rows| (index, rows))
            })
            .collect()
    }

    /// The row groups that hold file rows `rows`, each with the rows it holds of them, counted
    /// within the group.
    pub(crate) fn pieces(&self, rows: Range<u64>) -> Vec<(usize, Range<usize>)> {
        let mut first = 0u64;
        let mut pieces = Vec::new();
        for (index, group) in self.info().row_groups.iter().enumerate() {
            let end = first + group.rows;
            let (from, to) = (rows.start.max(first), rows.end.min(end));
            if from < to {
                pieces.push((index, (from - first) as usize..(to - first) as usize));
            }
            first = end;
        }
        pieces
    }

    /// Decodes rows `rows` of row group `index`.
    pub(crate) fn decode_rows<T: DecodedRow>(
        &self,
        reader: FileSlice,
        index: usize,
        rows: Range<usize>,
    ) -> Result<Vec<T>> {
        self.decode_runs(reader, index, std::slice::from_ref(&rows))
    }

    /// Decodes the rows `runs` of row group `index`: ranges counted within the group, in
    /// ascending order, none overlapping or empty.
    pub(crate) fn decode_runs<T: DecodedRow>(
        &self,
        reader: FileSlice,
        index: usize,
        runs: &[Range<usize>],
    ) -> Result<Vec<T>> {
        let mut decoded = Vec::new();
        self.decode_batches(reader, index, runs, None, &mut |batch, first| {
            T::append(batch, first, &mut decoded)
        })?;
        Ok(decoded)
    }

    /// Hands the rows `runs` of row group `index` to `sink` batch by batch, with the file's
    /// number of each batch's first row; only the columns of `projection`, where given. Not
    /// generic, so that parquet's reader is compiled
    /// once, here, at this crate's opt-level, whichever crate asks for rows (the release
    /// profile builds the storage crate for size).
    pub(crate) fn decode_batches(
        &self,
        reader: FileSlice,
        index: usize,
        runs: &[Range<usize>],
        projection: Option<ProjectionMask>,
        sink: &mut dyn FnMut(RecordBatch, u64) -> Result<()>,
    ) -> Result<()> {
        guard(|| {
            let info = self.info();
            let dimension = info.dimension as usize;
            let group_rows = info.row_groups[index].rows as usize;
            let group_first_row = info.row_groups[..index]
                .iter()
                .map(|rg| rg.rows)
                .sum::<u64>();
            let unreadable = |e: crate::error::BoxError| {
                Error::corruption_from(format!("row group {index} is unreadable"), e)
            };
            let wanted: usize = runs.iter().map(Range::len).sum();
            let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
                return Ok(());
            };
            let ordered = runs.windows(2).all(|w| w[0].end < w[1].start);
            if !ordered || runs.iter().any(|r| r.is_empty()) || last.end > group_rows {
                return Err(Error::validation(
                    crate::error::DocumentRef::NONE,
                    format!(
                        "rows {runs:?} were asked for, but row group {index} holds {group_rows}"
                    ),
                ));
            }
            self.check_pages(&reader, index)?;
            // Skipping rows makes parquet peek at page headers, and parquet 60 panics on some
            // hostile ones there (found by the decode_parquet fuzz target:
            // tests/data/bad/data-page-without-header.parquet), which on wasm aborts. So rows
            // are skipped only in a file whose checksum was verified (the offset index is loaded
            // only then); elsewhere the group is read from its start and the rows before each
            // run are dropped, stopping at the last run's end.
            let skip = wanted != group_rows && self.vector_pages(index).is_some();
            // The group's rows that the decoded batches hold, in order.
            let from_start = 0..last.end;
            let decoded_runs = if skip {
                runs.to_vec()
            } else {
                vec![from_start]
            };
            let batch_rows = arrow_batch_rows(dimension).min(wanted.max(1));
            let mut builder =
                ParquetRecordBatchReaderBuilder::new_with_metadata(reader, self.arrow().clone())
                    .with_row_groups(vec![index])
                    .with_batch_size(batch_rows);
            if let Some(projection) = projection {
                builder = builder.with_projection(projection);
            }
            if skip {
                builder = builder
                    .with_row_selection(select::selection(runs, group_rows))
                    .with_row_selection_policy(RowSelectionPolicy::Selectors);
            }
            // Counted batch by batch from decoded data: `runs` is only what was asked.
            let mut decoded_rows = 0;
            let mut cursor = RunCursor::new(&decoded_runs);
            let mut next_wanted = 0;
            for batch in builder.build().map_err(|e| unreadable(e.into()))? {
                let batch = batch.map_err(|e| unreadable(e.into()))?;
                for (in_batch, group_rows) in cursor.advance(batch.num_rows()) {
                    // The wanted rows among `group_rows`, which batch rows `in_batch` hold.
                    while next_wanted < runs.len() && runs[next_wanted].end <= group_rows.start {
                        next_wanted += 1;
                    }
                    for run in runs[next_wanted..]
                        .iter()
                        .take_while(|r| r.start < group_rows.end)
                    {
                        let (from, to) =
                            (run.start.max(group_rows.start), run.end.min(group_rows.end));
                        if from < to {
                            let at = in_batch.start + (from - group_rows.start);
                            let first_row = group_first_row + from as u64;
                            let piece = with_fixed_ids(batch.slice(at, to - from), first_row)?;
                            sink(piece, first_row)?;
                            decoded_rows += to - from;
                        }
                    }
                }
                if cursor.done() {
                    break;
                }
            }
            if decoded_rows != wanted {
                return Err(Error::corruption(format!(
                    "row group {index} should give {wanted} rows from row {} here but gives \
                     {decoded_rows}",
                    first.start
                )));
            }
            Ok(())
        })
    }

    /// Checks the page headers of row group `index` that `reader` holds before parquet sizes
    /// buffers by them ([`select::check_held_pages`]).
    fn check_pages(&self, reader: &FileSlice, index: usize) -> Result<()> {
        let max_page_bytes = self.info().row_groups[index].uncompressed_bytes;
        select::check_held_pages(
            self.arrow().metadata(),
            reader,
            index,
            max_page_bytes,
            self.encrypted(),
        )
    }
}

/// Walks runs of rows in order, a batch's worth at a time.
struct RunCursor<'a> {
    runs: &'a [Range<usize>],
    /// The next run, and the next row in it.
    run: usize,
    at: usize,
}

impl<'a> RunCursor<'a> {
    fn new(runs: &'a [Range<usize>]) -> Self {
        RunCursor {
            runs,
            run: 0,
            at: runs.first().map_or(0, |r| r.start),
        }
    }

    /// The next `n` rows: pieces of the batch (its row ranges) and the rows each holds.
    fn advance(&mut self, mut n: usize) -> Vec<(Range<usize>, Range<usize>)> {
        let mut pieces = Vec::new();
        let mut in_batch = 0;
        while n > 0 && self.run < self.runs.len() {
            let end = self.runs[self.run].end;
            let take = n.min(end - self.at);
            pieces.push((in_batch..in_batch + take, self.at..self.at + take));
            (in_batch, n, self.at) = (in_batch + take, n - take, self.at + take);
            if self.at == end {
                self.run += 1;
                self.at = self.runs.get(self.run).map_or(end, |r| r.start);
            }
        }
        pieces
    }

    fn done(&self) -> bool {
        self.run >= self.runs.len()
    }
}

/// Runs `f`, turning a panic inside it (parquet's, on a hostile file) into
/// [`Error::DataCorruption`]. On wasm a panic aborts instead, which is why the footer checks run
/// first and this is only the last line.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(Error::corruption(format!(
            "the Parquet reader failed on this file ({reason}); the file is damaged"
        )))
    })
}
