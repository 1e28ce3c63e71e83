//! The five documents that every file of `codec/tests/data/foreign/` holds, as the docstring of
//! `tests/interop/write_foreign.py` gives them, never read from the files. Shared with the
//! storage tests that import those files (`#[path]`).

use akidb_snapshot_codec::{Timestamp, VectorDocument};
use uuid::Uuid;

pub(crate) fn documents() -> Vec<VectorDocument> {
    let external = [Some("a"), None, Some("c"), Some("d"), Some("e")];
    (0..5u8)
        .map(|i| {
            let id: Uuid = format!("00000000-0000-4000-8000-00000000000{}", i + 1)
                .parse()
                .unwrap();
            let base = f32::from(i);
            let mut doc = VectorDocument::new(id, vec![base, base + 0.25, base + 0.5, base + 0.75])
                .with_inserted_at(Timestamp::from_millis(match i {
                    0 => -86_400_000,
                    i => 1_732_435_200_000 + i64::from(i) * 1000,
                }));
            doc.external_id = external[usize::from(i)].map(str::to_owned);
            if i % 2 == 1 {
                doc = doc.with_metadata(serde_json::json!({ "i": i }));
            }
            doc
        })
        .collect()
}
