//! Windows of a file's bytes, so a footer, a row group or a few pages can be decoded from just
//! the ranges a caller fetched (a ranged GET, a tail read) without the rest of the file.

use std::ops::Range;

use bytes::{Buf, Bytes};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

/// Some byte ranges of a file that is `file_len` bytes long: each piece's bytes at its offset,
/// in ascending order, none overlapping.
#[derive(Debug, Clone)]
pub(crate) struct FileSlice {
    pieces: Vec<(u64, Bytes)>,
    file_len: u64,
}

impl FileSlice {
    /// The whole file.
    pub(crate) fn whole(data: Bytes) -> Self {
        FileSlice {
            file_len: data.len() as u64,
            pieces: vec![(0, data)],
        }
    }

    /// `data` at `offset` of a file of `file_len` bytes; `None` if it does not fit.
    pub(crate) fn new(offset: u64, data: Bytes, file_len: u64) -> Option<Self> {
        Self::pieces(vec![(offset, data)], file_len)
    }

    /// `pieces`, each bytes at an offset of a file of `file_len` bytes; `None` if one does not
    /// fit in the file or two overlap.
    pub(crate) fn pieces(mut pieces: Vec<(u64, Bytes)>, file_len: u64) -> Option<Self> {
        pieces.sort_by_key(|(offset, _)| *offset);
        let mut end = 0;
        for (offset, data) in &pieces {
            if *offset < end {
                return None;
            }
            end = offset.checked_add(data.len() as u64)?;
        }
        (end <= file_len).then_some(FileSlice { pieces, file_len })
    }

    /// Whether bytes `range` of the file are held, in one piece.
    pub(crate) fn holds(&self, range: &Range<u64>) -> bool {
        self.piece_at(range.start)
            .is_some_and(|(offset, data)| range.end <= offset + data.len() as u64)
    }

    /// The held bytes that fall within `range`, piece by piece, each with its offset.
    pub(crate) fn held_within(&self, range: Range<u64>) -> impl Iterator<Item = (u64, Bytes)> {
        self.pieces.iter().filter_map(move |(offset, data)| {
            let end = offset + data.len() as u64;
            let (from, to) = (range.start.max(*offset), range.end.min(end));
            (from < to).then(|| {
                (
                    from,
                    data.slice((from - offset) as usize..(to - offset) as usize),
                )
            })
        })
    }

    /// The piece that holds byte `at`, or ends there.
    fn piece_at(&self, at: u64) -> Option<&(u64, Bytes)> {
        let after = self.pieces.partition_point(|(offset, _)| *offset <= at);
        let piece = self.pieces.get(after.checked_sub(1)?)?;
        (at <= piece.0 + piece.1.len() as u64).then_some(piece)
    }

    fn window(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        let missing = || {
            let held: Vec<String> = (self.pieces.iter())
                .take(4)
                .map(|(o, d)| format!("{o}..{}", o + d.len() as u64))
                .collect();
            ParquetError::General(format!(
                "bytes {start}..+{length} were asked for, but only {}{} are loaded",
                held.join(", "),
                if self.pieces.len() > 4 { ", …" } else { "" }
            ))
        };
        let (offset, data) = self.piece_at(start).ok_or_else(missing)?;
        let from = usize::try_from(start - offset).map_err(|_| missing())?;
        let to = from.checked_add(length).ok_or_else(missing)?;
        if to > data.len() {
            return Err(missing());
        }
        Ok(data.slice(from..to))
    }
}

impl Length for FileSlice {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl ChunkReader for FileSlice {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
        let rest = self
            .piece_at(start)
            .map_or(start, |(offset, data)| offset + data.len() as u64);
        let length = usize::try_from(rest.saturating_sub(start)).unwrap_or(usize::MAX);
        Ok(self.window(start, length)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        self.window(start, length)
    }
}
