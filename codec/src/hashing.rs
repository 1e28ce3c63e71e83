//! Learning a file's checksums as it is written: its SHA-256 and size, and, for a Parquet file,
//! its pages' checksums ([`FileLayout`]).

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use crate::checksum::Sha256Digest;
use crate::error::{Error, Result};
use crate::page_checksums::{FileLayout, PageChecksum, PageWalker};

/// A `Write` that hashes and counts what passes through it, so a writer learns the checksum and
/// size of a file without reading it back.
///
/// ```
/// use std::io::Write;
/// use akidb_snapshot_codec::{HashingWriter, Sha256Digest};
///
/// let mut w = HashingWriter::new(Vec::new());
/// w.write_all(b"abc").unwrap();
/// let (inner, digest, len) = w.finish();
/// assert_eq!(inner, b"abc");
/// assert_eq!(digest, Sha256Digest::of(b"abc"));
/// assert_eq!(len, 3);
/// ```
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
    /// The walk over a Parquet file's pages, where one was asked for.
    pages: Option<Box<PageWalker>>,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
            pages: None,
        }
    }

    /// Wraps `inner`, into which a Parquet file is written: each of its pages is checksummed
    /// as it passes, until [`end_pages`](Self::end_pages).
    pub(crate) fn walking_pages(inner: W) -> Self {
        HashingWriter {
            pages: Some(Box::new(PageWalker::new(PARQUET_MAGIC_BYTES))),
            ..Self::new(inner)
        }
    }

    /// Walks no pages from here on: those of an encrypted file cannot be read as they pass.
    pub(crate) fn stop_walking_pages(&mut self) {
        self.pages = None;
    }

    /// Marks the end of the pages: what is written next is the file's tail.
    pub(crate) fn end_pages(&mut self) -> Result<()> {
        match &mut self.pages {
            Some(walker) => walker
                .end_pages()
                .map_err(|why| Error::encoding("checksumming the pages failed", why)),
            None => Ok(()),
        }
    }

    /// The pages walked so far.
    pub(crate) fn pages(&self) -> &[PageChecksum] {
        self.pages.as_ref().map_or(&[], |w| w.pages())
    }

    /// The inner writer, the digest and the count of everything written.
    pub fn finish(self) -> (W, Sha256Digest, u64) {
        let (inner, digest, written, _) = self.finish_with_layout();
        (inner, digest, written)
    }

    /// As [`finish`](Self::finish), with the pages' layout if they were walked to their end.
    pub(crate) fn finish_with_layout(self) -> (W, Sha256Digest, u64, Option<FileLayout>) {
        (
            self.inner,
            Sha256Digest::from(<[u8; 32]>::from(self.hasher.finalize())),
            self.written,
            self.pages.and_then(|walker| walker.finish()),
        )
    }
}

/// The length of `PAR1`, before a Parquet file's first page.
const PARQUET_MAGIC_BYTES: u64 = 4;

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        if let Some(walker) = &mut self.pages {
            walker
                .feed(&buf[..n])
                .map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
