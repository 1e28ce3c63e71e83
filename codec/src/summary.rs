//! What a writer knows of a file once it has written it.

use crate::checksum::Sha256Digest;
use crate::encryption::EncryptionInfo;
use crate::page_checksums::FileLayout;

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
    /// Where its pages are, with their checksums, where the writer walked them (Parquet files
    /// this codec writes); `None` for a file read rather than written.
    pub layout: Option<FileLayout>,
    /// How the file is encrypted, where it is ([`ParquetWriter::with_encryption`](crate::ParquetWriter::with_encryption)).
    pub encryption: Option<EncryptionInfo>,
}

impl FileSummary {
    /// The summary of a file written through `sink`, which counted and hashed every byte; the
    /// sink's inner writer is handed back beside it.
    pub(crate) fn of<W: std::io::Write>(
        sink: crate::hashing::HashingWriter<W>,
        vector_count: u64,
        dimension: u32,
    ) -> (W, Self) {
        let (inner, checksum_sha256, size_bytes, layout) = sink.finish_with_layout();
        let summary = FileSummary {
            vector_count,
            dimension,
            size_bytes,
            checksum_sha256,
            layout,
            encryption: None,
        };
        (inner, summary)
    }

    /// The summary of a file someone else wrote, once it was read whole: what its footer says
    /// (count, dimension, length), and the SHA-256 of its bytes, computed while reading them.
    /// No page layout: only a writer walks its pages.
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
    /// assert_eq!(
    ///     (read.vector_count, read.dimension, read.size_bytes, read.checksum_sha256),
    ///     (written.vector_count, written.dimension, written.size_bytes, written.checksum_sha256)
    /// );
    /// assert!(read.layout.is_none() && written.layout.is_some());
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
            layout: None,
            encryption: None,
        }
    }
}
