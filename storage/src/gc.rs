//! Garbage collection, mark and sweep (DESIGN.md, "Format v2"): every part a commit marker
//! names is live, and every part a pending snapshot younger than the grace period names; a v1
//! data file is live when its metadata file exists; everything else under the layout's folders
//! that is older than the grace period is removed (abandoned pending records too), with a local
//! store's temporary files as old.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use akidb_snapshot_codec::{CollectionId, SnapshotId};
use tracing::field::Empty;
use uuid::Uuid;

use crate::error::{Error, Result, Target};
use crate::keys::{self, Key};
use crate::spans;
use crate::store::SnapshotStore;
use crate::write::keys_of;

impl SnapshotStore {
    /// Removes what no snapshot needs, once it is older than `grace`, across every collection:
    /// v1 data files without a metadata file and v2 parts that no manifest names (left by a
    /// create that crashed or failed to clean up, or by deleted snapshots), and a local store's
    /// temporary files (left by a process killed while writing). A file's age is its store
    /// modification time, or else the time in its UUID v7 id; a file with neither is never
    /// removed. The parts of a collection with a manifest that cannot be read are all kept, as
    /// that manifest may name them. Returns the keys removed.
    ///
    /// `grace` must exceed the longest create: a file being written has no commit marker yet.
    #[tracing::instrument(skip_all, fields(removed = Empty, duration_ms = Empty))]
    pub async fn gc(&self, grace: Duration) -> Result<Vec<String>> {
        let started = Instant::now();
        let target = Target::default();
        let now = SystemTime::now();
        let mut removed = Vec::new();
        // Manifests before pending records, and a record's age judged at `now`, taken before
        // either listing. A create that builds on a snapshot records the reused parts before
        // it checks that the snapshot still exists: if a delete took that snapshot's manifest
        // before the listing, the record was there before the listing too, and is young at
        // `now` unless the create began more than `grace` ago; then, creates being shorter
        // than `grace`, its own manifest was committed before `now` and is in the listing.
        // Records are never removed on commit, only by gc once old, so the same holds for a
        // many-writer snapshot committed while gc runs.
        let mut committed = BTreeSet::new();
        let mut data = Vec::new();
        for key in self.list_keys(keys::ROOT).await? {
            match Key::parse(&key) {
                Some(Key::Metadata(c, s)) => {
                    committed.insert((c, s));
                }
                Some(Key::Data(c, s, _)) => data.push((c, s, key)),
                _ => {}
            }
        }
        let (mut live, unsure) = self.live_parts(&committed).await?;
        live.extend(self.young_pending(now, grace, &mut removed).await?);

        for (c, s, key) in data {
            if committed.contains(&(c, s)) {
                continue;
            }
            let target = Target::snapshot(c, s);
            if !self.is_older(target, &key, v7_time(s.as_uuid()), now, grace).await?
                // A metadata file written since the listing makes it a snapshot after all.
                || self.operator().exists(&keys::metadata_key(c, s)).await.unwrap_or(true)
            {
                continue;
            }
            self.remove(target, key, &mut removed).await?;
        }
        for key in self.list_keys(keys::PARTS_ROOT).await? {
            let (c, part) = match Key::parse(&key) {
                Some(Key::Part(c, part, _) | Key::Index(c, part)) => (c, part),
                _ => continue,
            };
            if live.contains(&key) || unsure.contains(&c) {
                continue;
            }
            let target = Target::collection(c);
            if self
                .is_older(target, &key, v7_time(&part), now, grace)
                .await?
            {
                self.remove(target, key, &mut removed).await?;
            }
        }
        let temporaries = self
            .operator()
            .list(keys::TEMP_DIR)
            .await
            .map_err(|e| Error::store(target, "list", keys::TEMP_DIR, e))?;
        for entry in temporaries {
            let key = entry.path();
            if entry.metadata().is_file() && self.is_older(target, key, None, now, grace).await? {
                self.remove(target, key.to_owned(), &mut removed).await?;
            }
        }
        let span = tracing::Span::current();
        span.record("removed", removed.len());
        spans::finish(&span, started, "gc done");
        Ok(removed)
    }

    /// The parts that pending snapshots with a record younger than `grace` name. The records
    /// of the others, abandoned, are removed (and added to `removed`).
    async fn young_pending(
        &self,
        now: SystemTime,
        grace: Duration,
        removed: &mut Vec<String>,
    ) -> Result<BTreeSet<String>> {
        let mut records: BTreeMap<(CollectionId, SnapshotId), Vec<String>> = BTreeMap::new();
        for key in self.list_keys(keys::PENDING_ROOT).await? {
            if let Some(Key::Pending(c, s)) = Key::parse(&key) {
                records.entry((c, s)).or_default().push(key);
            }
        }
        let mut live = BTreeSet::new();
        for ((c, s), keys) in records {
            let target = Target::snapshot(c, s);
            let mut abandoned = true;
            // Without a modification time, a record is as old as its snapshot's id.
            for key in &keys {
                abandoned &= (self.is_older(target, key, v7_time(s.as_uuid()), now, grace)).await?;
            }
            if abandoned {
                for key in keys {
                    self.remove(target, key, removed).await?;
                }
            } else {
                live.extend(self.pending_parts(c, s).await?);
            }
        }
        Ok(live)
    }

    /// Every file under `prefix`, at any depth.
    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let entries = self
            .operator()
            .list_with(prefix)
            .recursive(true)
            .await
            .map_err(|e| Error::store(Target::default(), "list", prefix, e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| e.path().to_owned())
            .collect())
    }

    /// The mark phase: the keys of every part the `committed` snapshots name, and the
    /// collections with a commit marker that could not be read (whose parts are all kept).
    async fn live_parts(
        &self,
        committed: &BTreeSet<(CollectionId, SnapshotId)>,
    ) -> Result<(BTreeSet<String>, BTreeSet<CollectionId>)> {
        let mut live = BTreeSet::new();
        let mut unsure = BTreeSet::new();
        for &(c, s) in committed {
            match self.metadata(c, s).await {
                Ok(m) => live.extend(keys_of(&m.parts)),
                // Deleted since the listing: it names nothing any more.
                Err(Error::NotFound { .. }) => {}
                Err(e @ Error::Storage { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e,
                        "a commit marker cannot be read: every part of its collection is kept");
                    unsure.insert(c);
                }
            }
        }
        Ok((live, unsure))
    }

    /// Whether `key` is older than `grace`, by its modification time, else `born`; a file
    /// gone meanwhile, or of unknown age, is not.
    async fn is_older(
        &self,
        target: Target,
        key: &str,
        born: Option<SystemTime>,
        now: SystemTime,
        grace: Duration,
    ) -> Result<bool> {
        let modified = match self.operator().stat(key).await {
            Ok(meta) => meta.last_modified().map(SystemTime::from),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::store(target, "stat", key, e)),
        };
        let Some(born) = modified.or(born) else {
            tracing::warn!(%key, "orphaned file of unknown age left in place");
            return Ok(false);
        };
        Ok(now.duration_since(born).unwrap_or_default() >= grace)
    }

    async fn remove(&self, target: Target, key: String, removed: &mut Vec<String>) -> Result<()> {
        self.operator()
            .delete(&key)
            .await
            .map_err(|e| Error::store(target, "delete", &key, e))?;
        tracing::info!(%key, "orphaned file removed");
        removed.push(key);
        Ok(())
    }
}

/// When a UUID v7 (a snapshot's or a part's id) was minted.
fn v7_time(id: &Uuid) -> Option<SystemTime> {
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}
