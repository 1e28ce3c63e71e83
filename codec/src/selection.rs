//! Which documents a partial read keeps: a [`DocumentFilter`] of ids, external ids and an
//! `inserted_at` range, each optional, a document kept only if it passes every one given. The
//! rule lives here once, for the storage layer's partial restore and the browser's reads.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::model::Timestamp;

/// What a filter looks at in a row: its id, external id and insertion time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RowKey<'a> {
    /// The document's id.
    pub id: Uuid,
    /// Its external id, if it has one.
    pub external_id: Option<&'a str>,
    /// When it was inserted.
    pub inserted_at: Timestamp,
}

impl<'a> RowKey<'a> {
    /// The key of a row.
    pub fn new(id: Uuid, external_id: Option<&'a str>, inserted_at: Timestamp) -> Self {
        RowKey {
            id,
            external_id,
            inserted_at,
        }
    }
}

/// The documents a partial read keeps: by default all; each selector given narrows them.
///
/// ```
/// use akidb_snapshot_codec::{DocumentFilter, RowKey, Timestamp};
/// use uuid::Uuid;
///
/// let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
/// let filter = DocumentFilter::all()
///     .with_ids([a, b])
///     .inserted_within(Some(Timestamp::from_millis(100)), None);
/// assert!(filter.accepts(&RowKey::new(a, None, Timestamp::from_millis(100))));
/// assert!(!filter.accepts(&RowKey::new(a, None, Timestamp::from_millis(99))));
/// assert!(!filter.accepts(&RowKey::new(Uuid::from_u128(3), None, Timestamp::from_millis(500))));
///
/// let by_name = DocumentFilter::all().with_external_ids(["doc-7".to_owned()]);
/// assert!(by_name.accepts(&RowKey::new(b, Some("doc-7"), Timestamp::UNIX_EPOCH)));
/// assert!(!by_name.accepts(&RowKey::new(b, None, Timestamp::UNIX_EPOCH)));
/// assert!(DocumentFilter::all().is_all());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    ids: Option<BTreeSet<Uuid>>,
    external_ids: Option<BTreeSet<String>>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl DocumentFilter {
    /// Keeps every document.
    pub fn all() -> Self {
        Self::default()
    }

    /// Keeps only documents with one of these ids.
    pub fn with_ids(mut self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        self.ids = Some(ids.into_iter().collect());
        self
    }

    /// Keeps only documents with one of these external ids.
    pub fn with_external_ids(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.external_ids = Some(ids.into_iter().collect());
        self
    }

    /// Keeps only documents inserted at or after `since` and at or before `until`, where given.
    pub fn inserted_within(mut self, since: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        (self.since, self.until) = (since, until);
        self
    }

    /// The ids asked for, if any were.
    pub fn ids(&self) -> Option<&BTreeSet<Uuid>> {
        self.ids.as_ref()
    }

    /// The external ids asked for, if any were.
    pub fn external_ids(&self) -> Option<&BTreeSet<String>> {
        self.external_ids.as_ref()
    }

    /// The earliest and latest insertion times kept, where given.
    pub fn time_range(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.since, self.until)
    }

    /// Whether it keeps every document.
    pub fn is_all(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the row `key` passes every selector given.
    pub fn accepts(&self, key: &RowKey<'_>) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(&key.id))
            && self.external_ids.as_ref().is_none_or(|wanted| {
                key.external_id
                    .is_some_and(|external| wanted.contains(external))
            })
            && self.since.is_none_or(|since| key.inserted_at >= since)
            && self.until.is_none_or(|until| key.inserted_at <= until)
    }
}
