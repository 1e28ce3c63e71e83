//! End-to-end tests that cross crate boundaries live in this crate's `tests/` folder; this
//! library holds what they and other crates' tests share: the fixture stores of every format
//! ever written (tests/fixtures), which must restore forever.

use std::path::{Path, PathBuf};

use akidb_snapshot::codec::{CollectionId, RowKey, SnapshotId, VectorDocument};
use akidb_snapshot::{Selection, SelectionReport, Shard, StorageBackend};
use futures::TryStreamExt;

/// The collection of the v1 fixture store.
pub const V1_COLLECTION: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

/// The collection of the v2 fixture stores (tests/fixtures/make_v2_store.py).
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

/// The v2 fixture stores: the same snapshots, each store by another version's akidb-cli
/// (tests/fixtures/make_v2_store.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2Store {
    /// `v2-store`: the first format v2, parts without id indexes.
    NoIndexes,
    /// `v2-indexed-store`: the last version before partial restores, parts with id indexes that
    /// record neither their tails nor their parts' page checksums.
    IndexesWithoutPageChecksums,
    /// `v2-paged-store`: the first version of partial restores, id indexes with page checksums
    /// but without Bloom filters (every id looked for is looked up in every part's pages).
    IndexesWithoutFilters,
}

impl V2Store {
    /// Every one of them.
    pub const ALL: [V2Store; 3] = [
        V2Store::NoIndexes,
        V2Store::IndexesWithoutPageChecksums,
        V2Store::IndexesWithoutFilters,
    ];

    fn name(self) -> &'static str {
        match self {
            V2Store::NoIndexes => "v2-store",
            V2Store::IndexesWithoutPageChecksums => "v2-indexed-store",
            V2Store::IndexesWithoutFilters => "v2-paged-store",
        }
    }

    /// Whether a partial restore reads its own parts (those its CLI wrote, not imported ones)
    /// by pages.
    pub fn read_by_pages(self) -> bool {
        self == V2Store::IndexesWithoutFilters
    }
}

/// Copies the v2 fixture store `store` to `to`, as [`copy_v1_store`] does the v1 one.
pub fn copy_v2_store(store: V2Store, to: &Path) -> std::io::Result<()> {
    copy_dir(&fixtures().join(store.name()), to)
}

/// The v2 fixture store's snapshots by name (`full`, `appended`, `updated`, `sharded`,
/// `imported`), as tests/fixtures/NAME.json holds them: a JSON object of names to ids.
pub fn v2_snapshots(store: V2Store) -> std::io::Result<String> {
    std::fs::read_to_string(fixtures().join(format!("{}.json", store.name())))
}

/// The encrypted fixture store: the snapshots of the v2 stores, written by the first version of
/// encryption under the master key `fixture-2026` (tests/fixtures/make_v2_store.py).
pub mod encrypted {
    use super::*;

    /// The id of the master key its data parts are encrypted under.
    pub const KEY_ID: &str = "fixture-2026";

    /// The file holding that key (committed for these tests only).
    pub fn key_file() -> PathBuf {
        fixtures().join("v2-encrypted-store.key")
    }

    /// Copies the store to `to`.
    pub fn copy_store(to: &Path) -> std::io::Result<()> {
        copy_dir(&fixtures().join("v2-encrypted-store"), to)
    }

    /// Its snapshots by name, as [`v2_snapshots`] gives the plain stores'.
    pub fn snapshots() -> std::io::Result<String> {
        std::fs::read_to_string(fixtures().join("v2-encrypted-store.json"))
    }
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

/// The documents of snapshot `s` that `selection` keeps, by a partial restore, with its report.
pub async fn selected(
    backend: &StorageBackend,
    (c, s): (CollectionId, SnapshotId),
    selection: &Selection,
) -> akidb_snapshot::Result<(Vec<VectorDocument>, SelectionReport)> {
    let mut rows = (backend.store())
        .restore_selected_stream(c, s, Shard::ALL, selection)
        .await?;
    let mut docs = Vec::new();
    while let Some(batch) = rows.try_next().await? {
        docs.extend(batch);
    }
    Ok((docs, rows.report()))
}

/// `all` (a whole restore's documents, in order) filtered as `selection` says.
pub fn kept(all: Vec<VectorDocument>, selection: &Selection) -> Vec<VectorDocument> {
    (0u64..)
        .zip(all)
        .filter(|(at, d)| {
            let key = RowKey::new(d.document_id, d.external_id.as_deref(), d.inserted_at);
            selection.keeps(*at, &key)
        })
        .map(|(_, d)| d)
        .collect()
}
