//! Reading Parquet snapshots: whole ([`decode_parquet`]), one row group at a time
//! ([`ParquetReader`]), from fetched byte ranges ([`ParquetFooter`]), or the footer alone
//! ([`inspect_parquet`]).

mod batch;
mod footer;
mod slice;

use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;

pub use footer::{FooterParse, ParquetFooter, RowGroupInfo, SnapshotInfo, inspect_parquet};

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::model::VectorDocument;
use crate::parallel::map_ordered;
use slice::FileSlice;

/// Rows are decoded in Arrow batches of about this many bytes of vectors, so a footer that
/// declares a huge row group cannot make the reader reserve memory for it up front.
const BATCH_TARGET_BYTES: usize = 64 << 20;

/// Decodes a whole Parquet snapshot. Row groups are decoded on all cores (feature `parallel`).
///
/// Any byte string gives `Ok` or a typed error, never a panic: damaged bytes are
/// [`Error::DataCorruption`], a Parquet file that is not a snapshot is [`Error::Decoding`].
///
/// ```
/// use akidb_snapshot_codec::{decode_parquet, ErrorKind, Limits};
///
/// let err = decode_parquet(bytes::Bytes::from_static(b"PAR1 not really PAR1"), &Limits::default())
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::DataCorruption);
/// ```
pub fn decode_parquet(file: Bytes, limits: &Limits) -> Result<Vec<VectorDocument>> {
    let footer = ParquetFooter::of_file(&file, limits)?;
    let whole = FileSlice::whole(file);
    let parts = map_ordered(footer.info().row_groups.len(), |index| {
        footer.decode_rows(whole.clone(), index)
    });
    let mut documents =
        Vec::with_capacity(parts.iter().map(|p| p.as_ref().map_or(0, Vec::len)).sum());
    for part in parts {
        documents.append(&mut part?);
    }
    Ok(documents)
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
/// let docs: Vec<_> = (0..25u128).map(|i| VectorDocument::new(Uuid::from_u128(i), vec![1.0; 4])).collect();
/// let config = ParquetConfig::default().with_row_group_size(10);
/// let (file, _) = encode_parquet(&docs, &header, &config).unwrap();
///
/// let reader = ParquetReader::try_new(file.into(), &Limits::default()).unwrap();
/// assert_eq!(reader.info().vector_count, 25);
/// let sizes: Vec<usize> = reader.map(|batch| batch.unwrap().len()).collect();
/// assert_eq!(sizes, [10, 10, 5]);
/// ```
#[derive(Debug)]
pub struct ParquetReader {
    file: FileSlice,
    footer: ParquetFooter,
    next_row_group: usize,
}

impl ParquetReader {
    /// Reads and checks the footer of `file`.
    pub fn try_new(file: Bytes, limits: &Limits) -> Result<Self> {
        let footer = ParquetFooter::of_file(&file, limits)?;
        Ok(ParquetReader {
            file: FileSlice::whole(file),
            footer,
            next_row_group: 0,
        })
    }

    /// What the footer says.
    pub fn info(&self) -> &footer::SnapshotInfo {
        self.footer.info()
    }
}

impl Iterator for ParquetReader {
    type Item = Result<Vec<VectorDocument>>;

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.next_row_group;
        if index >= self.footer.info().row_groups.len() {
            return None;
        }
        let rows = self.footer.decode_rows(self.file.clone(), index);
        // After an error the rest of the file is not trusted either.
        self.next_row_group = if rows.is_ok() { index + 1 } else { usize::MAX };
        Some(rows)
    }
}

impl ParquetFooter {
    /// Decodes row group `index` from `data`, the bytes of its
    /// [`byte_range`](RowGroupInfo::byte_range) in the file.
    pub fn decode_row_group(&self, index: usize, data: Bytes) -> Result<Vec<VectorDocument>> {
        let range = self
            .info()
            .row_groups
            .get(index)
            .map(|rg| rg.byte_range.clone())
            .ok_or_else(|| {
                Error::validation(
                    crate::error::DocumentRef::NONE,
                    format!(
                        "row group {index} was asked for, but the file has {}",
                        self.info().row_groups.len()
                    ),
                )
            })?;
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
        self.decode_rows(slice, index)
    }

    fn decode_rows<R: ChunkReader + 'static>(
        &self,
        reader: R,
        index: usize,
    ) -> Result<Vec<VectorDocument>> {
        guard(|| {
            let info = self.info();
            let dimension = info.dimension as usize;
            let rows = info.row_groups[index].rows as usize;
            let first_row: u64 = info.row_groups[..index].iter().map(|rg| rg.rows).sum();
            let batch_rows = (BATCH_TARGET_BYTES / (dimension * 4)).clamp(1, rows.max(1));
            let unreadable = |e: parquet::errors::ParquetError| {
                Error::corruption_from(format!("row group {index} is unreadable"), e)
            };
            let batches =
                ParquetRecordBatchReaderBuilder::new_with_metadata(reader, self.arrow().clone())
                    .with_row_groups(vec![index])
                    .with_batch_size(batch_rows)
                    .build()
                    .map_err(unreadable)?;
            let mut documents = Vec::new();
            for batch in batches {
                let batch = batch.map_err(|e| {
                    Error::corruption_from(format!("row group {index} is unreadable"), e)
                })?;
                batch::append_documents(
                    &batch,
                    dimension,
                    first_row + documents.len() as u64,
                    &mut documents,
                )?;
            }
            if documents.len() != rows {
                return Err(Error::corruption(format!(
                    "row group {index} declares {rows} rows but holds {}",
                    documents.len()
                )));
            }
            Ok(documents)
        })
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
