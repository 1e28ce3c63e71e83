//! The built `akidb-cli` binary through every command, on the local store and the S3 test
//! server, and every bad input of the issue: each gets one line on stderr and its exit code.

#[path = "../../storage/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use akidb_snapshot::codec::SnapshotMetadata;
use serde_json::Value;
use support::{collection, docs};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/sample-collection.jsonl"
);

struct Cli {
    dir: tempfile::TempDir,
    store: Option<String>,
    /// A config file in the working directory, passed as --config.
    config: Option<&'static str>,
    /// Environment variables set for every run.
    env: Vec<(&'static str, String)>,
}

impl Cli {
    /// The default store (./akidb-snapshots) in a fresh working directory.
    fn local() -> Cli {
        Cli {
            dir: tempfile::tempdir().unwrap(),
            store: None,
            config: None,
            env: Vec::new(),
        }
    }

    /// As [`local`](Self::local), but creates never compact by themselves, so that the few
    /// documents of a test show each change as it is written.
    fn local_uncompacted() -> Cli {
        let cli = Cli {
            config: Some("akidb.toml"),
            ..Cli::local()
        };
        std::fs::write(
            cli.path("akidb.toml"),
            "[storage]\nauto_compact_percent = 0\n",
        )
        .unwrap();
        cli
    }

    fn s3() -> Cli {
        Cli {
            store: Some(support::s3_uri()),
            ..Cli::local()
        }
    }

    /// A fresh prefix of the Cloud Storage emulator, found as Google's client libraries find
    /// one: by `STORAGE_EMULATOR_HOST`.
    fn gcs() -> Cli {
        Cli {
            store: Some(format!("gs://{}/{}", support::BUCKET, uuid::Uuid::now_v7())),
            env: vec![("STORAGE_EMULATOR_HOST", support::gcs_host())],
            ..Cli::local()
        }
    }

    /// A fresh prefix of Azurite's container, its account in `AZURE_STORAGE_CONNECTION_STRING`
    /// as Azurite documents it.
    fn azure() -> Cli {
        Cli {
            store: Some(format!(
                "azblob://{}/{}",
                support::BUCKET,
                uuid::Uuid::now_v7()
            )),
            env: vec![(
                "AZURE_STORAGE_CONNECTION_STRING",
                support::azure_connection_string(),
            )],
            ..Cli::local()
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `akidb-cli` with `line`, split at whitespace (no argument here has a space).
    fn run(&self, line: &str) -> Output {
        self.run_args(line.split_whitespace())
    }

    /// Runs `akidb-cli` with these arguments as they are.
    fn run_args<'a>(&self, args: impl IntoIterator<Item = &'a str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_akidb-cli"));
        command
            .current_dir(self.dir.path())
            .env_remove("AKIDB_STORE")
            .env_remove("AKIDB_CONFIG");
        for encryption in [
            "AKIDB_ENCRYPTION_KEY",
            "AKIDB_ENCRYPTION_KEY_ID",
            "AKIDB_ENCRYPTION_KEY_FILE",
            "AKIDB_SSE",
            "AKIDB_SSE_KMS_KEY_ID",
        ] {
            command.env_remove(encryption);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        if let Some(store) = &self.store {
            command.args(["--store", store]);
        }
        if let Some(config) = self.config {
            command.args(["--config", config]);
        }
        command.args(args).output().expect("run akidb-cli")
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, line: &str) -> String {
        let out = self.run(line);
        assert!(
            out.status.success(),
            "{line} failed with {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, line: &str) -> Value {
        serde_json::from_str(&self.ok(&format!("--json {line}")))
            .expect("one JSON document on stdout")
    }

    /// Runs a command that must fail with `code`; returns its one line of stderr.
    fn fails(&self, code: i32, line: &str) -> String {
        let out = self.run(line);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{line}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{stderr}"
        );
        if code != 2 {
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
            assert!(stderr.starts_with("akidb-cli: error: "), "{stderr}");
            assert!(stderr.contains("hint: "), "says what to do: {stderr}");
        }
        stderr
    }
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `rows` as a float32 `.npy` matrix.
fn write_npy(path: &Path, rows: &[Vec<f32>]) {
    support::write_npy(
        path,
        rows.len(),
        rows[0].len(),
        rows.iter().flatten().copied(),
    );
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let npy = npyz::NpyFile::new(std::fs::File::open(path).unwrap()).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

/// The bytes of the float32 .npy file at `path` with its element type changed to `descr` (of
/// the same length), and where its data starts.
fn retype_npy(path: &Path, descr: &str) -> (Vec<u8>, usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let data = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..data]).unwrap();
    let header = header.replace("'<f4'", descr);
    bytes.splice(10..data, header.into_bytes());
    (bytes, data)
}

fn full_cycle(cli: &Cli) {
    let c = collection().to_string();
    let id = cli.ok(&format!(
        "snapshot create --collection-id {} --input {}",
        c, SAMPLE
    ));
    let id = id.trim();

    let listed = cli.json(&format!("snapshot list --collection-id {}", c));
    let listed: Vec<SnapshotMetadata> = serde_json::from_value(listed).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].snapshot_id.to_string(), id);
    assert_eq!((listed[0].vector_count, listed[0].dimension), (50, 384));
    assert!(
        cli.ok(&format!("snapshot list --collection-id {}", c))
            .contains(id)
    );

    let inspected = cli.json(&format!(
        "snapshot inspect --collection-id {} --snapshot-id {}",
        c, id
    ));
    assert_eq!(inspected["file"]["vector_count"], 50);
    assert_eq!(inspected["file"]["row_groups"].as_array().unwrap().len(), 1);
    assert_eq!(inspected["metadata"]["format"], "parquet");
    let text = cli.ok(&format!(
        "snapshot inspect --collection-id {} --snapshot-id latest",
        c
    ));
    assert!(
        text.contains("row groups") && text.contains("akidb.vector_count = 50"),
        "{text}"
    );

    let verified = cli.ok(&format!(
        "snapshot verify --collection-id {} --snapshot-id {}",
        c, id
    ));
    assert!(verified.contains("intact"), "{verified}");

    // Restore three ways; the JSON Lines come back as they went in.
    for name in ["back.jsonl", "back.npy", "back.parquet"] {
        let out = cli.path(name);
        cli.ok(&format!(
            "snapshot restore --collection-id {} --snapshot-id latest --output {}",
            c,
            out.to_str().unwrap()
        ));
    }
    let input = read_jsonl(Path::new(SAMPLE));
    let back = read_jsonl(&cli.path("back.jsonl"));
    assert_eq!(back.len(), input.len());
    for (i, (a, b)) in input.iter().zip(&back).enumerate() {
        let (va, vb): (Vec<f32>, Vec<f32>) = (
            serde_json::from_value(a["vector"].clone()).unwrap(),
            serde_json::from_value(b["vector"].clone()).unwrap(),
        );
        assert_eq!(va, vb, "line {i}");
        assert_eq!(a["external_id"], b["external_id"]);
        assert_eq!(a["metadata"], b["metadata"]);
        if let Some(id) = a.get("document_id") {
            assert_eq!(id, &b["document_id"]);
            assert_eq!(a["inserted_at"], b["inserted_at"]);
        }
    }
    let (shape, floats) = read_npy(&cli.path("back.npy"));
    assert_eq!(shape, [50, 384]);
    let first: Vec<f32> = serde_json::from_value(input[0]["vector"].clone()).unwrap();
    assert_eq!(floats[..384], first[..]);
    let parquet = std::fs::read(cli.path("back.parquet")).unwrap();
    assert_eq!(parquet.len() as u64, listed[0].size_bytes);
    let file = cli.json(&format!(
        "snapshot inspect --file {}",
        cli.path("back.parquet").to_str().unwrap()
    ));
    assert_eq!(file["snapshot_id"], id);

    // The restored .parquet and .npy are inputs too.
    let again = cli.json(&format!(
        "snapshot create --collection-id {} --input {}",
        c,
        cli.path("back.parquet").to_str().unwrap()
    ));
    assert_eq!(again["vector_count"], 50);
    let from_npy = cli.json(&format!(
        "snapshot create --collection-id {} --input {} --compression snappy --row-group-size 20",
        c,
        cli.path("back.npy").to_str().unwrap()
    ));
    assert_eq!(from_npy["compression"], "snappy");
    let inspected = cli.json(&format!(
        "snapshot inspect --collection-id {} --snapshot-id {}",
        c,
        from_npy["snapshot_id"].as_str().unwrap()
    ));
    assert_eq!(inspected["file"]["row_groups"].as_array().unwrap().len(), 3);

    // Prune to the newest one, then delete it.
    let planned = cli.json(&format!(
        "snapshot prune --collection-id {} --keep-last 1 --dry-run",
        c
    ));
    assert_eq!(planned["deleted"].as_array().unwrap().len(), 2);
    assert_eq!(
        cli.json(&format!("snapshot list --collection-id {}", c))
            .as_array()
            .unwrap()
            .len(),
        3
    );
    cli.ok(&format!(
        "snapshot prune --collection-id {} --keep-last 1",
        c
    ));
    let left = cli.json(&format!("snapshot list --collection-id {}", c));
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["snapshot_id"], from_npy["snapshot_id"]);
    cli.ok(&format!(
        "snapshot delete --collection-id {} --snapshot-id latest",
        c
    ));
    assert!(
        cli.json(&format!("snapshot list --collection-id {}", c))
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A delete removes the manifest; gc then removes the parts no snapshot names, and their id
    // indexes.
    let gc = cli.json("snapshot gc --grace 0s");
    let removed = gc["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 6, "{gc}");
    assert!(
        removed
            .iter()
            .all(|k| k.as_str().unwrap().starts_with(&format!("parts/{c}/"))),
        "{gc}"
    );
    let gc = cli.json("snapshot gc --grace 0s");
    assert!(gc["removed"].as_array().unwrap().is_empty());
}

#[test]
fn every_command_on_the_local_store() {
    let cli = Cli::local();
    full_cycle(&cli);
    // The default store is ./akidb-snapshots.
    assert!(cli.path("akidb-snapshots/snapshots").is_dir());
}

#[test]
fn every_command_on_s3() {
    full_cycle(&Cli::s3());
}

#[test]
fn every_command_on_gcs_and_azure_configured_by_their_environment() {
    full_cycle(&Cli::gcs());
    full_cycle(&Cli::azure());
}

#[test]
fn migrate_json_snapshots_to_parquet() {
    for cli in [Cli::local(), Cli::s3()] {
        let c = collection().to_string();
        for _ in 0..2 {
            let m = cli.json(&format!(
                "snapshot create --collection-id {c} --input {SAMPLE} --format json"
            ));
            assert_eq!(m["format"], "json");
        }
        let out = cli.json(&format!(
            "snapshot migrate --collection-id {c} --from-format json --to-format parquet \
             --delete-source"
        ));
        assert_eq!(out["converted"].as_array().unwrap().len(), 2);
        let listed = cli.json(&format!("snapshot list --collection-id {c}"));
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|m| m["format"] == "parquet"));
        let back = cli.path("back.jsonl");
        cli.ok(&format!(
            "snapshot restore --collection-id {c} --snapshot-id latest --output {}",
            back.display()
        ));
        assert_eq!(read_jsonl(&back).len(), 50);
    }
}

/// docs/ENCRYPTION.md's key rotation: snapshots under an old key are re-encrypted under a new
/// one by `migrate --from-format parquet --to-format parquet`, which reads them with
/// `--read-key`; without it, it fails with the key's exit code and converts nothing.
#[test]
fn a_key_rotation_re_encrypts_every_snapshot_by_migrate() {
    let cli = Cli::local();
    let c = collection().to_string();
    std::fs::write(cli.path("old.key"), format!("{}\n", "1f".repeat(32))).unwrap();
    std::fs::write(cli.path("new.key"), "2e".repeat(24)).unwrap();
    let old = "--encryption-key-id old --encryption-key-file old.key";
    let new = "--encryption-key-id new --encryption-key-file new.key";
    // One snapshot with the key from a file, one with the key from the environment.
    let first = cli.json(&format!(
        "{old} snapshot create --collection-id {c} --input {SAMPLE}"
    ));
    assert_eq!(first["encryption"]["key_id"], "old");
    let from_env = Command::new(env!("CARGO_BIN_EXE_akidb-cli"))
        .current_dir(cli.dir.path())
        .env("AKIDB_ENCRYPTION_KEY", "1f".repeat(32))
        .env("AKIDB_ENCRYPTION_KEY_ID", "old")
        .env_remove("AKIDB_ENCRYPTION_KEY_FILE")
        .args([
            "--json",
            "snapshot",
            "create",
            "--collection-id",
            &c,
            "--input",
            SAMPLE,
        ])
        .output()
        .unwrap();
    assert!(
        from_env.status.success(),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
    let second: Value = serde_json::from_slice(&from_env.stdout).unwrap();
    assert_eq!(second["encryption"]["key_id"], "old");

    let rotate = "snapshot migrate --from-format parquet --to-format parquet --delete-source";
    let err = cli.fails(14, &format!("{new} {rotate} --collection-id {c}"));
    assert!(err.contains("`old`") && err.contains("--read-key"), "{err}");
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(listed.as_array().unwrap().len(), 2, "nothing was converted");

    let out = cli.json(&format!(
        "{new} --read-key old=old.key {rotate} --collection-id {c}"
    ));
    assert_eq!(out["converted"].as_array().unwrap().len(), 2);
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    let keys: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["encryption"]["key_id"])
        .collect();
    assert_eq!(keys, ["new", "new"]);
    // Nothing is left to rotate.
    let again = cli.json(&format!("{new} {rotate} --collection-id {c}"));
    assert_eq!(again["converted"].as_array().unwrap().len(), 0);

    let back = cli.path("back.jsonl");
    cli.ok(&format!(
        "{new} snapshot restore --collection-id {c} --snapshot-id latest --output {}",
        back.display()
    ));
    assert_eq!(read_jsonl(&back).len(), 50);
    let err = cli.fails(
        14,
        &format!(
            "{old} snapshot restore --collection-id {c} --snapshot-id latest --output other.jsonl"
        ),
    );
    assert!(err.contains("`new`"), "{err}");
    assert!(!cli.path("other.jsonl").exists());
    // A one-part snapshot restored to .parquet is the stored file: encrypted still, inspected
    // and read as an input with the key only.
    let copy = cli.path("copy.parquet");
    cli.ok(&format!(
        "{new} snapshot restore --collection-id {c} --snapshot-id latest --output {}",
        copy.display()
    ));
    assert_eq!(&std::fs::read(&copy).unwrap()[..4], b"PARE");
    let info = cli.json(&format!("{new} snapshot inspect --file {}", copy.display()));
    assert_eq!(info["vector_count"], 50, "{info}");
    cli.fails(14, &format!("snapshot inspect --file {}", copy.display()));
    let again = cli.json(&format!(
        "{new} snapshot create --collection-id {c} --input {}",
        copy.display()
    ));
    assert_eq!(again["vector_count"], 50);
    cli.fails(
        14,
        &format!(
            "snapshot create --collection-id {c} --input {}",
            copy.display()
        ),
    );
    // Same-format migrations other than Parquet's re-encryption are refused.
    cli.fails(
        2,
        &format!("snapshot migrate --collection-id {c} --from-format json --to-format json"),
    );
    // A key file that is not a key names the file, not its content.
    std::fs::write(cli.path("bad.key"), "not-hex-at-all").unwrap();
    let err = cli.fails(
        7,
        &format!(
            "--encryption-key-id x --encryption-key-file bad.key snapshot list --collection-id {c}"
        ),
    );
    assert!(
        err.contains("bad.key") && !err.contains("not-hex-at-all"),
        "{err}"
    );
    // A setting, not input: the codec's "invalid snapshot input" is not repeated.
    assert!(
        err.contains("hexadecimal") && !err.contains("snapshot input"),
        "{err}"
    );
}

#[test]
fn json_snapshot_files_are_inputs_and_inspectable() {
    let cli = Cli::local();
    let c = collection().to_string();
    // A JSON snapshot file is an input too, and inspectable.
    let json = cli.json(&format!(
        "snapshot create --collection-id {} --input {} --format json",
        c, SAMPLE
    ));
    let file = cli.path(&format!(
        "akidb-snapshots/snapshots/{c}/{}.json",
        json["snapshot_id"].as_str().unwrap()
    ));
    let inspected = cli.json(&format!(
        "snapshot inspect --file {}",
        file.to_str().unwrap()
    ));
    assert_eq!(inspected["vector_count"], 50);
    let from_json = cli.json(&format!(
        "snapshot create --collection-id {} --input {}",
        c,
        file.to_str().unwrap()
    ));
    assert_eq!(from_json["format"], "parquet");
}

/// Files in the snapshot schema that pyarrow, DuckDB and Polars wrote (codec/tests/data/foreign,
/// from tests/interop/write_foreign.py): inspected, snapshotted and restored to the documents
/// that script writes. A file that breaks the schema is "not a snapshot", not "damaged", and
/// the message names the file, not the store.
#[test]
fn files_other_tools_wrote_are_inputs_and_inspectable() {
    let foreign = Path::new(env!("CARGO_MANIFEST_DIR")).join("../codec/tests/data/foreign");
    let cli = Cli::local();
    let c = collection().to_string();
    for writer in ["pyarrow", "duckdb", "polars"] {
        let file = foreign.join(format!("{writer}.parquet"));
        let file = file.to_str().unwrap();
        let info = cli.json(&format!("snapshot inspect --file {file}"));
        assert_eq!(
            (&info["vector_count"], &info["dimension"]),
            (&5.into(), &4.into())
        );
        cli.ok(&format!(
            "snapshot create --collection-id {c} --input {file}"
        ));
        let out = format!("{writer}.jsonl");
        cli.ok(&format!(
            "snapshot restore --collection-id {c} --snapshot-id latest --output {out}"
        ));
        let docs = read_jsonl(&cli.path(&out));
        assert_eq!(docs.len(), 5, "{writer}");
        assert_eq!(
            docs[4]["document_id"],
            "00000000-0000-4000-8000-000000000005"
        );
        assert_eq!(docs[4]["vector"], serde_json::json!([4.0, 4.25, 4.5, 4.75]));
        assert_eq!(docs[0]["inserted_at"], "1969-12-31T00:00:00.000Z");
        assert_eq!(docs[3]["metadata"], serde_json::json!({"i": 3}));
        assert!(docs[1].get("external_id").is_none() && docs[2].get("metadata").is_none());
    }
    for (name, says) in [
        ("pyarrow-null-element", "row 3: vector[1] is null"),
        ("polars-short-id", "row 2: `document_id` is 15 bytes"),
        ("duckdb-micros", "inserted_at"),
    ] {
        let file = foreign.join(format!("{name}.parquet"));
        let file = file.to_str().unwrap();
        let err = cli.fails(
            9,
            &format!("snapshot create --collection-id {c} --input {file}"),
        );
        assert!(err.contains(says) && err.contains(name), "{err}");
        assert!(err.contains("not in the snapshot schema"), "{err}");
        assert!(!err.contains("damaged"), "{err}");
    }
    // inspect reads the footer only, so it refuses only what the footer shows.
    let err = cli.fails(
        9,
        &format!(
            "snapshot inspect --file {}",
            foreign.join("duckdb-micros.parquet").display()
        ),
    );
    assert!(
        err.starts_with(&format!(
            "akidb-cli: error: {}",
            foreign.join("duckdb-micros.parquet").display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("the store") && !err.contains("damaged"),
        "{err}"
    );
}

#[test]
fn import_adopts_files_in_the_store_by_location_or_key() {
    let foreign = Path::new(env!("CARGO_MANIFEST_DIR")).join("../codec/tests/data/foreign");
    let cli = Cli::local();
    let store = cli.path("akidb-snapshots");
    std::fs::create_dir_all(store.join("spark")).unwrap();
    for name in ["pyarrow-keyless", "pyarrow-null-element"] {
        std::fs::copy(
            foreign.join(format!("{name}.parquet")),
            store.join(format!("spark/{name}.parquet")),
        )
        .unwrap();
    }
    let keyless = store.join("spark/pyarrow-keyless.parquet");
    let keyless = keyless.to_str().unwrap();
    let shown = cli.ok(&format!("snapshot inspect --file {keyless}"));
    assert!(
        shown.contains("without akidb.* footer keys") && shown.contains("footer keys  none"),
        "{shown}"
    );

    // Another snapshot's part, by its file:// URL: a file of other documents, with footer keys.
    let other = collection().to_string();
    let sample = 3;
    let lines: String = (0..sample)
        .map(|i| format!("{{\"vector\": [{i}, 1, 2, 3]}}\n"))
        .collect();
    std::fs::write(cli.path("other.jsonl"), lines).unwrap();
    cli.ok(&format!(
        "snapshot create --collection-id {other} --input other.jsonl"
    ));
    let files = cli.json(&format!(
        "snapshot files --collection-id {other} --snapshot-id latest"
    ));
    let part = format!("file://{}", files["files"][0]["location"].as_str().unwrap());

    let c = collection().to_string();
    let imported = cli.json(&format!(
        "snapshot import --collection-id {c} --input-parts {keyless} {part}"
    ));
    assert_eq!(imported["vector_count"], 5 + sample);
    assert_eq!(imported["parts"].as_array().unwrap().len(), 2);
    cli.ok(&format!(
        "snapshot verify --collection-id {c} --snapshot-id latest"
    ));
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id latest --output all.jsonl"
    ));
    let docs = read_jsonl(&cli.path("all.jsonl"));
    assert_eq!(docs.len(), 5 + sample);
    assert_eq!(
        docs[0]["document_id"],
        "00000000-0000-4000-8000-000000000001"
    );
    assert_eq!(docs[4]["vector"], serde_json::json!([4.0, 4.25, 4.5, 4.75]));
    assert_eq!(docs[7]["vector"], serde_json::json!([2.0, 1.0, 2.0, 3.0]));
    // The sources stay.
    assert!(store.join("spark/pyarrow-keyless.parquet").exists());

    // By key, and what does not fit: one line each, naming the file.
    let err = cli.fails(
        9,
        &format!(
            "snapshot import --collection-id {c} --input-parts spark/pyarrow-null-element.parquet"
        ),
    );
    assert!(
        err.contains("spark/pyarrow-null-element.parquet cannot be imported")
            && err.contains("row 3: vector[1] is null"),
        "{err}"
    );
    let err = cli.fails(
        4,
        &format!("snapshot import --collection-id {c} --input-parts spark/absent.parquet"),
    );
    assert!(err.contains("copy the file there first"), "{err}");
    let outside = foreign.join("pyarrow-keyless.parquet");
    let err = cli.fails(
        7,
        &format!(
            "snapshot import --collection-id {c} --input-parts {}",
            outside.display()
        ),
    );
    assert!(err.contains("is not in the store"), "{err}");
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}

#[test]
fn a_partial_restore_brings_back_only_what_is_asked() {
    let cli = Cli {
        config: Some("akidb.toml"),
        ..Cli::local()
    };
    std::fs::write(cli.path("akidb.toml"), "[storage]\npart_rows = 100\n").unwrap();
    let c = collection().to_string();
    let id = |i: u32| format!("00000000-0000-4000-8000-{i:012}");
    let lines: String = (1..=300)
        .map(|i| {
            format!(
                "{{\"document_id\": \"{}\", \"external_id\": \"doc-{i}\", \"vector\": [{i}, 0.5], \"inserted_at\": {}}}\n",
                id(i),
                1_700_000_000_000u64 + u64::from(i) * 1_000
            )
        })
        .collect();
    std::fs::write(cli.path("all.jsonl"), lines).unwrap();
    cli.ok(&format!(
        "snapshot create --collection-id {c} --input all.jsonl"
    ));
    let restore = |options: &str, output: &str| {
        format!(
            "snapshot restore --collection-id {c} --snapshot-id latest --output {output} {options}"
        )
    };
    let numbers = |path: &str| -> Vec<u64> {
        read_jsonl(&cli.path(path))
            .iter()
            .map(|d| d["document_id"].as_str().unwrap()[24..].parse().unwrap())
            .collect()
    };

    // Ids: the ones held come back in the snapshot's order; the one not held is counted.
    let missing = "00000000-0000-4000-8000-000000009999";
    std::fs::write(
        cli.path("ids.txt"),
        format!(
            "# wanted\n{}\n\n{}\n{missing}\n{}\n",
            id(250),
            id(7),
            id(101)
        ),
    )
    .unwrap();
    let report = cli.json(&restore("--ids ids.txt", "ids.jsonl"));
    assert_eq!(numbers("ids.jsonl"), [7, 101, 250]);
    assert_eq!(report["documents"], 3);
    assert_eq!(report["missing_ids"], serde_json::json!([missing]));
    assert_eq!(report["parts_read_by_pages"], 3);
    let said = cli.ok(&restore("--ids ids.txt", "ids-again.jsonl"));
    assert!(
        said.contains("restored 3 selected documents")
            && said.contains("1 ids asked for are not in the snapshot"),
        "{said}"
    );

    // Strict: exit 4, naming the id, and no output left behind.
    let err = cli.fails(4, &restore("--ids ids.txt --strict", "strict.jsonl"));
    assert!(err.contains(missing), "{err}");
    assert!(!cli.path("strict.jsonl").exists());
    assert!(!cli.path("strict.jsonl.partial").exists());

    // External ids, a time range, rows, and all of them with a shard.
    std::fs::write(cli.path("names.txt"), "doc-3\ndoc-299\nnobody\n").unwrap();
    let report = cli.json(&restore("--external-ids names.txt", "names.jsonl"));
    assert_eq!(numbers("names.jsonl"), [3, 299]);
    assert_eq!(
        report["missing_external_ids"],
        serde_json::json!(["nobody"])
    );
    cli.ok(&restore(
        "--since 2023-11-14T22:13:30Z --until 1700000015000",
        "time.jsonl",
    ));
    assert_eq!(numbers("time.jsonl"), (10..=15).collect::<Vec<_>>());
    cli.ok(&restore("--rows 98..103", "rows.npy"));
    let (shape, floats) = read_npy(&cli.path("rows.npy"));
    assert_eq!(shape, [5, 2]);
    assert_eq!(
        floats,
        [99.0, 0.5, 100.0, 0.5, 101.0, 0.5, 102.0, 0.5, 103.0, 0.5]
    );
    cli.ok(&restore(
        "--shard 1/3 --rows 48..60 --since 1700000150000",
        "shard.jsonl",
    ));
    assert_eq!(numbers("shard.jsonl"), (150..=160).collect::<Vec<_>>());
    cli.ok(&restore(
        "--ids ids.txt --since 1700000100000",
        "both.parquet",
    ));
    let both = std::fs::read(cli.path("both.parquet")).unwrap();
    let both = akidb_snapshot::codec::decode_parquet(both.into(), &Default::default()).unwrap();
    let both: Vec<f32> = both.iter().map(|d| d.vector[0]).collect();
    assert_eq!(both, [101.0, 250.0]);

    // Nothing selected: an empty .jsonl, and a clear refusal for .parquet.
    cli.ok(&restore("--rows 5000..6000", "none.jsonl"));
    assert!(read_jsonl(&cli.path("none.jsonl")).is_empty());
    let err = cli.fails(8, &restore("--rows 5000..6000", "none.parquet"));
    assert!(err.contains("no document was selected"), "{err}");

    // Bad selectors are usage errors.
    cli.fails(2, &restore("--rows 9..3", "bad.jsonl"));
    cli.fails(2, &restore("--since yesterday", "bad.jsonl"));
    let err = cli.fails(8, &restore("--ids names.txt", "bad.jsonl"));
    assert!(
        err.contains("names.txt:1") && err.contains("not a document id"),
        "{err}"
    );
}

#[test]
fn an_append_builds_on_a_snapshot_and_writes_only_the_new_documents() {
    let cli = Cli::local();
    let c = collection().to_string();
    let lines = |range: std::ops::Range<u32>| -> String {
        range
            .map(|i| format!("{{\"document_id\": \"00000000-0000-4000-8000-{i:012}\", \"vector\": [{i}, 1]}}\n"))
            .collect()
    };
    std::fs::write(cli.path("old.jsonl"), lines(1..6)).unwrap();
    std::fs::write(cli.path("new.jsonl"), lines(6..9)).unwrap();
    std::fs::write(cli.path("again.jsonl"), lines(5..7)).unwrap();
    let base = cli.json(&format!(
        "snapshot create --collection-id {c} --input old.jsonl"
    ));
    let appended = cli.json(&format!(
        "snapshot create --collection-id {c} --base latest --append new.jsonl"
    ));
    assert_eq!(appended["parent_snapshot_id"], base["snapshot_id"]);
    assert_eq!(appended["vector_count"], 8);
    assert_eq!(appended["parts"][0], base["parts"][0], "shared as it is");
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id latest --output all.jsonl"
    ));
    let ids: Vec<String> = read_jsonl(&cli.path("all.jsonl"))
        .iter()
        .map(|d| d["document_id"].as_str().unwrap()[34..].to_owned())
        .collect();
    assert_eq!(ids, ["01", "02", "03", "04", "05", "06", "07", "08"]);

    // A document of the base again: named by its line, nothing committed.
    let err = cli.fails(
        3,
        &format!("snapshot create --collection-id {c} --base latest --append again.jsonl"),
    );
    assert!(
        err.contains("is in base snapshot") && err.contains("line 1 of again.jsonl"),
        "{err}"
    );
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    cli.fails(
        2,
        &format!(
            "snapshot create --collection-id {c} --base latest --input old.jsonl --append new.jsonl"
        ),
    );
}

#[test]
fn a_full_export_on_a_base_writes_only_what_changed() {
    let cli = Cli::local_uncompacted();
    let c = collection().to_string();
    let doc = |i: u32, x: u32| {
        format!(
            "{{\"document_id\": \"00000000-0000-4000-8000-{i:012}\", \"vector\": [{x}, 1], \
             \"inserted_at\": 1700000000000}}\n"
        )
    };
    let write = |name: &str, docs: &[(u32, u32)]| {
        let text: String = docs.iter().map(|&(i, x)| doc(i, x)).collect();
        std::fs::write(cli.path(name), text).unwrap();
    };
    let monday: Vec<(u32, u32)> = (1..=6).map(|i| (i, i)).collect();
    write("monday.jsonl", &monday);
    let base = cli.json(&format!(
        "snapshot create --collection-id {c} --input monday.jsonl"
    ));
    let parts_dir = cli.path(&format!("akidb-snapshots/parts/{c}"));
    let files = || std::fs::read_dir(&parts_dir).unwrap().count();
    assert_eq!(files(), 2, "a part and its id index");

    // The same export again: a manifest of the base's parts, and no file more.
    let same = cli.json(&format!(
        "snapshot create --collection-id {c} --base latest --input monday.jsonl"
    ));
    assert_eq!(same["parts"], base["parts"]);
    assert_eq!(same["vector_count"], 6);
    assert_eq!(files(), 2);

    // Tuesday: 3 changed, 4 gone, 7 new, in another order.
    let tuesday = [(7, 7), (1, 1), (2, 2), (3, 30), (5, 5), (6, 6)];
    write("tuesday.jsonl", &tuesday);
    let changed = cli.json(&format!(
        "snapshot create --collection-id {c} --base latest --input tuesday.jsonl"
    ));
    assert_eq!(changed["parent_snapshot_id"], same["snapshot_id"]);
    let parts = changed["parts"].as_array().unwrap();
    let shape: Vec<(&str, u64)> = (parts.iter())
        .map(|p| (p["kind"].as_str().unwrap(), p["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(shape, [("data", 6), ("tombstones", 2), ("data", 2)]);
    // `files` names each data part's id index, where other tools find it.
    let listed = cli.json(&format!(
        "snapshot files --collection-id {c} --snapshot-id latest"
    ));
    for file in listed["files"].as_array().unwrap() {
        match file["kind"].as_str() {
            Some("data") => {
                let index = file["index"]["location"].as_str().unwrap();
                assert!(Path::new(index).is_file(), "{index}");
            }
            _ => assert!(file["index"].is_null(), "{file}"),
        }
    }
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id latest --output back.jsonl"
    ));
    let mut back: Vec<(u32, f64)> = read_jsonl(&cli.path("back.jsonl"))
        .iter()
        .map(|d| {
            let id = d["document_id"].as_str().unwrap()[24..].parse().unwrap();
            (id, d["vector"][0].as_f64().unwrap())
        })
        .collect();
    back.sort_by_key(|&(i, _)| i);
    let mut expected: Vec<(u32, f64)> = tuesday.iter().map(|&(i, x)| (i, f64::from(x))).collect();
    expected.sort_by_key(|&(i, _)| i);
    assert_eq!(back, expected);

    // A line without its id or its time, and a .npy file (no ids at all), are refused before
    // anything is written.
    std::fs::write(
        cli.path("no-id.jsonl"),
        "{\"vector\": [1, 1], \"inserted_at\": 5}\n",
    )
    .unwrap();
    std::fs::write(
        cli.path("no-time.jsonl"),
        "{\"document_id\": \"00000000-0000-4000-8000-000000000001\", \"vector\": [1, 1]}\n",
    )
    .unwrap();
    write_npy(&cli.path("export.npy"), &[vec![1.0, 1.0]]);
    for input in ["no-id.jsonl", "no-time.jsonl", "export.npy"] {
        let err = cli.fails(
            8,
            &format!("snapshot create --collection-id {c} --base latest --input {input}"),
        );
        assert!(err.contains(input), "{err}");
    }
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    assert_eq!(
        files(),
        5,
        "a tombstone part, and a data part with its index, more"
    );
}

#[test]
fn an_update_replaces_and_deletes_writing_only_the_change() {
    let cli = Cli::local_uncompacted();
    let c = collection().to_string();
    let doc = |i: u32, x: u32| {
        format!("{{\"document_id\": \"00000000-0000-4000-8000-{i:012}\", \"vector\": [{x}, 1]}}\n")
    };
    let id = |i: u32| format!("00000000-0000-4000-8000-{i:012}");
    std::fs::write(
        cli.path("old.jsonl"),
        (1..6).map(|i| doc(i, i)).collect::<String>(),
    )
    .unwrap();
    std::fs::write(cli.path("up.jsonl"), doc(3, 30) + &doc(9, 9)).unwrap();
    let unknown = "00000000-0000-4000-8000-000000000777";
    std::fs::write(
        cli.path("gone.txt"),
        format!("# retired\n{}\n\n{unknown}\n", id(1)),
    )
    .unwrap();
    cli.ok(&format!(
        "snapshot create --collection-id {c} --input old.jsonl"
    ));
    let updated = cli.json(&format!(
        "snapshot create --collection-id {c} --base latest --upserts up.jsonl --deletes gone.txt"
    ));
    assert_eq!(updated["vector_count"], 5);
    let kinds: Vec<&str> = (updated["parts"].as_array().unwrap().iter())
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["data", "tombstones", "data"]);
    // Space: the base's one part is shared, so deleting the base would free nothing.
    let own = |listed: &Value| -> Vec<u64> {
        (listed.as_array().unwrap().iter())
            .map(|m| m["exclusive_bytes"].as_u64().unwrap())
            .collect()
    };
    // Parts and their id indexes.
    let new_bytes: u64 = (updated["parts"].as_array().unwrap()[1..].iter())
        .map(|p| p["size_bytes"].as_u64().unwrap() + p["index"]["size_bytes"].as_u64().unwrap_or(0))
        .sum();
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(own(&listed), [new_bytes, 0], "newest first");
    // What each names in all: parts and their id indexes; the update's includes the base's.
    let base_bytes = listed[1]["stored_bytes"].as_u64().unwrap();
    assert!(
        base_bytes > listed[1]["size_bytes"].as_u64().unwrap(),
        "with its index"
    );
    assert_eq!(
        listed[0]["stored_bytes"].as_u64(),
        Some(base_bytes + new_bytes)
    );
    let inspected = cli.json(&format!(
        "snapshot inspect --collection-id {c} --snapshot-id latest"
    ));
    assert_eq!(inspected["exclusive_bytes"], new_bytes);
    let shown = cli.ok(&format!("snapshot list --collection-id {c}"));
    assert!(shown.contains("ONLY ITS OWN"), "{shown}");
    let restore = |out: &str| {
        cli.ok(&format!(
            "snapshot restore --collection-id {c} --snapshot-id latest --output {out}"
        ));
        read_jsonl(&cli.path(out))
            .iter()
            .map(|d| {
                (
                    d["document_id"].as_str().unwrap()[34..].to_owned(),
                    d["vector"][0].as_f64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let back = restore("updated.jsonl");
    let expected: Vec<(String, f64)> = [(2, 2.0), (4, 4.0), (5, 5.0), (3, 30.0), (9, 9.0)]
        .iter()
        .map(|(i, x)| (format!("{i:02}"), *x))
        .collect();
    assert_eq!(back, expected);

    // Deletes only.
    std::fs::write(cli.path("more.txt"), id(9)).unwrap();
    cli.ok(&format!(
        "snapshot create --collection-id {c} --base latest --deletes more.txt"
    ));
    assert_eq!(restore("fewer.jsonl").len(), 4);

    // A line that is no id is named; --base alone says what it needs.
    std::fs::write(cli.path("bad.txt"), "not-an-id\n").unwrap();
    let err = cli.fails(
        8,
        &format!("snapshot create --collection-id {c} --base latest --deletes bad.txt"),
    );
    assert!(err.contains("bad.txt:1"), "{err}");
    cli.fails(
        2,
        &format!("snapshot create --collection-id {c} --base latest"),
    );
    cli.fails(
        2,
        &format!(
            "snapshot create --collection-id {c} --base latest --append up.jsonl --upserts up.jsonl"
        ),
    );
}

#[test]
fn compact_writes_a_snapshot_without_tombstones_once() {
    let cli = Cli::local();
    let c = collection().to_string();
    let lines: String = (1..=40u32)
        .map(|i| {
            format!(
                "{{\"document_id\": \"00000000-0000-4000-8000-{i:012}\", \"vector\": [{i}, 1]}}\n"
            )
        })
        .collect();
    std::fs::write(cli.path("all.jsonl"), lines).unwrap();
    std::fs::write(
        cli.path("gone.txt"),
        "00000000-0000-4000-8000-000000000003\n",
    )
    .unwrap();
    cli.ok(&format!(
        "snapshot create --collection-id {c} --input all.jsonl"
    ));
    let updated = cli.json(&format!(
        "snapshot create --collection-id {c} --base latest --deletes gone.txt"
    ));
    assert_eq!(updated["parts"][1]["kind"], "tombstones");

    let compacted = cli.json(&format!(
        "snapshot compact --collection-id {c} --snapshot-id latest"
    ));
    assert_eq!(compacted["parent_snapshot_id"], updated["snapshot_id"]);
    assert_eq!(compacted["vector_count"], 39);
    let parts = compacted["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(
        (parts[0]["kind"].as_str(), parts[0]["rows"].as_u64()),
        (Some("data"), Some(39))
    );
    let restore = |id: &Value, out: &str| {
        cli.ok(&format!(
            "snapshot restore --collection-id {c} --snapshot-id {} --output {out}",
            id.as_str().unwrap()
        ));
        read_jsonl(&cli.path(out))
    };
    assert_eq!(
        restore(&compacted["snapshot_id"], "compacted.jsonl"),
        restore(&updated["snapshot_id"], "updated.jsonl")
    );

    // Again: nothing to do, said so, and the same snapshot printed.
    let out = cli.run(&format!(
        "snapshot compact --collection-id {c} --snapshot-id latest"
    ));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        compacted["snapshot_id"].as_str().unwrap()
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("compact already"), "{said}");
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
}

#[test]
fn npy_of_either_byte_order_restores_value_for_value() {
    let cli = Cli::local();
    let rows: Vec<Vec<f32>> = docs(7, 5, 3).into_iter().map(|d| d.vector).collect();
    write_npy(&cli.path("little.npy"), &rows);
    // The same matrix stored big-endian: numpy's '>f4', as written on another machine.
    let (mut bytes, data) = retype_npy(&cli.path("little.npy"), "'>f4'");
    bytes[data..].chunks_exact_mut(4).for_each(<[u8]>::reverse);
    std::fs::write(cli.path("big.npy"), &bytes).unwrap();

    for name in ["little.npy", "big.npy"] {
        let c = collection().to_string();
        cli.ok(&format!(
            "snapshot create --collection-id {c} --input {}",
            cli.path(name).to_str().unwrap()
        ));
        let out = cli.path(&format!("back-{name}"));
        cli.ok(&format!(
            "snapshot restore --collection-id {c} --snapshot-id latest --output {}",
            out.to_str().unwrap()
        ));
        let (shape, floats) = read_npy(&out);
        assert_eq!(shape, [7, 5], "{name}");
        assert_eq!(floats, rows.concat(), "{name}");
    }

    // Any other element type is refused by name.
    let (bytes, _) = retype_npy(&cli.path("little.npy"), "'<i4'");
    std::fs::write(cli.path("ints.npy"), bytes).unwrap();
    let err = cli.fails(
        8,
        &format!(
            "snapshot create --collection-id {} --input {}",
            collection(),
            cli.path("ints.npy").to_str().unwrap()
        ),
    );
    assert!(err.contains("'<i4'") && err.contains("float32"), "{err}");
}

/// Ids reach the store only as UUIDs, written canonically, so no key leaves
/// `snapshots/{collection_id}/`: anything else is a usage error before the store is opened.
#[test]
fn hostile_ids_are_refused_before_any_key_is_made() {
    let cli = Cli::local();
    let c = collection().to_string();
    cli.ok(&format!(
        "snapshot create --collection-id {c} --input {SAMPLE}"
    ));
    let before = files_under(cli.dir.path());
    let uuid = "0193a5b0-0000-7000-8000-000000000001";
    let hostile = [
        String::new(),
        "..".into(),
        "../..".into(),
        format!("{uuid}/.."),
        format!("../{uuid}"),
        format!("{c}/../{uuid}"),
        "a/b".into(),
        "a\\b".into(),
        "%2e%2e%2f%2e%2e".into(),
        format!("{uuid}%00"),
        format!(" {uuid}"),
        "*".into(),
        "latest/..".into(),
    ];
    for id in &hostile {
        let id = id.as_str();
        for (command, collection, snapshot) in [
            ("list", id, None),
            ("create", id, None),
            ("restore", c.as_str(), Some(id)),
            ("restore", id, Some("latest")),
            ("delete", c.as_str(), Some(id)),
            ("verify", id, Some(uuid)),
        ] {
            let mut args = vec!["snapshot", command, "--collection-id", collection];
            args.extend(snapshot.map(|s| ["--snapshot-id", s]).into_iter().flatten());
            if command == "create" {
                args.extend(["--input", SAMPLE]);
            }
            let out = cli.run_args(args.iter().copied());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
            assert!(
                stderr.starts_with("akidb-cli: error: ") && stderr.contains("is not a UUID"),
                "{args:?} names what it wants: {stderr}"
            );
        }
    }
    // Nothing was written or removed, in the store or beside it.
    assert_eq!(files_under(cli.dir.path()), before);
    assert!(
        before
            .iter()
            .any(|(path, _)| path.extension() == Some("parquet".as_ref()))
    );
}

/// Every file under `dir`, with its size, in order.
fn files_under(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                found.push((entry.path(), meta.len()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn gc_removes_orphans_and_config_files_are_read() {
    let cli = Cli::local();
    let c = collection();
    let store = cli.path("elsewhere");
    let config = cli.path("akidb.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\nuri = \"file://{}\"\n[storage.parquet]\ncompression = \"lz4\"\n",
            store.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let m = cli.json(&format!(
        "--config {} snapshot create --collection-id {} --input {}",
        config, c, SAMPLE
    ));
    assert_eq!(m["compression"], "lz4");
    let orphan = store.join(format!("snapshots/{c}/{}.parquet", uuid::Uuid::now_v7()));
    std::fs::write(&orphan, b"partial").unwrap();
    let kept = cli.json(&format!("--config {} snapshot gc --grace 1h", config));
    assert!(kept["removed"].as_array().unwrap().is_empty());
    let removed = cli.json(&format!("--config {} snapshot gc --grace 0s", config));
    assert_eq!(removed["removed"].as_array().unwrap().len(), 1);
    assert!(!orphan.exists());
}

#[test]
fn bad_inputs_get_one_line_and_an_exit_code() {
    let cli = Cli::local();
    let c = collection().to_string();
    let create = |name: &str| {
        format!(
            "snapshot create --collection-id {c} --input {}",
            cli.path(name).display()
        )
    };
    let run_fail = |code: i32, line: String| cli.fails(code, &line);

    // A missing file.
    let err = run_fail(8, create("missing.jsonl"));
    assert!(err.contains("missing.jsonl"), "{err}");

    // A wrong dimension on line 7 of a JSON Lines file.
    let lines: Vec<String> = std::fs::read_to_string(SAMPLE)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut bad = lines[..10].to_vec();
    let mut doc: Value = serde_json::from_str(&bad[6]).unwrap();
    doc["vector"].as_array_mut().unwrap().pop();
    bad[6] = doc.to_string();
    bad.insert(2, String::new()); // a blank line is skipped and still counted
    std::fs::write(cli.path("dim.jsonl"), bad.join("\n")).unwrap();
    let err = run_fail(3, create("dim.jsonl"));
    assert!(err.contains("line 8 of"), "{err}");
    assert!(err.contains("dimension"), "{err}");

    // A line that is not a document.
    std::fs::write(
        cli.path("junk.jsonl"),
        format!("{}\n{{\"vectr\": [1]}}\n", lines[0]),
    )
    .unwrap();
    let err = run_fail(8, create("junk.jsonl"));
    assert!(err.contains("line 2") && err.contains("vectr"), "{err}");

    // A truncated .npy.
    write_npy(
        &cli.path("full.npy"),
        &docs(20, 8, 1)
            .into_iter()
            .map(|d| d.vector)
            .collect::<Vec<_>>(),
    );
    let bytes = std::fs::read(cli.path("full.npy")).unwrap();
    std::fs::write(cli.path("cut.npy"), &bytes[..bytes.len() - 100]).unwrap();
    let err = run_fail(8, create("cut.npy"));
    assert!(
        err.contains("cut.npy") && err.contains("truncated"),
        "{err}"
    );

    // Not a snapshot, by extension and by content.
    std::fs::write(cli.path("notes.txt"), "hello").unwrap();
    run_fail(8, create("notes.txt"));
    std::fs::write(cli.path("fake.parquet"), "hello").unwrap();
    let err = run_fail(5, create("fake.parquet"));
    assert!(
        err.starts_with(&format!(
            "akidb-cli: error: {}",
            cli.path("fake.parquet").display()
        )) && err.contains("not readable Parquet"),
        "{err}"
    );

    // Nothing was committed by any of these.
    assert!(
        cli.json(&format!("snapshot list --collection-id {}", c))
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A corrupted snapshot.
    let id = cli.ok(&format!(
        "snapshot create --collection-id {} --input {}",
        c, SAMPLE
    ));
    let id = id.trim();
    let manifest = cli.json(&format!(
        "snapshot inspect --collection-id {c} --snapshot-id {id}"
    ));
    let part = manifest["metadata"]["parts"][0]["key"].as_str().unwrap();
    let data = cli.path(&format!("akidb-snapshots/{part}"));
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&data, bytes).unwrap();
    let err = cli.fails(
        5,
        &format!("snapshot verify --collection-id {} --snapshot-id {}", c, id),
    );
    assert!(err.contains(id) && err.contains("corrupted"), "{err}");
    let out = cli.path("never.jsonl");
    cli.fails(
        5,
        &format!(
            "snapshot restore --collection-id {} --snapshot-id {} --output {}",
            c,
            id,
            out.to_str().unwrap()
        ),
    );
    assert!(!out.exists(), "a failed restore leaves no file");
    assert!(!cli.path("never.jsonl.partial").exists());

    // Not found, and an existing output file is never replaced.
    let other = collection().to_string();
    cli.fails(
        4,
        &format!(
            "snapshot restore --collection-id {} --snapshot-id latest --output x.jsonl",
            other
        ),
    );
    cli.fails(
        4,
        &format!(
            "snapshot delete --collection-id {} --snapshot-id {}",
            c,
            uuid::Uuid::now_v7()
        ),
    );
    std::fs::write(cli.path("taken.npy"), "mine").unwrap();
    cli.fails(
        8,
        &format!(
            "snapshot restore --collection-id {} --snapshot-id {} --output taken.npy",
            c, id
        ),
    );
    assert_eq!(std::fs::read(cli.path("taken.npy")).unwrap(), b"mine");

    // An id that is not a UUID is the library's validation error, in our words; other
    // arguments that do not parse are clap's usage errors (exit 2).
    let err = cli.fails(3, "snapshot list --collection-id not-a-uuid");
    assert!(
        err.contains("collection_id `not-a-uuid` is not a UUID"),
        "{err}"
    );
    cli.fails(
        2,
        &format!("snapshot prune --collection-id {} --max-age soon", c),
    );

    // An unreachable S3 endpoint (no retries configured, so it fails at once).
    std::fs::write(cli.path("fast.toml"), "[storage.retry]\nmax_retries = 0\n").unwrap();
    let unreachable = "s3://bucket/x?endpoint=http%3A%2F%2F127.0.0.1%3A1&region=us-east-1&access_key_id=a&secret_access_key=b";
    let err = cli.fails(
        6,
        &format!(
            "--config fast.toml --store {} snapshot list --collection-id {}",
            unreachable, c
        ),
    );
    assert!(err.contains("store failed to list"), "{err}");
    let err = cli.fails(
        7,
        &format!("--store ftp://x snapshot list --collection-id {}", c),
    );
    assert!(err.contains("unsupported store scheme"), "{err}");
}

#[test]
fn inserted_at_is_rfc_3339_or_epoch_milliseconds() {
    let cli = Cli::local();
    let c = collection().to_string();
    let write = |name: &str, times: &[&str]| {
        let lines: Vec<String> = times
            .iter()
            .enumerate()
            .map(|(i, t)| format!(r#"{{"vector": [{i}.5, 1.0], "inserted_at": {t}}}"#))
            .collect();
        std::fs::write(cli.path(name), lines.join("\n")).unwrap();
        format!(
            "snapshot create --collection-id {c} --input {}",
            cli.path(name).display()
        )
    };
    let times = [
        "1732435200000",
        "-86400001",
        "0",
        r#""2024-11-24T08:00:00.250+02:00""#,
        "253402300799999",
        "-62167219200000",
    ];
    cli.ok(&write("times.jsonl", &times));
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id latest --output back.jsonl"
    ));
    let back: Vec<String> = read_jsonl(&cli.path("back.jsonl"))
        .iter()
        .map(|d| d["inserted_at"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        back,
        [
            "2024-11-24T08:00:00.000Z",
            "1969-12-30T23:59:59.999Z",
            "1970-01-01T00:00:00.000Z",
            "2024-11-24T06:00:00.250Z",
            "9999-12-31T23:59:59.999Z",
            "0000-01-01T00:00:00.000Z",
        ]
    );

    // Anything else names its line and column, and says what is accepted.
    for (bad, says) in [
        ("1.7e12", "is not a timestamp"),
        ("1732435200000.0", "is not a timestamp"),
        (r#""yesterday""#, "is not an RFC 3339 timestamp"),
        (r#""2024-11-24""#, "is not an RFC 3339 timestamp"),
        ("253402300800000", "outside the years 0 to 9999"),
        ("-62167219200001", "outside the years 0 to 9999"),
        ("99999999999999999999", "is not a timestamp"),
        (
            "true",
            "an RFC 3339 timestamp string or an integer of epoch milliseconds",
        ),
    ] {
        let err = cli.fails(8, &write("bad.jsonl", &["0", bad]));
        assert!(
            err.contains("line 2: ") && err.contains("column"),
            "{bad}: {err}"
        );
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn the_nil_uuid_is_no_id() {
    let cli = Cli::local();
    let c = collection().to_string();
    let nil = "00000000-0000-0000-0000-000000000000";
    for line in [
        format!("snapshot list --collection-id {nil}"),
        format!("snapshot create --collection-id {nil} --input {SAMPLE}"),
        format!("snapshot delete --collection-id {c} --snapshot-id {nil}"),
    ] {
        let err = cli.fails(3, &line);
        assert!(err.contains("is the nil UUID"), "{line}: {err}");
    }
    std::fs::write(
        cli.path("nil.jsonl"),
        format!("{{\"vector\": [1.0]}}\n{{\"document_id\": \"{nil}\", \"vector\": [2.0]}}\n"),
    )
    .unwrap();
    let err = cli.fails(
        3,
        &format!(
            "snapshot create --collection-id {c} --input {}",
            cli.path("nil.jsonl").display()
        ),
    );
    assert!(
        err.contains("document_id is the nil UUID") && err.contains("line 2 of"),
        "{err}"
    );
    assert!(
        !cli.path("akidb-snapshots").exists()
            || files_under(&cli.path("akidb-snapshots"))
                .iter()
                .all(|(p, _)| p.extension() != Some("json".as_ref())),
        "nothing committed"
    );
}

/// `-v` prints a line per phase with its time (and bytes where there are any), `-vv` a line per
/// row group too; without either, nothing but the summary.
#[test]
fn verbose_lines_say_what_each_phase_took() {
    let cli = Cli::local();
    let c = collection().to_string();
    let stderr = |line: String| {
        let out = cli.run(&line);
        assert!(out.status.success(), "{line}");
        String::from_utf8(out.stderr).unwrap()
    };
    let lines_with = |text: &str, what: &str| text.lines().filter(|l| l.contains(what)).count();
    let create =
        format!("snapshot create --collection-id {c} --input {SAMPLE} --row-group-size 20");
    let quiet = stderr(create.clone());
    assert_eq!(quiet.lines().count(), 1, "{quiet}");

    let v = stderr(format!("-v {create}"));
    assert!(!v.contains('\u{1b}'), "no colours when piped: {v}");
    for phase in ["data written", "metadata committed", "snapshot created"] {
        assert_eq!(lines_with(&v, phase), 1, "{phase}: {v}");
    }
    let written = v.lines().find(|l| l.contains("data written")).unwrap();
    assert!(
        written.contains("rows=50")
            && written.contains("bytes=")
            && written.contains("duration_ms="),
        "{written}"
    );
    assert_eq!(lines_with(&v, "row group"), 0, "{v}");

    let vv = stderr(format!("-vv {create}"));
    assert_eq!(
        lines_with(&vv, "row group encoded"),
        3,
        "50 rows in groups of 20: {vv}"
    );

    let restore = stderr(format!(
        "-vv snapshot restore --collection-id {c} --snapshot-id latest --output back.npy"
    ));
    for phase in ["metadata read", "footer read", "snapshot restored"] {
        assert_eq!(lines_with(&restore, phase), 1, "{phase}: {restore}");
    }
    assert_eq!(lines_with(&restore, "row group decoded"), 3, "{restore}");
    let restored = restore
        .lines()
        .find(|l| l.contains("snapshot restored"))
        .unwrap();
    assert!(
        restored.contains("vector_count=50") && restored.contains("size_bytes="),
        "{restored}"
    );
    for (command, says) in [
        (
            format!("-v snapshot list --collection-id {c}"),
            "snapshots listed",
        ),
        (
            format!("-v snapshot verify --collection-id {c} --snapshot-id latest"),
            "snapshot verified",
        ),
        (
            format!(
                "-v snapshot restore --collection-id {c} --snapshot-id latest --output copy.parquet"
            ),
            "snapshot restored",
        ),
        (
            format!("-v snapshot inspect --collection-id {c} --snapshot-id latest"),
            "snapshot inspected",
        ),
        (
            format!("-v snapshot prune --collection-id {c} --keep-last 1"),
            "retention applied",
        ),
        (
            format!("-v snapshot delete --collection-id {c} --snapshot-id latest"),
            "snapshot deleted",
        ),
        ("-v snapshot gc --grace 1h".to_owned(), "gc done"),
    ] {
        let text = stderr(command.clone());
        assert_eq!(lines_with(&text, says), 1, "{command}: {text}");
    }
}

#[test]
fn help_teaches_and_progress_stays_quiet_when_piped() {
    let cli = Cli::local();
    let help = cli.ok("--help");
    assert!(
        help.contains("Examples:") && help.contains("Exit codes"),
        "{help}"
    );
    // Every kind's code, from the library's table.
    for kind in akidb_snapshot::ErrorKind::all() {
        let entry = format!("{:>2} {}", kind.exit_code(), kind.name());
        assert!(help.contains(&entry), "{entry} in {help}");
    }
    let create = cli.ok("snapshot create --help");
    assert!(
        create.contains("JSON Lines") && create.contains(".npy"),
        "{create}"
    );
    let words = create.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("integer of epoch milliseconds"), "{create}");
    let out = cli.run(&format!(
        "snapshot create --collection-id {} --input {}",
        collection(),
        SAMPLE
    ));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success());
    assert!(
        !stderr.contains('\r') && !stderr.contains("encoding"),
        "no progress bar when piped: {stderr:?}"
    );
    assert!(stderr.contains("created snapshot"), "{stderr}");
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let script = readme_block("walkthrough");
    assert!(
        script.matches("akidb-cli snapshot").count() >= 15,
        "{script}"
    );
    let (dir, out) = run_readme_script(&script, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("is intact"), "{stdout}");
    assert!(
        stdout.contains("(json) ->"),
        "migrate converted one: {stdout}"
    );
    for file in ["restored.jsonl", "vectors.npy", "copy.parquet"] {
        assert!(dir.path().join(file).exists(), "{file}");
    }
}

/// The README's S3 example, configured the standard AWS way: endpoint, region and key pair from
/// the environment only. The one change is the endpoint's port, to the test server's.
#[test]
fn the_readme_s3_example_runs_with_the_aws_environment() {
    let written = readme_block("s3-example");
    assert!(
        written.contains("export AWS_ENDPOINT_URL=http://127.0.0.1:9000")
            && written.contains("AWS_REGION=")
            && written.contains("AWS_ACCESS_KEY_ID=")
            && !written.contains("endpoint="),
        "the endpoint comes from the environment only: {written}"
    );
    let script = written.replace("http://127.0.0.1:9000", &support::s3_endpoint());
    let c = collection().to_string();
    let (_dir, out) = run_readme_script(&script, &[("C", c.as_str())]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let created = stdout.lines().next().unwrap_or_default();
    assert_eq!(
        created.len(),
        36,
        "create printed the new id first: {stdout}"
    );
    assert!(
        stdout.lines().skip(1).any(|line| line.contains(created)),
        "list found it in the bucket: {stdout}"
    );
    // It is in the README's bucket, where the test's own stores are not.
    let listed = Cli {
        dir: tempfile::tempdir().unwrap(),
        store: Some(format!(
            "s3://{}/backups?endpoint={}&region=us-east-1&access_key_id=t&secret_access_key=t",
            support::README_BUCKET,
            support::s3_endpoint()
        )),
        ..Cli::local()
    }
    .json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(listed[0]["snapshot_id"], created);
}

/// The shell block of the README between `<!-- NAME -->` and `<!-- /NAME -->`.
fn readme_block(name: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let block = readme
        .split(&format!("<!-- {name} -->"))
        .nth(1)
        .and_then(|rest| rest.split(&format!("<!-- /{name} -->")).next())
        .unwrap_or_else(|| panic!("the README marks its {name} block"));
    block
        .trim()
        .trim_start_matches("```sh")
        .trim_end_matches("```")
        .to_owned()
}

/// Runs `script` with bash from a folder that has the repository's examples/, with akidb-cli on
/// the PATH and `env` set; it must succeed.
fn run_readme_script(script: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"),
        dir.path().join("examples"),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_akidb-cli")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .envs(env.iter().copied());
    for name in [
        "AKIDB_STORE",
        "AKIDB_CONFIG",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
    ] {
        command.env_remove(name);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "the README's block failed:\n{script}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, out)
}

#[test]
fn a_snapshot_in_parts_is_created_inspected_restored_and_verified() {
    let cli = Cli::local();
    let c = collection();
    let created = cli.json(&format!(
        "snapshot create --collection-id {c} --input {SAMPLE} --part-rows 20 --row-group-size 8"
    ));
    let id = created["snapshot_id"].as_str().unwrap().to_owned();
    assert_eq!(created["schema_version"], 2);
    let rows: Vec<_> = created["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [20, 20, 10]);

    let inspected = cli.json(&format!(
        "snapshot inspect --collection-id {c} --snapshot-id {id}"
    ));
    assert_eq!(inspected["metadata"]["parts"].as_array().unwrap().len(), 3);
    assert!(inspected["file"].is_null(), "{inspected}");
    let text = cli.ok(&format!(
        "snapshot inspect --collection-id {c} --snapshot-id {id}"
    ));
    assert!(
        text.contains("parts        3") && text.contains("20 rows"),
        "{text}"
    );
    assert!(
        cli.ok(&format!(
            "snapshot verify --collection-id {c} --snapshot-id {id}"
        ))
        .contains("intact")
    );

    // Restored to JSON Lines as it went in, and to one Parquet file re-encoded from the parts.
    let back = cli.path("back.jsonl");
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id {id} --output {}",
        back.display()
    ));
    let (input, back) = (read_jsonl(Path::new(SAMPLE)), read_jsonl(&back));
    assert_eq!(back.len(), 50);
    for (a, b) in input.iter().zip(&back) {
        assert_eq!(floats(&a["vector"]), floats(&b["vector"]));
        assert_eq!(a["metadata"], b["metadata"]);
    }
    let one = cli.path("one.parquet");
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id {id} --output {}",
        one.display()
    ));
    let file = cli.json(&format!("snapshot inspect --file {}", one.display()));
    assert_eq!(file["vector_count"], 50);
    assert_eq!(file["snapshot_id"], id.as_str());

    // The files other tools read: one absolute path per line, in manifest order.
    let listed = cli.json(&format!(
        "snapshot files --collection-id {c} --snapshot-id {id}"
    ));
    let files = listed["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let text = cli.ok(&format!(
        "snapshot files --collection-id {c} --snapshot-id {id}"
    ));
    let lines: Vec<&str> = text.lines().collect();
    for (file, (line, part)) in files
        .iter()
        .zip(lines.iter().zip(created["parts"].as_array().unwrap()))
    {
        assert_eq!(file["location"], *line);
        assert_eq!(file["key"], part["key"]);
        assert!(
            Path::new(line).is_absolute() && Path::new(line).is_file(),
            "{line}"
        );
        assert!(line.ends_with(part["key"].as_str().unwrap()), "{line}");
    }
    let query = listed["duckdb"].as_str().unwrap();
    assert!(lines.iter().all(|l| query.contains(l)), "{query}");

    // Two workers restore it together: shard 0 holds parts 0 and 2, shard 1 part 1.
    let mut sharded = Vec::new();
    for (shard, rows) in [("0/2", 30), ("1/2", 20)] {
        let out = cli.path(&format!("shard-{}.jsonl", &shard[..1]));
        cli.ok(&format!(
            "snapshot restore --collection-id {c} --snapshot-id {id} --shard {shard} --output {}",
            out.display()
        ));
        let docs = read_jsonl(&out);
        assert_eq!(docs.len(), rows, "{shard}");
        sharded.extend(docs);
    }
    let ids = |docs: &[Value]| {
        let mut ids: Vec<_> = docs.iter().map(|d| d["document_id"].to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&sharded), ids(&back));
    let npy = cli.path("shard-1.npy");
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id {id} --shard 1/2 --output {}",
        npy.display()
    ));
    assert_eq!(read_npy(&npy).0, [20, 384]);
    cli.fails(
        2,
        &format!(
            "snapshot restore --collection-id {c} --snapshot-id {id} --shard 2/2 --output x.jsonl"
        ),
    );

    // --format parquet-v1 writes one data file, for readers older than format v2.
    let v1 = cli.json(&format!(
        "snapshot create --collection-id {c} --input {SAMPLE} --format parquet-v1"
    ));
    assert_eq!(v1["schema_version"], 1);
    let v1_id = v1["snapshot_id"].as_str().unwrap();
    assert!(
        cli.path(&format!("akidb-snapshots/snapshots/{c}/{v1_id}.parquet"))
            .is_file()
    );
    cli.fails(
        7,
        &format!("snapshot create --collection-id {c} --input {SAMPLE} --part-rows 0"),
    );
}

#[test]
fn migrate_upgrades_the_v1_fixture_store_to_format_v2() {
    let cli = Cli::local();
    let store = cli.path("akidb-snapshots");
    akidb_snapshot_e2e::copy_v1_store(&store).unwrap();
    let c = akidb_snapshot_e2e::V1_COLLECTION;
    let before = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(before.as_array().unwrap().len(), 6);

    let migrated = cli.json(&format!(
        "snapshot migrate --collection-id {c} --from-format parquet-v1 --to-format parquet \
         --delete-source"
    ));
    assert_eq!(
        migrated["converted"].as_array().unwrap().len(),
        4,
        "{migrated}"
    );
    let after = cli.json(&format!("snapshot list --collection-id {c}"));
    let after = after.as_array().unwrap();
    assert_eq!(after.len(), 6);
    let versions: Vec<_> = after
        .iter()
        .map(|m| {
            (
                m["format"].as_str().unwrap().to_owned(),
                m["schema_version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions
            .iter()
            .filter(|v| *v == &("parquet".to_owned(), 2))
            .count(),
        4
    );
    assert_eq!(versions.iter().filter(|v| v.0 == "json").count(), 2);
    let input = read_jsonl(&akidb_snapshot_e2e::v1_input());
    for m in after.iter().filter(|m| m["schema_version"] == 2) {
        let id = m["snapshot_id"].as_str().unwrap();
        let out = cli.path(&format!("{id}.jsonl"));
        cli.ok(&format!(
            "snapshot restore --collection-id {c} --snapshot-id {id} --output {}",
            out.display()
        ));
        let back = read_jsonl(&out);
        assert_eq!(back.len(), input.len());
        for (a, b) in input.iter().zip(&back) {
            assert_eq!(a["document_id"], b["document_id"]);
            assert_eq!(floats(&a["vector"]), floats(&b["vector"]));
            assert_eq!(a["inserted_at"], b["inserted_at"]);
        }
    }
    // No v1 data file is left; the JSON snapshots were not touched.
    let left: Vec<_> = std::fs::read_dir(store.join(format!("snapshots/{c}")))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!left.iter().any(|f| f.ends_with(".parquet")), "{left:?}");
    assert_eq!(
        left.iter()
            .filter(|f| f.ends_with(".json") && !f.ends_with("metadata.json"))
            .count(),
        2
    );
}

/// A JSON vector as the f32 values it is read as.
fn floats(vector: &Value) -> Vec<f32> {
    serde_json::from_value(vector.clone()).unwrap()
}

#[test]
fn many_writers_begin_write_their_shards_and_commit_one_snapshot() {
    let cli = Cli::local();
    let c = collection();
    let input = read_jsonl(Path::new(SAMPLE));
    // Three writers, each with a third of the sample.
    for (i, chunk) in input.chunks(17).enumerate() {
        let lines: String = chunk.iter().map(|d| format!("{d}\n")).collect();
        std::fs::write(cli.path(&format!("shard-{i}.jsonl")), lines).unwrap();
    }
    let id = cli.ok(&format!("snapshot begin --collection-id {c} --shards 3"));
    let id = id.trim();
    let write = |i: usize| {
        cli.ok(&format!(
            "snapshot create --collection-id {c} --snapshot-id {id} --shard {i}/3 --input {}",
            cli.path(&format!("shard-{i}.jsonl")).display()
        ))
    };
    write(2);
    write(0);
    let listed = cli.json(&format!("snapshot list --collection-id {c}"));
    assert!(
        listed.as_array().unwrap().is_empty(),
        "a pending snapshot is not listed"
    );
    let err = cli.fails(
        3,
        &format!("snapshot commit --collection-id {c} --snapshot-id {id}"),
    );
    assert!(err.contains("shard(s) 1 of 3"), "{err}");
    let err = cli.fails(
        12,
        &format!(
            "snapshot create --collection-id {c} --snapshot-id {id} --shard 0/3 --input {}",
            cli.path("shard-0.jsonl").display()
        ),
    );
    assert!(
        err.contains("shard-0.json"),
        "a shard is written once: {err}"
    );
    write(1);
    let committed = cli.json(&format!(
        "snapshot commit --collection-id {c} --snapshot-id {id}"
    ));
    assert_eq!(committed["vector_count"], 50);
    let back = cli.path("all.jsonl");
    cli.ok(&format!(
        "snapshot restore --collection-id {c} --snapshot-id {id} --output {}",
        back.display()
    ));
    let back = read_jsonl(&back);
    let ids = |docs: &[Value]| {
        docs.iter()
            .map(|d| d["external_id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&back),
        ids(&input),
        "shard 0's documents first, in order"
    );

    // An attempt abandoned: abort removes it, and it cannot be committed.
    let other = cli.ok(&format!("snapshot begin --collection-id {c} --shards 2"));
    let other = other.trim();
    cli.ok(&format!(
        "snapshot create --collection-id {c} --snapshot-id {other} --shard 1/2 --input {SAMPLE}"
    ));
    cli.ok(&format!(
        "snapshot abort --collection-id {c} --snapshot-id {other}"
    ));
    cli.fails(
        4,
        &format!("snapshot commit --collection-id {c} --snapshot-id {other}"),
    );
    let pending = cli.path("akidb-snapshots/pending");
    let aborted = pending.join(format!("{c}/{other}"));
    assert!(!aborted.exists() || files_under(&aborted).is_empty());
    // The committed snapshot's records stay until gc finds them old.
    assert!(!files_under(&pending).is_empty());
    cli.ok("snapshot gc --grace 0s");
    assert!(!pending.exists() || files_under(&pending).is_empty());
    cli.ok(&format!(
        "snapshot verify --collection-id {c} --snapshot-id {id}"
    ));
    // --shard needs --snapshot-id (clap's usage error).
    cli.fails(
        2,
        &format!("snapshot create --collection-id {c} --shard 0/2 --input {SAMPLE}"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_refuses_the_credentials_says_so() {
    let server = support::FakeS3::start(support::Answer::Status(403, "AccessDenied")).await;
    let cli = Cli {
        store: Some(server.uri.clone()),
        ..Cli::local()
    };
    let c = collection();
    let err = tokio::task::spawn_blocking(move || {
        cli.fails(6, &format!("snapshot list --collection-id {c}"))
    })
    .await
    .unwrap();
    assert!(err.contains("refused the credentials"), "{err}");
    assert_eq!(server.requests(), 1, "a refusal is not retried");
}

#[test]
fn copy_sends_snapshots_to_another_store_once() {
    let cli = Cli::local();
    let c = collection().to_string();
    let first = cli.ok(&format!(
        "snapshot create --collection-id {c} --input {SAMPLE}"
    ));
    let second = cli.ok(&format!(
        "snapshot create --collection-id {c} --input {SAMPLE}"
    ));
    let offsite = cli.path("offsite");
    let local_uri = format!("file://{}", offsite.display());
    for to in [local_uri.as_str(), &support::s3_uri()] {
        let copied = cli.json(&format!(
            "snapshot copy --collection-id {c} --all --to {to}"
        ));
        let ids: Vec<&str> = copied["copied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|one| {
                assert_eq!(one["already_committed"], false, "{copied}");
                assert_eq!(one["files_copied"], 2, "a part and its id index: {copied}");
                one["snapshot_id"].as_str().unwrap()
            })
            .collect();
        assert_eq!(ids, [first.trim(), second.trim()], "oldest first");

        let there = Cli {
            store: Some(to.to_owned()),
            ..Cli::local()
        };
        for id in &ids {
            there.ok(&format!(
                "snapshot verify --collection-id {c} --snapshot-id {id}"
            ));
        }
        // Once there, a snapshot is not copied again.
        let again = cli.ok(&format!(
            "snapshot copy --collection-id {c} --snapshot-id latest --to {to}"
        ));
        assert_eq!(
            again.trim(),
            format!("{} already at the destination", second.trim())
        );
    }
    let restored = Cli {
        store: Some(local_uri),
        ..Cli::local()
    };
    let restore = format!(
        "snapshot restore --collection-id {c} --snapshot-id {} --output back.jsonl",
        first.trim()
    );
    restored.ok(&restore);
    cli.ok(&restore);
    assert!(
        read_jsonl(&restored.path("back.jsonl")) == read_jsonl(&cli.path("back.jsonl")),
        "the copy restores what the source does"
    );

    // Say what to copy, and where.
    cli.fails(
        2,
        &format!("snapshot copy --collection-id {c} --to memory://"),
    );
    cli.fails(2, &format!("snapshot copy --collection-id {c} --all"));
    let err = cli.fails(
        4,
        &format!(
            "snapshot copy --collection-id {c} --snapshot-id {} --to memory://",
            uuid::Uuid::now_v7()
        ),
    );
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn a_lifecycle_run_does_what_its_dry_run_printed() {
    let cli = Cli {
        config: Some("akidb.toml"),
        ..Cli::local()
    };
    std::fs::write(
        cli.path("akidb.toml"),
        "[lifecycle.retention]\nkeep_last = 1\n\n[[lifecycle.copy]]\nolder_than = \"0s\"\n\
         to = \"file://./offsite\"\n",
    )
    .unwrap();
    let c = collection().to_string();
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let id = cli.ok(&format!(
                "snapshot create --collection-id {c} --input {SAMPLE}"
            ));
            id.trim().to_owned()
        })
        .collect();
    let dry = cli.ok("snapshot lifecycle run --dry-run");
    let lines: Vec<&str> = dry.lines().collect();
    assert_eq!(lines.len(), 5, "three copies, two deletes: {dry}");
    for (line, id) in lines[..3].iter().zip(&ids) {
        assert!(
            line.starts_with(&format!("would copy {id} of {c} to file://./offsite: ")),
            "{line}"
        );
    }
    for (line, id) in lines[3..].iter().zip(&ids) {
        assert!(
            line.starts_with(&format!("would delete {id} of {c}: ")),
            "{line}"
        );
    }
    let planned = cli.json("snapshot lifecycle run --dry-run");
    let before = files_under(cli.dir.path());
    assert!(
        !before
            .iter()
            .any(|(path, _)| path.starts_with(cli.path("offsite"))),
        "a dry run writes nothing there"
    );

    let done = cli.json("snapshot lifecycle run");
    assert_eq!(done["actions"], planned["actions"]);
    assert_eq!(done["dry_run"], false);
    let there = cli.json(&format!(
        "--store file://./offsite snapshot list --collection-id {c}"
    ));
    assert_eq!(there.as_array().unwrap().len(), 3);
    let here = cli.json(&format!("snapshot list --collection-id {c}"));
    assert_eq!(here[0]["snapshot_id"], ids[2].as_str());
    assert_eq!(here.as_array().unwrap().len(), 1);
    assert_eq!(
        cli.json("snapshot lifecycle run")["actions"],
        serde_json::json!([])
    );

    // The rules come from a config file that has them.
    let plain = Cli::local();
    let err = plain.fails(2, "snapshot lifecycle run");
    assert!(err.contains("--config"), "{err}");
    std::fs::write(plain.path("akidb.toml"), "[storage]\n").unwrap();
    let err = plain.fails(2, "--config akidb.toml snapshot lifecycle run");
    assert!(err.contains("no [lifecycle] table"), "{err}");
}
