//! Random histories of a collection: full creates; appends, updates and full exports built on
//! earlier snapshots (some of which compact themselves, the store compacting at 20% hidden
//! rows); compactions, deletes, prunes and gc, each step possibly struck by a store fault
//! (retried away, or one that fails the step). A model holds what each snapshot must contain.
//! After every step the listing is the model's snapshots (a failed step adds none), every
//! listed snapshot restores to exactly its model content, so no part a listed snapshot names is
//! ever missing.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use akidb_snapshot::codec::{CollectionId, SnapshotId, VectorDocument};
use akidb_snapshot::{Change, RetentionPolicy, StorageBackend, StorageBackendConfig};
use futures::stream;
use opendal::{ErrorKind, Operator, services};
use proptest::prelude::*;
use support::docs;
use support::faults::{Fault, FaultLayer, Faults, Op};

const DIM: usize = 4;

#[derive(Debug, Clone)]
enum Step {
    Create {
        n: usize,
    },
    Append {
        base: usize,
        n: usize,
    },
    Update {
        base: usize,
        replace: Vec<usize>,
        new: usize,
        delete: Vec<usize>,
    },
    /// A full export of the base's content with some documents dropped, some changed and some
    /// new, compared with the base.
    Export {
        base: usize,
        drop: Vec<usize>,
        change: Vec<usize>,
        new: usize,
    },
    Compact {
        at: usize,
    },
    Delete {
        at: usize,
    },
    Prune {
        keep: usize,
    },
    Gc,
}

/// A fault armed before a step: none, one a retry cures, or one that fails the request.
#[derive(Debug, Clone)]
enum Strike {
    None,
    Transient(usize),
    Permanent(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1..30usize).prop_map(|n| Step::Create { n }),
        (0..8usize, 1..10usize).prop_map(|(base, n)| Step::Append { base, n }),
        (
            0..8usize,
            prop::collection::vec(0..40usize, 0..4),
            0..6usize,
            prop::collection::vec(0..40usize, 0..4),
        )
            .prop_map(|(base, replace, new, delete)| Step::Update {
                base,
                replace,
                new,
                delete
            }),
        (
            0..8usize,
            prop::collection::vec(0..40usize, 0..4),
            prop::collection::vec(0..40usize, 0..4),
            0..4usize,
        )
            .prop_map(|(base, drop, change, new)| Step::Export {
                base,
                drop,
                change,
                new
            }),
        (0..8usize).prop_map(|at| Step::Compact { at }),
        (0..8usize).prop_map(|at| Step::Delete { at }),
        (1..4usize).prop_map(|keep| Step::Prune { keep }),
        Just(Step::Gc),
    ]
}

fn strike() -> impl Strategy<Value = Strike> {
    prop_oneof![
        6 => Just(Strike::None),
        2 => (0..5usize).prop_map(Strike::Transient),
        1 => (0..5usize).prop_map(Strike::Permanent),
    ]
}

const OPS: [Op; 5] = [Op::Write, Op::Read, Op::List, Op::Stat, Op::Delete];

struct World {
    backend: StorageBackend,
    faults: Arc<Faults>,
    c: CollectionId,
    /// What each snapshot holds, in order.
    model: BTreeMap<SnapshotId, Vec<VectorDocument>>,
    seed: u64,
}

impl World {
    fn new() -> Self {
        let faults = Faults::new(Vec::new());
        let op = Operator::new(services::Memory::default())
            .unwrap()
            .layer(FaultLayer(Arc::clone(&faults)));
        let mut config = StorageBackendConfig::with_uri("memory://");
        config.part_rows = 7;
        config.auto_compact_percent = 20;
        config.retry.min_delay_ms = 1;
        config.retry.max_delay_ms = 2;
        World {
            backend: StorageBackend::with_operator(op, config).unwrap(),
            faults,
            c: support::collection(),
            model: BTreeMap::new(),
            seed: 1,
        }
    }

    fn fresh(&mut self, n: usize) -> Vec<VectorDocument> {
        self.seed += 1;
        docs(n, DIM, self.seed)
    }

    /// The `at`-th snapshot of the model, if there is one.
    fn pick(&self, at: usize) -> Option<SnapshotId> {
        (!self.model.is_empty()).then(|| *self.model.keys().nth(at % self.model.len()).unwrap())
    }

    /// Runs `step`; returns the snapshot it made and its content, if it made one.
    async fn run(&mut self, step: &Step) -> Result<(), akidb_snapshot::Error> {
        let (store, encoding, c) = (
            self.backend.store().clone(),
            self.backend.encoding(),
            self.c,
        );
        let one = |docs: Vec<VectorDocument>| stream::iter([Ok::<_, std::io::Error>(docs)]);
        match step {
            Step::Create { n } => {
                let docs = self.fresh(*n);
                let made = store
                    .try_create_snapshot_stream(c, &encoding, one(docs.clone()))
                    .await?;
                self.model.insert(made.snapshot_id, docs);
            }
            Step::Append { base, n } => {
                let Some(base) = self.pick(*base) else {
                    return Ok(());
                };
                let new = self.fresh(*n);
                let made = store
                    .try_create_on_stream(c, base, Change::Append, &encoding, one(new.clone()))
                    .await?;
                let content = [self.model[&base].clone(), new].concat();
                self.model.insert(made.snapshot_id, content);
            }
            Step::Update {
                base,
                replace,
                new,
                delete,
            } => {
                let Some(base) = self.pick(*base) else {
                    return Ok(());
                };
                let old = self.model[&base].clone();
                let at = |i: &usize| (!old.is_empty()).then(|| i % old.len());
                let mut replaced: Vec<usize> = replace.iter().filter_map(at).collect();
                replaced.sort_unstable();
                replaced.dedup();
                let mut deleted: Vec<usize> = delete.iter().filter_map(at).collect();
                deleted.retain(|i| !replaced.contains(i));
                let mut upserts: Vec<VectorDocument> = replaced
                    .iter()
                    .map(|&i| {
                        let mut doc = old[i].clone();
                        doc.vector = vec![self.seed as f32; DIM];
                        doc
                    })
                    .collect();
                upserts.extend(self.fresh(*new));
                let mut deletes: Vec<uuid::Uuid> =
                    deleted.iter().map(|&i| old[i].document_id).collect();
                deletes.push(uuid::Uuid::now_v7());
                let made = store
                    .try_create_on_stream(
                        c,
                        base,
                        Change::Update { deletes },
                        &encoding,
                        one(upserts.clone()),
                    )
                    .await?;
                let gone: Vec<uuid::Uuid> = (replaced.iter().chain(&deleted))
                    .map(|&i| old[i].document_id)
                    .collect();
                let mut content: Vec<VectorDocument> = old
                    .into_iter()
                    .filter(|d| !gone.contains(&d.document_id))
                    .collect();
                content.extend(upserts);
                self.model.insert(made.snapshot_id, content);
            }
            Step::Export {
                base,
                drop,
                change,
                new,
            } => {
                let Some(base) = self.pick(*base) else {
                    return Ok(());
                };
                let old = self.model[&base].clone();
                let mut export: Vec<VectorDocument> = (old.iter().enumerate())
                    .filter(|(i, _)| !drop.contains(i))
                    .map(|(i, d)| {
                        let mut d = d.clone();
                        if change.contains(&i) {
                            d.vector[0] += 1.0;
                        }
                        d
                    })
                    .collect();
                export.extend(self.fresh(*new));
                if export.is_empty() {
                    return Ok(());
                }
                export.reverse();
                let made = store
                    .try_create_on_stream(c, base, Change::Export, &encoding, one(export.clone()))
                    .await?;
                self.model.insert(made.snapshot_id, export);
            }
            Step::Compact { at } => {
                let Some(id) = self.pick(*at) else {
                    return Ok(());
                };
                let made = store.compact_snapshot(c, id, &encoding).await?;
                let content = self.model[&id].clone();
                self.model.insert(made.snapshot_id, content);
            }
            Step::Delete { at } => {
                let Some(id) = self.pick(*at) else {
                    return Ok(());
                };
                store.delete_snapshot(c, id).await?;
                self.model.remove(&id);
            }
            Step::Prune { keep } => {
                let policy = RetentionPolicy::default().with_keep_last(*keep);
                for gone in store.apply_retention(c, &policy, false).await? {
                    self.model.remove(&gone.snapshot_id);
                }
            }
            Step::Gc => {
                store.gc(Duration::ZERO).await?;
            }
        }
        Ok(())
    }

    /// The listing is the model's snapshots (a step that failed may have deleted, never
    /// added), and each restores to its content.
    async fn check(&mut self, after: &str) {
        let listed: Vec<SnapshotId> = (self.backend.store().list_snapshots(self.c).await.unwrap())
            .iter()
            .map(|m| m.snapshot_id)
            .collect();
        for id in &listed {
            assert!(
                self.model.contains_key(id),
                "{after}: {id} is listed but was never made"
            );
        }
        self.model.retain(|id, _| listed.contains(id));
        // A snapshot's content is a set of documents: compaction changes their order.
        let sorted = |mut docs: Vec<VectorDocument>| {
            docs.sort_by_key(|d| d.document_id);
            docs
        };
        for (id, content) in &self.model {
            let restored = self
                .backend
                .snapshotter()
                .restore_snapshot(self.c, *id)
                .await;
            let restored =
                restored.unwrap_or_else(|e| panic!("{after}: {id} does not restore: {e}"));
            assert!(
                sorted(restored) == sorted(content.clone()),
                "{after}: {id} restores to other documents"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_listed_snapshot_restores_to_its_model_through_any_history(
        history in prop::collection::vec((step(), strike()), 1..14),
    ) {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let mut world = World::new();
            for (i, (step, strike)) in history.iter().enumerate() {
                match strike {
                    Strike::None => {}
                    Strike::Transient(op) => world.faults.add([Fault::transient(OPS[*op], 1)]),
                    Strike::Permanent(op) => world
                        .faults
                        .add([Fault::permanent(OPS[*op], ErrorKind::PermissionDenied).times(1)]),
                }
                let outcome = world.run(step).await;
                world.faults.heal();
                if let (Strike::None | Strike::Transient(_), Err(e)) = (strike, &outcome) {
                    panic!("step {i} {step:?} failed with no lasting fault: {e}");
                }
                world.check(&format!("after step {i} {step:?} ({strike:?})")).await;
            }
        });
    }
}
