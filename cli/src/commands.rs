//! What each command does, through the library.

use std::path::Path;

use akidb_snapshot::codec::{
    CollectionId, Limits, PartKind, SnapshotFormat, SnapshotId, SnapshotMetadata, VectorDocument,
    decode_json, inspect_parquet_with_keys,
};
use akidb_snapshot::{
    Change, EncryptionConfig, Error, LifecycleAction, LifecycleConfig, RetentionPolicy, Selection,
    ServerSideEncryption, Shard, SnapshotterType, StorageBackend, StorageBackendConfig,
    exclusive_bytes,
};
use clap::ValueEnum as _;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{
    BeginArgs, Cli, Command, CopyArgs, CreateArgs, Format, Global, ImportArgs, InspectArgs,
    LifecycleCommand, MigrateArgs, PendingArgs, PruneArgs, RestoreArgs, SelectArgs, SnapshotArgs,
    SnapshotCommand, SnapshotRef, SseKind,
};
use crate::exit::CliError;
use crate::input::{Input, InputError, Rows};
use crate::output;

/// Runs the command; returns the exit code of a success.
pub(crate) async fn run(cli: Cli) -> Result<i32, CliError> {
    let global = cli.global;
    let Command::Snapshot(command) = cli.command;
    match command {
        SnapshotCommand::Create(args) => create(&global, args).await,
        SnapshotCommand::Restore(args) => restore(&global, args).await,
        SnapshotCommand::List(args) => list(&global, args.collection_id).await,
        SnapshotCommand::Delete(args) => delete(&global, args).await,
        SnapshotCommand::Inspect(args) => inspect(&global, args).await,
        SnapshotCommand::Verify(args) => verify(&global, args).await,
        SnapshotCommand::Files(args) => files(&global, args).await,
        SnapshotCommand::Begin(args) => begin(&global, args).await,
        SnapshotCommand::Commit(args) => commit(&global, args).await,
        SnapshotCommand::Abort(args) => abort(&global, args).await,
        SnapshotCommand::Compact(args) => compact(&global, args).await,
        SnapshotCommand::Prune(args) => prune(&global, args).await,
        SnapshotCommand::Migrate(args) => migrate(&global, args).await,
        SnapshotCommand::Import(args) => import(&global, args).await,
        SnapshotCommand::Gc(args) => gc(&global, args.grace).await,
        SnapshotCommand::Copy(args) => copy(&global, args).await,
        SnapshotCommand::Lifecycle(LifecycleCommand::Run(args)) => {
            lifecycle(&global, args.dry_run).await
        }
    }
    .map(|()| 0)
}

fn config(global: &Global) -> Result<StorageBackendConfig, CliError> {
    let mut config = match &global.config {
        Some(path) => StorageBackendConfig::from_toml_file(path)?,
        None => StorageBackendConfig::default(),
    };
    if let Some(uri) = &global.store {
        config.uri = uri.clone();
    }
    match (&global.encryption_key_id, &mut config.encryption) {
        (Some(id), _) => {
            config.encryption = Some(EncryptionConfig::new(
                id.clone(),
                global.encryption_key_file.clone(),
            ));
        }
        (None, Some(encryption)) if global.encryption_key_file.is_some() => {
            encryption.key_file = global.encryption_key_file.clone();
        }
        (None, None) if global.encryption_key_file.is_some() => {
            return Err(CliError::Argument(
                "--encryption-key-file needs --encryption-key-id ID (or a [storage.encryption] \
                 key_id in the config file): the id names the key in every file it encrypts"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    config.read_keys.extend(
        global
            .read_key
            .iter()
            .map(|(id, path)| EncryptionConfig::new(id.clone(), Some(path.clone()))),
    );
    match (global.sse, &global.sse_kms_key_id) {
        (Some(SseKind::S3), Some(_)) => {
            return Err(CliError::Argument(
                "--sse-kms-key-id goes with --sse sse-kms, not sse-s3".to_owned(),
            ));
        }
        (Some(SseKind::S3), None) => {
            config.server_side_encryption = Some(ServerSideEncryption::S3);
        }
        (Some(SseKind::Kms), kms_key_id) => {
            config.server_side_encryption = Some(ServerSideEncryption::Kms {
                kms_key_id: kms_key_id.clone(),
            });
        }
        (None, _) => {}
    }
    if let Some(class) = &global.storage_class {
        config.storage_class = Some(class.clone());
    }
    Ok(config)
}

fn backend(global: &Global) -> Result<StorageBackend, CliError> {
    Ok(StorageBackend::from_config(config(global)?)?)
}

/// A progress bar on stderr when it is a terminal (indicatif draws nothing otherwise), none
/// with --quiet or --json.
fn progress(global: &Global, total: Option<u64>, message: &'static str) -> ProgressBar {
    if global.quiet || global.json {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::new(n),
            "{msg} [{bar:30}] {human_pos}/{human_len} documents ({elapsed}, {eta} left)",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {msg} {human_pos} documents ({elapsed})",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// A spinner on stderr for work that counts nothing as it goes, as [`progress`] shows it.
fn spinner(global: &Global, message: &'static str) -> ProgressBar {
    if global.quiet || global.json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

async fn resolve(
    backend: &StorageBackend,
    collection_id: CollectionId,
    snapshot: SnapshotRef,
) -> Result<SnapshotMetadata, Error> {
    match snapshot {
        SnapshotRef::Id(id) => backend.store().metadata(collection_id, id).await,
        SnapshotRef::Latest => backend.store().latest_snapshot(collection_id).await,
    }
}

/// Sets what `format` writes on `config`.
fn write_as(format: Format, config: &mut StorageBackendConfig) {
    (config.snapshotter_type, config.format_version) = match format {
        Format::Parquet => (SnapshotterType::Parquet, 2),
        Format::ParquetV1 => (SnapshotterType::Parquet, 1),
        Format::Json => (SnapshotterType::Json, 1),
    };
}

/// Whether the snapshot `m` was written as `format`.
fn written_as(format: Format, m: &SnapshotMetadata) -> bool {
    match format {
        Format::Parquet => m.is_manifest(),
        Format::ParquetV1 => m.format == SnapshotFormat::Parquet && !m.is_manifest(),
        Format::Json => m.format == SnapshotFormat::Json,
    }
}

/// The name `format` has on the command line.
fn format_name(format: Format) -> String {
    format
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
}

async fn create(global: &Global, args: CreateArgs) -> Result<(), CliError> {
    let mut config = config(global)?;
    if let Some(format) = args.format {
        write_as(format, &mut config);
    }
    if let Some(compression) = args.compression {
        config.parquet = config.parquet.with_compression(compression);
    }
    if let Some(rows) = args.row_group_size {
        config.parquet = config.parquet.with_row_group_size(rows);
    }
    if let Some(rows) = args.part_rows {
        config.part_rows = rows;
    }
    if let Some(parts) = args.concurrency {
        config.concurrency = Some(parts);
    }
    let backend = StorageBackend::from_config(config)?;
    let (store, collection_id) = (backend.store(), args.collection.collection_id);
    let base = match args.base {
        Some(base) => Some(resolve(&backend, collection_id, base).await?.snapshot_id),
        None => None,
    };
    let deletes = match &args.deletes {
        Some(path) => read_ids(path)?,
        None => Vec::new(),
    };
    let change = if args.append.is_some() {
        Change::Append
    } else if args.upserts.is_some() || args.deletes.is_some() {
        Change::Update { deletes }
    } else {
        Change::Export
    };
    let path = (args.append.as_ref())
        .or(args.upserts.as_ref())
        .or(args.input.as_ref());
    let path = match (path, base) {
        (Some(path), _) => path,
        // Deletes only: no document to read.
        (None, Some(base)) => {
            let no_documents =
                futures::stream::empty::<Result<Vec<VectorDocument>, std::io::Error>>();
            let metadata = store
                .try_create_on_stream(
                    collection_id,
                    base,
                    change,
                    &backend.encoding(),
                    no_documents,
                )
                .await?;
            return report_created(global, &backend, &metadata).await;
        }
        (None, None) => {
            return Err(CliError::usage(
                "--input, --append or --upserts names the documents",
            ));
        }
    };
    let mut input = Input::open(path)?.with_keys(backend.store().keys().clone());
    if base.is_some() && change == Change::Export {
        input = input.ids_required("an export compared with its base matches documents by id")?;
    }
    let encoding = backend.encoding();
    let bar = progress(global, input.total(), "encoding");
    if let (Some(snapshot_id), Some(shard)) = (args.snapshot_id, args.shard) {
        let written = match input.stream(encoding.batch_rows(), bar.clone()) {
            Rows::Documents(docs) => {
                store
                    .try_create_shard_stream(collection_id, snapshot_id, shard, &encoding, docs)
                    .await
            }
            Rows::Arrow(batches) => {
                store
                    .try_create_shard_arrow(collection_id, snapshot_id, shard, &encoding, batches)
                    .await
            }
        };
        bar.finish_and_clear();
        let receipt = written.map_err(|e| locate(e, &input))?;
        if global.json {
            return output::print_json(&receipt);
        }
        if !global.quiet {
            eprintln!(
                "wrote shard {shard} of snapshot {snapshot_id}: {} vectors of dimension {} in {} \
                 part(s); commit it with `snapshot commit` once every shard is written",
                receipt.vector_count,
                receipt.dimension,
                receipt.parts.len()
            );
        }
        return Ok(());
    }
    let rows = input.stream(encoding.batch_rows(), bar.clone());
    let created = match (rows, base) {
        (Rows::Documents(docs), None) => {
            store
                .try_create_snapshot_stream(collection_id, &encoding, docs)
                .await
        }
        (Rows::Arrow(batches), None) => {
            store
                .try_create_snapshot_arrow(collection_id, &encoding, batches)
                .await
        }
        (Rows::Documents(docs), Some(base)) => {
            store
                .try_create_on_stream(collection_id, base, change, &encoding, docs)
                .await
        }
        (Rows::Arrow(batches), Some(base)) => {
            store
                .try_create_on_arrow(collection_id, base, change, &encoding, batches)
                .await
        }
    };
    bar.finish_and_clear();
    let metadata = created.map_err(|e| locate(e, &input))?;
    report_created(global, &backend, &metadata).await
}

/// The new snapshot's id on stdout (its metadata with --json), and what it holds on stderr.
async fn report_created(
    global: &Global,
    backend: &StorageBackend,
    metadata: &SnapshotMetadata,
) -> Result<(), CliError> {
    if global.json {
        return output::print_json(metadata);
    }
    println!("{}", metadata.snapshot_id);
    if global.quiet {
        return Ok(());
    }
    eprintln!(
        "created snapshot {} of collection {}: {} vectors of dimension {}, {} ({}, {:.2}x compression of the raw float32)",
        metadata.snapshot_id,
        metadata.collection_id,
        metadata.vector_count,
        metadata.dimension,
        output::megabytes(metadata.size_bytes),
        metadata.compression,
        output::ratio(
            metadata.vector_count,
            metadata.dimension,
            metadata.size_bytes
        )
    );
    if let Some(base) = metadata.parent_snapshot_id {
        // What the base still names; a base deleted meanwhile shares nothing any more.
        let theirs: Vec<String> = match backend.store().metadata(metadata.collection_id, base).await
        {
            Ok(base) => base.parts.into_iter().map(|p| p.key).collect(),
            Err(_) => Vec::new(),
        };
        let shared = (metadata.parts.iter())
            .filter(|p| theirs.contains(&p.key))
            .count();
        let tombstones = (metadata.parts.iter())
            .filter(|p| p.kind == PartKind::Tombstones)
            .count();
        eprintln!(
            "built on snapshot {base}: {} part(s) in all, {shared} shared with it as they are, \
             {tombstones} of tombstones{}",
            metadata.parts.len(),
            if tombstones == 0 && shared < theirs.len() {
                " (compacted: tombstones hid enough rows to rewrite the parts they touch)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The document ids of a file of one UUID a line (blank lines and `#` comments skipped).
fn read_ids(path: &Path) -> Result<Vec<uuid::Uuid>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::file(format!("{}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| (i, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(i, line)| {
            line.parse().map_err(|e| {
                CliError::file(format!(
                    "{}:{}: `{line}` is not a document id (a UUID): {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// Names the line or row of the input that a validation error is about.
fn locate(error: Error, input: &Input) -> CliError {
    if let Error::Codec {
        source:
            akidb_snapshot::codec::Error::Validation {
                document:
                    akidb_snapshot::codec::DocumentRef {
                        position: Some(position),
                        ..
                    },
                ..
            },
        ..
    } = &error
    {
        let at = input.locate(*position);
        return CliError::At(Box::new(error), at);
    }
    // The input file's own failure is reported as the file's, with its kind.
    if let Error::Input { source, target } = error {
        return match source.downcast::<InputError>() {
            Ok(input) => (*input).into(),
            Err(source) => Error::Input { source, target }.into(),
        };
    }
    error.into()
}

async fn restore(global: &Global, args: RestoreArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let collection_id = args.snapshot.collection.collection_id;
    let metadata = resolve(&backend, collection_id, args.snapshot.snapshot_id).await?;
    let id = metadata.snapshot_id;
    let extension = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let shard = args.shard;
    if args.select.any() {
        return restore_selected(global, &backend, &metadata, &args, extension.as_deref()).await;
    }
    let whole = shard == Shard::ALL;
    let rows = shard.rows_of(&metadata);
    let bar = progress(global, Some(rows), "restoring");
    let store = backend.store();
    let written = match extension.as_deref() {
        Some("parquet")
            if whole && metadata.format == SnapshotFormat::Parquet && metadata.parts.len() <= 1 =>
        {
            let (_, bytes) = store.read_data_file(collection_id, id).await?;
            output::write_bytes(&args.output, &bytes).map(|()| metadata.vector_count)
        }
        Some("parquet") => {
            let batches = store.restore_shard_stream(collection_id, id, shard).await?;
            output::write_parquet(&args.output, &metadata, batches, &bar).await
        }
        Some("jsonl" | "ndjson") => {
            let batches = store.restore_shard_stream(collection_id, id, shard).await?;
            output::write_json_lines(&args.output, batches, &bar).await
        }
        Some("npy") => {
            let batches = store.restore_shard_arrow(collection_id, id, shard).await?;
            output::write_npy(&args.output, (rows, metadata.dimension), batches, &bar).await
        }
        _ => Err(unknown_output(&args.output)),
    };
    bar.finish_and_clear();
    let written = written?;
    if global.json {
        output::print_json(&serde_json::json!({
            "snapshot": metadata,
            "output": args.output,
            "documents": written,
        }))?;
    } else if !global.quiet {
        println!(
            "restored {written} documents of snapshot {id} into {} (size, SHA-256, count and dimension checked)",
            args.output.display()
        );
    }
    Ok(())
}

fn unknown_output(path: &Path) -> CliError {
    CliError::file(format!(
        "{}: unknown output type; use .jsonl, .npy or .parquet",
        path.display()
    ))
}

/// `snapshot restore` with selectors: only the documents they keep, read by pages where the
/// snapshot allows it.
async fn restore_selected(
    global: &Global,
    backend: &StorageBackend,
    metadata: &SnapshotMetadata,
    args: &RestoreArgs,
    extension: Option<&str>,
) -> Result<(), CliError> {
    let (c, id, shard) = (metadata.collection_id, metadata.snapshot_id, args.shard);
    let selection = selection(&args.select)?;
    let store = backend.store();
    // How many come back is known only at the end: the bar counts up.
    let bar = progress(global, None, "restoring");
    let (written, report) = match extension {
        Some("parquet" | "jsonl" | "ndjson") => {
            let mut rows = store
                .restore_selected_stream(c, id, shard, &selection)
                .await?;
            let written = if extension == Some("parquet") {
                output::write_parquet(&args.output, metadata, &mut rows, &bar).await
            } else {
                output::write_json_lines(&args.output, &mut rows, &bar).await
            };
            (written, rows.report())
        }
        Some("npy") => {
            let mut rows = store
                .restore_selected_arrow(c, id, shard, &selection)
                .await?;
            let shape = (shard.rows_of(metadata), metadata.dimension);
            let written = output::write_npy(&args.output, shape, &mut rows, &bar).await;
            (written, rows.report())
        }
        _ => return Err(unknown_output(&args.output)),
    };
    bar.finish_and_clear();
    let written = written?;
    if global.json {
        return output::print_json(&serde_json::json!({
            "snapshot": metadata,
            "output": args.output,
            "documents": written,
            "missing_ids": report.missing_ids,
            "missing_external_ids": report.missing_external_ids,
            "parts_read_by_pages": report.parts_read_by_pages,
            "files_read_whole": report.files_read_whole,
            "bytes_read": report.bytes_read,
            "reads": report.reads,
        }));
    }
    if !global.quiet {
        let missing = report.missing_ids.len() + report.missing_external_ids.len();
        let by_pages = (report.parts_read_by_pages > 0).then(|| {
            format!(
                "{} parts read by pages, every page checked",
                report.parts_read_by_pages
            )
        });
        let whole = (report.files_read_whole > 0).then(|| {
            format!(
                "{} files read whole, each checked by its SHA-256",
                report.files_read_whole
            )
        });
        let read: Vec<String> = by_pages.into_iter().chain(whole).collect();
        let how = format!("{} bytes: {}", report.bytes_read, read.join(", "));
        println!(
            "restored {written} selected documents of snapshot {id} into {} ({how}){}",
            args.output.display(),
            if missing > 0 {
                format!("; {missing} ids asked for are not in the snapshot (--json lists them)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// The selection the restore options ask for.
fn selection(args: &SelectArgs) -> Result<Selection, CliError> {
    let mut selection = Selection::all()
        .inserted_within(args.since, args.until)
        .strict(args.strict);
    if let Some(path) = &args.ids {
        selection = selection.with_ids(read_ids(path)?);
    }
    if let Some(path) = &args.external_ids {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::file(format!("{}: {e}", path.display())))?;
        let ids = (text.lines())
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .filter(|line| !line.is_empty())
            .map(str::to_owned);
        selection = selection.with_external_ids(ids.collect::<Vec<_>>());
    }
    if let Some(rows) = &args.rows {
        selection = selection.with_rows(rows.clone());
    }
    Ok(selection)
}

async fn list(global: &Global, collection_id: CollectionId) -> Result<(), CliError> {
    let backend = backend(global)?;
    let snapshots = backend.store().list_snapshots(collection_id).await?;
    let exclusive = exclusive_bytes(&snapshots);
    if global.json {
        // Each snapshot's metadata, and the bytes only it holds among the listed.
        let listed: Vec<serde_json::Value> = snapshots
            .iter()
            .zip(&exclusive)
            .map(|(m, only)| {
                let mut value = serde_json::to_value(m).unwrap_or_default();
                if let Some(fields) = value.as_object_mut() {
                    fields.insert("stored_bytes".to_owned(), m.stored_bytes().into());
                    fields.insert("exclusive_bytes".to_owned(), (*only).into());
                }
                value
            })
            .collect();
        return output::print_json(&listed);
    }
    if snapshots.is_empty() {
        eprintln!(
            "no snapshots of collection {collection_id} in {}",
            backend.config().uri
        );
        return Ok(());
    }
    println!(
        "{:<36}  {:<24}  {:<7}  {:>10}  {:>5}  {:>12}  {:>12}  COMPRESSION",
        "SNAPSHOT", "CREATED", "FORMAT", "VECTORS", "DIM", "SIZE", "ONLY ITS OWN"
    );
    for (m, only) in snapshots.iter().zip(&exclusive) {
        println!(
            "{:<36}  {:<24}  {:<7}  {:>10}  {:>5}  {:>12}  {:>12}  {}",
            m.snapshot_id,
            m.created_at.to_rfc3339().unwrap_or_default(),
            m.format.extension(),
            m.vector_count,
            m.dimension,
            output::megabytes(m.stored_bytes()),
            output::megabytes(*only),
            m.compression
        );
    }
    if exclusive
        .iter()
        .zip(&snapshots)
        .any(|(only, m)| *only < m.stored_bytes())
    {
        eprintln!(
            "ONLY ITS OWN: what deleting a snapshot frees once gc has run; the rest of its size \
             is parts it shares with others"
        );
    }
    Ok(())
}

async fn delete(global: &Global, args: SnapshotArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let collection_id = args.collection.collection_id;
    let metadata = resolve(&backend, collection_id, args.snapshot_id).await;
    // An unreadable metadata file can still be deleted by id.
    let id = match (metadata, args.snapshot_id) {
        (Ok(m), _) => m.snapshot_id,
        (Err(e), SnapshotRef::Latest) => return Err(e.into()),
        (Err(e @ Error::NotFound { .. }), _) => return Err(e.into()),
        (Err(_), SnapshotRef::Id(id)) => id,
    };
    backend.store().delete_snapshot(collection_id, id).await?;
    if global.json {
        output::print_json(&serde_json::json!({ "deleted": id }))?;
    } else if !global.quiet {
        println!("deleted snapshot {id} of collection {collection_id}");
    }
    Ok(())
}

async fn inspect(global: &Global, args: InspectArgs) -> Result<(), CliError> {
    if args.spark_schema {
        let ddl = akidb_snapshot::codec::spark_schema();
        if global.json {
            return output::print_json(&serde_json::json!({ "spark_schema": ddl }));
        }
        println!("{ddl}");
        return Ok(());
    }
    if let Some(path) = &args.file {
        return inspect_file(global, path);
    }
    let (Some(collection_id), Some(snapshot)) = (args.collection_id, args.snapshot_id) else {
        return Err(CliError::internal(
            "clap let inspect through without a snapshot",
        ));
    };
    let backend = backend(global)?;
    let metadata = resolve(&backend, collection_id, snapshot).await?;
    let (metadata, info) = backend
        .store()
        .inspect_snapshot(collection_id, metadata.snapshot_id)
        .await?;
    // The bytes only this snapshot holds, among every snapshot of the collection.
    let listed = backend.store().list_snapshots(collection_id).await?;
    let exclusive = (listed.iter().zip(exclusive_bytes(&listed)))
        .find(|(m, _)| m.snapshot_id == metadata.snapshot_id)
        .map_or(metadata.size_bytes, |(_, only)| only);
    if global.json {
        return output::print_json(&serde_json::json!({
            "metadata": metadata,
            "stored_bytes": metadata.stored_bytes(),
            "exclusive_bytes": exclusive,
            "file": info.as_ref().map(output::info_json),
        }));
    }
    output::print_metadata(&metadata);
    println!(
        "own          {} that no other snapshot names: what deleting it frees once gc has run",
        output::megabytes(exclusive)
    );
    if let Some(info) = &info {
        output::print_info(info);
    }
    Ok(())
}

fn inspect_file(global: &Global, path: &Path) -> Result<(), CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::file(format!("cannot read {}: {e}", path.display())))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let snapshot = decode_json(&bytes).map_err(CliError::local_file(path))?;
        let dimension = snapshot.documents.first().map_or(0, |d| d.vector.len());
        let summary = serde_json::json!({
            "format": "json",
            "collection_id": snapshot.header.collection_id,
            "snapshot_id": snapshot.header.snapshot_id,
            "created_at": snapshot.header.created_at,
            "vector_count": snapshot.documents.len(),
            "dimension": dimension,
            "file_bytes": bytes.len(),
        });
        if global.json {
            return output::print_json(&summary);
        }
        println!("{} (legacy JSON snapshot)", path.display());
        println!("snapshot     {}", snapshot.header.snapshot_id);
        println!("collection   {}", snapshot.header.collection_id);
        println!(
            "vectors      {} of dimension {dimension}",
            snapshot.documents.len()
        );
        println!("size         {}", output::megabytes(bytes.len() as u64));
        return Ok(());
    }
    let keys = config(global)?.key_ring()?;
    let info = inspect_parquet_with_keys(&bytes, &Limits::default(), &keys)
        .map_err(CliError::local_file(path))?;
    if global.json {
        return output::print_json(&output::info_json(&info));
    }
    match &info.header {
        Some(header) => {
            println!("{} (Parquet snapshot)", path.display());
            println!("snapshot     {}", header.snapshot_id);
            println!("collection   {}", header.collection_id);
        }
        None => println!(
            "{} (Parquet in the snapshot schema, without akidb.* footer keys)",
            path.display()
        ),
    }
    println!(
        "vectors      {} of dimension {}",
        info.vector_count, info.dimension
    );
    println!(
        "compression  {} ({:.2}x compression of the raw float32)",
        info.compression
            .map_or_else(|| "mixed".to_owned(), |c| c.to_string()),
        output::ratio(info.vector_count, info.dimension, info.file_bytes)
    );
    output::print_info(&info);
    Ok(())
}

async fn begin(global: &Global, args: BeginArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let collection_id = args.collection.collection_id;
    let id = backend
        .store()
        .begin_snapshot(collection_id, args.shards)
        .await?;
    if global.json {
        return output::print_json(&serde_json::json!({
            "snapshot_id": id,
            "collection_id": collection_id,
            "shards": args.shards,
        }));
    }
    println!("{id}");
    if !global.quiet {
        eprintln!(
            "begun snapshot {id} of {} shard(s): run `snapshot create --collection-id \
             {collection_id} --snapshot-id {id} --shard INDEX/{} --input FILE` for each INDEX \
             from 0, then `snapshot commit`",
            args.shards, args.shards
        );
    }
    Ok(())
}

async fn commit(global: &Global, args: PendingArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let metadata = backend
        .store()
        .commit_snapshot(args.collection.collection_id, args.snapshot_id)
        .await?;
    if global.json {
        return output::print_json(&metadata);
    }
    println!("{}", metadata.snapshot_id);
    if !global.quiet {
        eprintln!(
            "committed snapshot {}: {} vectors of dimension {} in {} part(s)",
            metadata.snapshot_id,
            metadata.vector_count,
            metadata.dimension,
            metadata.parts.len()
        );
    }
    Ok(())
}

async fn import(global: &Global, args: ImportArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let sources = args
        .input_parts
        .iter()
        .map(|location| backend.key_of(location))
        .collect::<Result<Vec<_>, _>>()?;
    let bar = spinner(global, "importing");
    let metadata = backend
        .store()
        .import_parts(args.collection.collection_id, &sources)
        .await;
    bar.finish_and_clear();
    let metadata = metadata?;
    if global.json {
        return output::print_json(&metadata);
    }
    println!("{}", metadata.snapshot_id);
    if !global.quiet {
        eprintln!(
            "imported {} file(s) as snapshot {}: {} vectors of dimension {}, {}",
            metadata.parts.len(),
            metadata.snapshot_id,
            metadata.vector_count,
            metadata.dimension,
            output::megabytes(metadata.size_bytes)
        );
    }
    Ok(())
}

async fn abort(global: &Global, args: PendingArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let (c, s) = (args.collection.collection_id, args.snapshot_id);
    backend.store().abort_snapshot(c, s).await?;
    if global.json {
        return output::print_json(&serde_json::json!({ "aborted": s }));
    }
    if !global.quiet {
        eprintln!("aborted snapshot {s}: its parts and pending records are removed");
    }
    Ok(())
}

async fn files(global: &Global, args: SnapshotArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let collection_id = args.collection.collection_id;
    let metadata = resolve(&backend, collection_id, args.snapshot_id).await?;
    let (metadata, files) = backend
        .store()
        .snapshot_files(collection_id, metadata.snapshot_id)
        .await?;
    let locations = files
        .iter()
        .map(|f| backend.location_of(&f.key))
        .collect::<Result<Vec<_>, _>>()?;
    let kinds: Vec<(PartKind, String)> = files
        .iter()
        .zip(&locations)
        .map(|(f, l)| (f.kind, l.clone()))
        .collect();
    let query = output::duckdb_query(&kinds);
    let with_tombstones = kinds.iter().any(|(k, _)| *k == PartKind::Tombstones);
    if global.json {
        let files: Vec<serde_json::Value> = files
            .iter()
            .zip(&locations)
            .map(|(f, location)| {
                // A data part's id index (docs/FORMAT.md, "Id index"), for tools that look
                // documents up by id.
                let index = match &f.index {
                    Some(i) => Some(serde_json::json!({
                        "location": backend.location_of(&i.key)?,
                        "key": i.key,
                        "size_bytes": i.size_bytes,
                        "checksum_sha256": i.checksum_sha256,
                    })),
                    None => None,
                };
                Ok(serde_json::json!({
                    "location": location,
                    "key": f.key,
                    "kind": f.kind,
                    "format": f.format,
                    "rows": f.rows,
                    "size_bytes": f.size_bytes,
                    "checksum_sha256": f.checksum_sha256,
                    "index": index,
                }))
            })
            .collect::<Result<_, CliError>>()?;
        return output::print_json(&serde_json::json!({
            "snapshot_id": metadata.snapshot_id,
            "vector_count": metadata.vector_count,
            "files": files,
            "duckdb": query,
        }));
    }
    // Without tombstone parts every file is data: one location a line, as tools take a list.
    for (kind, location) in &kinds {
        match (with_tombstones, kind) {
            (false, _) => println!("{location}"),
            (true, PartKind::Tombstones) => println!("tombstones {location}"),
            (true, _) => println!("data {location}"),
        }
    }
    if !global.quiet {
        if with_tombstones {
            eprintln!(
                "a document is gone when a tombstones file listed after its data file holds its \
                 id (docs/FORMAT.md, \"The content rule\"); the query below applies that"
            );
        }
        eprintln!("DuckDB: {query}");
    }
    Ok(())
}

async fn compact(global: &Global, args: SnapshotArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let collection_id = args.collection.collection_id;
    let before = resolve(&backend, collection_id, args.snapshot_id).await?;
    let bar = spinner(global, "compacting");
    let compacted = backend
        .store()
        .compact_snapshot(collection_id, before.snapshot_id, &backend.encoding())
        .await;
    bar.finish_and_clear();
    let after = compacted?;
    if global.json {
        return output::print_json(&after);
    }
    println!("{}", after.snapshot_id);
    if global.quiet {
        return Ok(());
    }
    let shape = |m: &SnapshotMetadata| {
        let tombstones = (m.parts.iter())
            .filter(|p| p.kind == PartKind::Tombstones)
            .count();
        let stored: u64 = (m.parts.iter())
            .filter(|p| p.kind == PartKind::Data)
            .map(|p| p.rows)
            .sum();
        format!(
            "{} data part(s) of {stored} stored rows, {tombstones} tombstone part(s)",
            m.parts.len() - tombstones
        )
    };
    if after.snapshot_id == before.snapshot_id {
        eprintln!(
            "snapshot {} is compact already: {}",
            before.snapshot_id,
            shape(&before)
        );
    } else {
        eprintln!(
            "compacted snapshot {} into {}: {} vectors; before {}, after {}",
            before.snapshot_id,
            after.snapshot_id,
            after.vector_count,
            shape(&before),
            shape(&after)
        );
    }
    Ok(())
}

async fn verify(global: &Global, args: SnapshotArgs) -> Result<(), CliError> {
    let backend = backend(global)?;
    let collection_id = args.collection.collection_id;
    let metadata = resolve(&backend, collection_id, args.snapshot_id).await?;
    let bar = spinner(global, "verifying");
    let verified = backend
        .store()
        .verify_snapshot(collection_id, metadata.snapshot_id)
        .await;
    bar.finish_and_clear();
    let metadata = verified?;
    // An encrypted snapshot is only decoded with its key; without it, its bytes are checked.
    let decoded = backend.store().can_decrypt(&metadata);
    if global.json {
        output::print_json(&serde_json::json!({
            "verified": true,
            "contents_decoded": decoded,
            "snapshot": metadata,
        }))?;
    } else if !global.quiet {
        let checksum = match (metadata.checksum_sha256, metadata.parts.len()) {
            (Some(sha), _) => format!("SHA-256 {sha}"),
            (None, 0) => "SHA-256 not recorded".to_owned(),
            (None, parts) => format!("{parts} part(s), each SHA-256 checked"),
        };
        println!(
            "snapshot {} is intact: {} bytes, {checksum}, {} vectors of dimension {}",
            metadata.snapshot_id, metadata.size_bytes, metadata.vector_count, metadata.dimension
        );
        if let (false, Some(encryption)) = (decoded, &metadata.encryption) {
            println!(
                "  encrypted under key `{}`, which was not given: the stored bytes were checked, \
                 the documents were not decrypted",
                encryption.key_id
            );
        }
    }
    Ok(())
}

async fn prune(global: &Global, args: PruneArgs) -> Result<(), CliError> {
    if args.keep_last.is_none() && args.max_age.is_none() {
        return Err(CliError::usage(
            "nothing to prune by: give --keep-last N and/or --max-age AGE",
        ));
    }
    let backend = backend(global)?;
    let mut policy = RetentionPolicy::default().with_min_count(args.min_count);
    if let Some(n) = args.keep_last {
        policy = policy.with_keep_last(n);
    }
    if let Some(age) = args.max_age {
        policy = policy.with_max_age(age);
    }
    let expired = backend
        .store()
        .apply_retention(args.collection.collection_id, &policy, args.dry_run)
        .await?;
    if global.json {
        return output::print_json(&serde_json::json!({
            "dry_run": args.dry_run,
            "deleted": expired,
        }));
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for m in &expired {
        println!(
            "{verb} {} (created {})",
            m.snapshot_id,
            m.created_at.to_rfc3339().unwrap_or_default()
        );
    }
    if !global.quiet {
        eprintln!("{verb} {} snapshot(s)", expired.len());
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(collection_id = %args.collection.collection_id,
    snapshots = tracing::field::Empty, duration_ms = tracing::field::Empty))]
async fn migrate(global: &Global, args: MigrateArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let (from, to) = (args.from_format, args.to_format);
    // Parquet to Parquet re-encrypts: a key rotation.
    let rotation = from == to && from == Format::Parquet;
    if from == to && !rotation {
        return Err(CliError::usage(
            "--from-format and --to-format are the same (only parquet to parquet, which \
             re-encrypts under --encryption-key-id, rewrites snapshots in their own format)",
        ));
    }
    let mut config = config(global)?;
    write_as(to, &mut config);
    let backend = StorageBackend::from_config(config)?;
    let store = backend.store();
    let encoding = backend.encoding();
    let collection_id = args.collection.collection_id;
    let new_key = store.encryption().map(|k| k.id().to_owned());
    let sources: Vec<SnapshotMetadata> = store
        .list_snapshots(collection_id)
        .await?
        .into_iter()
        .filter(|m| written_as(from, m))
        .filter(|m| !rotation || m.encryption.as_ref().map(|e| &e.key_id) != new_key.as_ref())
        .collect();
    let mut converted: Vec<(SnapshotId, SnapshotId)> = Vec::new();
    for source in sources.iter().rev() {
        let bar = progress(global, Some(source.vector_count), "converting");
        let batches = store
            .restore_snapshot_stream(collection_id, source.snapshot_id)
            .await?
            .inspect_ok(|b| bar.inc(b.len() as u64));
        let created = store
            .try_create_snapshot_stream(collection_id, &encoding, batches)
            .await;
        bar.finish_and_clear();
        let created = created?;
        store
            .verify_snapshot(collection_id, created.snapshot_id)
            .await?;
        if created.vector_count != source.vector_count || created.dimension != source.dimension {
            return Err(CliError::internal(format!(
                "the conversion of {} does not match its source",
                source.snapshot_id
            )));
        }
        if args.delete_source {
            store
                .delete_snapshot(collection_id, source.snapshot_id)
                .await?;
        }
        if !global.json && !global.quiet {
            println!(
                "{} ({}) -> {} ({}){}",
                source.snapshot_id,
                format_name(from),
                created.snapshot_id,
                format_name(to),
                if args.delete_source {
                    ", source deleted"
                } else {
                    ""
                }
            );
        }
        converted.push((source.snapshot_id, created.snapshot_id));
    }
    let span = tracing::Span::current();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.record("snapshots", converted.len());
    span.record("duration_ms", duration_ms);
    tracing::info!(duration_ms, "migration done");
    if global.json {
        let pairs: Vec<_> = converted
            .iter()
            .map(|(s, t)| serde_json::json!({ "source": s, "snapshot": t }))
            .collect();
        return output::print_json(&serde_json::json!({
            "converted": pairs,
            "sources_deleted": args.delete_source,
        }));
    }
    if !global.quiet {
        eprintln!("converted {} snapshot(s)", converted.len());
    }
    Ok(())
}

async fn gc(global: &Global, grace: std::time::Duration) -> Result<(), CliError> {
    let backend = backend(global)?;
    let removed = backend.store().gc(grace).await?;
    if global.json {
        return output::print_json(&serde_json::json!({ "removed": removed }));
    }
    for key in &removed {
        println!("removed {key}");
    }
    if !global.quiet {
        eprintln!("removed {} orphaned data file(s)", removed.len());
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(collection_id = %args.collection.collection_id))]
async fn copy(global: &Global, args: CopyArgs) -> Result<(), CliError> {
    let config = config(global)?;
    let (from, to) = config.copy_between(&args.to);
    let (from, to) = (
        StorageBackend::from_config(from)?,
        StorageBackend::from_config(to)?,
    );
    let collection_id = args.collection.collection_id;
    let print = |c: &akidb_snapshot::CopiedSnapshot| {
        if global.json || global.quiet {
            return;
        }
        if c.already_committed {
            println!("{} already at the destination", c.snapshot_id);
        } else {
            println!(
                "{} copied: {} file(s), {} ({} file(s) already there)",
                c.snapshot_id,
                c.files_copied,
                output::megabytes(c.bytes_copied),
                c.files_present
            );
        }
    };
    let copied = match args.snapshot_id {
        Some(snapshot) => {
            let snapshot_id = resolve(&from, collection_id, snapshot).await?.snapshot_id;
            let bar = spinner(global, "copying");
            let one = from
                .store()
                .copy_snapshot(collection_id, snapshot_id, to.store())
                .await;
            bar.finish_and_clear();
            let one = one?;
            print(&one);
            vec![one]
        }
        None => {
            let bar = spinner(global, "copying");
            let all = from
                .store()
                .copy_collection(collection_id, to.store(), |c| bar.suspend(|| print(c)))
                .await;
            bar.finish_and_clear();
            all?
        }
    };
    if global.json {
        return output::print_json(&serde_json::json!({ "copied": copied, "to": args.to }));
    }
    if !global.quiet {
        let bytes: u64 = copied.iter().map(|c| c.bytes_copied).sum();
        eprintln!(
            "copied {} snapshot(s) of collection {collection_id} to {}: {} written",
            copied.iter().filter(|c| !c.already_committed).count(),
            args.to,
            output::megabytes(bytes)
        );
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(dry_run))]
async fn lifecycle(global: &Global, dry_run: bool) -> Result<(), CliError> {
    let Some(path) = &global.config else {
        return Err(CliError::usage(
            "snapshot lifecycle run reads its rules from the [lifecycle] table of --config FILE \
             (or AKIDB_CONFIG); docs/OPERATIONS.md shows one",
        ));
    };
    let Some(rules) = LifecycleConfig::from_toml_file(path)? else {
        return Err(CliError::usage(format!(
            "{} has no [lifecycle] table: docs/OPERATIONS.md shows one",
            path.display()
        )));
    };
    let backend = backend(global)?;
    let print = |action: &LifecycleAction| {
        if global.json || global.quiet {
            return;
        }
        let line = match action {
            LifecycleAction::Copy {
                collection_id,
                snapshot_id,
                to,
                bytes,
            } => format!(
                "copy {snapshot_id} of {collection_id} to {to}: {} to write",
                output::megabytes(*bytes)
            ),
            LifecycleAction::Move {
                collection_id,
                snapshot_id,
                to,
                bytes,
            } => format!(
                "move {snapshot_id} of {collection_id} to {to}: {} to write, then delete here",
                output::megabytes(*bytes)
            ),
            LifecycleAction::Delete {
                collection_id,
                snapshot_id,
                bytes,
            } => format!(
                "delete {snapshot_id} of {collection_id}: {} only it holds (gc frees them)",
                output::megabytes(*bytes)
            ),
            _ => format!("{action:?}"),
        };
        println!("{}{line}", if dry_run { "would " } else { "" });
    };
    let bar = spinner(
        global,
        if dry_run {
            "planning"
        } else {
            "running the lifecycle"
        },
    );
    let actions = backend
        .run_lifecycle(&rules, dry_run, |action| bar.suspend(|| print(action)))
        .await;
    bar.finish_and_clear();
    let actions = actions?;
    if global.json {
        return output::print_json(&serde_json::json!({ "dry_run": dry_run, "actions": actions }));
    }
    if !global.quiet {
        eprintln!(
            "{} {} action(s)",
            if dry_run { "planned" } else { "done:" },
            actions.len()
        );
    }
    Ok(())
}
