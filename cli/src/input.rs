//! Reading documents from the user's files, a batch at a time, on a blocking thread.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use akidb_snapshot::codec::{
    FooterParse, KeyRing, Limits, ParquetFooter, Timestamp, VectorDocument, decode_json,
    matrix_batch,
};
use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use indicatif::ProgressBar;
use serde::Deserialize;
use uuid::Uuid;

use crate::exit::CliError;

/// An input file's problem, with the file and line or row it is at.
#[derive(Debug)]
pub(crate) enum InputError {
    /// The file is unreadable or malformed as a file of its kind.
    File(String),
    /// The codec refused the file as a snapshot (a `.parquet` or `.json` input).
    Snapshot(PathBuf, akidb_snapshot::codec::Error),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::File(message) => f.write_str(message),
            InputError::Snapshot(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for InputError {}

impl From<InputError> for CliError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::File(message) => CliError::file(message),
            InputError::Snapshot(path, e) => CliError::LocalFile(Box::new(e), path),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    JsonLines,
    Npy,
    Parquet,
    Json,
}

/// A file of documents, opened and recognised but not read yet.
pub(crate) struct Input {
    path: PathBuf,
    kind: Kind,
    total: Option<u64>,
    /// Blank lines skipped in a JSON Lines file, to turn a document's position into its line.
    blank_lines: Arc<Mutex<Vec<u64>>>,
    /// Whether every document must carry its id, rather than be given a new one.
    ids_required: bool,
    /// The master keys an encrypted .parquet input is read with.
    keys: KeyRing,
}

/// One line of a JSON Lines input. Ids and times are optional; unknown keys are errors, so a
/// misspelt field is not silently dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    document_id: Option<Uuid>,
    external_id: Option<String>,
    vector: Vec<f32>,
    #[serde(default, deserialize_with = "present")]
    metadata: Option<serde_json::Value>,
    inserted_at: Option<Timestamp>,
}

/// `"metadata": null` is metadata that is null, not "no metadata".
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(millis)
}

impl Input {
    /// Recognises `path` by its extension and reads what it says about its size.
    pub(crate) fn open(path: &Path) -> Result<Input, CliError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let kind = match extension.as_deref() {
            Some("jsonl" | "ndjson") => Kind::JsonLines,
            Some("npy") => Kind::Npy,
            Some("parquet") => Kind::Parquet,
            Some("json") => Kind::Json,
            _ => {
                return Err(CliError::file(format!(
                    "{}: unknown input type; use .jsonl, .ndjson, .npy, .parquet or .json",
                    path.display()
                )));
            }
        };
        let file = File::open(path)
            .map_err(|e| CliError::file(format!("cannot open {}: {e}", path.display())))?;
        let total = match kind {
            Kind::Npy => Some(npy_shape(path, file)?.0),
            _ => None,
        };
        Ok(Input {
            path: path.to_owned(),
            kind,
            total,
            blank_lines: Arc::default(),
            ids_required: false,
            keys: KeyRing::default(),
        })
    }

    /// Refuses a document without its id or time (and a .npy file, which holds no ids), where
    /// a new one would be wrong: a full export compared with its base by id and content.
    pub(crate) fn ids_required(mut self, why: &str) -> Result<Input, CliError> {
        if self.kind == Kind::Npy {
            return Err(CliError::file(format!(
                "{}: a .npy file holds no document ids, and {why}; use .jsonl or .parquet",
                self.path.display()
            )));
        }
        self.ids_required = true;
        Ok(self)
    }

    /// How many documents the file holds, when that is known before reading it.
    pub(crate) fn total(&self) -> Option<u64> {
        self.total
    }

    /// Where the document at `position` (from 0) is in the file, in words.
    pub(crate) fn locate(&self, position: u64) -> String {
        match self.kind {
            Kind::JsonLines => {
                let blanks = self
                    .blank_lines
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let mut line = position + 1;
                for blank in blanks.iter() {
                    if *blank <= line {
                        line += 1;
                    }
                }
                format!("line {line} of {}", self.path.display())
            }
            Kind::Npy => format!("row {position} of {}", self.path.display()),
            _ => format!("document #{position} of {}", self.path.display()),
        }
    }

    /// Reads an encrypted .parquet input with these master keys.
    pub(crate) fn with_keys(mut self, keys: KeyRing) -> Self {
        self.keys = keys;
        self
    }

    /// Reads the file on a blocking thread in batches of `rows` documents: Arrow batches from
    /// a .npy or .parquet file, whose rows need no document each, documents from JSON. Reading
    /// stops when the stream is dropped.
    pub(crate) fn stream(&self, rows: usize, progress: ProgressBar) -> Rows {
        let path = self.path.clone();
        match self.kind {
            Kind::Npy => Rows::Arrow(spawn_reader(progress, RecordBatch::num_rows, move |emit| {
                read_npy(&path, rows, emit)
            })),
            Kind::Parquet => {
                let keys = self.keys.clone();
                Rows::Arrow(spawn_reader(progress, RecordBatch::num_rows, move |emit| {
                    read_parquet(&path, &keys, emit)
                }))
            }
            Kind::JsonLines => {
                let blank_lines = Arc::clone(&self.blank_lines);
                let ids_required = self.ids_required;
                Rows::Documents(spawn_reader(progress, Vec::len, move |emit| {
                    read_json_lines(&path, rows, ids_required, &blank_lines, emit)
                }))
            }
            Kind::Json => Rows::Documents(spawn_reader(progress, Vec::len, move |emit| {
                read_json(&path, rows, emit)
            })),
        }
    }
}

/// An input's batches, in the form its reader makes them.
pub(crate) enum Rows {
    Documents(BoxStream<'static, Result<Vec<VectorDocument>, InputError>>),
    Arrow(BoxStream<'static, Result<RecordBatch, InputError>>),
}

/// Runs `read` on a blocking thread, handing on what it emits one batch ahead of the consumer
/// (so reading overlaps encoding, and no more than a batch waits).
fn spawn_reader<T: Send + 'static>(
    progress: ProgressBar,
    rows_of: fn(&T) -> usize,
    read: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), InputError> + Send + 'static,
) -> BoxStream<'static, Result<T, InputError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        let mut emit = |batch: T| {
            progress.inc(rows_of(&batch) as u64);
            tx.blocking_send(Ok(batch)).is_ok()
        };
        if let Err(e) = read(&mut emit) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

fn error(path: &Path, what: impl std::fmt::Display) -> InputError {
    InputError::File(format!("{}: {what}", path.display()))
}

/// The codec's refusal of a snapshot file given as input, with its kind.
fn refused(path: &Path) -> impl FnOnce(akidb_snapshot::codec::Error) -> InputError {
    move |e| InputError::Snapshot(path.to_owned(), e)
}

fn read_json_lines(
    path: &Path,
    rows: usize,
    ids_required: bool,
    blank_lines: &Mutex<Vec<u64>>,
    emit: &mut dyn FnMut(Vec<VectorDocument>) -> bool,
) -> Result<(), InputError> {
    let file = File::open(path).map_err(|e| error(path, e))?;
    let now = now();
    let mut batch = Vec::with_capacity(rows);
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let number = index as u64 + 1;
        let line = line.map_err(|e| error(path, format!("line {number}: {e}")))?;
        if line.trim().is_empty() {
            blank_lines
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(number);
            continue;
        }
        let parsed: Line =
            serde_json::from_str(&line).map_err(|e| error(path, format!("line {number}: {e}")))?;
        if ids_required && (parsed.document_id.is_none() || parsed.inserted_at.is_none()) {
            return Err(error(
                path,
                format!(
                    "line {number}: no document_id or inserted_at; an export compared with its \
                     base matches documents by id and content, so each needs its own (a new id \
                     or time would count as a change)"
                ),
            ));
        }
        let id = parsed.document_id.unwrap_or_else(Uuid::now_v7);
        let mut doc = VectorDocument::new(id, parsed.vector)
            .with_inserted_at(parsed.inserted_at.unwrap_or(now));
        doc.external_id = parsed.external_id;
        doc.metadata = parsed.metadata;
        batch.push(doc);
        if batch.len() == rows && !emit(std::mem::replace(&mut batch, Vec::with_capacity(rows))) {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        emit(batch);
    }
    Ok(())
}

/// Rows and columns of a 2-D float32 .npy file.
fn npy_shape(path: &Path, file: File) -> Result<(u64, u64), CliError> {
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .map_err(|e| CliError::file(format!("{}: not a .npy file: {e}", path.display())))?;
    match *npy.shape() {
        [rows, columns] if columns > 0 => Ok((rows, columns)),
        ref shape => Err(CliError::file(format!(
            "{}: a matrix of one vector per row is needed, this array has shape {shape:?}",
            path.display()
        ))),
    }
}

/// Reads a float32 matrix a batch of rows at a time, each batch in one read into the buffer
/// that becomes the vector column as it is: no float is copied, and no row allocates.
fn read_npy(
    path: &Path,
    rows: usize,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), InputError> {
    let file = File::open(path).map_err(|e| error(path, e))?;
    let npy = npyz::NpyFile::new(BufReader::new(file)).map_err(|e| error(path, e))?;
    if npy.order() != npyz::Order::C {
        return Err(error(
            path,
            "Fortran-ordered arrays are not supported; save with order='C'",
        ));
    }
    let (total, dimension) = match *npy.shape() {
        [r, c] => (r, c as usize),
        _ => return Err(error(path, "not a 2-D matrix")),
    };
    let little_endian = match npy.dtype().descr().as_str() {
        "'<f4'" => true,
        "'>f4'" => false,
        dtype => return Err(error(path, format!("holds {dtype}, not float32 (<f4)"))),
    };
    let now = now();
    let mut data = npy.into_inner();
    let mut row = 0u64;
    while row < total {
        let count = (total - row).min(rows as u64) as usize;
        let want = count * dimension * 4;
        // Read straight into the vector column's memory: no zeroing first, no copy after.
        let mut floats = Vec::with_capacity(want);
        (&mut data)
            .take(want as u64)
            .read_to_end(&mut floats)
            .map_err(|e| error(path, e))?;
        if floats.len() < want {
            return Err(truncated(
                path,
                total,
                row + (floats.len() / (dimension * 4)) as u64,
            ));
        }
        if little_endian != cfg!(target_endian = "little") {
            floats.chunks_exact_mut(4).for_each(<[u8]>::reverse);
        }
        let ids: Vec<Uuid> = new_ids(count).collect();
        let batch = matrix_batch(&ids, dimension, Buffer::from_vec(floats), now)
            .map_err(|e| error(path, e))?;
        if !emit(batch) {
            return Ok(());
        }
        row += count as u64;
    }
    Ok(())
}

/// `count` new version-7 ids made from one: its last 62 bits counted up from their random start
/// (wrapping), so the ids are unique within the batch and as unlikely to meet another batch's as
/// random ids are, for one draw from the system's random source rather than one per row (10,000
/// draws, each a system call, were 3% of the time to create a 10,000-row snapshot).
fn new_ids(count: usize) -> impl Iterator<Item = Uuid> {
    // RFC 9562: timestamp, version, 12 random bits, variant, then the 62 bits counted here.
    const COUNTED: u128 = (1 << 62) - 1;
    let first = Uuid::now_v7().as_u128();
    (0..count as u128)
        .map(move |i| Uuid::from_u128((first & !COUNTED) | (first.wrapping_add(i) & COUNTED)))
}

fn truncated(path: &Path, total: u64, row: u64) -> InputError {
    error(
        path,
        format!("truncated: the header promises {total} rows, the data ends in row {row}"),
    )
}

fn read_all(path: &Path) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| error(path, e))?;
    Ok(bytes)
}

/// Reads a Parquet snapshot file a row group at a time: its footer from the tail, then each row
/// group's byte range, so memory stays one row group whatever the file's size.
fn read_parquet(
    path: &Path,
    keys: &KeyRing,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), InputError> {
    let mut file = File::open(path).map_err(|e| error(path, e))?;
    let len = file.metadata().map_err(|e| error(path, e))?.len();
    let mut read_range = |range: std::ops::Range<u64>| -> Result<Bytes, InputError> {
        let mut buf = vec![0; (range.end - range.start) as usize];
        file.seek(SeekFrom::Start(range.start))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| error(path, e))?;
        Ok(Bytes::from(buf))
    };
    let mut tail_len = ParquetFooter::SUGGESTED_TAIL_BYTES.min(len);
    let footer = loop {
        let tail = read_range(len - tail_len..len)?;
        match ParquetFooter::parse_with_keys(tail, len, &Limits::default(), keys)
            .map_err(refused(path))?
        {
            FooterParse::Complete(footer) => break footer,
            FooterParse::NeedTail(needed) => tail_len = needed,
        }
    };
    for (index, row_group) in footer.info().row_groups.iter().enumerate() {
        let bytes = read_range(row_group.byte_range.clone())?;
        let batches = footer
            .decode_row_group::<RecordBatch>(index, bytes)
            .map_err(refused(path))?;
        for batch in batches {
            if !emit(batch) {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn read_json(
    path: &Path,
    rows: usize,
    emit: &mut dyn FnMut(Vec<VectorDocument>) -> bool,
) -> Result<(), InputError> {
    let snapshot = decode_json(&read_all(path)?).map_err(refused(path))?;
    let mut docs = snapshot.documents.into_iter();
    loop {
        let batch: Vec<_> = docs.by_ref().take(rows).collect();
        if batch.is_empty() || !emit(batch) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_distinct_version_7_ids_of_now() {
        let before = now().as_millis();
        let ids: Vec<Uuid> = new_ids(10_000).collect();
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert_eq!(id.get_version(), Some(uuid::Version::SortRand), "{id}");
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{id}");
            let (seconds, nanos) = id.get_timestamp().expect("a v7 id has a time").to_unix();
            let millis = (seconds * 1000 + u64::from(nanos) / 1_000_000) as i64;
            assert!((before..=now().as_millis()).contains(&millis), "{id}");
        }
        assert_ne!(new_ids(1).next(), new_ids(1).next());
    }
}
