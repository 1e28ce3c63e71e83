//! Partial restores: a few documents, a time range or a slice of a snapshot, reading only the
//! pages that hold them where the snapshot allows it (docs/DECISIONS.md, "Partial restore").
//!
//! A v2 snapshot's data parts whose id index records its tail and its part's page checksums
//! are read by pages: per part, the index's tail, the pages of the index that hold the ids
//! asked for, the part's tail, then the part's pages that hold the rows wanted, every one
//! checked against the checksums recorded at create time. Any other file (of a v1 or JSON
//! snapshot, a part from before partial restores) is read whole, checked by its SHA-256, and
//! filtered by the same rule; the result is the same.

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
use crate::ids::IdSet;
use crate::shard::Shard;
use crate::store::{SnapshotStore, blocking};

/// Ranges of a part fetched at once: enough to keep a remote store's latency hidden.
const CONCURRENT_READS: usize = 16;

/// Parts probed at once (each fetching up to `CONCURRENT_READS` ranges): a snapshot of a
/// hundred parts is not a hundred round trips one after another.
const CONCURRENT_PARTS: usize = 4;

/// Pages of a part (or of its index) this close together are fetched in one read, the pages
/// between them included: a request costs far more than 8 KiB of transfer on any object store,
/// and a gap of one small column's page joins the pages of a row that neighbouring column
/// chunks hold (13 reads fewer for 10 ids of a 100,000 × 768 part, 48 KB more:
/// docs/DECISIONS.md).
const COALESCE_GAP: u64 = 8 * 1024;

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
    /// Data files read whole (of a v1 or JSON snapshot, or parts from before page checksums).
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
        let plans = match files.any_by_pages() {
            true if !selection.is_all() => PartPlans::open(&files, selection).await?,
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
    /// Whether any data file is a part whose index records its tail, so may be read by pages.
    fn any_by_pages(&self) -> bool {
        self.files.iter().any(DataFile::has_index_tail)
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

/// Each data part of a snapshot, and how it is read.
struct PartPlans {
    parts: Vec<PartPlan>,
}

/// How a data part is read: by pages, or whole (written before page checksums).
enum PartPlan {
    Pages(PagedPart),
    Whole(Box<DataFile>),
}

/// A data part with its index opened from its tail, read by pages.
struct PagedPart {
    file: Arc<DataFile>,
    /// Shared with the blocking decodes: an index's tail holds its Bloom filters and the
    /// part's page checksums, hundreds of KB not to copy for each row group read.
    lookup: Arc<IdLookup>,
    /// The part's page checksums, taken from the index once.
    layout: Arc<FileLayout>,
}

impl PartPlans {
    /// Opens the index of every data part whose index records its tail. `None` if no part
    /// records its page checksums there, or if some part does not and `selection` asks for
    /// positions (the visible rows of a part read whole are known only once it is read): the
    /// snapshot is then read whole.
    async fn open(files: &SnapshotFiles, selection: &Selection) -> Result<Option<Self>> {
        let opened = stream::iter(files.files.iter())
            .map(|file| async move {
                match file.has_index_tail() {
                    true => file.open_index().await.map(Some),
                    false => Ok(None),
                }
            })
            .buffered(CONCURRENT_READS)
            .try_collect::<Vec<_>>()
            .await?;
        let parts: Vec<PartPlan> = (files.files.iter().zip(opened))
            .map(
                |(file, lookup)| match lookup.and_then(|l| Some((l.part_layout().cloned()?, l))) {
                    Some((layout, lookup)) => PartPlan::Pages(PagedPart {
                        file: Arc::new(file.clone()),
                        lookup: Arc::new(lookup),
                        layout: Arc::new(layout),
                    }),
                    None => PartPlan::Whole(Box::new(file.clone())),
                },
            )
            .collect();
        let whole = parts
            .iter()
            .filter(|p| matches!(p, PartPlan::Whole(_)))
            .count();
        if whole == parts.len() || (whole > 0 && selection.rows.is_some()) {
            return Ok(None);
        }
        Ok(Some(PartPlans { parts }))
    }
}

impl PartPlan {
    fn file(&self) -> &DataFile {
        match self {
            PartPlan::Pages(part) => &part.file,
            PartPlan::Whole(file) => file,
        }
    }
}

impl DataFile {
    /// Whether the file is a part whose id index records its tail (and so maybe its page
    /// checksums).
    fn has_index_tail(&self) -> bool {
        (self.claim.index.as_ref()).is_some_and(|i| i.tail.is_some())
            && self.claim.checksum.is_some()
    }

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
    fn count(&mut self, pieces: &[(u64, Bytes)]) {
        self.reads += pieces.len() as u64;
        self.bytes += pieces.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
    }

    fn add(&mut self, other: &Fetched) {
        self.reads += other.reads;
        self.bytes += other.bytes;
    }
}

/// A part as a partial restore first sees it: read whole, or probed through its index.
enum Probe {
    Whole(Box<DataFile>, Option<Arc<IdSet>>),
    Pages(Box<Probed>),
}

/// What a part's index (and, for a time range, its footer) said of the rows a selection
/// wants, before positions are counted across parts.
struct Probed {
    part: PagedPart,
    /// The ids the part's tombstones hide.
    hidden: Option<Arc<IdSet>>,
    /// The ids asked for that the part holds and tombstones do not hide, by row, ascending,
    /// where ids were asked for: every row read is one of them.
    known: Option<Arc<Vec<(u64, Uuid)>>>,
    /// The rows that may be wanted (all, if `None`).
    candidates: Option<Runs>,
    /// The rows the tombstones hide, sorted, where positions are asked for.
    hidden_rows: Option<Vec<u64>>,
    /// The part's footer, if read already.
    footer: Option<ParquetFooter>,
    fetched: Fetched,
}

/// A part's rows to read: in the part's numbering, ascending.
type Runs = Vec<Range<u64>>;

/// What is read of one part, in the snapshot's order.
enum Work {
    /// The rows `runs` of a part read by pages, whose footer is read, with their ids where
    /// they were found by id.
    Pages(
        Arc<PagedPart>,
        Arc<ParquetFooter>,
        Runs,
        Option<Arc<Vec<(u64, Uuid)>>>,
    ),
    /// A part read whole.
    Whole(Box<DataFile>),
}

/// The selected documents, read by pages where the parts allow it and whole where they do not.
async fn by_pages<T: Row>(
    files: SnapshotFiles,
    plans: PartPlans,
    selection: &Selection,
    report: Arc<Mutex<SelectionReport>>,
) -> Result<RowStream<T>> {
    let target = files.target;
    let first = plans.parts.first().map_or(0, |p| p.file().claim.position);
    let hiding = Hiding::read(files.tombstones, first).await?;
    let filter = &selection.filter;
    // Every part's index (and footer, for a time range) at once, then positions in order.
    let probed: Vec<Probe> = stream::iter(plans.parts)
        .map(|plan| {
            let hidden = hiding.of(plan.file().claim.position);
            async move {
                match plan {
                    PartPlan::Pages(part) => part.probe(hidden, selection).await,
                    PartPlan::Whole(file) => Ok(Probe::Whole(file, hidden)),
                }
            }
        })
        .buffered(CONCURRENT_PARTS)
        .try_collect()
        .await?;
    let mut fetched = Fetched::default();
    let mut seen_ids = BTreeSet::new();
    let mut pending = Vec::new();
    let mut whole_bytes = 0;
    let mut offset = 0u64;
    for probe in probed {
        let mut probed = match probe {
            Probe::Whole(file, hidden) => {
                whole_bytes += file.claim.size_bytes;
                pending.push(Probe::Whole(file, hidden));
                continue;
            }
            Probe::Pages(probed) => probed,
        };
        fetched.add(&probed.fetched);
        seen_ids.extend(
            probed
                .known
                .iter()
                .flat_map(|k| k.iter().map(|(_, id)| *id)),
        );
        let rows = probed.part.file.claim.rows;
        if let (Some(positions), Some(hidden_rows)) = (&selection.rows, &probed.hidden_rows) {
            let visible = rows - hidden_rows.len() as u64;
            let local = positions.start.saturating_sub(offset).min(visible)
                ..positions.end.saturating_sub(offset).min(visible);
            offset += visible;
            let runs = visible_runs(local, hidden_rows, rows);
            probed.candidates = Some(intersect(probed.candidates.take(), runs));
        }
        let every_row = 0..rows;
        let runs = probed.candidates.get_or_insert_with(|| vec![every_row]);
        if !runs.is_empty() {
            pending.push(Probe::Pages(probed));
        }
    }
    // The footers of the parts still to be read, at once.
    let work: Vec<Vec<(Work, Option<Arc<IdSet>>)>> = stream::iter(pending)
        .map(|probe| async move {
            let Probed {
                part,
                hidden,
                known,
                candidates,
                footer,
                ..
            } = match probe {
                Probe::Whole(file, hidden) => {
                    return Ok((vec![(Work::Whole(file), hidden)], 0));
                }
                Probe::Pages(probed) => *probed,
            };
            let (footer, read) = match footer {
                Some(footer) => (footer, 0),
                None => part.footer().await?,
            };
            let (part, footer) = (Arc::new(part), Arc::new(footer));
            let work = by_row_group(&footer, candidates.unwrap_or_default())
                .into_iter()
                .map(|chunk| {
                    let (part, footer) = (Arc::clone(&part), Arc::clone(&footer));
                    let pages = Work::Pages(part, footer, chunk, known.clone());
                    (pages, hidden.clone())
                })
                .collect();
            Ok::<_, Error>((work, read))
        })
        .buffered(CONCURRENT_PARTS)
        .map_ok(|(work, read)| {
            fetched.reads += u64::from(read > 0);
            fetched.bytes += read;
            work
        })
        .try_collect()
        .await?;
    let work: Vec<(Work, Option<Arc<IdSet>>)> = work.into_iter().flatten().collect();
    // Ids are known missing before the first batch unless a part is read whole.
    let whole_parts = work
        .iter()
        .filter(|(w, _)| matches!(w, Work::Whole(_)))
        .count();
    let missing_at_end = whole_parts > 0 || filter.external_ids().is_some();
    {
        let mut report = report.lock().map_err(|_| poisoned())?;
        report.missing_ids = (filter.ids().into_iter().flatten())
            .filter(|id| !seen_ids.contains(id))
            .copied()
            .collect();
        report.parts_read_by_pages = (work.iter())
            .filter_map(|(w, _)| match w {
                Work::Pages(plan, ..) => Some(plan.file.claim.position),
                Work::Whole(_) => None,
            })
            .collect::<BTreeSet<_>>()
            .len();
        report.files_read_whole = whole_parts;
        report.bytes_read = fetched.bytes + whole_bytes;
        report.reads = fetched.reads;
        if !missing_at_end {
            check_missing(selection, &report, target)?;
        }
    }
    let keep = Arc::new(Keep {
        filter: selection.filter.clone(),
        seen: Mutex::new(Seen::default()),
        target,
    });
    let rows = stream::iter(work)
        .map({
            let (keep, report) = (Arc::clone(&keep), Arc::clone(&report));
            move |(work, hidden)| {
                let (keep, report) = (Arc::clone(&keep), Arc::clone(&report));
                async move {
                    let rows: RowStream<T> = match work {
                        Work::Pages(plan, footer, runs, known) => {
                            let decoded = plan.decode(&footer, runs, known, &report).await?;
                            let kept = keep.retain(decoded, hidden.as_deref());
                            stream::once(async move { kept }).boxed()
                        }
                        Work::Whole(file) => {
                            let rows = file.stream::<T>(|_| {}).await?;
                            rows.map(move |batch| keep.retain(batch?, hidden.as_deref()))
                                .boxed()
                        }
                    };
                    Ok::<_, Error>(rows)
                }
            }
        })
        .buffered(2)
        .try_flatten();
    let selection = selection.clone();
    let ended = move || {
        if !missing_at_end {
            return Ok(());
        }
        let seen = keep.seen.lock().map_err(|_| poisoned())?;
        let mut report = report.lock().map_err(|_| poisoned())?;
        report.missing_ids.retain(|id| !seen.ids.contains(id));
        report.missing_external_ids = (selection.filter.external_ids().into_iter().flatten())
            .filter(|id| !seen.external_ids.contains(*id))
            .cloned()
            .collect();
        check_missing(&selection, &report, target)
    };
    Ok(with_end(rows, ended))
}

/// The rule a partial restore keeps rows by, and what it saw of the ids asked for.
struct Keep {
    filter: DocumentFilter,
    seen: Mutex<Seen>,
    target: Target,
}

impl Keep {
    /// The rows of `batch` that the selection keeps and tombstones do not hide, noting the
    /// ids and external ids asked for among the rows not hidden.
    fn retain<T: Row>(&self, batch: Vec<T>, hidden: Option<&IdSet>) -> Result<Vec<T>> {
        let mut seen = self.seen.lock().map_err(|_| poisoned())?;
        let seen = RefCell::new(&mut *seen);
        T::retain(batch, &|row| {
            let kept = hidden.is_none_or(|h| !h.contains(row.id));
            if kept {
                seen.borrow_mut().note(&self.filter, row);
            }
            kept && self.filter.accepts(row)
        })
        .map_err(|e| Error::codec(self.target, e))
    }
}

impl PagedPart {
    /// Looks the selection's ids (and, for positions, the hidden ones) up in the part's index,
    /// and reads its footer for a time range.
    async fn probe(self, hidden: Option<Arc<IdSet>>, selection: &Selection) -> Result<Probe> {
        let filter = &selection.filter;
        let mut fetched = Fetched::default();
        let mut candidates: Option<Runs> = None;
        let mut known = None;
        if let Some(ids) = filter.ids() {
            let held = self
                .find(ids.iter().copied().collect(), &mut fetched)
                .await?;
            let mut visible: Vec<(u64, Uuid)> = (held.into_iter())
                .filter(|(id, _)| hidden.as_ref().is_none_or(|h| !h.contains(*id)))
                .map(|(id, row)| (row, id))
                .collect();
            visible.sort_unstable();
            candidates = Some(visible.iter().map(|&(r, _)| r..r + 1).collect());
            known = Some(Arc::new(visible));
        }
        let hidden_rows = match (&selection.rows, &hidden) {
            (None, _) => None,
            (Some(_), None) => Some(Vec::new()),
            (Some(_), Some(hidden)) => {
                let ids: Vec<Uuid> = hidden.iter().collect();
                let mut rows: Vec<u64> = (self.find(ids, &mut fetched).await?)
                    .into_iter()
                    .map(|(_, row)| row)
                    .collect();
                rows.sort_unstable();
                Some(rows)
            }
        };
        let footer = if filter.time_range() != (None, None) {
            let (footer, read) = self.footer().await?;
            fetched.reads += 1;
            fetched.bytes += read;
            let (since, until) = filter.time_range();
            let runs = footer
                .rows_inserted_within(
                    since.map(Timestamp::as_millis),
                    until.map(Timestamp::as_millis),
                )
                .map_err(|e| Error::codec(self.file.target, e))?;
            candidates = Some(intersect(candidates, runs));
            Some(footer)
        } else {
            None
        };
        Ok(Probe::Pages(Box::new(Probed {
            part: self,
            hidden,
            known,
            candidates,
            hidden_rows,
            footer,
            fetched,
        })))
    }

    /// The part's rows `runs` (within one row group), from the pages that hold them, each page
    /// checked; the reads counted in `report`.
    async fn decode<T: Row>(
        &self,
        footer: &Arc<ParquetFooter>,
        runs: Runs,
        known: Option<Arc<Vec<(u64, Uuid)>>>,
        report: &Mutex<SelectionReport>,
    ) -> Result<Vec<T>> {
        let target = self.file.target;
        // Rows found by id: their ids are known, so the pages of ids are not fetched.
        // The chunk's rows are those of `known` between its first and last.
        let ids: Option<Vec<(u64, Uuid)>> = known.map(|known| {
            let (start, end) = (
                runs.first().map_or(0, |r| r.start),
                runs.last().map_or(0, |r| r.end),
            );
            let from = known.partition_point(|(row, _)| *row < start);
            let to = known.partition_point(|(row, _)| *row < end);
            known[from..to].to_vec()
        });
        let ranges = match &ids {
            Some(_) => footer.pages_of_rows_by_id(&runs),
            None => footer.pages_of_rows(&runs),
        }
        .map_err(|e| Error::codec(target, e))?;
        let ranges = self.layout.coalesce(ranges, COALESCE_GAP);
        let pieces = self.file.read_ranges(&self.file.claim.key, ranges).await?;
        if let Ok(mut report) = report.lock() {
            let mut read = Fetched::default();
            read.count(&pieces);
            report.reads += read.reads;
            report.bytes_read += read.bytes;
        }
        let (footer, layout) = (Arc::clone(footer), Arc::clone(&self.layout));
        blocking(move || match ids {
            Some(ids) => footer.decode_rows_by_id::<T>(&ids, pieces, &layout),
            None => footer.decode_pages::<T>(&runs, pieces, &layout),
        })
        .await?
        .map_err(|e| Error::codec(target, e))
    }

    /// The rows of `ids` in the part (those it holds), fetching the index pages that say.
    async fn find(&self, ids: Vec<Uuid>, fetched: &mut Fetched) -> Result<Vec<(Uuid, u64)>> {
        let Some(index) = &self.file.claim.index else {
            return Ok(Vec::new());
        };
        let ranges = (self.lookup.layout()).coalesce(self.lookup.pages_for(&ids), COALESCE_GAP);
        let pieces = self.file.read_ranges(&index.key, ranges).await?;
        fetched.count(&pieces);
        let lookup = Arc::clone(&self.lookup);
        blocking(move || lookup.find(&ids, pieces))
            .await?
            .map_err(|e| Error::codec(self.file.target, e))
    }

    /// The part's footer with its page index, from its tail, checked against the manifest;
    /// and the bytes read.
    async fn footer(&self) -> Result<(ParquetFooter, u64)> {
        let file = &self.file;
        let size = file.claim.size_bytes;
        let start = self.layout.tail_start(size);
        let tail = file.read_from(&file.claim.key, start..size).await?;
        let read = tail.len() as u64;
        let (limits, layout) = (*file.store.limits(), Arc::clone(&self.layout));
        let parsed =
            blocking(move || ParquetFooter::from_checked_tail(tail, size, &layout, &limits))
                .await?
                .map_err(|e| Error::codec(file.target, e))?;
        file.check_footer(&parsed)?;
        Ok((parsed, read))
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
