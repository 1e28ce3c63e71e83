//! Sets and maps of document ids, for the creates that must know which ids a snapshot already
//! holds: an import (no id twice across its files) and a create on a base (its content, and the
//! ids of its input). Hashed with foldhash: ids are random bits already, and SipHash was a third
//! of a full export's comparison with its base (docs/BENCHMARKS.md, "Incremental snapshots").

use std::collections::{HashMap, HashSet};

use akidb_snapshot_codec::columns;
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use uuid::Uuid;

/// The hasher of id sets and maps.
type Hasher = foldhash::fast::RandomState;

/// A map keyed by document id.
pub(crate) type IdMap<V> = HashMap<Uuid, V, Hasher>;

/// Document ids, 16 bytes and a little more each.
#[derive(Debug, Default, Clone)]
pub(crate) struct IdSet(HashSet<u128, Hasher>);

impl IdSet {
    /// An empty set with room for `capacity` ids.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        IdSet(HashSet::with_capacity_and_hasher(
            capacity,
            Hasher::default(),
        ))
    }

    /// Adds `id`; whether it was new.
    pub(crate) fn insert(&mut self, id: Uuid) -> bool {
        self.0.insert(id.as_u128())
    }

    pub(crate) fn contains(&self, id: Uuid) -> bool {
        self.0.contains(&id.as_u128())
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids, in no order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.0.iter().map(|&id| Uuid::from_u128(id))
    }
}

/// The ids of a batch with a `document_id` column of 16-byte values, in row order; none for a
/// batch without one (the writer's checks refuse such a batch).
pub(crate) fn ids_of(batch: &RecordBatch) -> impl Iterator<Item = Uuid> + '_ {
    batch
        .column_by_name(columns::DOCUMENT_ID)
        .and_then(|c| c.as_fixed_size_binary_opt())
        .into_iter()
        .flat_map(|ids| ids.iter())
        .map(|id| {
            id.and_then(|b| Uuid::from_slice(b).ok())
                .unwrap_or_default()
        })
}
