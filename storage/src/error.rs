//! The storage layer's errors.
//!
//! Rules, written once here:
//! - An error keeps its kind from where it arose. The codec's kinds (validation, encoding,
//!   decoding, corruption, schema version, limits) pass through unchanged; the store's
//!   not-found and already-exists become [`Error::NotFound`] and [`Error::AlreadyExists`]; every
//!   other store failure is [`Error::Storage`], which keeps what kind of failure the store
//!   reported ([`StoreFailure`]: refused credentials, throttling, a wrong configuration, …).
//! - Context (which collection, which snapshot, which key) is attached, not re-wrapped into a
//!   new kind: `Error::kind` of a codec failure during restore is still the codec's kind.
//! - A committed snapshot whose data file is missing, or whose bytes disagree with its metadata,
//!   is [`Error::DataCorruption`], never `NotFound`: the snapshot exists and is damaged. So is a
//!   codec failure on bytes that are not the committed ones (their SHA-256 decides). Only when
//!   the metadata file has gone too (a delete ran meanwhile) is a missing data file `NotFound`.
//! - Retries happen inside the store layer (opendal's `RetryLayer`); an error that reaches a
//!   caller has already been retried if it was transient.

use std::fmt;

use akidb_snapshot_codec::{self as codec, CollectionId, SnapshotId};

/// A boxed error from a library the storage layer uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The storage layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which snapshot an error concerns, when one is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target {
    /// The collection.
    pub collection_id: Option<CollectionId>,
    /// The snapshot.
    pub snapshot_id: Option<SnapshotId>,
}

impl Target {
    /// A snapshot of a collection.
    pub fn snapshot(collection_id: CollectionId, snapshot_id: SnapshotId) -> Self {
        Target {
            collection_id: Some(collection_id),
            snapshot_id: Some(snapshot_id),
        }
    }

    /// A whole collection.
    pub fn collection(collection_id: CollectionId) -> Self {
        Target {
            collection_id: Some(collection_id),
            snapshot_id: None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.snapshot_id, self.collection_id) {
            (Some(s), Some(c)) => write!(f, "snapshot {s} of collection {c}"),
            (Some(s), None) => write!(f, "snapshot {s}"),
            (None, Some(c)) => write!(f, "collection {c}"),
            (None, None) => f.write_str("the store"),
        }
    }
}

/// Everything that can go wrong when creating, restoring, listing or deleting snapshots.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The codec refused the input or the file; [`Error::kind`] gives the codec's kind.
    #[error("{target}: {source}")]
    Codec {
        /// Which snapshot.
        target: Target,
        /// What the codec said.
        #[source]
        source: codec::Error,
    },
    /// The store holds a committed snapshot whose data disagrees with its metadata file.
    #[error("{target} is corrupted: {reason}")]
    DataCorruption {
        /// Which snapshot.
        target: Target,
        /// What does not match.
        reason: String,
    },
    /// No such snapshot: its metadata file is not in the store.
    #[error("{target} was not found (nothing committed at {key})")]
    NotFound {
        /// Which snapshot.
        target: Target,
        /// The key that was looked up.
        key: String,
    },
    /// A write would have replaced an existing object; nothing was overwritten.
    #[error("{target}: {key} already exists and was left untouched")]
    AlreadyExists {
        /// Which snapshot.
        target: Target,
        /// The key that exists.
        key: String,
    },
    /// The store failed (network, server error, throttling, permission, timeout).
    #[error("{target}: the store failed to {operation} {key}: {source}")]
    Storage {
        /// Which snapshot.
        target: Target,
        /// What was being done: "read", "write", "list", "delete", "stat".
        operation: &'static str,
        /// The key or prefix.
        key: String,
        /// What kind of failure the store reported.
        failure: StoreFailure,
        /// The store's error.
        #[source]
        source: BoxError,
    },
    /// The document stream handed to a create failed; nothing was committed.
    #[error("{target} was not created, the input failed: {source}")]
    Input {
        /// Which snapshot was being created.
        target: Target,
        /// The input's error.
        #[source]
        source: BoxError,
    },
    /// A file given to [`import_parts`](crate::SnapshotStore::import_parts) cannot become a
    /// part: it is missing, is not Parquet in the snapshot schema, or repeats a document id.
    /// Nothing was committed.
    #[error("{target}: {key} cannot be imported: {reason}")]
    Import {
        /// The snapshot being made.
        target: Target,
        /// The file, as given.
        key: String,
        /// What kind of problem the file has (not found, decoding, validation, …).
        kind: ErrorKind,
        /// What is wrong, naming the column or document where one is known.
        reason: String,
    },
    /// A strict partial restore asked for documents the snapshot does not hold; nothing was
    /// restored.
    #[error("{target} does not hold {count} of the documents asked for, among them {first}")]
    MissingDocuments {
        /// Which snapshot.
        target: Target,
        /// How many ids and external ids are missing.
        count: usize,
        /// The first few of them.
        first: String,
    },
    /// A bug in this library (a task panicked or was cancelled); please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
    /// The configuration or store URI is not usable.
    #[error("invalid storage configuration: {reason}")]
    Config {
        /// What is wrong and how to fix it.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

/// What kind of failure the store reported for an [`Error::Storage`], so that a caller can say
/// what to do about it: fix the credentials, slow down, fix the store's configuration.
///
/// ```
/// use akidb_snapshot::StoreFailure;
///
/// assert_eq!(StoreFailure::of(opendal::ErrorKind::PermissionDenied), StoreFailure::PermissionDenied);
/// assert_eq!(StoreFailure::of(opendal::ErrorKind::Unexpected), StoreFailure::Unexpected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreFailure {
    /// The store refused the credentials, or they lack a permission (an HTTP 403).
    PermissionDenied,
    /// The store asked for fewer requests (an HTTP 429, S3's SlowDown) for longer than the
    /// retries waited.
    RateLimited,
    /// The store's configuration is wrong: bucket, region, endpoint.
    ConfigInvalid,
    /// The store does not do what was asked of it.
    Unsupported,
    /// Anything else: a network failure, a server error, a timeout.
    Unexpected,
}

impl StoreFailure {
    /// The failure opendal's `kind` names.
    pub fn of(kind: opendal::ErrorKind) -> Self {
        match kind {
            opendal::ErrorKind::PermissionDenied => StoreFailure::PermissionDenied,
            opendal::ErrorKind::RateLimited => StoreFailure::RateLimited,
            opendal::ErrorKind::ConfigInvalid => StoreFailure::ConfigInvalid,
            opendal::ErrorKind::Unsupported => StoreFailure::Unsupported,
            _ => StoreFailure::Unexpected,
        }
    }
}

/// The kind of an [`Error`], stable across versions, for callers that map errors to codes
/// (the C API, the CLI's exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input can never become a valid snapshot (empty, mixed dimensions, bad config value).
    Validation,
    /// The codec could not write the file.
    Encoding,
    /// The codec could not read a file that is not damaged.
    Decoding,
    /// Size, checksum, count, dimension or structure mismatch; unreadable data.
    DataCorruption,
    /// A snapshot written by a newer version.
    UnsupportedSchemaVersion,
    /// A file declares more than the reader's limits.
    LimitExceeded,
    /// No such snapshot.
    NotFound,
    /// A write found its key taken.
    AlreadyExists,
    /// The store failed.
    Storage,
    /// Configuration or URI.
    Config,
    /// The caller's document stream failed.
    Input,
    /// An encrypted snapshot was read without the master key its data keys are wrapped under,
    /// or with another key under that key's id.
    EncryptionKey,
    /// A bug in this library.
    Internal,
}

/// The one table of error kinds and the numbers they have outside Rust: `akidb-cli`'s exit code
/// and the C API's result code (`akidb_result` in `akidb_snapshot.h`). The CLI's codes and
/// `--help`, the C API's mapping and docs/TROUBLESHOOTING.md all derive from it. A number, once
/// given, is never reused for another kind. Exit code 2 is the CLI's own (usage), and the C API
/// has codes of its own for NULL and unusable arguments and caught panics.
const KINDS: [KindCodes; 13] = [
    KindCodes::new(ErrorKind::Internal, "internal error", 1, 7014),
    KindCodes::new(ErrorKind::Validation, "invalid input", 3, 7003),
    KindCodes::new(ErrorKind::NotFound, "not found", 4, 7009),
    KindCodes::new(ErrorKind::DataCorruption, "corrupted data", 5, 7006),
    KindCodes::new(ErrorKind::Storage, "store failure", 6, 7011),
    KindCodes::new(ErrorKind::Config, "configuration", 7, 7012),
    KindCodes::new(ErrorKind::Input, "input failed", 8, 7015),
    KindCodes::new(ErrorKind::Decoding, "not a snapshot", 9, 7005),
    KindCodes::new(
        ErrorKind::UnsupportedSchemaVersion,
        "newer format",
        10,
        7007,
    ),
    KindCodes::new(ErrorKind::LimitExceeded, "over a limit", 11, 7008),
    KindCodes::new(ErrorKind::AlreadyExists, "already exists", 12, 7010),
    KindCodes::new(ErrorKind::Encoding, "encoding failed", 13, 7004),
    KindCodes::new(ErrorKind::EncryptionKey, "encryption key", 14, 7016),
];

/// A row of [`KINDS`].
#[derive(Debug, Clone, Copy)]
struct KindCodes {
    kind: ErrorKind,
    name: &'static str,
    exit_code: u8,
    c_code: u32,
}

impl KindCodes {
    const fn new(kind: ErrorKind, name: &'static str, exit_code: u8, c_code: u32) -> Self {
        KindCodes {
            kind,
            name,
            exit_code,
            c_code,
        }
    }
}

impl ErrorKind {
    /// Every kind, in the order of its exit code.
    ///
    /// ```
    /// use akidb_snapshot::ErrorKind;
    ///
    /// let codes: std::collections::BTreeSet<u8> = ErrorKind::all().map(ErrorKind::exit_code).collect();
    /// assert_eq!(codes.len(), ErrorKind::all().count(), "one exit code per kind");
    /// assert_eq!(ErrorKind::NotFound.exit_code(), 4);
    /// assert_eq!(ErrorKind::NotFound.name(), "not found");
    /// ```
    pub fn all() -> impl Iterator<Item = ErrorKind> {
        KINDS.iter().map(|row| row.kind)
    }

    fn codes(self) -> KindCodes {
        // Every kind has a row; `every_kind_has_one_row` below holds the table to that.
        KINDS
            .iter()
            .copied()
            .find(|row| row.kind == self)
            .unwrap_or(KINDS[0])
    }

    /// A short name for the kind, as help text and tables print it.
    pub fn name(self) -> &'static str {
        self.codes().name
    }

    /// The exit code of `akidb-cli` for a failure of this kind.
    pub fn exit_code(self) -> u8 {
        self.codes().exit_code
    }

    /// The C API's result code for a failure of this kind (`AKIDB_ERR_*`).
    pub fn c_code(self) -> u32 {
        self.codes().c_code
    }
}

impl From<codec::ErrorKind> for ErrorKind {
    fn from(kind: codec::ErrorKind) -> Self {
        match kind {
            codec::ErrorKind::Validation => ErrorKind::Validation,
            codec::ErrorKind::Encoding => ErrorKind::Encoding,
            codec::ErrorKind::Decoding => ErrorKind::Decoding,
            codec::ErrorKind::DataCorruption => ErrorKind::DataCorruption,
            codec::ErrorKind::UnsupportedSchemaVersion => ErrorKind::UnsupportedSchemaVersion,
            codec::ErrorKind::LimitExceeded => ErrorKind::LimitExceeded,
            codec::ErrorKind::EncryptionKey => ErrorKind::EncryptionKey,
            _ => ErrorKind::Decoding,
        }
    }
}

impl Error {
    /// The kind of this error.
    ///
    /// ```
    /// use akidb_snapshot::{ErrorKind, StorageBackend};
    ///
    /// let err = StorageBackend::open("ftp://example").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Codec { source, .. } => source.kind().into(),
            Error::DataCorruption { .. } => ErrorKind::DataCorruption,
            Error::NotFound { .. } | Error::MissingDocuments { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Config { .. } => ErrorKind::Config,
            // A snapshot read as the input of another (a migration) without its key: what
            // fixes it is the key, so it is told as such.
            Error::Input { source, .. }
                if source
                    .downcast_ref::<Error>()
                    .is_some_and(|e| e.kind() == ErrorKind::EncryptionKey) =>
            {
                ErrorKind::EncryptionKey
            }
            Error::Input { .. } => ErrorKind::Input,
            Error::Internal { .. } => ErrorKind::Internal,
            Error::Import { kind, .. } => *kind,
        }
    }

    pub(crate) fn codec(target: Target, source: codec::Error) -> Self {
        Error::Codec { target, source }
    }

    /// A request that can never succeed as made, in the codec's words for one.
    pub(crate) fn validation(target: Target, reason: impl Into<String>) -> Self {
        Error::Codec {
            target,
            source: codec::Error::Validation {
                document: codec::DocumentRef::NONE,
                reason: reason.into(),
            },
        }
    }

    pub(crate) fn corruption(target: Target, reason: impl Into<String>) -> Self {
        Error::DataCorruption {
            target,
            reason: reason.into(),
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn config_from(reason: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Config {
            reason: reason.into(),
            source: Some(source.into()),
        }
    }

    /// A store error on `key`, keeping its kind: not-found and condition failures become
    /// [`Error::NotFound`] and [`Error::AlreadyExists`], the others [`Error::Storage`] with
    /// their [`StoreFailure`].
    pub(crate) fn store(
        target: Target,
        operation: &'static str,
        key: &str,
        source: opendal::Error,
    ) -> Self {
        let key = key.to_owned();
        match source.kind() {
            opendal::ErrorKind::NotFound => Error::NotFound { target, key },
            opendal::ErrorKind::AlreadyExists | opendal::ErrorKind::ConditionNotMatch => {
                Error::AlreadyExists { target, key }
            }
            kind => Error::Storage {
                target,
                operation,
                key,
                failure: StoreFailure::of(kind),
                source: Box::new(source),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_its_own_numbers() {
        use ErrorKind::*;
        let every = [
            Validation,
            Encoding,
            Decoding,
            DataCorruption,
            UnsupportedSchemaVersion,
            LimitExceeded,
            NotFound,
            AlreadyExists,
            Storage,
            Config,
            Input,
            Internal,
            EncryptionKey,
        ];
        for kind in every {
            assert_eq!(
                KINDS.iter().filter(|row| row.kind == kind).count(),
                1,
                "{kind:?}"
            );
        }
        assert_eq!(KINDS.len(), every.len());
        let exits: std::collections::BTreeSet<_> = KINDS.iter().map(|r| r.exit_code).collect();
        let cs: std::collections::BTreeSet<_> = KINDS.iter().map(|r| r.c_code).collect();
        assert_eq!((exits.len(), cs.len()), (KINDS.len(), KINDS.len()));
        // 0 is success and 2 the CLI's usage errors.
        assert!(!exits.contains(&0) && !exits.contains(&2));
    }

    #[test]
    fn the_troubleshooting_table_is_this_table() {
        let page = include_str!("../../docs/TROUBLESHOOTING.md");
        let (_, table) = page.split_once("<!-- error-kinds -->").unwrap();
        let (table, _) = table.split_once("<!-- /error-kinds -->").unwrap();
        let rows: Vec<(u8, u32, String)> = table
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                Some((
                    cells.get(1)?.parse().ok()?,
                    cells[2].parse().ok()?,
                    cells[3].to_owned(),
                ))
            })
            .collect();
        let mut expected: Vec<(u8, u32, String)> = KINDS
            .iter()
            .map(|r| (r.exit_code, r.c_code, format!("{:?}", r.kind)))
            .collect();
        expected.sort();
        assert_eq!(rows, expected);
    }
}
