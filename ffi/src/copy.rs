//! Copies of snapshots from one open store to another.

use storage::CopiedSnapshot;

use crate::error::{akidb_error, akidb_result, guard};
use crate::store::{akidb_store, collection, snapshot, store};

/// What `akidb_store_copy` did, summed over the snapshots it copied.
#[repr(C)]
#[derive(Debug, Default)]
pub struct akidb_copy_report {
    /// Snapshots committed at the destination by this call.
    pub snapshots_copied: u64,
    /// Snapshots the destination had committed already, left as they were.
    pub snapshots_present: u64,
    /// Files written to the destination.
    pub files_copied: u64,
    /// Files the destination held already, whole, and kept.
    pub files_present: u64,
    /// Bytes written to the destination.
    pub bytes_copied: u64,
}

impl akidb_copy_report {
    fn add(&mut self, copied: &CopiedSnapshot) {
        if copied.already_committed {
            self.snapshots_present += 1;
        } else {
            self.snapshots_copied += 1;
        }
        self.files_copied += copied.files_copied as u64;
        self.files_present += copied.files_present as u64;
        self.bytes_copied += copied.bytes_copied;
    }
}

/// Copies snapshot `snapshot_id` of a collection from the store `from` to the store `to` (another
/// bucket, region or cloud), or every snapshot of the collection, oldest first, when
/// `snapshot_id` is NULL. File by file, each checked by its SHA-256 at `to`, the commit marker
/// written last; a call again after an interruption copies only what is missing, and a snapshot
/// built on another copies only the parts `to` lacks. Nothing is written to `from`. When
/// `report_out` is not NULL, what was done is written there (also on failure: what was done
/// before it).
///
/// `AKIDB_ERR_NOT_FOUND` if `from` has no such snapshot; `AKIDB_ERR_DATA_CORRUPTION` if a file
/// at `from` is not what its commit marker says (nothing is committed at `to`).
///
/// # Safety
/// Every pointer is NULL or valid for the call as its documentation says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_store_copy(
    from: *const akidb_store,
    to: *const akidb_store,
    collection_id: *const [u8; 16],
    snapshot_id: *const [u8; 16],
    report_out: *mut akidb_copy_report,
    error_out: *mut *mut akidb_error,
) -> akidb_result {
    guard(error_out, || {
        let (from, to) = (store(from)?, store(to)?);
        let c = collection(collection_id)?;
        let one = match snapshot_id.is_null() {
            true => None,
            false => Some(snapshot(snapshot_id)?),
        };
        let mut report = akidb_copy_report::default();
        let (source, destination) = (from.backend.store(), to.backend.store());
        let copied = from.runtime.block_on(async {
            match one {
                Some(s) => source
                    .copy_snapshot(c, s, destination)
                    .await
                    .map(|copied| report.add(&copied)),
                None => source
                    .copy_collection(c, destination, |copied| report.add(copied))
                    .await
                    .map(drop),
            }
        });
        // SAFETY: NULL or writable storage for one struct.
        if let Some(out) = unsafe { report_out.as_mut() } {
            *out = report;
        }
        Ok(copied?)
    })
}
