//! Sets of document ids, for the creates that must know which ids a snapshot already holds:
//! an import (no id twice across its files) and an append (no id of its base again).

use std::collections::HashSet;

use akidb_snapshot_codec::columns;
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use uuid::Uuid;

/// Document ids, 16 bytes and a little more each.
#[derive(Debug, Default)]
pub(crate) struct IdSet(HashSet<u128>);

impl IdSet {
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
