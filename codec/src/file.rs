//! A whole snapshot file in memory, of either format: what a viewer of one file (the browser
//! build) needs without knowing which format it holds.

use std::ops::Range;

use arrow_array::RecordBatch;
use bytes::Bytes;

use crate::checksum::Sha256Digest;
use crate::config::Limits;
use crate::decode::{FileSlice, ParquetFooter, ParquetReader, SnapshotInfo};
use crate::error::{Error, Result};
use crate::json::decode_json;
use crate::metadata::{SnapshotFormat, SnapshotHeader};
use crate::model::VectorDocument;
use crate::selection::{DocumentFilter, RowKey};
use crate::stats::{VectorStats, VectorStatsBuilder};

/// A snapshot file held in memory, Parquet or legacy JSON, told apart by its first bytes.
///
/// A Parquet file is read from its footer on [`open`](Self::open), and its row groups only when
/// asked, one at a time; a JSON file has no footer, so it is decoded whole on `open`.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
/// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
/// let docs: Vec<_> = (0..30u128).map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![i as f32; 3])).collect();
/// let config = ParquetConfig::default().with_row_group_size(10);
/// let (parquet, summary) = encode_parquet(&docs, &header, &config)?;
/// let (json, _) = encode_json(&docs, &header)?;
///
/// for bytes in [parquet.clone(), json] {
///     let file = SnapshotFile::open(bytes.into(), &Limits::default())?;
///     assert_eq!((file.vector_count(), file.dimension()), (30, 3));
///     assert_eq!(file.documents(8..12)?, docs[8..12]);
///     assert_eq!(file.vector_stats(8)?.dimensions[0].mean, 14.5);
/// }
///
/// let file = SnapshotFile::open(parquet.into(), &Limits::default())?;
/// assert_eq!(file.format(), SnapshotFormat::Parquet);
/// assert_eq!(file.verify(Some(&summary.checksum_sha256))?, summary.checksum_sha256);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    bytes: Bytes,
    contents: Contents,
}

#[derive(Debug, Clone)]
enum Contents {
    Parquet(Box<ParquetFooter>),
    Json {
        header: SnapshotHeader,
        documents: Vec<VectorDocument>,
    },
}

impl SnapshotFormat {
    /// The format of a snapshot file, by its first bytes: the Parquet magic `PAR1`, or a JSON
    /// object. Anything else is [`Error::DataCorruption`].
    ///
    /// ```
    /// use akidb_snapshot_codec::{ErrorKind, SnapshotFormat};
    ///
    /// assert_eq!(SnapshotFormat::detect(b"PAR1...").unwrap(), SnapshotFormat::Parquet);
    /// assert_eq!(SnapshotFormat::detect(b" \n{\"documents\"").unwrap(), SnapshotFormat::Json);
    /// assert_eq!(SnapshotFormat::detect(b"\x89PNG").unwrap_err().kind(), ErrorKind::DataCorruption);
    /// ```
    pub fn detect(bytes: &[u8]) -> Result<SnapshotFormat> {
        if bytes.starts_with(b"PAR1") {
            return Ok(SnapshotFormat::Parquet);
        }
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Ok(SnapshotFormat::Json),
            None => Err(Error::corruption("the file is empty")),
            Some(_) => Err(Error::corruption(
                "the file is not a snapshot: it starts neither with the Parquet magic `PAR1` nor \
                 with a JSON object",
            )),
        }
    }
}

impl SnapshotFile {
    /// Recognises the format of `bytes` and reads what describes the file: the Parquet footer
    /// (checked against `limits`), or the whole JSON file.
    pub fn open(bytes: Bytes, limits: &Limits) -> Result<Self> {
        let contents = match SnapshotFormat::detect(&bytes)? {
            SnapshotFormat::Parquet => Contents::Parquet(Box::new(ParquetFooter::of_file(
                &bytes,
                limits,
                &crate::encryption::KeyRing::default(),
            )?)),
            SnapshotFormat::Json => {
                let json = decode_json(&bytes)?;
                Limits::check(
                    "the document count",
                    "max_rows",
                    json.documents.len() as u64,
                    limits.max_rows,
                )?;
                Contents::Json {
                    header: json.header,
                    documents: json.documents,
                }
            }
        };
        Ok(SnapshotFile { bytes, contents })
    }

    /// Which format the file is in.
    pub fn format(&self) -> SnapshotFormat {
        match self.contents {
            Contents::Parquet(_) => SnapshotFormat::Parquet,
            Contents::Json { .. } => SnapshotFormat::Json,
        }
    }

    /// Collection, snapshot and creation time, as the file records them; `None` for a Parquet
    /// file another tool wrote without the `akidb.*` footer keys.
    pub fn header(&self) -> Option<&SnapshotHeader> {
        match &self.contents {
            Contents::Parquet(footer) => footer.info().header.as_ref(),
            Contents::Json { header, .. } => Some(header),
        }
    }

    /// Documents in the file.
    pub fn vector_count(&self) -> u64 {
        match &self.contents {
            Contents::Parquet(footer) => footer.info().vector_count,
            Contents::Json { documents, .. } => documents.len() as u64,
        }
    }

    /// Their dimension (0 for a JSON file with no documents).
    pub fn dimension(&self) -> u32 {
        match &self.contents {
            Contents::Parquet(footer) => footer.info().dimension,
            Contents::Json { documents, .. } => {
                documents.first().map_or(0, |d| d.dimension() as u32)
            }
        }
    }

    /// The file's length in bytes.
    pub fn file_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// What a Parquet file's footer says (row groups, compression, sizes, footer keys); `None`
    /// for JSON, which has no footer.
    pub fn parquet_info(&self) -> Option<&SnapshotInfo> {
        match &self.contents {
            Contents::Parquet(footer) => Some(footer.info()),
            Contents::Json { .. } => None,
        }
    }

    /// The documents at positions `rows` (clipped to the file), decoding only the row groups
    /// that hold them.
    pub fn documents(&self, rows: Range<u64>) -> Result<Vec<VectorDocument>> {
        let end = rows.end.min(self.vector_count());
        let rows = rows.start.min(end)..end;
        match &self.contents {
            Contents::Parquet(footer) => {
                let mut documents = Vec::with_capacity((rows.end - rows.start) as usize);
                for (index, in_group) in footer.pieces(rows) {
                    documents.append(&mut footer.decode_rows(
                        FileSlice::whole(self.bytes.clone()),
                        index,
                        in_group,
                    )?);
                }
                Ok(documents)
            }
            Contents::Json { documents, .. } => {
                Ok(documents[rows.start as usize..rows.end as usize].to_vec())
            }
        }
    }

    /// The documents `filter` keeps, each with its position, in the file's order, reading a
    /// Parquet file one row group at a time.
    ///
    /// ```
    /// use akidb_snapshot_codec::*;
    /// use uuid::Uuid;
    ///
    /// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    /// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let docs: Vec<_> = (0..30u128).map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![i as f32; 3])).collect();
    /// let config = ParquetConfig::default().with_row_group_size(10);
    /// let (parquet, _) = encode_parquet(&docs, &header, &config)?;
    /// let file = SnapshotFile::open(parquet.into(), &Limits::default())?;
    /// let found = file.select(&DocumentFilter::all().with_ids([Uuid::from_u128(25), Uuid::from_u128(3)]))?;
    /// assert_eq!(found, [(2, docs[2].clone()), (24, docs[24].clone())]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn select(&self, filter: &DocumentFilter) -> Result<Vec<(u64, VectorDocument)>> {
        let keep = |doc: &VectorDocument| {
            filter.accepts(&RowKey::new(
                doc.document_id,
                doc.external_id.as_deref(),
                doc.inserted_at,
            ))
        };
        let mut found = Vec::new();
        match &self.contents {
            Contents::Parquet(footer) => {
                let mut position = 0;
                for group in ParquetReader::<VectorDocument>::with_footer(
                    self.bytes.clone(),
                    (**footer).clone(),
                ) {
                    for doc in group? {
                        if keep(&doc) {
                            found.push((position, doc));
                        }
                        position += 1;
                    }
                }
            }
            Contents::Json { documents, .. } => {
                let kept = (0u64..).zip(documents).filter(|(_, d)| keep(d));
                found.extend(kept.map(|(at, d)| (at, d.clone())));
            }
        }
        Ok(found)
    }

    /// Statistics of every vector, with the norms in `bins` bins, reading a Parquet file one
    /// row group at a time.
    pub fn vector_stats(&self, bins: usize) -> Result<VectorStats> {
        let mut stats = VectorStatsBuilder::new(self.dimension() as usize);
        match &self.contents {
            Contents::Parquet(footer) => self.each_row_group(footer, |batches| {
                batches.iter().try_for_each(|b| stats.add_batch(b))
            })?,
            Contents::Json { documents, .. } => {
                documents.iter().try_for_each(|d| stats.add(&d.vector))?;
            }
        }
        Ok(stats.finish(bins))
    }

    /// Checks the file completely and returns its SHA-256: against `expected` when given
    /// ([`Error::DataCorruption`] if it differs), then every row group of a Parquet file, decoded
    /// and checked as a restore would (a JSON file was checked whole by [`open`](Self::open)).
    pub fn verify(&self, expected: Option<&Sha256Digest>) -> Result<Sha256Digest> {
        let digest = match expected {
            Some(expected) => expected.verify(&self.bytes).map(|()| *expected)?,
            None => Sha256Digest::of(&self.bytes),
        };
        if let Contents::Parquet(footer) = &self.contents {
            self.each_row_group(footer, |_| Ok(()))?;
        }
        Ok(digest)
    }

    /// Decodes (and so checks) every row group in turn, as Arrow batches, handing each to `f`:
    /// only one row group is in memory at a time.
    fn each_row_group(
        &self,
        footer: &ParquetFooter,
        mut f: impl FnMut(&[RecordBatch]) -> Result<()>,
    ) -> Result<()> {
        ParquetReader::<RecordBatch>::with_footer(self.bytes.clone(), footer.clone())
            .try_for_each(|batches| f(&batches?))
    }
}
