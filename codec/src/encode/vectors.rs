//! A row group's vector column, written straight from its floats, in parts on several cores.
//!
//! The Arrow writer takes any list column through its general levels machinery: it records an
//! index for every float (8 bytes each) and then gathers the floats one at a time by index, so a
//! row group of 10,000 × 384 floats had 30 MB of indices written and read (a batch at a time)
//! beside its 15 MB of floats. A vector column has no null and every row the same length, so its
//! levels are one short pattern repeated ([`Levels`]), and its floats go to the column writer as
//! the slices they already are.
//!
//! Row groups are the unit of parallel encoding, so a snapshot of one row group would use one
//! core. The vector column, nearly all of the work, is therefore written in parts of rows, each
//! by a column writer of its own into memory ([`encode_part`]), and the parts spliced into one
//! column chunk: the bytes end to end, counts and sizes summed, the offset index concatenated
//! with later parts' offsets and rows shifted. The vector column has no dictionary, statistics
//! or bloom filter (`writer_properties` sees to it), so there is nothing else to merge;
//! [`splice`] refuses a chunk that has any, rather than write a wrong one.
//!
//! The spliced chunk stays the parts as written ([`Pages`]), read in place as it is appended:
//! joining them first would copy the whole vector column into fresh memory once more.

use std::collections::VecDeque;
use std::io::Read;

use bytes::{Buf, Bytes};
use parquet::column::writer::{ColumnCloseResult, ColumnWriter, get_column_writer};
use parquet::errors::{ParquetError, Result};
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::properties::WriterPropertiesPtr;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Floats handed to the column writer per call, so that the levels beside them stay small.
const FLOATS_PER_WRITE: usize = 1 << 14;

/// One part of a vector column chunk: how its writer closed, and its bytes (pages end to end,
/// offsets counted from the first).
pub(super) type Part = (ColumnCloseResult, Bytes);

/// Writes vectors of `dimension` floats, given as runs of whole rows in order, as one column
/// chunk of the vector column `descr`.
pub(super) fn encode_part(
    descr: ColumnDescPtr,
    props: WriterPropertiesPtr,
    runs: &[&[f32]],
    dimension: usize,
) -> Result<Part> {
    let levels = Levels::new(&descr, dimension)?;
    let floats: usize = runs.iter().map(|run| run.len()).sum();
    let rows = floats / dimension;
    // Room for incompressible floats, their levels and page headers, so the buffer is not
    // copied as it grows; what is never written to is never touched, so costs nothing.
    let mut sink = TrackedWrite::new(Vec::with_capacity(
        floats * 4 + floats / 32 + rows * 8 + (64 << 10),
    ));
    let closed =
        match get_column_writer(descr, props, Box::new(SerializedPageWriter::new(&mut sink))) {
            ColumnWriter::FloatColumnWriter(mut writer) => {
                for run in runs {
                    for piece in run.chunks(levels.floats()) {
                        let (def, rep) = levels.of(piece.len());
                        writer.write_batch(piece, Some(def), Some(rep))?;
                    }
                }
                writer.close()?
            }
            _ => {
                return Err(ParquetError::General(
                    "the vector column is not of floats".into(),
                ));
            }
        };
    Ok((closed, Bytes::from(sink.into_inner()?)))
}

/// The definition and repetition levels of whole rows of a vector column: every float is
/// defined, and each row's first float starts a new list.
struct Levels {
    def: Vec<i16>,
    rep: Vec<i16>,
}

impl Levels {
    fn new(descr: &ColumnDescPtr, dimension: usize) -> Result<Self> {
        if dimension == 0 || descr.max_rep_level() != 1 {
            return Err(ParquetError::General(format!(
                "vectors of {dimension} floats cannot be written to column {} (repetition level {})",
                descr.path(),
                descr.max_rep_level()
            )));
        }
        let rows = (FLOATS_PER_WRITE / dimension).max(1);
        let rep = (0..rows * dimension)
            .map(|i| i16::from(i % dimension != 0))
            .collect();
        Ok(Levels {
            def: vec![descr.max_def_level(); rows * dimension],
            rep,
        })
    }

    /// How many floats' levels are held: a whole number of rows.
    fn floats(&self) -> usize {
        self.def.len()
    }

    /// The levels of the first `floats` floats of whole rows.
    fn of(&self, floats: usize) -> (&[i16], &[i16]) {
        (&self.def[..floats], &self.rep[..floats])
    }
}

/// One column chunk from parts encoded apart, in row order: its bytes, and its metadata as if
/// one writer had written them, offsets counted from the chunk's start.
pub(super) fn splice(parts: Vec<Part>) -> Result<(Pages, ColumnCloseResult)> {
    let mergeable = |c: &ColumnCloseResult| {
        c.metadata.dictionary_page_offset().is_none()
            && c.metadata.statistics().is_none()
            && c.column_index.is_none()
            && c.bloom_filter.is_none()
            && c.metadata.data_page_offset() == 0
    };
    if !parts.iter().all(|(close, _)| mergeable(close)) {
        return Err(ParquetError::General(
            "only a column chunk without dictionary, statistics or bloom filter can be spliced"
                .into(),
        ));
    }
    if parts
        .iter()
        .any(|(close, bytes)| bytes.len() as i64 != close.metadata.compressed_size())
    {
        return Err(ParquetError::General(
            "the parts' bytes do not add up to the column chunks written".into(),
        ));
    }
    let (closes, bytes): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    let Some(first) = closes.first() else {
        return Err(ParquetError::General("a column chunk of no part".into()));
    };

    let mut locations = Vec::new();
    let (mut offset, mut rows) = (0i64, 0i64);
    for (close, bytes) in closes.iter().zip(&bytes) {
        match (&close.offset_index, &first.offset_index) {
            (Some(index), Some(_)) => {
                locations.extend(index.page_locations().iter().map(|p| PageLocation {
                    offset: p.offset + offset,
                    compressed_page_size: p.compressed_page_size,
                    first_row_index: p.first_row_index + rows,
                }))
            }
            (None, None) => {}
            _ => {
                return Err(ParquetError::General(
                    "one part has an offset index and another not".into(),
                ));
            }
        }
        offset += bytes.len() as i64;
        rows += close.rows_written as i64;
    }
    let offset_index = first.offset_index.as_ref().map(|_| OffsetIndexMetaData {
        page_locations: locations,
        unencoded_byte_array_data_bytes: None,
    });
    let sum = |of: fn(&ColumnCloseResult) -> i64| closes.iter().map(of).sum::<i64>();
    let metadata = first
        .metadata
        .clone()
        .into_builder()
        .set_num_values(sum(|c| c.metadata.num_values()))
        .set_total_compressed_size(sum(|c| c.metadata.compressed_size()))
        .set_total_uncompressed_size(sum(|c| c.metadata.uncompressed_size()))
        .build()?;
    Ok((
        Pages(bytes),
        ColumnCloseResult {
            bytes_written: closes.iter().map(|c| c.bytes_written).sum(),
            rows_written: closes.iter().map(|c| c.rows_written).sum(),
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
    use std::sync::Arc;

    use parquet::basic::Encoding;
    use parquet::column::reader::get_typed_column_reader;
    use parquet::data_type::FloatType;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use parquet::file::reader::FileReader;
    use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;

    /// Three parts (more than this machine's cores give the writer), several pages each,
    /// spliced: the file reads back float for float, and its offset index finds each page
    /// where it lies, rows counted across the parts.
    #[test]
    fn parts_spliced_read_back_as_one_column_chunk() {
        const DIMENSION: usize = 4;
        let schema = parse_message_type(
            "message m { required group vector (LIST) { repeated group list { required float element; } } }",
        )
        .unwrap();
        let props = Arc::new(
            WriterProperties::builder()
                .set_dictionary_enabled(false)
                .set_statistics_enabled(EnabledStatistics::None)
                .set_encoding(Encoding::BYTE_STREAM_SPLIT)
                .set_data_page_size_limit(32)
                .set_write_batch_size(8)
                .build(),
        );
        let mut file =
            SerializedFileWriter::new(Vec::new(), Arc::new(schema), Arc::clone(&props)).unwrap();
        let descr = file.schema_descr().column(0);
        let floats: Vec<f32> = (0..14 * DIMENSION).map(|i| i as f32 * 0.5).collect();
        // Part 1 arrives as two runs, as rows spread over two batches do.
        let (a, rest) = floats.split_at(5 * DIMENSION);
        let (b, c) = rest.split_at(4 * DIMENSION);
        let (b1, b2) = b.split_at(DIMENSION);
        let parts = [vec![a], vec![b1, b2], vec![c]]
            .iter()
            .map(|runs| encode_part(descr.clone(), Arc::clone(&props), runs, DIMENSION).unwrap())
            .collect::<Vec<_>>();
        let pages_per_part: Vec<usize> = parts
            .iter()
            .map(|(close, _)| close.offset_index.as_ref().unwrap().page_locations().len())
            .collect();
        assert!(pages_per_part.iter().all(|&n| n > 1), "{pages_per_part:?}");

        let (pages, close) = splice(parts).unwrap();
        assert_eq!((close.rows_written, close.metadata.num_values()), (14, 56));
        let mut group = file.next_row_group().unwrap();
        group.append_column(&pages, close).unwrap();
        group.close().unwrap();
        let bytes = Bytes::from(file.into_inner().unwrap());

        let options = ReadOptionsBuilder::new().with_page_index().build();
        let reader = SerializedFileReader::new_with_options(bytes, options).unwrap();
        let index = reader.metadata().page_index_for_row_group(0);
        let locations = index.offset_index(0).unwrap().page_locations();
        assert_eq!(locations.len(), pages_per_part.iter().sum::<usize>());
        let starts: Vec<i64> = locations.iter().map(|p| p.first_row_index).collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
        let first_pages_of_parts = [0, pages_per_part[0], pages_per_part[0] + pages_per_part[1]];
        assert_eq!(first_pages_of_parts.map(|page| starts[page]), [0, 5, 9]);
        assert!(
            locations
                .windows(2)
                .all(|w| w[0].offset + i64::from(w[0].compressed_page_size) == w[1].offset),
            "the pages lie end to end"
        );

        let group = reader.get_row_group(0).unwrap();
        let mut column = get_typed_column_reader::<FloatType>(group.get_column_reader(0).unwrap());
        let (mut back, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
        let (records, values, levels) = column
            .read_records(100, Some(&mut def), Some(&mut rep), &mut back)
            .unwrap();
        assert_eq!((records, values, levels), (14, 56, 56));
        assert_eq!(back, floats);
        let row_starts = rep.iter().filter(|&&r| r == 0).count();
        assert_eq!(row_starts, 14);
    }

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
