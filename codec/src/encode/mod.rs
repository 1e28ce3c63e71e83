//! Writing Parquet snapshots: a streaming [`ParquetWriter`] and the whole-collection
//! [`encode_parquet`].

mod vectors;

use std::io::Write;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::Encoding;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use crate::assemble::to_record_batch;
use crate::config::{ParquetConfig, VectorEncoding, arrow_batch_rows};
use crate::encryption::{EncryptionInfo, MasterKey};
use crate::error::{Error, Result};
use crate::hashing::HashingWriter;
use crate::id_index::IdIndexBuilder;
use crate::metadata::{SnapshotFormat, SnapshotHeader};
use crate::model::VectorDocument;
use crate::parallel::{map_ordered, workers};
use crate::schema::index::VECTOR;
use crate::schema::{SCHEMA_VERSION, arrow_schema, columns, footer_keys};
use crate::summary::FileSummary;
use crate::validate::DocumentValidator;

/// Encodes a whole collection to Parquet bytes.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// let header = SnapshotHeader::new(
///     CollectionId::from_uuid(Uuid::from_u128(1)),
///     SnapshotId::from_uuid(Uuid::from_u128(2)),
///     Timestamp::from_millis(1_700_000_000_000),
/// );
/// let docs: Vec<_> = (0..100u128)
///     .map(|i| VectorDocument::new(Uuid::from_u128(i + 1), vec![i as f32; 8]))
///     .collect();
/// let (bytes, summary) = encode_parquet(&docs, &header, &ParquetConfig::default()).unwrap();
/// assert_eq!(summary.vector_count, 100);
/// assert_eq!(summary.size_bytes, bytes.len() as u64);
/// assert_eq!(decode_parquet(bytes.into(), &Limits::default()).unwrap(), docs);
/// ```
pub fn encode_parquet(
    docs: &[VectorDocument],
    header: &SnapshotHeader,
    config: &ParquetConfig,
) -> Result<(Vec<u8>, FileSummary)> {
    // Room for the floats and ids up front: growing a large Vec copies it.
    let estimate = docs.iter().map(|d| d.vector.len() * 4 + 64).sum::<usize>() + (64 << 10);
    let mut writer = ParquetWriter::try_new(Vec::with_capacity(estimate), *header, config.clone())?;
    writer.write(docs)?;
    writer.finish()
}

/// Writes a Parquet snapshot to any `io::Write`, batch by batch, holding about one row group in
/// memory whatever the size of the snapshot (an encrypted one, one per core). Each row group is encoded as soon as it is full,
/// its vector column cut in parts of rows encoded on all cores (feature `parallel`). The SHA-256
/// and size of the file are computed as it is written.
///
/// The dimension is taken from the first document; every batch is validated before any of it
/// is written, so a rejected batch can be fixed and written again.
///
/// ```
/// use akidb_snapshot_codec::*;
/// use uuid::Uuid;
///
/// let header = SnapshotHeader::new(
///     CollectionId::from_uuid(Uuid::from_u128(1)),
///     SnapshotId::from_uuid(Uuid::from_u128(2)),
///     Timestamp::from_millis(0),
/// );
/// let config = ParquetConfig::default().with_row_group_size(1_000);
/// let mut writer = ParquetWriter::try_new(Vec::new(), header, config).unwrap();
/// for batch in 0..5u128 {
///     let docs: Vec<_> = (0..500)
///         .map(|i| VectorDocument::new(Uuid::from_u128(batch * 500 + i + 1), vec![0.25; 16]))
///         .collect();
///     writer.write(&docs).unwrap();
/// }
/// let (bytes, summary) = writer.finish().unwrap();
/// assert_eq!(summary.vector_count, 2_500);
/// let info = inspect_parquet(&bytes, &Limits::default()).unwrap();
/// assert_eq!(info.row_groups.len(), 3);
/// ```
pub struct ParquetWriter<W: Write + Send> {
    header: SnapshotHeader,
    config: ParquetConfig,
    validator: DocumentValidator,
    state: WriterState<W>,
    /// The id index of what was written, where it was asked for.
    index: Option<IdIndexBuilder>,
    /// The master key the file's data key is wrapped under, where it is encrypted.
    encryption: Option<MasterKey>,
}

enum WriterState<W: Write + Send> {
    /// No document yet, so no dimension, so no schema.
    Waiting(HashingWriter<W>),
    Open(Box<OpenFile<W>>),
    /// A write failed part-way: the sink holds an unusable prefix.
    Failed,
}

/// A file being written: each row group is gathered as Arrow batches and encoded as soon as it
/// is full, its vector column in parts on all cores (`encode_columns`). Encoding a row group per
/// core instead was no faster and held twice the rows, twice their encoding and twice the
/// output at once (docs/BENCHMARKS.md).
struct OpenFile<W: Write + Send> {
    file: SerializedFileWriter<HashingWriter<W>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    dimension: usize,
    /// The vector column's properties: the file's, with larger write batches.
    vector_props: WriterPropertiesPtr,
    /// Whether the file is encrypted: then every column goes through the Arrow writer's own
    /// column writers, which encrypt their pages, and row groups are encoded a few at once
    /// (`waiting`) instead of each in parts.
    encrypted: bool,
    /// Full row groups of an encrypted file not yet encoded.
    waiting: Vec<Vec<RecordBatch>>,
    /// The row group being filled, and its row count.
    filling: Vec<RecordBatch>,
    filling_rows: usize,
}

impl<W: Write + Send> std::fmt::Debug for ParquetWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("header", &self.header)
            .field("config", &self.config)
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A writer of the snapshot `header` into `sink`. Fails with [`Error::Validation`] if
    /// `config` is invalid, an id of `header` is the nil UUID, or `header.created_at` cannot be
    /// written.
    pub fn try_new(sink: W, header: SnapshotHeader, config: ParquetConfig) -> Result<Self> {
        config.validate()?;
        header.check()?;
        Ok(ParquetWriter {
            header,
            config,
            validator: DocumentValidator::new(SnapshotFormat::Parquet),
            state: WriterState::Waiting(HashingWriter::walking_pages(sink)),
            index: None,
            encryption: None,
        })
    }

    /// Encrypts the file (off by default): Parquet modular encryption, AES-GCM with an
    /// encrypted footer, under a fresh data key that is stored in the file wrapped under
    /// `master` (docs/ENCRYPTION.md). Such a file has no page checksums in its
    /// [`FileSummary::layout`]: AES-GCM authenticates each of its pages instead. Fails with
    /// [`Error::Validation`] in a build without the `encryption` feature.
    ///
    /// ```
    /// use akidb_snapshot_codec::*;
    /// use uuid::Uuid;
    ///
    /// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    /// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let key = MasterKey::from_hex("backups", &"5a".repeat(32)).unwrap();
    /// let docs = vec![VectorDocument::new(Uuid::from_u128(3), vec![1.5; 4]).with_external_id("alice")];
    /// let mut writer = ParquetWriter::try_new(Vec::new(), header, ParquetConfig::default())
    ///     .unwrap()
    ///     .with_encryption(key.clone())
    ///     .unwrap();
    /// writer.write(&docs).unwrap();
    /// let (file, _) = writer.finish().unwrap();
    /// assert!(!file.windows(5).any(|w| w == b"alice"));
    ///
    /// let err = decode_parquet(file.clone().into(), &Limits::default()).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::EncryptionKey);
    /// let back = decode_parquet_with_keys(file.into(), &Limits::default(), &key.into()).unwrap();
    /// assert_eq!(back, docs);
    /// ```
    pub fn with_encryption(mut self, master: MasterKey) -> Result<Self> {
        if !cfg!(feature = "encryption") {
            return Err(Error::validation(
                crate::error::DocumentRef::NONE,
                "this build of akidb-snapshot-codec has no `encryption` feature, so it cannot \
                 encrypt",
            ));
        }
        // Encrypted page headers cannot be walked: AES-GCM checks each page instead.
        if let WriterState::Waiting(sink) = &mut self.state {
            sink.stop_walking_pages();
        }
        self.encryption = Some(master);
        Ok(self)
    }

    /// Also gathers the file's id index as rows are written (off by default): the id and
    /// content hash of every row, which [`take_id_index`](Self::take_id_index) hands over.
    pub fn with_id_index(mut self) -> Self {
        self.index = Some(IdIndexBuilder::new());
        self
    }

    /// The id index gathered so far, if [`with_id_index`](Self::with_id_index) asked for one;
    /// taken before [`finish`](Self::finish), whose summary
    /// [`IdIndexBuilder::finish`] then needs.
    pub fn take_id_index(&mut self) -> Option<IdIndexBuilder> {
        self.index.take()
    }

    /// Checks documents as the next file of the input `validator` has checked so far (the
    /// next part of a v2 snapshot, [`DocumentValidator::next_file`]): errors name documents by
    /// their position in the whole input, and the dimension must stay the same.
    pub fn continuing(mut self, validator: DocumentValidator) -> Self {
        self.validator = validator;
        self
    }

    /// What has been checked so far, to continue in the next file with
    /// [`continuing`](Self::continuing).
    pub fn validator(&self) -> &DocumentValidator {
        &self.validator
    }

    /// Validates and writes the next batch of documents.
    pub fn write(&mut self, docs: &[VectorDocument]) -> Result<()> {
        self.check_usable()?;
        let first = self.validator.position();
        self.validator.check(docs)?;
        self.append(docs.len(), |rows, dimension| {
            to_record_batch(&docs[rows], dimension)
        })?;
        if let Some(index) = &mut self.index {
            index.push_documents(first, docs);
        }
        Ok(())
    }

    /// Validates and writes the next batch in Arrow form, without copying it: its buffers are
    /// held until its rows are encoded. The batch has the six columns of [`arrow_schema()`], found
    /// by name (any order, no other column): extension types and field nullability need not be
    /// set, but a required column may hold no null, `dimension` must agree with the vectors,
    /// every `metadata_json` must be JSON, and `inserted_at` is in milliseconds since the epoch.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use akidb_snapshot_codec::*;
    /// use arrow_array::{ArrayRef, FixedSizeBinaryArray, FixedSizeListArray, Float32Array,
    ///     Int32Array, RecordBatch, StringArray, TimestampMillisecondArray};
    /// use arrow_schema::{DataType, Field};
    /// use uuid::Uuid;
    ///
    /// # let header = SnapshotHeader::new(CollectionId::from_uuid(Uuid::from_u128(1)),
    /// #     SnapshotId::from_uuid(Uuid::from_u128(2)), Timestamp::from_millis(0));
    /// let ids = [Uuid::from_u128(7), Uuid::from_u128(8)];
    /// let columns: Vec<(&str, ArrayRef)> = vec![
    ///     ("document_id", Arc::new(FixedSizeBinaryArray::try_from_iter(
    ///         ids.iter().map(|id| id.as_bytes())).unwrap())),
    ///     ("external_id", Arc::new(StringArray::from(vec![Some("a"), None]))),
    ///     ("dimension", Arc::new(Int32Array::from(vec![2, 2]))),
    ///     ("vector", Arc::new(FixedSizeListArray::new(
    ///         Arc::new(Field::new("item", DataType::Float32, false)), 2,
    ///         Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0, 4.0])), None))),
    ///     ("metadata_json", Arc::new(StringArray::from(vec![Some(r#"{"k":1}"#), None]))),
    ///     ("inserted_at", Arc::new(TimestampMillisecondArray::from(vec![5, 6]))),
    /// ];
    /// let batch = RecordBatch::try_from_iter(columns).unwrap();
    ///
    /// let mut writer = ParquetWriter::try_new(Vec::new(), header, ParquetConfig::default()).unwrap();
    /// writer.write_batch(&batch).unwrap();
    /// let (file, _) = writer.finish().unwrap();
    /// let docs = decode_parquet(file.into(), &Limits::default()).unwrap();
    /// assert_eq!(docs[1].vector, [3.0, 4.0]);
    /// assert_eq!(docs[0].metadata, Some(serde_json::json!({"k": 1})));
    /// ```
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.check_usable()?;
        let first = self.validator.position();
        let columns = self.validator.checked_columns(batch)?;
        // Rebuilt once around the caller's buffers; row groups take slices of it.
        let batch = columns.to_snapshot_batch()?;
        self.append(columns.rows(), |rows, _| {
            Ok(batch.slice(rows.start, rows.len()))
        })?;
        if let Some(index) = &mut self.index {
            index.push_columns(first, &columns);
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        match self.state {
            WriterState::Failed => Err(Error::writer_failed()),
            _ => Ok(()),
        }
    }

    /// Adds `rows` validated rows, which `batch_of` gives in Arrow form for any range of them.
    fn append(&mut self, rows: usize, batch_of: impl BatchOf) -> Result<()> {
        let Some(dimension) = self.validator.dimension() else {
            return Ok(()); // an empty batch before any document
        };
        if let WriterState::Waiting(_) = self.state {
            self.open(dimension)?;
        }
        let result = match &mut self.state {
            WriterState::Open(file) => file.push(rows, batch_of, self.config.row_group_size()),
            _ => Err(Error::writer_failed()),
        };
        if result.is_err() {
            self.state = WriterState::Failed;
        }
        result
    }

    /// Writes what is buffered and the footer, and returns the sink with the file's summary.
    /// Fails with [`Error::Validation`] if no document was written.
    pub fn finish(mut self) -> Result<(W, FileSummary)> {
        let (vector_count, dimension) = self.validator.finish()?;
        let WriterState::Open(mut file) = std::mem::replace(&mut self.state, WriterState::Failed)
        else {
            return Err(Error::writer_failed());
        };
        let rest = std::mem::take(&mut file.filling);
        if !rest.is_empty() {
            file.encode_group(rest)?;
        }
        file.split_last_group();
        file.encode_waiting()?;
        let OpenFile { mut file, .. } = *file;
        // Every page has reached the sink: what follows is the page index and the footer.
        file.flush()
            .map_err(|e| Error::encoding("writing the last row group failed", e))?;
        file.inner_mut().end_pages()?;
        file.append_key_value_metadata(KeyValue::new(
            footer_keys::VECTOR_COUNT.to_owned(),
            vector_count.to_string(),
        ));
        let sink = file
            .into_inner()
            .map_err(|e| Error::encoding("writing the footer failed", e))?;
        let (sink, mut summary) = FileSummary::of(sink, vector_count, dimension);
        summary.encryption = self.encryption.map(|key| EncryptionInfo::aes_gcm(key.id()));
        Ok((sink, summary))
    }

    fn open(&mut self, dimension: usize) -> Result<()> {
        let WriterState::Waiting(sink) = std::mem::replace(&mut self.state, WriterState::Failed)
        else {
            return Err(Error::writer_failed());
        };
        // DocumentValidator bounds the dimension by i32::MAX.
        let schema = arrow_schema(dimension as i32);
        let (props, vector_props) = writer_properties(
            &self.config,
            &self.header,
            dimension,
            self.encryption.as_ref(),
        )?;
        // ArrowWriter puts the Arrow schema in the footer (other readers need it to see a
        // fixed-size list); its low-level parts let row groups be encoded in parallel.
        let (file, factory) = ArrowWriter::try_new(sink, Arc::clone(&schema), Some(props))
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(|e| Error::encoding("could not start the Parquet writer", e))?;
        self.state = WriterState::Open(Box::new(OpenFile {
            file,
            factory,
            schema,
            dimension,
            vector_props,
            encrypted: self.encryption.is_some(),
            waiting: Vec::new(),
            filling: Vec::new(),
            filling_rows: 0,
        }));
        Ok(())
    }
}

impl<W: Write + Send> OpenFile<W> {
    /// Adds `rows` validated rows, encoding row groups as enough of them fill up.
    fn push(&mut self, rows: usize, batch_of: impl BatchOf, rows_per_group: usize) -> Result<()> {
        let step = arrow_batch_rows(self.dimension);
        let mut next = 0;
        while next < rows {
            let room = rows_per_group - self.filling_rows;
            let now = next..rows.min(next + room);
            for start in now.clone().step_by(step) {
                let end = now.end.min(start + step);
                self.filling.push(batch_of(start..end, self.dimension)?);
            }
            self.filling_rows += now.len();
            if self.filling_rows == rows_per_group {
                let group = std::mem::take(&mut self.filling);
                self.filling_rows = 0;
                self.encode_group(group)?;
            }
            next = now.end;
        }
        Ok(())
    }

    /// Encodes the row group `batches` and appends it; in an encrypted file, once as many row
    /// groups as cores are full.
    fn encode_group(&mut self, batches: Vec<RecordBatch>) -> Result<()> {
        if self.encrypted {
            self.waiting.push(batches);
            if self.waiting.len() >= workers(usize::MAX) {
                self.encode_waiting()?;
            }
            return Ok(());
        }
        let index = self.file.flushed_row_groups().len();
        let chunks = self.encode_columns(index, &batches);
        drop(batches);
        let chunks = chunks.map_err(|e| Error::encoding("encoding a row group failed", e))?;
        append_row_group(&mut self.file, chunks)
            .map_err(|e| Error::encoding("writing a row group failed", e))
    }

    /// Row group `index`: its vector column in parts of rows, one per core and no smaller
    /// than an Arrow batch (`vectors`), the other columns beside the first part.
    fn encode_columns(&self, index: usize, batches: &[RecordBatch]) -> ParquetResult<Vec<Chunk>> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let parts = workers(batches.len());
        let mut others = self.factory.create_column_writers(index)?;
        drop(others.remove(VECTOR));
        let others = Mutex::new(Some(others));
        let descr = self.file.schema_descr().column(VECTOR);
        let props = &self.vector_props;
        let (schema, dimension) = (&self.schema, self.dimension);
        let encoded = map_ordered(parts, |i| -> ParquetResult<(vectors::Part, Vec<Chunk>)> {
            let range = rows * i / parts..rows * (i + 1) / parts;
            let runs = float_runs(batches, range, dimension)?;
            let part = vectors::encode_part(descr.clone(), Arc::clone(props), &runs, dimension)?;
            let mine = if i == 0 {
                others.lock().ok().and_then(|mut o| o.take())
            } else {
                None
            };
            let mut rest = Vec::new();
            for (mut writer, column) in mine
                .into_iter()
                .flatten()
                .zip((0..).filter(|&c| c != VECTOR))
            {
                write_column(&mut writer, schema, column, batches)?;
                rest.push(Chunk::Arrow(writer.close()?));
            }
            Ok((part, rest))
        });
        let mut vector = Vec::with_capacity(parts);
        let mut chunks = Vec::new();
        for part in encoded {
            let (part, rest) = part?;
            vector.push(part);
            chunks.extend(rest);
        }
        let (pages, close) = vectors::splice(vector)?;
        chunks.insert(VECTOR, Chunk::Spliced(pages, close));
        Ok(chunks)
    }

    /// Cuts the one row group of an encrypted file still waiting at its end in as many as there
    /// are cores (whole Arrow batches each, as the vector column of a plain file is cut): a
    /// file of one row group would otherwise be encoded on one core.
    fn split_last_group(&mut self) {
        if self.waiting.len() != 1 {
            return;
        }
        let batches = std::mem::take(&mut self.waiting).swap_remove(0);
        let parts = workers(batches.len());
        let mut batches = batches.into_iter();
        let total = batches.len();
        self.waiting = (0..parts)
            .map(|i| {
                let take = total * (i + 1) / parts - total * i / parts;
                batches.by_ref().take(take).collect()
            })
            .collect();
    }

    /// Encodes the waiting row groups of an encrypted file and appends them.
    fn encode_waiting(&mut self) -> Result<()> {
        let groups = std::mem::take(&mut self.waiting);
        if groups.is_empty() {
            return Ok(());
        }
        let first = self.file.flushed_row_groups().len();
        let encoded = self.encode_encrypted(first, &groups);
        drop(groups);
        let encoded = encoded.map_err(|e| Error::encoding("encoding a row group failed", e))?;
        for chunks in encoded {
            append_row_group(&mut self.file, chunks)
                .map_err(|e| Error::encoding("writing a row group failed", e))?;
        }
        Ok(())
    }

    /// Row groups `first..` of an encrypted file, every column through the Arrow writer's
    /// column writers: only they encrypt pages (with each page's ordinal in its AAD), so the
    /// vector column cannot be spliced from parts. The cores share the groups instead, each
    /// group's vector column apart from its other columns (docs/BENCHMARKS.md, "Encryption").
    fn encode_encrypted(
        &self,
        first: usize,
        groups: &[Vec<RecordBatch>],
    ) -> ParquetResult<Vec<Vec<Chunk>>> {
        let mut tasks = Vec::with_capacity(groups.len() * 2);
        for group in 0..groups.len() {
            let mut writers: Vec<_> = (0..)
                .zip(self.factory.create_column_writers(first + group)?)
                .collect();
            let vector = writers.remove(VECTOR);
            tasks.push(Mutex::new(Some((group, vec![vector]))));
            tasks.push(Mutex::new(Some((group, writers))));
        }
        let schema = &self.schema;
        let encoded = map_ordered(
            tasks.len(),
            |i| -> ParquetResult<(usize, Vec<(usize, Chunk)>)> {
                let Some((group, writers)) = tasks[i].lock().ok().and_then(|mut t| t.take()) else {
                    return Err(ParquetError::General("a task was taken twice".into()));
                };
                let mut chunks = Vec::with_capacity(writers.len());
                for (column, mut writer) in writers {
                    write_column(&mut writer, schema, column, &groups[group])?;
                    chunks.push((column, Chunk::Arrow(writer.close()?)));
                }
                Ok((group, chunks))
            },
        );
        let mut by_group: Vec<Vec<(usize, Chunk)>> = groups.iter().map(|_| Vec::new()).collect();
        for task in encoded {
            let (group, chunks) = task?;
            by_group[group].extend(chunks);
        }
        Ok(by_group
            .into_iter()
            .map(|mut chunks| {
                chunks.sort_by_key(|(column, _)| *column);
                chunks.into_iter().map(|(_, chunk)| chunk).collect()
            })
            .collect())
    }
}

/// The floats of rows `rows` of `batches`, as one slice per batch they fall in.
fn float_runs(
    batches: &[RecordBatch],
    rows: Range<usize>,
    dimension: usize,
) -> ParquetResult<Vec<&[f32]>> {
    let mut runs = Vec::new();
    let mut start = 0;
    for batch in batches {
        let end = start + batch.num_rows();
        let (from, to) = (rows.start.max(start), rows.end.min(end));
        if from < to {
            let floats = batch
                .column(VECTOR)
                .as_fixed_size_list_opt()
                .and_then(|list| list.values().as_primitive_opt::<Float32Type>())
                .ok_or_else(|| {
                    ParquetError::General("the vector column is not a list of float32".into())
                })?;
            runs.push(&floats.values()[(from - start) * dimension..(to - start) * dimension]);
        }
        start = end;
    }
    Ok(runs)
}

type ParquetResult<T> = Result<T, ParquetError>;

/// Rows `range` of what is being written, as a snapshot batch with vectors of `dimension`
/// floats.
trait BatchOf: Fn(Range<usize>, usize) -> Result<RecordBatch> {}
impl<F: Fn(Range<usize>, usize) -> Result<RecordBatch>> BatchOf for F {}

/// A column chunk ready to be appended: as the Arrow writer left it, or spliced from parts.
enum Chunk {
    Arrow(ArrowColumnChunk),
    Spliced(vectors::Pages, ColumnCloseResult),
}

/// Writes column `column` of every batch to `writer`. Every column of a snapshot is one leaf.
fn write_column(
    writer: &mut ArrowColumnWriter,
    schema: &SchemaRef,
    column: usize,
    batches: &[RecordBatch],
) -> ParquetResult<()> {
    let field = schema.field(column);
    for batch in batches {
        for leaf in compute_leaves(field, batch.column(column))? {
            writer.write(&leaf)?;
        }
    }
    Ok(())
}

fn append_row_group<W: Write + Send>(
    file: &mut SerializedFileWriter<W>,
    chunks: Vec<Chunk>,
) -> ParquetResult<()> {
    let mut row_group = file.next_row_group()?;
    for chunk in chunks {
        match chunk {
            Chunk::Arrow(chunk) => chunk.append_to_row_group(&mut row_group)?,
            Chunk::Spliced(pages, close) => row_group.append_column(&pages, close)?,
        }
    }
    row_group.close().map(drop)
}

/// Rows per write batch of the columns other than vectors: their pages end on a multiple of it,
/// so it bounds how far past their target size they run.
const SMALL_WRITE_BATCH: usize = 64;

/// The properties of the file, and of its vector column (the same, but for write batches of
/// parquet's default size: small ones would cut every vector into its own batch).
///
/// Pages are small so that a partial restore reads little around each document it wants
/// (docs/DECISIONS.md, "Partial restore"): vector pages of about `page_bytes`, the others'
/// about a quarter of it, and dictionaries no larger than a page. Page statistics, and so a
/// column index, only for `inserted_at`, which time ranges select by; ids are in no order,
/// and strings' statistics would only grow the footer.
fn writer_properties(
    config: &ParquetConfig,
    header: &SnapshotHeader,
    dimension: usize,
    encryption: Option<&MasterKey>,
) -> Result<(WriterProperties, WriterPropertiesPtr)> {
    #[cfg(feature = "encryption")]
    let encryption = encryption
        .map(crate::encryption::key_material::file_encryption)
        .transpose()?;
    let created_at = header.created_at_rfc3339()?;
    let footer: Vec<KeyValue> = [
        (footer_keys::SCHEMA_VERSION, SCHEMA_VERSION.to_string()),
        (footer_keys::COLLECTION_ID, header.collection_id.to_string()),
        (footer_keys::SNAPSHOT_ID, header.snapshot_id.to_string()),
        (footer_keys::DIMENSION, dimension.to_string()),
        (footer_keys::CREATED_AT, created_at),
    ]
    .into_iter()
    .map(|(k, v)| KeyValue::new(k.to_owned(), v))
    .collect();

    let vector = ColumnPath::new(vec![
        columns::VECTOR.to_owned(),
        "list".to_owned(),
        columns::VECTOR_ELEMENT.to_owned(),
    ]);
    let small_pages = (config.page_bytes() / 4).max(1024);
    let build = |write_batch: usize| -> Result<WriterProperties> {
        let mut props = WriterProperties::builder()
            .set_created_by(concat!("akidb-snapshot-codec ", env!("CARGO_PKG_VERSION")).to_owned())
            .set_compression(config.compression().to_parquet()?)
            .set_max_row_group_row_count(Some(config.row_group_size()))
            .set_key_value_metadata(Some(footer.clone()))
            .set_dictionary_enabled(false)
            .set_write_batch_size(write_batch)
            .set_data_page_size_limit(small_pages)
            .set_dictionary_page_size_limit(small_pages)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_column_statistics_enabled(
                ColumnPath::from(columns::INSERTED_AT),
                EnabledStatistics::Page,
            )
            .set_column_data_page_size_limit(vector.clone(), config.page_bytes())
            // Min/max of embedding floats prune nothing and cost a pass over every value.
            .set_column_statistics_enabled(vector.clone(), EnabledStatistics::None);
        if config.enable_dictionary() {
            for column in [columns::EXTERNAL_ID, columns::METADATA_JSON] {
                props = props.set_column_dictionary_enabled(ColumnPath::from(column), true);
            }
        }
        if config.vector_encoding() == VectorEncoding::ByteStreamSplit {
            props = props.set_column_encoding(vector.clone(), Encoding::BYTE_STREAM_SPLIT);
        }
        #[cfg(feature = "encryption")]
        if let Some(encryption) = &encryption {
            props = props.with_file_encryption_properties(Arc::clone(encryption));
        }
        #[cfg(not(feature = "encryption"))]
        let _ = encryption;
        Ok(props.build())
    };
    let vector_batch = WriterProperties::builder().build().write_batch_size();
    // An encrypted file's vectors go through the file's own properties (they are not spliced),
    // and its pages are never read one by one (docs/ENCRYPTION.md), so the small columns' pages
    // need not stop close to their target: every column gets the vectors' larger batches.
    #[cfg(feature = "encryption")]
    let file_batch = if encryption.is_some() {
        vector_batch
    } else {
        SMALL_WRITE_BATCH
    };
    #[cfg(not(feature = "encryption"))]
    let file_batch = SMALL_WRITE_BATCH;
    Ok((build(file_batch)?, Arc::new(build(vector_batch)?)))
}
