//! What a writer knows of a file once it has written it.

use crate::checksum::Sha256Digest;

/// What a writer reports when it has finished a data file: everything the metadata file needs
/// that only the written bytes can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileSummary {
    /// Documents written.
    pub vector_count: u64,
    /// Their dimension.
    pub dimension: u32,
    /// Bytes written.
    pub size_bytes: u64,
    /// SHA-256 of the bytes written.
    pub checksum_sha256: Sha256Digest,
}

impl FileSummary {
    /// The summary of a file written through `sink`, which counted and hashed every byte; the
    /// sink's inner writer is handed back beside it.
    pub(crate) fn of<W: std::io::Write>(
        sink: crate::checksum::HashingWriter<W>,
        vector_count: u64,
        dimension: u32,
    ) -> (W, Self) {
        let (inner, checksum_sha256, size_bytes) = sink.finish();
        let summary = FileSummary {
            vector_count,
            dimension,
            size_bytes,
            checksum_sha256,
        };
        (inner, summary)
    }

    /// The summary of a file someone else wrote, once it was read whole: what its footer says
    /// (count, dimension, length), and the SHA-256 of its bytes, computed while reading them.
    ///
    /// ```
    /// use akidb_snapshot_codec::*;
    /// use uuid::Uuid;
    ///
    /// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    /// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let docs = vec![VectorDocument::new(Uuid::from_u128(3), vec![1.0, 2.0])];
    /// let (bytes, written) = encode_parquet(&docs, &header, &ParquetConfig::default())?;
    /// let info = inspect_parquet(&bytes, &Limits::default())?;
    /// let read = FileSummary::read(info.vector_count, info.dimension, info.file_bytes,
    ///     Sha256Digest::of(&bytes));
    /// assert_eq!(read, written);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn read(
        vector_count: u64,
        dimension: u32,
        size_bytes: u64,
        checksum_sha256: Sha256Digest,
    ) -> Self {
        FileSummary {
            vector_count,
            dimension,
            size_bytes,
            checksum_sha256,
        }
    }
}
