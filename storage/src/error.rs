//! The storage layer's errors.
//!
//! Rules, written once here:
//! - An error keeps its kind from where it arose. The codec's kinds (validation, encoding,
//!   decoding, corruption, schema version, limits) pass through unchanged; the store's
//!   not-found and already-exists become [`Error::NotFound`] and [`Error::AlreadyExists`]; every
//!   other store failure is [`Error::Storage`] and says whether it was transient.
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
    /// A bug in this library.
    Internal,
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
            Error::Codec { source, .. } => match source.kind() {
                codec::ErrorKind::Validation => ErrorKind::Validation,
                codec::ErrorKind::Encoding => ErrorKind::Encoding,
                codec::ErrorKind::Decoding => ErrorKind::Decoding,
                codec::ErrorKind::DataCorruption => ErrorKind::DataCorruption,
                codec::ErrorKind::UnsupportedSchemaVersion => ErrorKind::UnsupportedSchemaVersion,
                codec::ErrorKind::LimitExceeded => ErrorKind::LimitExceeded,
                _ => ErrorKind::Decoding,
            },
            Error::DataCorruption { .. } => ErrorKind::DataCorruption,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Config { .. } => ErrorKind::Config,
            Error::Input { .. } => ErrorKind::Input,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn codec(target: Target, source: codec::Error) -> Self {
        Error::Codec { target, source }
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
    /// [`Error::NotFound`] and [`Error::AlreadyExists`].
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
            _ => Error::Storage {
                target,
                operation,
                key,
                source: Box::new(source),
            },
        }
    }
}
