//! The command line.

use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use akidb_snapshot::Shard;
use akidb_snapshot::codec::{CollectionId, Compression, SnapshotId, Timestamp};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// Back up, inspect and restore vector collections as Parquet snapshots.
///
/// Snapshots live in a store: a local folder (the default, ./akidb-snapshots), S3 or an
/// S3-compatible server, or memory. Each is a manifest written last, naming its parts (Parquet
/// files that snapshots may share), or, from older versions, one data file and its metadata: a
/// snapshot exists once its manifest does, and every restore checks each file's size and
/// SHA-256, the count and the dimension.
#[derive(Debug, Parser)]
#[command(name = "akidb-cli", version, propagate_version = true)]
#[command(after_help = "\
Examples:
  akidb-cli snapshot create --collection-id $C --input vectors.jsonl
  akidb-cli snapshot list --collection-id $C
  akidb-cli snapshot restore --collection-id $C --snapshot-id latest --output back.npy
  akidb-cli --store s3://bucket/backups snapshot verify --collection-id $C --snapshot-id $S")]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The store: file://PATH, s3://bucket/prefix, gs://bucket/prefix, azblob://container/prefix
    /// or memory://. S3 takes its region, endpoint and credentials from AWS_REGION,
    /// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; Cloud Storage from
    /// GOOGLE_APPLICATION_CREDENTIALS (or STORAGE_EMULATOR_HOST); Azure from
    /// AZURE_STORAGE_CONNECTION_STRING (or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY); each
    /// also from the URI's query (?region=…&endpoint=…).
    /// [default: the config file's uri, else file://./akidb-snapshots]
    #[arg(long, global = true, value_name = "URI", env = "AKIDB_STORE")]
    pub(crate) store: Option<String>,
    /// A TOML file with a `[storage]` table (uri, snapshotter_type, `[storage.parquet]`, …).
    #[arg(long, global = true, value_name = "FILE", env = "AKIDB_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Encrypt new snapshots under the master key of this id, and read encrypted ones with it
    /// (docs/ENCRYPTION.md). The key is read from --encryption-key-file, else from the
    /// environment variable AKIDB_ENCRYPTION_KEY: 32, 48 or 64 hexadecimal digits.
    /// [default: the config file's [storage.encryption] key_id]
    #[arg(
        long,
        global = true,
        value_name = "ID",
        env = "AKIDB_ENCRYPTION_KEY_ID"
    )]
    pub(crate) encryption_key_id: Option<String>,
    /// A file holding the master key, as 32, 48 or 64 hexadecimal digits (`openssl rand -hex
    /// 32 > master.key`). Keep it apart from the store: whoever reads both reads the snapshots.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "AKIDB_ENCRYPTION_KEY_FILE"
    )]
    pub(crate) encryption_key_file: Option<PathBuf>,
    /// Also read snapshots encrypted under the master key ID, from the key file PATH
    /// (repeatable): the keys of older snapshots after a key rotation. Writes use
    /// --encryption-key-id only.
    #[arg(long, global = true, value_name = "ID=PATH", value_parser = parse_read_key)]
    pub(crate) read_key: Vec<(String, PathBuf)>,
    /// S3 server-side encryption of every object written: sse-s3 (keys S3 manages) or sse-kms
    /// (a KMS key). It protects the bucket's disks, not the snapshots from whoever may read
    /// the bucket: for that, --encryption-key-id (docs/ENCRYPTION.md).
    /// [default: the config file's [storage.server_side_encryption], else the bucket's own]
    #[arg(long, global = true, value_name = "KIND", env = "AKIDB_SSE")]
    pub(crate) sse: Option<SseKind>,
    /// The KMS key (id or ARN) of --sse sse-kms. [default: the bucket's AWS-managed key]
    #[arg(
        long,
        global = true,
        value_name = "ID",
        env = "AKIDB_SSE_KMS_KEY_ID",
        requires = "sse"
    )]
    pub(crate) sse_kms_key_id: Option<String>,
    /// The storage class of every object written: on S3 STANDARD_IA, ONEZONE_IA,
    /// INTELLIGENT_TIERING, GLACIER_IR, …; on Google Cloud Storage NEARLINE, COLDLINE, ARCHIVE.
    /// For snapshot copy, the destination's. [default: the config file's storage_class, else
    /// the bucket's default]
    #[arg(long, global = true, value_name = "CLASS", env = "AKIDB_STORAGE_CLASS")]
    pub(crate) storage_class: Option<String>,
    /// Print one JSON document on stdout instead of text (and no progress bar).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More log lines on stderr (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr; no progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

/// `ID=PATH` of `--read-key`.
fn parse_read_key(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((id, path)) if !id.is_empty() && !path.is_empty() => {
            Ok((id.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!(
            "`{text}` is not ID=PATH: give the key's id, `=`, and the file that holds it"
        )),
    }
}

/// The kinds of S3 server-side encryption (`--sse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SseKind {
    /// SSE-S3: keys S3 manages (AES256).
    #[value(name = "sse-s3")]
    S3,
    /// SSE-KMS: a KMS key (aws:kms).
    #[value(name = "sse-kms")]
    Kms,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, list, inspect, verify, restore, delete and prune snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SnapshotCommand {
    /// Create a snapshot of a collection from a file of vectors.
    ///
    /// The input is read as it is encoded, so any size works: JSON Lines (.jsonl or .ndjson:
    /// one document per line, {"vector": [...]} plus optional "document_id", "external_id",
    /// "metadata", "inserted_at"; missing ids and times are generated; "inserted_at" is RFC 3339
    /// text or an integer of epoch milliseconds, negative before 1970), a NumPy float32 matrix
    /// (.npy: one row per document, ids generated), or an existing snapshot file (.parquet or
    /// .json, ids kept). Prints the new snapshot's id (with --json, its metadata).
    Create(CreateArgs),
    /// Restore a snapshot into a file: .jsonl, .npy (the vectors only), or .parquet.
    Restore(RestoreArgs),
    /// List a collection's snapshots, newest first.
    List(CollectionArgs),
    /// Delete a snapshot: its metadata file first, so it stops existing at once, then a v1
    /// snapshot's data file. A v2 snapshot's parts may be shared with other snapshots: `gc`
    /// removes them once no snapshot names them.
    Delete(SnapshotArgs),
    /// Show a snapshot's metadata, schema, row groups, sizes and compression ratio, without
    /// decoding its vectors.
    Inspect(InspectArgs),
    /// Check a snapshot completely: size, SHA-256, every row group, count and dimension of each
    /// of its files. Exits 0 only when all hold.
    Verify(SnapshotArgs),
    /// Print the files a snapshot is made of, one location per line (an absolute path, or an
    /// s3:// URL), for DuckDB, pyarrow, Polars or Spark to read (docs/READING.md); with --json,
    /// each file's key, rows, size and SHA-256 too, and a DuckDB query over them. Never read a
    /// store's parts/ folder by glob: it holds the parts of every snapshot.
    Files(SnapshotArgs),
    /// Compact a snapshot: write its content again without tombstones, as a new snapshot whose
    /// parent it is, and print the new snapshot's id (with --json, its manifest). Only the parts
    /// that tombstones touch are rewritten (small ones merged too); the rest are shared. The
    /// snapshot itself is left as it is: delete it, or let prune do so. A create on a base
    /// compacts by itself once tombstones hide more than the config's auto_compact_percent
    /// (default 15) of its stored rows (docs/INCREMENTAL.md).
    Compact(SnapshotArgs),
    /// Delete old snapshots: beyond the newest --keep-last, or older than --max-age, but never
    /// the newest --min-count.
    Prune(PruneArgs),
    /// Convert every snapshot of a collection from one format to another (JSON to Parquet),
    /// verifying each new snapshot before any source is deleted.
    ///
    /// With --from-format parquet --to-format parquet, rewrite every snapshot that is not
    /// encrypted as new snapshots are (--encryption-key-id): a key rotation, reading the old
    /// snapshots with --read-key ID=PATH (docs/ENCRYPTION.md).
    Migrate(MigrateArgs),
    /// Begin a snapshot that several writers create together, one shard each: prints its id.
    /// Each writer then runs `snapshot create --snapshot-id ID --shard INDEX/COUNT --input
    /// FILE`, and `snapshot commit` makes the snapshot exist once every shard is written. Until
    /// then it is never listed.
    Begin(BeginArgs),
    /// Commit a begun snapshot once every shard is written: refuses, naming them, while shards
    /// are missing, and refuses shards whose dimension disagrees.
    Commit(PendingArgs),
    /// Discard a begun snapshot: the parts its shards wrote and its pending records.
    Abort(PendingArgs),
    /// Make a snapshot of Parquet files already in the store, written by Spark, DuckDB, pyarrow
    /// or Polars in the snapshot schema (docs/FORMAT.md), without rewriting them.
    ///
    /// Each file is copied into the snapshot's parts (by the store itself where it can: S3's
    /// CopyObject, a local copy), read whole and checked: the columns and their types, one
    /// dimension across all files, a value wherever the schema needs one, no document id twice.
    /// The files need no akidb.* footer keys and may mark every column optional. Then the
    /// snapshot is committed and its id printed (with --json, its manifest). A file that does
    /// not fit is named with its column or row, and nothing is committed.
    Import(ImportArgs),
    /// Remove what no snapshot needs, across the whole store, once older than --grace: v2 parts
    /// that no manifest names (left by deleted snapshots and interrupted creates) and v1 data
    /// files without a metadata file.
    Gc(GcArgs),
    /// Copy snapshots to another store: another bucket, region or cloud (docs/OPERATIONS.md).
    ///
    /// File by file, each streamed across, then read back at the destination and checked
    /// against the SHA-256 its commit marker names; the marker is written there last, so a copy
    /// exists at the destination only once it is whole. A rerun after an interruption keeps
    /// what is there and whole and copies the rest; a snapshot built on another copies only
    /// the parts the destination lacks. The source is only read. Encrypted snapshots are
    /// copied as stored, still encrypted, without their key.
    Copy(CopyArgs),
    /// The lifecycle rules of the config file's `[lifecycle]` table (docs/OPERATIONS.md).
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum LifecycleCommand {
    /// Apply the rules to every collection of the store (or those the table names): first the
    /// copies to other stores, then the moves (a copy, checked there, then the delete here),
    /// then retention. Each action is printed as it is done. Safe to interrupt and run again:
    /// the next run does what is left.
    Run(LifecycleRunArgs),
}

#[derive(Debug, Args)]
pub(crate) struct LifecycleRunArgs {
    /// Print each action and its bytes, and do nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// The snapshot to copy, or `latest` for the newest.
    #[arg(long, value_name = "UUID|latest", required_unless_present = "all")]
    pub(crate) snapshot_id: Option<SnapshotRef>,
    /// Copy every snapshot of the collection, oldest first.
    #[arg(long, conflicts_with = "snapshot_id")]
    pub(crate) all: bool,
    /// The store to copy to, a URI as --store takes (s3://, gs://, azblob://, file://), its
    /// credentials found the same way; retries and timeouts as configured for --store.
    #[arg(long, value_name = "URI")]
    pub(crate) to: String,
}

#[derive(Debug, Args)]
pub(crate) struct CollectionArgs {
    /// The collection (a UUID).
    #[arg(long, value_name = "UUID")]
    pub(crate) collection_id: CollectionId,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// The files, in the order their documents are to come: locations in the store (an
    /// s3://bucket/prefix/… URL, an absolute path or file:// URL under a local store's folder)
    /// or keys relative to the store's root.
    #[arg(long, value_name = "URI", num_args = 1.., required = true)]
    pub(crate) input_parts: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BeginArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// How many shards (writers) the snapshot is written in.
    #[arg(long, value_name = "COUNT")]
    pub(crate) shards: u32,
}

#[derive(Debug, Args)]
pub(crate) struct PendingArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// The begun snapshot (the id `snapshot begin` printed).
    #[arg(long, value_name = "UUID")]
    pub(crate) snapshot_id: SnapshotId,
}

#[derive(Debug, Args)]
pub(crate) struct SnapshotArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// The snapshot (a UUID), or `latest` for the newest.
    #[arg(long, value_name = "UUID|latest")]
    pub(crate) snapshot_id: SnapshotRef,
}

/// A snapshot named by id, or the newest one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SnapshotRef {
    Id(SnapshotId),
    Latest,
}

impl FromStr for SnapshotRef {
    type Err = akidb_snapshot::codec::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("latest") {
            return Ok(SnapshotRef::Latest);
        }
        s.parse().map(SnapshotRef::Id)
    }
}

/// How a snapshot is written: its file format and, for Parquet, its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Parquet, format v2: a manifest of parts.
    Parquet,
    /// Parquet, format v1: one data file, for readers older than format v2.
    #[value(name = "parquet-v1")]
    ParquetV1,
    /// The legacy JSON format.
    Json,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").multiple(true)))]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// The documents: .jsonl/.ndjson, .npy, .parquet or .json. With --base, a full export of
    /// the collection: it is compared with the base by document id and content (vector bits,
    /// external id, metadata, inserted_at), and only what changed is written; every document
    /// needs its document_id (and its inserted_at, or it counts as changed).
    #[arg(long, value_name = "FILE", required_unless_present = "base", group = "change", conflicts_with_all = ["append", "upserts", "deletes"])]
    pub(crate) input: Option<PathBuf>,
    /// Build on this snapshot (a UUID or `latest`, format v2): the new snapshot shares its
    /// parts unchanged and writes only the change: from a full export (--input), new
    /// documents (--append), or upserts and deletes. The base's parts are recorded under
    /// pending/ first, so a delete of the base and a gc meanwhile cannot take them.
    #[arg(
        long,
        value_name = "UUID|latest",
        requires = "change",
        conflicts_with = "snapshot_id"
    )]
    pub(crate) base: Option<SnapshotRef>,
    /// Documents to add to --base (same formats as --input): each must be new, not in the
    /// base.
    #[arg(long, value_name = "FILE", requires = "base", group = "change", conflicts_with_all = ["upserts", "deletes"])]
    pub(crate) append: Option<PathBuf>,
    /// Documents to add to --base, each replacing the base's document of the same id (same
    /// formats as --input). An id may come once.
    #[arg(long, value_name = "FILE", requires = "base", group = "change")]
    pub(crate) upserts: Option<PathBuf>,
    /// Ids of the base's documents to remove: a text file of one UUID a line (blank lines and
    /// `#` comments skipped); an id the base does not hold is ignored.
    #[arg(long, value_name = "FILE", requires = "base", group = "change")]
    pub(crate) deletes: Option<PathBuf>,
    /// The snapshot's format: parquet (format v2, parts), parquet-v1 (one file, for readers
    /// older than format v2) or json. [default: the config's snapshotter_type and
    /// format_version, else parquet]
    #[arg(long)]
    pub(crate) format: Option<Format>,
    /// Parquet compression: zstd, zstd(LEVEL), snappy, lz4 or none. [default: zstd]
    #[arg(long, value_name = "CODEC")]
    pub(crate) compression: Option<Compression>,
    /// Documents per Parquet row group (the unit of reading and of memory). [default: 10000]
    #[arg(long, value_name = "N")]
    pub(crate) row_group_size: Option<usize>,
    /// The most documents in one part of a format v2 snapshot (each part is a Parquet file of
    /// its own). [default: the config's part_rows, else 100000]
    #[arg(long, value_name = "N")]
    pub(crate) part_rows: Option<u64>,
    /// How many parts are in flight at once: one filling while the others complete their
    /// uploads. [default: the config's concurrency, else the number of cores]
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,
    /// Write one shard of a begun snapshot (`snapshot begin`) instead of a new snapshot.
    #[arg(long, value_name = "UUID", requires = "shard")]
    pub(crate) snapshot_id: Option<SnapshotId>,
    /// Which shard this writer writes, from 0: INDEX/COUNT, COUNT as begun. Needs
    /// --snapshot-id.
    #[arg(long, value_name = "INDEX/COUNT", requires = "snapshot_id")]
    pub(crate) shard: Option<Shard>,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    #[command(flatten)]
    pub(crate) snapshot: SnapshotArgs,
    /// Where to write: .jsonl (every field), .npy (a float32 matrix of the vectors), or
    /// .parquet (the snapshot's one file itself, checked, unchanged; a snapshot of several parts
    /// re-encoded into one file). Never overwritten.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Only shard INDEX of COUNT (from 0): the parts at positions INDEX, INDEX + COUNT, … of the
    /// snapshot, so that COUNT workers restore it together, every document exactly once.
    #[arg(long, value_name = "INDEX/COUNT", default_value = "0/1")]
    pub(crate) shard: Shard,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
}

/// A partial restore's selectors: each given narrows what comes back, and a document comes back
/// only if it passes all of them (and is in --shard). A v2 snapshot is read by its pages, each
/// checked against checksums recorded at create time; older snapshots are read whole.
#[derive(Debug, Args, Default)]
pub(crate) struct SelectArgs {
    /// Only the documents with these ids: a file of UUIDs, one a line (blank lines and lines
    /// starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    pub(crate) ids: Option<PathBuf>,
    /// Only the documents with these external ids: a file of them, one a line (blank lines are
    /// skipped; nothing else is trimmed).
    #[arg(long, value_name = "FILE")]
    pub(crate) external_ids: Option<PathBuf>,
    /// Only documents inserted at or after T: RFC 3339 (2026-12-01T00:00:00Z) or milliseconds
    /// since the epoch.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub(crate) since: Option<Timestamp>,
    /// Only documents inserted at or before T (as --since).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub(crate) until: Option<Timestamp>,
    /// Only the documents at positions A to B (from 0, B excluded) of what the restore would
    /// write without this option: the snapshot's order, or the shard's.
    #[arg(long, value_name = "A..B", value_parser = parse_rows)]
    pub(crate) rows: Option<Range<u64>>,
    /// Fail, writing nothing, if an id or external id asked for is not in the snapshot (exit
    /// code 4, as for a snapshot not found); without it they are counted in the summary.
    #[arg(long)]
    pub(crate) strict: bool,
}

impl SelectArgs {
    /// Whether any selector was given.
    pub(crate) fn any(&self) -> bool {
        self.ids.is_some()
            || self.external_ids.is_some()
            || self.since.is_some()
            || self.until.is_some()
            || self.rows.is_some()
    }
}

/// RFC 3339, or milliseconds since the epoch.
fn parse_time(text: &str) -> Result<Timestamp, String> {
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(Timestamp::from_millis(millis));
    }
    text.parse()
        .map_err(|e| format!("{e}: write RFC 3339 (2026-12-01T00:00:00Z) or epoch milliseconds"))
}

/// `A..B`, with A at most B.
fn parse_rows(text: &str) -> Result<Range<u64>, String> {
    let usage = || format!("`{text}` is not a range of rows: write A..B, e.g. 0..1000");
    let (start, end) = text.split_once("..").ok_or_else(usage)?;
    let (start, end): (u64, u64) = (
        start.trim().parse().map_err(|_| usage())?,
        end.trim().parse().map_err(|_| usage())?,
    );
    if start > end {
        return Err(format!(
            "{text}: the first row, {start}, is after the end, {end}"
        ));
    }
    Ok(start..end)
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The collection (with --snapshot-id).
    #[arg(
        long,
        value_name = "UUID",
        required_unless_present_any = ["file", "spark_schema"],
        conflicts_with = "file"
    )]
    pub(crate) collection_id: Option<CollectionId>,
    /// The snapshot (a UUID or `latest`).
    #[arg(
        long,
        value_name = "UUID|latest",
        required_unless_present_any = ["file", "spark_schema"]
    )]
    pub(crate) snapshot_id: Option<SnapshotRef>,
    /// A snapshot file on disk instead (.parquet or .json).
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Print the schema Spark reads snapshot files with, as SQL DDL, and nothing else: Spark
    /// refuses the UUID column unless given it (docs/READING.md). The same for every snapshot.
    #[arg(long, conflicts_with_all = ["collection_id", "snapshot_id", "file"])]
    pub(crate) spark_schema: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// Keep at most this many of the newest snapshots.
    #[arg(long, value_name = "N")]
    pub(crate) keep_last: Option<usize>,
    /// Delete snapshots older than this (e.g. 30d, 12h, 1week).
    #[arg(long, value_name = "AGE", value_parser = parse_duration)]
    pub(crate) max_age: Option<Duration>,
    /// Never delete the newest M, whatever the other rules say.
    #[arg(long, value_name = "M", default_value_t = 1)]
    pub(crate) min_count: usize,
    /// Show what would be deleted, and delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) collection: CollectionArgs,
    /// The format to convert from: parquet-v1 upgrades format v1 Parquet snapshots to
    /// format v2 (with --to-format parquet).
    #[arg(long, value_enum)]
    pub(crate) from_format: Format,
    /// The format to convert to.
    #[arg(long, value_enum)]
    pub(crate) to_format: Format,
    /// Delete each source snapshot once its conversion is verified.
    #[arg(long)]
    pub(crate) delete_source: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Only remove orphans older than this: longer than any create takes.
    #[arg(long, value_name = "AGE", default_value = "1h", value_parser = parse_duration)]
    pub(crate) grace: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (write e.g. 30d, 12h, 90m)"))
}
