//! Writing restored documents to the user's files, and printing results.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use akidb_snapshot::codec::{
    ParquetConfig, ParquetWriter, PartKind, SnapshotHeader, SnapshotInfo, SnapshotMetadata,
    VectorDocument, arrow_schema, batch_matrix,
};
use arrow_array::RecordBatch;
use futures::TryStreamExt;
use indicatif::ProgressBar;

use crate::exit::CliError;

/// A file being written under a temporary name beside its final one; renamed into place only
/// when complete, removed if anything fails. An existing file is never replaced.
pub(crate) struct OutputFile {
    path: PathBuf,
    partial: PathBuf,
    done: bool,
}

impl OutputFile {
    pub(crate) fn create(path: &Path) -> Result<(OutputFile, BufWriter<File>), CliError> {
        if path.exists() {
            return Err(CliError::file(format!(
                "{} already exists; choose another --output",
                path.display()
            )));
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = File::create_new(&partial)
            .map_err(|e| CliError::file(format!("cannot create {}: {e}", partial.display())))?;
        let output = OutputFile {
            path: path.to_owned(),
            partial,
            done: false,
        };
        Ok((output, BufWriter::with_capacity(1 << 20, file)))
    }

    pub(crate) fn commit(mut self, writer: BufWriter<File>) -> Result<(), CliError> {
        let file = writer.into_inner().map_err(|e| {
            CliError::file(format!(
                "cannot write {}: {}",
                self.partial.display(),
                e.error()
            ))
        })?;
        file.sync_all()
            .and_then(|()| std::fs::hard_link(&self.partial, &self.path))
            .map_err(|e| CliError::file(format!("cannot write {}: {e}", self.path.display())))?;
        self.done = true;
        let _ = std::fs::remove_file(&self.partial);
        Ok(())
    }

    fn write_error(&self, e: impl std::fmt::Display) -> CliError {
        CliError::file(format!("cannot write {}: {e}", self.partial.display()))
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// Writes every document as a JSON line, as `snapshot create` reads them back.
pub(crate) async fn write_json_lines(
    path: &Path,
    mut batches: impl Batches<VectorDocument>,
    progress: &ProgressBar,
) -> Result<u64, CliError> {
    let (output, mut writer) = OutputFile::create(path)?;
    let mut count = 0u64;
    while let Some(batch) = batches.try_next().await? {
        for doc in &batch {
            if doc.vector.iter().any(|x| !x.is_finite()) {
                return Err(CliError::file(format!(
                    "document {} has a NaN or infinite float, which JSON cannot hold; restore to .npy or .parquet instead",
                    doc.document_id
                )));
            }
            serde_json::to_writer(&mut writer, doc).map_err(|e| output.write_error(e))?;
            writer.write_all(b"\n").map_err(|e| output.write_error(e))?;
        }
        count += batch.len() as u64;
        progress.inc(batch.len() as u64);
    }
    output.commit(writer)?;
    Ok(count)
}

/// Writes the vectors as a float32 matrix, one row per document, in the snapshot's order: the
/// floats of each batch as they are in memory, under a header that names this machine's byte
/// order. The header says `rows` rows; if fewer come (a partial restore, whose count is known
/// only at the end), it is written again with the count, at the same length.
pub(crate) async fn write_npy(
    path: &Path,
    (rows, dimension): (u64, u32),
    mut batches: impl Batches<RecordBatch>,
    progress: &ProgressBar,
) -> Result<u64, CliError> {
    let (output, mut writer) = OutputFile::create(path)?;
    writer
        .write_all(&npy_header(rows, dimension))
        .map_err(|e| output.write_error(e))?;
    let mut count = 0u64;
    while let Some(group) = batches.try_next().await? {
        for batch in &group {
            let (_, floats) = batch_matrix(batch).map_err(|e| output.write_error(e))?;
            writer
                .write_all(floats.inner().as_slice())
                .map_err(|e| output.write_error(e))?;
            count += batch.num_rows() as u64;
            progress.inc(batch.num_rows() as u64);
        }
    }
    if count != rows {
        writer
            .seek(SeekFrom::Start(0))
            .and_then(|_| writer.write_all(&npy_header(count, dimension)))
            .map_err(|e| output.write_error(e))?;
    }
    output.commit(writer)?;
    Ok(count)
}

/// The header of an NPY 1.0 file of `rows` × `dimension` float32 in this machine's byte order.
/// Its length does not depend on `rows`: the count is padded to 20 characters (numpy reads the
/// shape as a Python literal, where the spaces are nothing), so it can be written again.
fn npy_header(rows: u64, dimension: u32) -> Vec<u8> {
    let order = if cfg!(target_endian = "little") {
        '<'
    } else {
        '>'
    };
    let mut dict = format!(
        "{{'descr': '{order}f4', 'fortran_order': False, 'shape': ({rows:>20}, {dimension}), }}"
    );
    // Magic (6), version (2), length (2), the dict and a newline: a multiple of 64 bytes.
    let unpadded = 10 + dict.len() + 1;
    dict.extend(std::iter::repeat_n(
        ' ',
        unpadded.next_multiple_of(64) - unpadded,
    ));
    dict.push('\n');
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend((dict.len() as u16).to_le_bytes());
    header.extend(dict.as_bytes());
    header
}

/// A stream of restored batches: a whole restore's, or a partial one's.
pub(crate) trait Batches<T>:
    futures::Stream<Item = akidb_snapshot::Result<Vec<T>>> + Unpin
{
}
impl<T, S: futures::Stream<Item = akidb_snapshot::Result<Vec<T>>> + Unpin> Batches<T> for S {}

/// Writes bytes that were already checked (a Parquet snapshot file, unchanged).
pub(crate) fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let (output, mut writer) = OutputFile::create(path)?;
    writer.write_all(bytes).map_err(|e| output.write_error(e))?;
    output.commit(writer)
}

/// Encodes restored documents as a Parquet snapshot file with the same header (for a JSON
/// snapshot restored to .parquet).
pub(crate) async fn write_parquet(
    path: &Path,
    metadata: &SnapshotMetadata,
    mut batches: impl Batches<VectorDocument>,
    progress: &ProgressBar,
) -> Result<u64, CliError> {
    let (output, writer) = OutputFile::create(path)?;
    let header = SnapshotHeader::new(
        metadata.collection_id,
        metadata.snapshot_id,
        metadata.created_at,
    );
    let mut parquet = ParquetWriter::try_new(writer, header, ParquetConfig::default())
        .map_err(|e| output.write_error(e))?;
    let mut count = 0u64;
    while let Some(batch) = batches.try_next().await? {
        parquet.write(&batch).map_err(|e| output.write_error(e))?;
        count += batch.len() as u64;
        progress.inc(batch.len() as u64);
    }
    if count == 0 {
        return Err(CliError::file(format!(
            "no document was selected, so {} was not written (a .jsonl or .npy output may be \
             empty; a Parquet file needs a document to know its dimension)",
            path.display()
        )));
    }
    let (writer, _) = parquet.finish().map_err(|e| output.write_error(e))?;
    output.commit(writer)?;
    Ok(count)
}

pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// The vectors' in-memory size (count × dimension × 4 bytes) over the file's size.
pub(crate) fn ratio(vector_count: u64, dimension: u32, file_bytes: u64) -> f64 {
    vector_count as f64 * f64::from(dimension) * 4.0 / file_bytes.max(1) as f64
}

pub(crate) fn print_metadata(m: &SnapshotMetadata) {
    println!("snapshot     {}", m.snapshot_id);
    println!("collection   {}", m.collection_id);
    println!(
        "created      {}",
        m.created_at
            .to_rfc3339()
            .unwrap_or_else(|| m.created_at.as_millis().to_string())
    );
    println!("format       {}", m.format.extension());
    println!(
        "vectors      {} of dimension {}",
        m.vector_count, m.dimension
    );
    println!(
        "size         {} ({} bytes)",
        megabytes(m.size_bytes),
        m.size_bytes
    );
    if m.stored_bytes() != m.size_bytes {
        println!(
            "stored       {} with the parts' id indexes",
            megabytes(m.stored_bytes())
        );
    }
    println!(
        "compression  {} ({:.2}x compression of the raw float32)",
        m.compression,
        ratio(m.vector_count, m.dimension, m.size_bytes)
    );
    if let Some(encryption) = &m.encryption {
        println!(
            "encrypted    {} under master key `{}`",
            encryption.algorithm, encryption.key_id
        );
    }
    if let Some(sha) = m.checksum_sha256 {
        println!("sha256       {sha}");
    }
    println!("schema       version {}", m.schema_version);
    if let Some(parent) = m.parent_snapshot_id {
        println!("parent       {parent}");
    }
    if !m.parts.is_empty() {
        println!("parts        {}", m.parts.len());
        for part in &m.parts {
            println!(
                "  {}  {} rows, {} bytes, sha256 {}",
                part.key, part.rows, part.size_bytes, part.checksum_sha256
            );
        }
    }
}

pub(crate) fn print_info(info: &SnapshotInfo) {
    println!();
    println!(
        "file         {} bytes, written by {}",
        info.file_bytes,
        info.created_by.as_deref().unwrap_or("?")
    );
    println!(
        "pages        {} compressed, {} uncompressed ({:.2}x)",
        megabytes(info.compressed_bytes),
        megabytes(info.uncompressed_bytes),
        info.uncompressed_bytes as f64 / info.compressed_bytes.max(1) as f64
    );
    println!("columns");
    let dimension = i32::try_from(info.dimension).unwrap_or(i32::MAX);
    for field in arrow_schema(dimension).fields() {
        let extension = field
            .extension_type_name()
            .map(|name| format!(" ({name})"))
            .unwrap_or_default();
        let optional = if field.is_nullable() {
            ", optional"
        } else {
            ""
        };
        println!(
            "  {:<14} {}{extension}{optional}",
            field.name(),
            field.data_type()
        );
    }
    println!("row groups   {}", info.row_groups.len());
    println!(
        "  {:>5} {:>10} {:>14} {:>14}",
        "#", "rows", "compressed", "uncompressed"
    );
    for (i, rg) in info.row_groups.iter().enumerate() {
        println!(
            "  {i:>5} {:>10} {:>14} {:>14}",
            rg.rows,
            megabytes(rg.compressed_bytes),
            megabytes(rg.uncompressed_bytes)
        );
    }
    if info.header.is_none() {
        println!("footer keys  none: written by another tool in the snapshot schema");
        return;
    }
    println!("footer keys");
    for (k, v) in &info.footer {
        if k.starts_with("akidb.") {
            println!("  {k} = {v}");
        }
    }
}

pub(crate) fn info_json(info: &SnapshotInfo) -> serde_json::Value {
    serde_json::json!({
        "collection_id": info.header.map(|h| h.collection_id),
        "snapshot_id": info.header.map(|h| h.snapshot_id),
        "created_at": info.header.map(|h| h.created_at),
        "schema_version": info.schema_version,
        "vector_count": info.vector_count,
        "dimension": info.dimension,
        "compression": info.compression.map(|c| c.to_string()),
        "file_bytes": info.file_bytes,
        "compressed_bytes": info.compressed_bytes,
        "uncompressed_bytes": info.uncompressed_bytes,
        "created_by": info.created_by,
        "row_groups": info.row_groups.iter().map(|rg| serde_json::json!({
            "rows": rg.rows,
            "offset": rg.byte_range.start,
            "length": rg.byte_range.end - rg.byte_range.start,
            "compressed_bytes": rg.compressed_bytes,
            "uncompressed_bytes": rg.uncompressed_bytes,
        })).collect::<Vec<_>>(),
        "footer": info.footer,
    })
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::internal(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// A DuckDB query over a snapshot's files: its documents as one table, in order (DuckDB reads a
/// list of files in the list's order while `preserve_insertion_order` is on, its default).
pub(crate) fn duckdb_query(files: &[(PartKind, String)]) -> String {
    let list = |kind: Option<PartKind>| -> String {
        let quoted: Vec<String> = files
            .iter()
            .filter(|(k, _)| kind.is_none_or(|kind| *k == kind))
            .map(|(_, l)| format!("'{}'", l.replace('\'', "''")))
            .collect();
        format!("[{}]", quoted.join(", "))
    };
    let data = list(Some(PartKind::Data));
    if files.iter().all(|(kind, _)| *kind == PartKind::Data) {
        return format!("SELECT * FROM read_parquet({data})");
    }
    // The content rule (docs/FORMAT.md): a row is gone when a tombstone part after its part
    // holds its id; positions in the manifest's list order the rows as a restore does.
    let (all, tombstones) = (list(None), list(Some(PartKind::Tombstones)));
    format!(
        "SELECT * EXCLUDE (filename, file_row_number) \
         FROM read_parquet({data}, filename = true, file_row_number = true) AS d \
         WHERE NOT EXISTS (SELECT 1 FROM read_parquet({tombstones}, filename = true) AS t \
         WHERE t.document_id = d.document_id \
         AND list_position({all}, t.filename) > list_position({all}, d.filename)) \
         ORDER BY list_position({all}, d.filename), file_row_number"
    )
}
