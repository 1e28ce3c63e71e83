//! What the tombstone parts of a snapshot hide from each of its data parts: the ids of every
//! tombstone part listed after it (docs/FORMAT.md, "The content rule"). Gathered once into one
//! set per tombstone position, each the union of that part and those after it, so that a row
//! costs one lookup however many tombstone parts a chain of increments has.

use std::sync::Arc;

use super::DataFile;
use crate::error::Result;
use crate::ids::IdSet;

/// The ids hidden from a data part, by its position in the manifest.
pub(crate) struct Hiding {
    /// For each tombstone part, in ascending position: its position, and the ids of it and of
    /// every tombstone part after it.
    from: Vec<(usize, Arc<IdSet>)>,
}

impl Hiding {
    /// Reads (and checks) the tombstone parts of `tombstones` listed after position `after`:
    /// those before it hide nothing from any data part read.
    pub(crate) async fn read(tombstones: Vec<DataFile>, after: usize) -> Result<Hiding> {
        let mut parts = Vec::new();
        for part in tombstones.into_iter().filter(|t| t.claim.position > after) {
            let position = part.claim.position;
            parts.push((position, part.tombstones().await?));
        }
        parts.sort_by_key(|(position, _)| *position);
        let mut union = IdSet::default();
        let mut from = Vec::with_capacity(parts.len());
        for (position, tombstones) in parts.into_iter().rev() {
            tombstones.ids.iter().for_each(|&id| {
                union.insert(id);
            });
            from.push((position, Arc::new(union.clone())));
        }
        from.reverse();
        Ok(Hiding { from })
    }

    /// The ids hidden from the data part at `position`, if any are.
    pub(crate) fn of(&self, position: usize) -> Option<Arc<IdSet>> {
        (self.from.iter())
            .find(|(at, _)| *at > position)
            .map(|(_, ids)| Arc::clone(ids))
    }
}
