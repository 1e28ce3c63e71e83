//! End-to-end tests that cross crate boundaries live in this crate's `tests/` folder; this
//! library holds what they and other crates' tests share: the fixture stores of every format
//! ever written (tests/fixtures), which must restore forever.

use std::path::{Path, PathBuf};

/// The collection of the v1 fixture store.
pub const V1_COLLECTION: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

/// The collection of the v2 fixture store, written by the first format v2 (parts without id
/// indexes; tests/fixtures/make_v2_store.py).
pub const V2_COLLECTION: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";

/// The folder of the fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The documents every snapshot of the v1 fixture store holds, as JSON Lines.
pub fn v1_input() -> PathBuf {
    fixtures().join("v1-store.jsonl")
}

/// Copies the v1 fixture store (a `file://` store written by format v1's akidb-cli) to `to`,
/// so that a test may change it without touching the committed one.
pub fn copy_v1_store(to: &Path) -> std::io::Result<()> {
    copy_dir(&fixtures().join("v1-store"), to)
}

/// Copies the v2 fixture store to `to`, as [`copy_v1_store`] does the v1 one.
pub fn copy_v2_store(to: &Path) -> std::io::Result<()> {
    copy_dir(&fixtures().join("v2-store"), to)
}

/// The v2 fixture store's snapshots by name (`full`, `appended`, `updated`, `sharded`,
/// `imported`), as tests/fixtures/v2-store.json holds them: a JSON object of names to ids.
pub fn v2_snapshots() -> std::io::Result<String> {
    std::fs::read_to_string(fixtures().join("v2-store.json"))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
