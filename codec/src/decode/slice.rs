//! A window of a file's bytes, so a footer or a row group can be decoded from just the range a
//! caller fetched (a ranged GET, a tail read) without the rest of the file.

use std::ops::Range;

use bytes::{Buf, Bytes};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

/// Bytes `offset .. offset + data.len()` of a file that is `file_len` bytes long.
#[derive(Debug, Clone)]
pub(crate) struct FileSlice {
    offset: u64,
    data: Bytes,
    file_len: u64,
}

impl FileSlice {
    /// The whole file.
    pub(crate) fn whole(data: Bytes) -> Self {
        FileSlice {
            offset: 0,
            file_len: data.len() as u64,
            data,
        }
    }

    /// `data` at `offset` of a file of `file_len` bytes; `None` if it does not fit.
    pub(crate) fn new(offset: u64, data: Bytes, file_len: u64) -> Option<Self> {
        let end = offset.checked_add(data.len() as u64)?;
        (end <= file_len).then_some(FileSlice {
            offset,
            data,
            file_len,
        })
    }

    /// The bytes held.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// Whether bytes `range` of the file are held.
    pub(crate) fn holds(&self, range: &Range<u64>) -> bool {
        range.start >= self.offset && range.end <= self.offset + self.data.len() as u64
    }

    fn window(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        let missing = || {
            ParquetError::General(format!(
                "bytes {start}..+{length} were asked for, but only {}..{} are loaded",
                self.offset,
                self.offset + self.data.len() as u64
            ))
        };
        let from = usize::try_from(start.checked_sub(self.offset).ok_or_else(missing)?)
            .map_err(|_| missing())?;
        let to = from.checked_add(length).ok_or_else(missing)?;
        if to > self.data.len() {
            return Err(missing());
        }
        Ok(self.data.slice(from..to))
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
        let rest = self.offset + self.data.len() as u64;
        let length = usize::try_from(rest.saturating_sub(start)).unwrap_or(usize::MAX);
        Ok(self.window(start, length)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        self.window(start, length)
    }
}
