//! Retention in the spirit of Elasticsearch's snapshot lifecycle management: keep the last N,
//! expire those older than a maximum age, and never go below a minimum count.

use std::time::Duration;

use akidb_snapshot_codec::{CollectionId, SnapshotMetadata, Timestamp};

use crate::error::Result;
use crate::store::SnapshotStore;
use tracing::field::Empty;

/// Which snapshots of a collection to keep. The default keeps everything.
///
/// A snapshot is expired when it is beyond the newest `keep_last`, or older than `max_age`;
/// the newest `min_count` are never expired, whatever the other rules say.
///
/// ```
/// use std::time::Duration;
/// use akidb_snapshot::RetentionPolicy;
///
/// let policy = RetentionPolicy::default()
///     .with_keep_last(7)
///     .with_max_age(Duration::from_secs(30 * 24 * 3600))
///     .with_min_count(3);
/// assert_eq!(policy.keep_last(), Some(7));
/// assert_eq!(policy.min_count(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    keep_last: Option<usize>,
    max_age: Option<Duration>,
    min_count: usize,
}

impl RetentionPolicy {
    /// Keep at most the newest `n` snapshots. Default: no limit.
    pub fn with_keep_last(mut self, n: usize) -> Self {
        self.keep_last = Some(n);
        self
    }

    /// Expire snapshots created more than `age` ago. Default: no limit.
    pub fn with_max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Never expire the newest `n`. Default 0.
    pub fn with_min_count(mut self, n: usize) -> Self {
        self.min_count = n;
        self
    }

    /// See [`with_keep_last`](Self::with_keep_last).
    pub fn keep_last(&self) -> Option<usize> {
        self.keep_last
    }

    /// See [`with_max_age`](Self::with_max_age).
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// See [`with_min_count`](Self::with_min_count).
    pub fn min_count(&self) -> usize {
        self.min_count
    }

    /// The snapshots this policy expires, from `snapshots` sorted newest first as
    /// [`SnapshotStore::list_snapshots`] returns them, at time `now`.
    pub fn expired<'a>(
        &self,
        snapshots: &'a [SnapshotMetadata],
        now: Timestamp,
    ) -> Vec<&'a SnapshotMetadata> {
        let max_age_ms = self
            .max_age
            .map(|a| i64::try_from(a.as_millis()).unwrap_or(i64::MAX));
        snapshots
            .iter()
            .enumerate()
            .skip(self.min_count)
            .filter(|(position, snapshot)| {
                let too_many = self.keep_last.is_some_and(|n| *position >= n);
                let too_old = max_age_ms.is_some_and(|max| {
                    now.as_millis()
                        .saturating_sub(snapshot.created_at.as_millis())
                        > max
                });
                too_many || too_old
            })
            .map(|(_, snapshot)| snapshot)
            .collect()
    }
}

impl SnapshotStore {
    /// Deletes the snapshots of `collection_id` that `policy` expires, oldest first, and
    /// returns them. With `dry_run`, returns them without deleting anything.
    #[tracing::instrument(skip_all, fields(%collection_id, dry_run, snapshots = Empty,
        duration_ms = Empty))]
    pub async fn apply_retention(
        &self,
        collection_id: CollectionId,
        policy: &RetentionPolicy,
        dry_run: bool,
    ) -> Result<Vec<SnapshotMetadata>> {
        let started = std::time::Instant::now();
        let snapshots = self.list_snapshots(collection_id).await?;
        let mut expired: Vec<SnapshotMetadata> = policy
            .expired(&snapshots, crate::store::now())
            .into_iter()
            .cloned()
            .collect();
        expired.reverse();
        if !dry_run {
            for snapshot in &expired {
                self.delete_snapshot(collection_id, snapshot.snapshot_id)
                    .await?;
            }
        }
        let span = tracing::Span::current();
        span.record("snapshots", expired.len());
        crate::spans::finish(&span, started, "retention applied");
        Ok(expired)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    const DAY_MS: i64 = 24 * 3600 * 1000;

    /// Snapshots made 0, 1, 2, … days before day 100, newest first.
    fn daily(n: u128) -> Vec<SnapshotMetadata> {
        (0..n)
            .map(|age| {
                let created = Timestamp::from_millis((100 - age as i64) * DAY_MS);
                let json = serde_json::json!({
                    "snapshot_id": Uuid::from_u128(1000 - age),
                    "collection_id": Uuid::from_u128(1),
                    "vector_count": 1, "dimension": 1, "size_bytes": 1,
                    "created_at": created.to_rfc3339().unwrap(),
                    "compression": "none", "format": "parquet",
                });
                SnapshotMetadata::from_json(json.to_string().as_bytes()).unwrap()
            })
            .collect()
    }

    fn ages(expired: &[&SnapshotMetadata]) -> Vec<i64> {
        expired
            .iter()
            .map(|m| 100 - m.created_at.as_millis() / DAY_MS)
            .collect()
    }

    const NOW: Timestamp = Timestamp::from_millis(100 * DAY_MS);

    #[test]
    fn default_keeps_everything() {
        assert!(
            RetentionPolicy::default()
                .expired(&daily(10), NOW)
                .is_empty()
        );
    }

    #[test]
    fn keep_last() {
        let policy = RetentionPolicy::default().with_keep_last(3);
        assert_eq!(ages(&policy.expired(&daily(5), NOW)), [3, 4]);
        assert!(policy.expired(&daily(3), NOW).is_empty());
    }

    #[test]
    fn max_age() {
        let policy = RetentionPolicy::default().with_max_age(Duration::from_secs(2 * 86_400));
        // Exactly two days old is not older than two days.
        assert_eq!(ages(&policy.expired(&daily(5), NOW)), [3, 4]);
    }

    #[test]
    fn min_count_wins_over_both() {
        let policy = RetentionPolicy::default()
            .with_keep_last(1)
            .with_max_age(Duration::ZERO)
            .with_min_count(3);
        assert_eq!(ages(&policy.expired(&daily(5), NOW)), [3, 4]);
        assert!(policy.expired(&daily(3), NOW).is_empty());
    }

    #[test]
    fn either_rule_expires() {
        let policy = RetentionPolicy::default()
            .with_keep_last(4)
            .with_max_age(Duration::from_secs(86_400));
        assert_eq!(ages(&policy.expired(&daily(6), NOW)), [2, 3, 4, 5]);
    }
}
