//! Lifecycle policies, in the spirit of Elasticsearch's snapshot lifecycle management and
//! OpenSearch's snapshot management: the `[lifecycle]` table's rules, which an unattended run
//! applies to every collection of a store (docs/OPERATIONS.md). A run first plans, then does
//! what it planned, in order: copies to other stores, moves (a copy, checked, then the delete
//! at the source), then retention. A dry run is the plan. Every action can be done twice with
//! the effect of once, so a run is safe to interrupt and repeat: the next plan starts from
//! what the last one left.

use std::collections::BTreeSet;
use std::time::Duration;

use akidb_snapshot_codec::{CollectionId, SnapshotId, SnapshotMetadata, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};

use crate::backend::StorageBackend;
use crate::error::{Error, Result, Target};
use crate::read::SnapshotFiles;
use crate::retention::RetentionPolicy;
use crate::space::exclusive_bytes;
use crate::store::SnapshotStore;

/// The `[lifecycle]` table of a configuration file.
///
/// ```
/// use std::time::Duration;
/// use akidb_snapshot::LifecycleConfig;
///
/// let lifecycle = LifecycleConfig::from_toml_str(r#"
///     [storage]
///     uri = "s3://backups/akidb"
///
///     [lifecycle.retention]
///     keep_last = 30
///     max_age = "90d"
///     min_count = 3
///
///     [[lifecycle.copy]]
///     older_than = "0s"
///     to = "gs://offsite/akidb"
///
///     [[lifecycle.move]]
///     older_than = "30d"
///     to = "s3://cold/akidb"
///     storage_class = "GLACIER_IR"
/// "#).unwrap().unwrap();
/// assert_eq!(lifecycle.copies[0].to, "gs://offsite/akidb");
/// assert_eq!(lifecycle.moves[0].older_than, Duration::from_secs(30 * 86_400));
/// assert_eq!(lifecycle.retention.policy().keep_last(), Some(30));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LifecycleConfig {
    /// The collections the rules apply to. Default: every collection in the store.
    #[serde(default)]
    pub collections: Vec<CollectionId>,
    /// Which snapshots to delete at the source, once copies and moves are done. Default: none.
    #[serde(default)]
    pub retention: RetentionRule,
    /// `[[lifecycle.copy]]`: snapshots copied to another store once old enough.
    #[serde(default, rename = "copy")]
    pub copies: Vec<TransferRule>,
    /// `[[lifecycle.move]]`: snapshots copied to another store once old enough, checked there,
    /// then deleted at the source.
    #[serde(default, rename = "move")]
    pub moves: Vec<TransferRule>,
}

/// `[lifecycle.retention]`: [`RetentionPolicy`] in TOML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RetentionRule {
    /// Keep at most the newest this many. Default: no limit.
    pub keep_last: Option<usize>,
    /// Delete those created longer ago than this ("90d", "12h"). Default: no limit.
    #[serde(default, deserialize_with = "some_duration")]
    pub max_age: Option<Duration>,
    /// Never delete the newest this many. Default 0.
    #[serde(default)]
    pub min_count: usize,
}

impl RetentionRule {
    /// The policy this rule describes.
    pub fn policy(&self) -> RetentionPolicy {
        let mut policy = RetentionPolicy::default().with_min_count(self.min_count);
        if let Some(n) = self.keep_last {
            policy = policy.with_keep_last(n);
        }
        if let Some(age) = self.max_age {
            policy = policy.with_max_age(age);
        }
        policy
    }
}

/// A copy or a move: snapshots created at least `older_than` ago go to the store `to`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TransferRule {
    /// How old a snapshot must be ("7d", "12h"; "0s" for every snapshot).
    #[serde(deserialize_with = "duration")]
    pub older_than: Duration,
    /// The store, a URI as `[storage] uri` takes, its credentials found the same way.
    pub to: String,
    /// The storage class of what is written there (`storage_class` of `[storage]`). Default:
    /// the bucket's.
    #[serde(default)]
    pub storage_class: Option<String>,
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text)
        .map_err(|e| serde::de::Error::custom(format!("{text:?}: {e} (write e.g. 30d, 12h)")))
}

fn some_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

impl LifecycleConfig {
    /// Checks what the TOML parse cannot: each rule's store URI.
    pub(crate) fn validate(&self) -> Result<()> {
        for (what, rule) in
            (self.copies.iter().map(|r| ("copy", r))).chain(self.moves.iter().map(|r| ("move", r)))
        {
            crate::uri::StoreUri::parse(&rule.to)
                .map_err(|e| Error::config(format!("[[lifecycle.{what}]] to: {e}")))?;
        }
        Ok(())
    }
}

/// One step of a lifecycle run, with the bytes it moves or frees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LifecycleAction {
    /// Copy a snapshot to another store: `bytes` are those it lacks.
    Copy {
        /// The collection.
        collection_id: CollectionId,
        /// The snapshot.
        snapshot_id: SnapshotId,
        /// The store it goes to.
        to: String,
        /// The bytes written there.
        bytes: u64,
    },
    /// Copy a snapshot to another store, check it there, then delete it at the source.
    Move {
        /// The collection.
        collection_id: CollectionId,
        /// The snapshot.
        snapshot_id: SnapshotId,
        /// The store it goes to.
        to: String,
        /// The bytes written there.
        bytes: u64,
    },
    /// Delete a snapshot the retention rule expires: `bytes` are those only it holds, which
    /// gc frees.
    Delete {
        /// The collection.
        collection_id: CollectionId,
        /// The snapshot.
        snapshot_id: SnapshotId,
        /// The bytes only it holds.
        bytes: u64,
    },
}

/// A rule's destination, open, and the keys a plan has it receive already.
struct Destination {
    to: String,
    backend: StorageBackend,
    planned: BTreeSet<String>,
}

impl StorageBackend {
    /// What a lifecycle run would do now, in the order it would do it. Reads the source and
    /// the destinations; writes nothing.
    pub async fn plan_lifecycle(
        &self,
        lifecycle: &LifecycleConfig,
    ) -> Result<Vec<LifecycleAction>> {
        let mut copies = self.destinations(&lifecycle.copies)?;
        let mut moves = self.destinations(&lifecycle.moves)?;
        self.plan_on(lifecycle, &mut copies, &mut moves).await
    }

    async fn plan_on(
        &self,
        lifecycle: &LifecycleConfig,
        copies: &mut [Destination],
        moves: &mut [Destination],
    ) -> Result<Vec<LifecycleAction>> {
        let collections = match lifecycle.collections.is_empty() {
            true => self.store().list_collections().await?,
            false => lifecycle.collections.clone(),
        };
        let now = crate::store::now();
        let mut plan = Vec::new();
        for c in collections {
            let snapshots = self.store().list_snapshots(c).await?;
            for (rule, destination) in lifecycle.copies.iter().zip(copies.iter_mut()) {
                for m in due(&snapshots, rule.older_than, now) {
                    if let Some(bytes) = self.to_send(m, destination).await? {
                        plan.push(LifecycleAction::Copy {
                            collection_id: c,
                            snapshot_id: m.snapshot_id,
                            to: destination.to.clone(),
                            bytes,
                        });
                    }
                }
            }
            let mut moved = BTreeSet::new();
            for (rule, destination) in lifecycle.moves.iter().zip(moves.iter_mut()) {
                for m in due(&snapshots, rule.older_than, now) {
                    if !moved.insert(m.snapshot_id) {
                        continue;
                    }
                    let bytes = self.to_send(m, destination).await?.unwrap_or(0);
                    plan.push(LifecycleAction::Move {
                        collection_id: c,
                        snapshot_id: m.snapshot_id,
                        to: destination.to.clone(),
                        bytes,
                    });
                }
            }
            let staying: Vec<SnapshotMetadata> = (snapshots.into_iter())
                .filter(|m| !moved.contains(&m.snapshot_id))
                .collect();
            let only_theirs = exclusive_bytes(&staying);
            let expired = lifecycle.retention.policy().expired(&staying, now);
            for m in expired.into_iter().rev() {
                let position = staying.iter().position(|s| s.snapshot_id == m.snapshot_id);
                plan.push(LifecycleAction::Delete {
                    collection_id: c,
                    snapshot_id: m.snapshot_id,
                    bytes: position.map_or(0, |p| only_theirs[p]),
                });
            }
        }
        Ok(plan)
    }

    /// Plans a lifecycle run ([`plan_lifecycle`](Self::plan_lifecycle)) and, unless
    /// `dry_run`, does each action in turn, telling `each` of it once done. Returns the
    /// actions; stops at the first failure, after which a run again goes on from there.
    pub async fn run_lifecycle(
        &self,
        lifecycle: &LifecycleConfig,
        dry_run: bool,
        mut each: impl FnMut(&LifecycleAction),
    ) -> Result<Vec<LifecycleAction>> {
        let mut copies = self.destinations(&lifecycle.copies)?;
        let mut moves = self.destinations(&lifecycle.moves)?;
        let plan = self.plan_on(lifecycle, &mut copies, &mut moves).await?;
        if dry_run {
            plan.iter().for_each(&mut each);
            return Ok(plan);
        }
        let store_of = |destinations: &[Destination], to: &str| -> Result<SnapshotStore> {
            let found = destinations.iter().find(|d| d.to == to);
            found
                .map(|d| d.backend.store().clone())
                .ok_or_else(|| Error::Internal {
                    reason: format!("a planned action names {to}, which no rule does"),
                })
        };
        for action in &plan {
            match action {
                LifecycleAction::Copy {
                    collection_id,
                    snapshot_id,
                    to,
                    ..
                } => {
                    let to = store_of(&copies, to)?;
                    self.store()
                        .copy_snapshot(*collection_id, *snapshot_id, &to)
                        .await?;
                }
                LifecycleAction::Move {
                    collection_id,
                    snapshot_id,
                    to,
                    ..
                } => {
                    let to = store_of(&moves, to)?;
                    self.store()
                        .copy_snapshot(*collection_id, *snapshot_id, &to)
                        .await?;
                    self.delete_if_there(*collection_id, *snapshot_id).await?;
                }
                LifecycleAction::Delete {
                    collection_id,
                    snapshot_id,
                    ..
                } => {
                    self.delete_if_there(*collection_id, *snapshot_id).await?;
                }
            }
            each(action);
        }
        Ok(plan)
    }

    fn destinations(&self, rules: &[TransferRule]) -> Result<Vec<Destination>> {
        rules
            .iter()
            .map(|rule| {
                let (_, mut to) = self.config().copy_between(&rule.to);
                if rule.storage_class.is_some() {
                    to.storage_class = rule.storage_class.clone();
                }
                Ok(Destination {
                    to: rule.to.clone(),
                    backend: StorageBackend::from_config(to)?,
                    planned: BTreeSet::new(),
                })
            })
            .collect()
    }

    /// The bytes of `m` that `destination` lacks, counting what the plan sends it before;
    /// `None` if it has the snapshot committed already.
    async fn to_send(
        &self,
        m: &SnapshotMetadata,
        destination: &mut Destination,
    ) -> Result<Option<u64>> {
        let there = destination.backend.store();
        match there.metadata(m.collection_id, m.snapshot_id).await {
            Ok(_) => return Ok(None),
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        // The files as the listed marker names them: no second read of it.
        let files = SnapshotFiles::of(self.store().clone(), m)?.described();
        let target = Target::snapshot(m.collection_id, m.snapshot_id);
        let mut bytes = 0;
        let sized = files.iter().flat_map(|f| {
            let index = f.index.as_ref().map(|i| (i.key.clone(), i.size_bytes));
            std::iter::once((f.key.clone(), f.size_bytes)).chain(index)
        });
        for (key, size) in sized {
            if destination.planned.contains(&key) {
                continue;
            }
            let exists = (there.operator().exists(&key).await)
                .map_err(|e| Error::store(target, "stat", &key, e))?;
            if !exists {
                bytes += size;
            }
            destination.planned.insert(key);
        }
        Ok(Some(bytes))
    }

    /// Deletes a snapshot, which a run interrupted after the delete may find gone already.
    async fn delete_if_there(&self, c: CollectionId, s: SnapshotId) -> Result<()> {
        match self.store().delete_snapshot(c, s).await {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The snapshots of `snapshots` (newest first) created at least `age` before `now`, oldest
/// first: the order a copy sends them in, so that each one built on an older one sends only its
/// own parts.
fn due(
    snapshots: &[SnapshotMetadata],
    age: Duration,
    now: Timestamp,
) -> impl Iterator<Item = &SnapshotMetadata> {
    let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    snapshots
        .iter()
        .rev()
        .filter(move |m| now.as_millis().saturating_sub(m.created_at.as_millis()) >= age_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration docs/OPERATIONS.md shows parses, and each of its stores opens with
    /// the storage class it names.
    #[test]
    fn operations_md_config_is_valid() {
        let doc = include_str!("../../docs/OPERATIONS.md");
        let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
        let toml = &doc[start..start + doc[start..].find("```").unwrap()];
        let lifecycle = LifecycleConfig::from_toml_str(toml).unwrap().unwrap();
        assert_eq!((lifecycle.copies.len(), lifecycle.moves.len()), (1, 1));
        assert_eq!(lifecycle.retention.policy().keep_last(), Some(40));
        let storage = crate::StorageBackendConfig::from_toml_str(toml).unwrap();
        let backend = StorageBackend::from_config(storage).unwrap();
        let opened = backend.destinations(&lifecycle.copies).unwrap().len()
            + backend.destinations(&lifecycle.moves).unwrap().len();
        assert_eq!(opened, 2);
    }
}
