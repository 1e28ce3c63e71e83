//! Partial restores: a few documents, a time range or a slice of a snapshot, reading only the
//! pages that hold them where the snapshot allows it (docs/DECISIONS.md, "Partial restore").
//!
//! A v2 snapshot whose data parts all have an id index that records its tail and its part's
//! page checksums is read by pages: per part, the index's tail, the pages of the index that
//! hold the ids asked for, the part's tail, then the part's pages that hold the rows wanted,
//! every one checked against the checksums recorded at create time. Any other snapshot (v1,
//! JSON, parts from before partial restores) is read whole, each file checked by its SHA-256,
//! and filtered; the result is the same.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use akidb_snapshot_codec::{
    CollectionId, DocumentFilter, FileLayout, IdLookup, ParquetFooter, RowKey, SnapshotId,
    Timestamp, VectorDocument,
};
use arrow_array::RecordBatch;
use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};
use uuid::Uuid;

use super::hiding::Hiding;
use super::{DataFile, Row, RowStream, SnapshotFiles};
use crate::error::{Error, Result, Target};
use crate::shard::Shard;
use crate::store::{SnapshotStore, blocking};

/// Ranges of a part fetched at once: enough to keep a remote store's latency hidden.
const CONCURRENT_READS: usize = 16;

/// How many missing ids an error names.
const NAMED_MISSING: usize = 5;

/// Which documents a restore brings back: by default all of them; each selector given
/// narrows them, and a document comes back only if it passes every one. Documents come back in
/// the snapshot's order.
///
/// ```
/// use akidb_snapshot::{Selection, codec::Timestamp};
/// use uuid::Uuid;
///
/// let selection = Selection::all()
///     .with_ids([Uuid::from_u128(7)])
///     .inserted_within(Some(Timestamp::from_millis(1_700_000_000_000)), None)
///     .strict(true);
/// assert!(selection.is_strict());
/// assert_eq!(selection.filter().ids().map(|ids| ids.len()), Some(1));
/// assert!(Selection::all().with_rows(10..20).rows().is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Selection {
    filter: DocumentFilter,
    rows: Option<Range<u64>>,
    strict: bool,
}

impl Selection {
    /// Every document.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only documents with one of these ids.
    pub fn with_ids(mut self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        self.filter = self.filter.with_ids(ids);
        self
    }

    /// Only documents with one of these external ids.
    pub fn with_external_ids(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.filter = self.filter.with_external_ids(ids);
        self
    }

    /// Only documents inserted at or after `since` and at or before `until`, where given.
    pub fn inserted_within(mut self, since: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.filter = self.filter.inserted_within(since, until);
        self
    }

    /// Only the documents at positions `rows` of the restore's order (from 0): of the whole
    /// snapshot, or of the shard restored.
    pub fn with_rows(mut self, rows: Range<u64>) -> Self {
        self.rows = Some(rows);
        self
    }

    /// Whether an id or external id asked for that the snapshot does not hold is an error
    /// ([`Error::MissingDocuments`]) rather than a count in the report (off by default).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The filter on ids, external ids and insertion time.
    pub fn filter(&self) -> &DocumentFilter {
        &self.filter
    }

    /// The positions asked for, if any.
    pub fn rows(&self) -> Option<&Range<u64>> {
        self.rows.as_ref()
    }

    /// Whether missing ids are an error.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Whether the document `row` at `position` of the restore's order is selected: the rule a
    /// restore applies, for a caller that filters documents it already holds.
    ///
    /// ```
    /// use akidb_snapshot::Selection;
    /// use akidb_snapshot::codec::{RowKey, Timestamp};
    /// use uuid::Uuid;
    ///
    /// let selection = Selection::all().with_ids([Uuid::from_u128(1)]).with_rows(0..5);
    /// let row = RowKey::new(Uuid::from_u128(1), None, Timestamp::UNIX_EPOCH);
    /// assert!(selection.keeps(4, &row) && !selection.keeps(5, &row));
    /// ```
    pub fn keeps(&self, position: u64, row: &RowKey<'_>) -> bool {
        self.rows.as_ref().is_none_or(|r| r.contains(&position)) && self.filter.accepts(row)
    }

    fn is_all(&self) -> bool {
        self.filter.is_all() && self.rows.is_none()
    }
}

/// What a partial restore found besides its documents; complete once its stream has ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SelectionReport {
    /// Ids asked for that no document of the snapshot (or of the shard restored) has, sorted.
    pub missing_ids: Vec<Uuid>,
    /// External ids asked for that no document the other selectors keep has, sorted.
    pub missing_external_ids: Vec<String>,
    /// Data parts read by their pages.
    pub parts_read_by_pages: usize,
    /// Data files read whole (a v1 or JSON snapshot, or parts from before page checksums).
    pub files_read_whole: usize,
    /// Bytes fetched from the store: of the files read whole, or of the tails and pages read.
    pub bytes_read: u64,
    /// Ranged reads of tails and pages (files read whole are not counted here).
    pub reads: u64,
}

/// The documents a partial restore selected: a stream of batches (the restore failed if any
/// item is an error), and its report once the stream has ended.
pub struct SelectedRows<T> {
    rows: RowStream<T>,
    report: Arc<Mutex<SelectionReport>>,
    dimension: u32,
}

impl<T> futures::Stream for SelectedRows<T> {
    type Item = Result<Vec<T>>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.rows.poll_next_unpin(cx)
    }
}

impl<T> std::fmt::Debug for SelectedRows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectedRows")
            .field("report", &self.report())
            .finish_non_exhaustive()
    }
}

impl<T> SelectedRows<T> {
    /// The snapshot's dimension, which an empty selection's schema needs too.
    pub fn dimension(&self) -> u32 {
        self.dimension
    }

    /// What was found; complete once the stream has ended.
    pub fn report(&self) -> SelectionReport {
        self.report.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl SnapshotStore {
    /// Restores the documents of `selection` from a snapshot (or from its shard `shard`), as a
    /// stream, reading only the pages that hold them where the snapshot allows it.
    ///
    /// # Errors
    ///
    /// As [`restore_snapshot_stream`](Self::restore_snapshot_stream); a damaged page is
    /// [`Error::DataCorruption`], never a wrong document; with
    /// [`strict`](Selection::strict), ids the snapshot lacks are
    /// [`Error::MissingDocuments`].
    pub async fn restore_selected_stream(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
        selection: &Selection,
    ) -> Result<SelectedRows<VectorDocument>> {
        self.restore_selected(collection_id, snapshot_id, shard, selection)
            .await
    }

    /// As [`restore_selected_stream`](Self::restore_selected_stream), as Arrow batches of the
    /// snapshot schema.
    pub async fn restore_selected_arrow(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
        selection: &Selection,
    ) -> Result<SelectedRows<RecordBatch>> {
        self.restore_selected(collection_id, snapshot_id, shard, selection)
            .await
    }

    #[tracing::instrument(name = "restore_selected", skip_all, fields(%collection_id,
        %snapshot_id, %shard))]
    async fn restore_selected<T: Row>(
        &self,
        collection_id: CollectionId,
        snapshot_id: SnapshotId,
        shard: Shard,
        selection: &Selection,
    ) -> Result<SelectedRows<T>> {
        let metadata = self.read_metadata(collection_id, snapshot_id).await?;
        let files = SnapshotFiles::of(self.clone(), &metadata)?.shard(shard);
        let report = Arc::new(Mutex::new(SelectionReport::default()));
        let plans = match files.by_pages() {
            true if !selection.is_all() => PartPlans::open(&files).await?,
            _ => None,
        };
        let rows = match plans {
            Some(plans) => by_pages(files, plans, selection, Arc::clone(&report)).await?,
            None => whole(files, selection, Arc::clone(&report)).await?,
        };
        Ok(SelectedRows {
            rows,
            report,
            dimension: metadata.dimension,
        })
    }
}

impl SnapshotFiles {
    /// Whether every data file is a part whose index records its tail, so may be read by pages.
    fn by_pages(&self) -> bool {
        self.files.iter().all(|f| {
            (f.claim.index.as_ref()).is_some_and(|i| i.tail.is_some()) && f.claim.checksum.is_some()
        })
    }
}

/// Every data file read whole, each checked by its SHA-256, and filtered.
async fn whole<T: Row>(
    files: SnapshotFiles,
    selection: &Selection,
    report: Arc<Mutex<SelectionReport>>,
) -> Result<RowStream<T>> {
    let target = files.target;
    let whole_files = files.files.len();
    let (_, bytes) = files.data_size();
    let all = files.stream::<T>(|| {}).await?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let keeps = selection.clone();
    let mut next_position = 0u64;
    let filtered = all.map({
        let seen = Arc::clone(&seen);
        move |batch| {
            let batch = batch?;
            let position = RefCell::new(next_position);
            let mut seen = seen.lock().map_err(|_| poisoned())?;
            let seen = RefCell::new(&mut *seen);
            let kept = T::retain(batch, &|row| {
                let at = position.replace_with(|p| *p + 1);
                seen.borrow_mut().note(&keeps.filter, row);
                keeps.keeps(at, row)
            })
            .map_err(|e| Error::codec(target, e))?;
            next_position = position.into_inner();
            Ok(kept)
        }
    });
    let selection = selection.clone();
    let ended = move || {
        let seen = seen.lock().map_err(|_| poisoned())?;
        let mut report = report.lock().map_err(|_| poisoned())?;
        report.files_read_whole = whole_files;
        report.bytes_read = bytes;
        seen.finish(&selection, &mut report, target)
    };
    Ok(with_end(filtered, ended))
}

/// What a whole read saw of the ids and external ids asked for.
#[derive(Default)]
struct Seen {
    ids: BTreeSet<Uuid>,
    external_ids: BTreeSet<String>,
}

impl Seen {
    /// Notes `row`: its id if it was asked for, and its external id if asked for and the other
    /// selectors keep it.
    fn note(&mut self, filter: &DocumentFilter, row: &RowKey<'_>) {
        if filter.ids().is_some_and(|ids| ids.contains(&row.id)) {
            self.ids.insert(row.id);
        }
        if let (Some(wanted), Some(external)) = (filter.external_ids(), row.external_id)
            && wanted.contains(external)
            && filter.accepts(row)
        {
            self.external_ids.insert(external.to_owned());
        }
    }

    /// Fills in what is missing, and fails if that is an error.
    fn finish(
        &self,
        selection: &Selection,
        report: &mut SelectionReport,
        target: Target,
    ) -> Result<()> {
        let filter = &selection.filter;
        report.missing_ids = (filter.ids().into_iter().flatten())
            .filter(|id| !self.ids.contains(id))
            .copied()
            .collect();
        report.missing_external_ids = (filter.external_ids().into_iter().flatten())
            .filter(|id| !self.external_ids.contains(*id))
            .cloned()
            .collect();
        check_missing(selection, report, target)
    }
}

/// [`Error::MissingDocuments`] if the selection is strict and something asked for is missing.
fn check_missing(selection: &Selection, report: &SelectionReport, target: Target) -> Result<()> {
    let missing = report.missing_ids.len() + report.missing_external_ids.len();
    if !selection.strict || missing == 0 {
        return Ok(());
    }
    let named: Vec<String> = (report.missing_ids.iter().map(Uuid::to_string))
        .chain(
            report
                .missing_external_ids
                .iter()
                .map(|e| format!("external id {e:?}")),
        )
        .take(NAMED_MISSING)
        .collect();
    Err(Error::MissingDocuments {
        target,
        count: missing,
        first: named.join(", "),
    })
}

fn poisoned() -> Error {
    Error::Internal {
        reason: "a partial restore's bookkeeping was poisoned by a panic".to_owned(),
    }
}

/// `rows`, then `ended` once they are all out: the stream fails if it does.
fn with_end<T: Row>(
    rows: impl futures::Stream<Item = Result<Vec<T>>> + Send + 'static,
    ended: impl FnOnce() -> Result<()> + Send + 'static,
) -> RowStream<T> {
    let state = (rows.boxed(), Some(ended));
    stream::try_unfold(state, |(mut rows, mut ended)| async move {
        loop {
            match rows.try_next().await? {
                Some(batch) if T::row_count(&batch) == 0 => continue,
                Some(batch) => return Ok(Some((batch, (rows, ended)))),
                None => {
                    if let Some(ended) = ended.take() {
                        ended()?;
                    }
                    return Ok(None);
                }
            }
        }
    })
    .boxed()
}

/// Each data part with its index opened from its tail.
struct PartPlans {
    parts: Vec<PartPlan>,
}

struct PartPlan {
    file: Arc<DataFile>,
    lookup: IdLookup,
    layout: FileLayout,
}

impl PartPlans {
    /// Opens every data part's index from its tail; `None` if one does not record its part's
    /// page checksums (written before partial restores), so the snapshot is read whole.
    async fn open(files: &SnapshotFiles) -> Result<Option<Self>> {
        let opened = stream::iter(files.files.iter())
            .map(|file| file.open_index())
            .buffered(CONCURRENT_READS)
            .try_collect::<Vec<_>>()
            .await?;
        let mut parts = Vec::with_capacity(opened.len());
        for (file, lookup) in files.files.iter().zip(opened) {
            let Some(layout) = lookup.part_layout().cloned() else {
                return Ok(None);
            };
            parts.push(PartPlan {
                file: Arc::new(file.clone()),
                lookup,
                layout,
            });
        }
        Ok(Some(PartPlans { parts }))
    }
}

impl DataFile {
    /// The part's id index, opened from its tail, which its manifest entry records.
    async fn open_index(&self) -> Result<IdLookup> {
        let (Some(index), Some(checksum)) = (&self.claim.index, self.claim.checksum) else {
            return Err(Error::Internal {
                reason: "a part without an index was to be read by pages".to_owned(),
            });
        };
        let tail = index.tail.ok_or_else(|| Error::Internal {
            reason: "an index without a recorded tail was to be read by pages".to_owned(),
        })?;
        let start = index.size_bytes.checked_sub(tail.bytes).ok_or_else(|| {
            self.corruption(format!(
                "the manifest says {}'s tail is {} bytes, more than its {}",
                index.key, tail.bytes, index.size_bytes
            ))
        })?;
        let bytes = self.read_from(&index.key, start..index.size_bytes).await?;
        let limits = *self.store.limits();
        let size = index.size_bytes;
        let lookup = blocking(move || IdLookup::open(bytes, size, &tail, &limits))
            .await?
            .map_err(|e| Error::codec(self.target, e))?;
        if *lookup.part_checksum() != checksum || lookup.len() != self.claim.rows {
            return Err(self.corruption(format!(
                "{} describes a part of {} documents with SHA-256 {}, not {} ({} documents, {})",
                index.key,
                lookup.len(),
                lookup.part_checksum(),
                self.claim.key,
                self.claim.rows,
                checksum
            )));
        }
        Ok(lookup)
    }

    /// Bytes `range` of the file at `key`, which this part's entry names.
    async fn read_from(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        match self.store.read_range(self.target, key, range).await {
            Ok(bytes) => {
                self.store.count_download(bytes.len() as u64);
                Ok(bytes)
            }
            Err(e) => Err(self.missing_file(e, key).await),
        }
    }

    /// `ranges` of this file, fetched a few at a time, each with its offset.
    async fn read_ranges(&self, key: &str, ranges: Vec<Range<u64>>) -> Result<Vec<(u64, Bytes)>> {
        stream::iter(ranges)
            .map(|range| async move {
                let start = range.start;
                self.read_from(key, range).await.map(|b| (start, b))
            })
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await
    }
}

/// The counts of a read by pages.
#[derive(Default)]
struct Fetched {
    bytes: u64,
    reads: u64,
}

impl Fetched {
    fn add(&mut self, pieces: &[(u64, Bytes)]) {
        self.reads += pieces.len() as u64;
        self.bytes += pieces.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
    }
}

/// A part's rows to read: in the part's numbering, ascending.
type Runs = Vec<Range<u64>>;

/// The selected documents, read by pages.
async fn by_pages<T: Row>(
    files: SnapshotFiles,
    plans: PartPlans,
    selection: &Selection,
    report: Arc<Mutex<SelectionReport>>,
) -> Result<RowStream<T>> {
    let target = files.target;
    let first = plans.parts.first().map_or(0, |p| p.file.claim.position);
    let hiding = Hiding::read(files.tombstones, first).await?;
    let mut fetched = Fetched::default();
    let filter = &selection.filter;
    let mut seen_ids = BTreeSet::new();
    let mut work = Vec::new();
    let mut offset = 0u64;
    for plan in plans.parts {
        let hidden = hiding.of(plan.file.claim.position);
        let rows = plan.file.claim.rows;
        let mut candidates: Option<Runs> = None;
        if let Some(ids) = filter.ids() {
            let found = plan
                .find(ids.iter().copied().collect(), &mut fetched)
                .await?;
            let visible: Vec<(Uuid, u64)> = (found.into_iter())
                .filter(|(id, _)| hidden.as_ref().is_none_or(|h| !h.contains(*id)))
                .collect();
            seen_ids.extend(visible.iter().map(|(id, _)| *id));
            let mut rows: Vec<u64> = visible.iter().map(|(_, row)| *row).collect();
            rows.sort_unstable();
            candidates = Some(rows.into_iter().map(|r| r..r + 1).collect());
        }
        if let Some(positions) = &selection.rows {
            let hidden_rows = match &hidden {
                Some(hidden) => {
                    let ids: Vec<Uuid> = hidden.iter().collect();
                    let mut rows: Vec<u64> = (plan.find(ids, &mut fetched).await?)
                        .into_iter()
                        .map(|(_, row)| row)
                        .collect();
                    rows.sort_unstable();
                    rows
                }
                None => Vec::new(),
            };
            let visible = rows - hidden_rows.len() as u64;
            let local = positions.start.saturating_sub(offset).min(visible)
                ..positions.end.saturating_sub(offset).min(visible);
            offset += visible;
            let runs = visible_runs(local, &hidden_rows, rows);
            candidates = Some(intersect(candidates, runs));
        }
        let footer = if filter.time_range() != (None, None) {
            let footer = plan.footer(&mut fetched).await?;
            let (since, until) = filter.time_range();
            let runs = footer
                .rows_inserted_within(
                    since.map(Timestamp::as_millis),
                    until.map(Timestamp::as_millis),
                )
                .map_err(|e| Error::codec(target, e))?;
            candidates = Some(intersect(candidates, runs));
            Some(footer)
        } else {
            None
        };
        let every_row = 0..rows;
        let runs = candidates.unwrap_or_else(|| vec![every_row]);
        if runs.is_empty() {
            continue;
        }
        let footer = match footer {
            Some(footer) => footer,
            None => plan.footer(&mut fetched).await?,
        };
        work.push((plan, Arc::new(footer), runs, hidden));
    }
    {
        let mut report = report.lock().map_err(|_| poisoned())?;
        report.missing_ids = (filter.ids().into_iter().flatten())
            .filter(|id| !seen_ids.contains(id))
            .copied()
            .collect();
        report.parts_read_by_pages = work.len();
        report.bytes_read = fetched.bytes;
        report.reads = fetched.reads;
        if filter.external_ids().is_none() {
            check_missing(selection, &report, target)?;
        }
    }
    let filter = Arc::new(selection.filter.clone());
    let seen_external = Arc::new(Mutex::new(Seen::default()));
    let chunks = work.into_iter().flat_map(|(plan, footer, runs, hidden)| {
        let plan = Arc::new(plan);
        by_row_group(&footer, runs).into_iter().map(move |chunk| {
            (
                Arc::clone(&plan),
                Arc::clone(&footer),
                chunk,
                hidden.clone(),
            )
        })
    });
    let rows = stream::iter(chunks)
        .map({
            let (filter, seen, report) = (
                Arc::clone(&filter),
                Arc::clone(&seen_external),
                Arc::clone(&report),
            );
            move |(plan, footer, runs, hidden)| {
                let (filter, seen, report) =
                    (Arc::clone(&filter), Arc::clone(&seen), Arc::clone(&report));
                async move {
                    let ranges = footer
                        .pages_of_rows(&runs)
                        .map_err(|e| Error::codec(target, e))?;
                    let pieces = plan.file.read_ranges(&plan.file.claim.key, ranges).await?;
                    if let Ok(mut report) = report.lock() {
                        report.reads += pieces.len() as u64;
                        report.bytes_read +=
                            pieces.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
                    }
                    let layout = plan.layout.clone();
                    let decoded =
                        blocking(move || footer.decode_pages::<T>(&runs, pieces, &layout))
                            .await?
                            .map_err(|e| Error::codec(target, e))?;
                    let mut seen = seen.lock().map_err(|_| poisoned())?;
                    let seen = RefCell::new(&mut *seen);
                    T::retain(decoded, &|row| {
                        let kept = hidden.as_ref().is_none_or(|h| !h.contains(row.id));
                        if kept {
                            seen.borrow_mut().note(&filter, row);
                        }
                        kept && filter.accepts(row)
                    })
                    .map_err(|e| Error::codec(target, e))
                }
            }
        })
        .buffered(2);
    let selection = selection.clone();
    let ended = move || {
        if selection.filter.external_ids().is_none() {
            return Ok(());
        }
        let seen = seen_external.lock().map_err(|_| poisoned())?;
        let mut report = report.lock().map_err(|_| poisoned())?;
        report.missing_external_ids = (selection.filter.external_ids().into_iter().flatten())
            .filter(|id| !seen.external_ids.contains(*id))
            .cloned()
            .collect();
        check_missing(&selection, &report, target)
    };
    Ok(with_end(rows, ended))
}

impl PartPlan {
    /// The rows of `ids` in the part (those it holds), fetching the index pages that say.
    async fn find(&self, ids: Vec<Uuid>, fetched: &mut Fetched) -> Result<Vec<(Uuid, u64)>> {
        let Some(index) = &self.file.claim.index else {
            return Ok(Vec::new());
        };
        let ranges = self.lookup.pages_for(&ids);
        let pieces = self.file.read_ranges(&index.key, ranges).await?;
        fetched.add(&pieces);
        let lookup = self.lookup.clone();
        blocking(move || lookup.find(&ids, pieces))
            .await?
            .map_err(|e| Error::codec(self.file.target, e))
    }

    /// The part's footer with its page index, from its tail, checked against the manifest.
    async fn footer(&self, fetched: &mut Fetched) -> Result<ParquetFooter> {
        let file = &self.file;
        let size = file.claim.size_bytes;
        let start = self.layout.tail_start(size);
        let tail = file.read_from(&file.claim.key, start..size).await?;
        fetched.add(&[(start, tail.clone())]);
        let (limits, layout) = (*file.store.limits(), self.layout.clone());
        let parsed =
            blocking(move || ParquetFooter::from_checked_tail(tail, size, &layout, &limits))
                .await?
                .map_err(|e| Error::codec(file.target, e))?;
        file.check_footer(&parsed)?;
        Ok(parsed)
    }
}

/// The rows of a part of `rows` rows at visible positions `local` (counted without the
/// `hidden` rows, which are sorted), as runs of rows.
fn visible_runs(local: Range<u64>, hidden: &[u64], rows: u64) -> Runs {
    let mut runs = Vec::new();
    if local.is_empty() {
        return runs;
    }
    // Walk the gaps between hidden rows, each a run of visible rows.
    let mut position = 0u64;
    let mut start = 0u64;
    for gap_end in hidden.iter().copied().chain(std::iter::once(rows)) {
        let len = gap_end.saturating_sub(start);
        let (from, to) = (local.start.max(position), local.end.min(position + len));
        if from < to {
            runs.push(start + (from - position)..start + (to - position));
        }
        position += len;
        start = gap_end + 1;
        if position >= local.end {
            break;
        }
    }
    runs
}

/// The rows in both `a` (all rows if `None`) and `b`, both ascending runs.
fn intersect(a: Option<Runs>, b: Runs) -> Runs {
    let Some(a) = a else {
        return b;
    };
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let (from, to) = (a[i].start.max(b[j].start), a[i].end.min(b[j].end));
        if from < to {
            out.push(from..to);
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `runs` cut where the part's row groups end, so each piece is read and decoded apart.
fn by_row_group(footer: &ParquetFooter, runs: Runs) -> Vec<Runs> {
    let mut ends = Vec::new();
    let mut end = 0;
    for group in &footer.info().row_groups {
        end += group.rows;
        ends.push(end);
    }
    let mut chunks: Vec<Runs> = Vec::new();
    let mut group = 0;
    let mut current: Runs = Vec::new();
    for run in runs {
        let mut start = run.start;
        while start < run.end {
            while group < ends.len() && ends[group] <= start {
                group += 1;
                if !current.is_empty() {
                    chunks.push(std::mem::take(&mut current));
                }
            }
            let stop = run.end.min(ends.get(group).copied().unwrap_or(run.end));
            current.push(start..stop);
            start = stop;
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

// Runs of rows are slices of ranges: a slice of one range is one run.
#[allow(clippy::single_range_in_vec_init)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_positions_skip_hidden_rows() {
        // Rows 0..10, rows 2 and 5 hidden: visible rows 0,1,3,4,6,7,8,9.
        assert_eq!(visible_runs(0..8, &[2, 5], 10), [0..2, 3..5, 6..10]);
        assert_eq!(visible_runs(1..4, &[2, 5], 10), [1..2, 3..5]);
        assert_eq!(visible_runs(4..5, &[2, 5], 10), [6..7]);
        assert!(visible_runs(3..3, &[2, 5], 10).is_empty());
        assert_eq!(visible_runs(0..3, &[], 3), [0..3]);
    }

    #[test]
    fn runs_intersect() {
        assert_eq!(intersect(None, vec![1..3]), [1..3]);
        assert_eq!(intersect(Some(vec![0..5, 8..10]), vec![3..9]), [3..5, 8..9]);
        assert!(intersect(Some(vec![0..2]), vec![2..4]).is_empty());
    }
}
