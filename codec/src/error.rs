//! The codec's one error type.
//!
//! How errors are handled here, once for the whole crate:
//!
//! - **Caller's input** that can never become a snapshot (no documents, mixed dimensions, a
//!   non-finite float bound for JSON, a bad configuration) is [`Error::Validation`], naming the
//!   document by position and id so the caller can find it.
//! - **Bytes that are not a readable file** (truncated, bit-flipped, garbage, a footer that points
//!   outside the file) are [`Error::DataCorruption`]: the data was damaged after it was written.
//! - **A readable Parquet (or JSON) file that is not an akidb snapshot** (wrong columns, wrong
//!   types, footer keys missing) is [`Error::Decoding`].
//! - A file from a newer writer is [`Error::UnsupportedSchemaVersion`], and a file bigger than the
//!   caller's [`Limits`](crate::Limits) is [`Error::LimitExceeded`]: both are readable in principle,
//!   and the message says what to change.
//! - An encrypted file opened without the master key that wrapped its data key, or with another
//!   key under that key's id, is [`Error::EncryptionKey`], which names the key id (never a key).
//! - Errors from parquet, arrow and serde_json are boxed as `source`, so their types never become
//!   part of this crate's API and can change with their versions.
//! - Nothing panics on any input; where parquet itself might, the decoder checks first (see
//!   `decode::footer`).

use std::fmt;

use uuid::Uuid;

/// A boxed error from a library the codec uses (parquet, arrow, serde_json).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the nil UUID is refused wherever an id is given, after the id's name.
const NIL_UUID: &str = "is the nil UUID (all zeros), which names nothing: give a real id, such \
     as a UUID v7";

/// The refusal of the nil UUID as the id `name` (of `document`, where one is to blame).
pub(crate) fn nil_id(document: DocumentRef, name: &str) -> Error {
    Error::validation(document, format!("{name} {NIL_UUID}"))
}

/// `text` as the id `what` names: a UUID, not the nil one.
pub(crate) fn parse_id(what: &str, text: &str) -> Result<Uuid> {
    let refuse =
        |why: String| Error::validation(DocumentRef::NONE, format!("{what} `{text}` {why}"));
    match Uuid::parse_str(text) {
        Ok(id) if id.is_nil() => Err(refuse(NIL_UUID.to_owned())),
        Ok(id) => Ok(id),
        Err(e) => Err(refuse(format!(
            "is not a UUID ({e}); write one as 0193a5b0-0000-7000-8000-000000000001"
        ))),
    }
}

/// The codec's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when encoding, decoding or validating a snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input can never become a valid snapshot: fix the input or the configuration.
    #[error("invalid snapshot input: {document}{reason}")]
    Validation {
        /// Which document, when one is to blame.
        document: DocumentRef,
        /// What is wrong, in words a person can act on.
        reason: String,
    },

    /// The writer failed (for example the sink returned an I/O error).
    #[error("could not encode the snapshot: {message}")]
    Encoding {
        /// What the codec was doing.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// The bytes are a readable file, but not an akidb snapshot.
    #[error("not an akidb snapshot: {message}")]
    Decoding {
        /// What is missing or mistyped.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// The bytes are damaged: truncated, altered, or not the file they claim to be.
    #[error("snapshot data is corrupted: {message}")]
    DataCorruption {
        /// What does not add up.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// The file was written by a newer akidb-snapshot with a schema this version does not know.
    #[error(
        "snapshot schema version {found} is newer than this reader supports (up to {supported}); \
         upgrade akidb-snapshot to read it"
    )]
    UnsupportedSchemaVersion {
        /// The version the file declares.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// The file declares more than the reader's [`Limits`](crate::Limits) allow.
    #[error(
        "{what} is {value}, above the limit of {limit}; raise Limits::{field} if the file is trusted"
    )]
    LimitExceeded {
        /// What was measured, in words.
        what: &'static str,
        /// The `Limits` field that bounds it.
        field: &'static str,
        /// The value the file declares.
        value: u64,
        /// The limit in force.
        limit: u64,
    },

    /// The file is encrypted, and the master key that opens it was not given, or the key given
    /// under its id is another key. The message names the key id, never a key.
    #[error("{}", key_message(key_id, *given))]
    EncryptionKey {
        /// The id of the master key the file's data key is wrapped under.
        key_id: String,
        /// Whether a key with that id was given (and did not open the file).
        given: bool,
    },
}

fn key_message(key_id: &str, given: bool) -> String {
    if given {
        format!(
            "the master key given as `{key_id}` does not open this file: it is not the key the \
             file was encrypted with (a different key under the same id, or a damaged key file)"
        )
    } else {
        format!(
            "the file is encrypted under master key `{key_id}`, which was not given: give that \
             key to read it"
        )
    }
}

/// The kind of an [`Error`], stable across versions, for callers (the C API, the browser build)
/// that map errors to codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::Validation`].
    Validation,
    /// See [`Error::Encoding`].
    Encoding,
    /// See [`Error::Decoding`].
    Decoding,
    /// See [`Error::DataCorruption`].
    DataCorruption,
    /// See [`Error::UnsupportedSchemaVersion`].
    UnsupportedSchemaVersion,
    /// See [`Error::LimitExceeded`].
    LimitExceeded,
    /// See [`Error::EncryptionKey`].
    EncryptionKey,
}

impl Error {
    /// The kind of this error.
    ///
    /// ```
    /// use akidb_snapshot_codec::{decode_parquet, ErrorKind, Limits};
    ///
    /// let err = decode_parquet(bytes::Bytes::from_static(b"not parquet"), &Limits::default())
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::DataCorruption);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation { .. } => ErrorKind::Validation,
            Error::Encoding { .. } => ErrorKind::Encoding,
            Error::Decoding { .. } => ErrorKind::Decoding,
            Error::DataCorruption { .. } => ErrorKind::DataCorruption,
            Error::UnsupportedSchemaVersion { .. } => ErrorKind::UnsupportedSchemaVersion,
            Error::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Error::EncryptionKey { .. } => ErrorKind::EncryptionKey,
        }
    }

    pub(crate) fn validation(document: DocumentRef, reason: impl Into<String>) -> Self {
        Error::Validation {
            document,
            reason: reason.into(),
        }
    }

    pub(crate) fn encoding(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Encoding {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A writer used again after one of its writes failed.
    pub(crate) fn writer_failed() -> Self {
        Error::Encoding {
            message: "the writer failed earlier and its output is incomplete; start a new snapshot"
                .to_owned(),
            source: None,
        }
    }

    pub(crate) fn decoding(message: impl Into<String>) -> Self {
        Error::Decoding {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn corruption(message: impl Into<String>) -> Self {
        Error::DataCorruption {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn corruption_from(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::DataCorruption {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

/// Which document an [`Error::Validation`] is about, if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocumentRef {
    /// The document's position in the input, counted from 0 across all batches.
    pub position: Option<u64>,
    /// The document's id.
    pub document_id: Option<Uuid>,
}

impl DocumentRef {
    /// No particular document: the input as a whole.
    pub const NONE: DocumentRef = DocumentRef {
        position: None,
        document_id: None,
    };

    /// The document at `position` with id `document_id`.
    pub fn new(position: u64, document_id: Uuid) -> Self {
        DocumentRef {
            position: Some(position),
            document_id: Some(document_id),
        }
    }
}

impl fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.position, self.document_id) {
            (Some(p), Some(id)) => write!(f, "document #{p} (id {id}): "),
            (Some(p), None) => write!(f, "document #{p}: "),
            (None, Some(id)) => write!(f, "document {id}: "),
            (None, None) => Ok(()),
        }
    }
}
