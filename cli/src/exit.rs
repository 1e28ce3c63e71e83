//! Errors as one line on stderr and an exit code per kind.

use std::path::PathBuf;

use akidb_snapshot::codec;
use akidb_snapshot::{Error, ErrorKind, StoreFailure};

/// What went wrong in the command line tool.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The library's error, with its kind.
    Snapshot(Box<Error>),
    /// The library's error about a document of the input, and where that document is.
    At(Box<Error>, String),
    /// The library's error about a snapshot file on disk (`inspect --file`, or a `.parquet` or
    /// `.json` input), not one in the store.
    LocalFile(Box<codec::Error>, PathBuf),
    /// An argument the library refused (an id that is not a UUID, or is the nil UUID).
    Argument(String),
    /// A file of the user's could not be read or written, or holds something unusable.
    File(String),
    /// Arguments that parse but do not make sense together.
    Usage(String),
    /// A bug.
    Internal(String),
}

/// Usage errors: clap's own, and arguments that do not make sense together.
const USAGE: u8 = 2;

impl CliError {
    pub(crate) fn local_file(path: &std::path::Path) -> impl FnOnce(codec::Error) -> Self {
        move |e| CliError::LocalFile(Box::new(e), path.to_owned())
    }

    pub(crate) fn file(message: impl Into<String>) -> Self {
        CliError::File(message.into())
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        CliError::Internal(message.into())
    }

    /// The kind this error is reported as.
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            CliError::Snapshot(e) | CliError::At(e, _) => Some(e.kind()),
            CliError::LocalFile(e, _) => Some(e.kind().into()),
            CliError::Argument(_) => Some(ErrorKind::Validation),
            CliError::File(_) => Some(ErrorKind::Input),
            CliError::Usage(_) => None,
            CliError::Internal(_) => Some(ErrorKind::Internal),
        }
    }

    /// The exit code: the library's number for the kind (`ErrorKind::exit_code`), or 2 for
    /// usage.
    pub(crate) fn code(&self) -> i32 {
        self.kind().map_or(USAGE, ErrorKind::exit_code).into()
    }

    /// What to do about it.
    fn hint(&self) -> &'static str {
        let Some(kind) = self.kind() else {
            return "see --help";
        };
        if let CliError::Snapshot(e) | CliError::At(e, _) = self
            && let Error::Storage { failure, .. } = e.as_ref()
        {
            match failure {
                StoreFailure::PermissionDenied => {
                    return "the store refused the credentials or they lack a permission: check \
                            AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy";
                }
                StoreFailure::RateLimited => {
                    return "the store is throttling requests beyond the retries: run again \
                            later, or with a lower --concurrency";
                }
                StoreFailure::ConfigInvalid => {
                    return "check the store URI: bucket, region (AWS_REGION) and endpoint \
                            (AWS_ENDPOINT_URL)";
                }
                _ => {}
            }
        }
        if let CliError::Snapshot(e) = self
            && let Error::Import {
                kind: ErrorKind::NotFound,
                ..
            } = e.as_ref()
        {
            return "`snapshot import` adopts files already in the store: copy the file there \
                    first, then name it by its location or key";
        }
        let local = matches!(self, CliError::LocalFile(..));
        match kind {
            ErrorKind::Validation if matches!(self, CliError::Argument(_)) => {
                "fix the argument; --help says what each one takes"
            }
            ErrorKind::Validation => "fix the input and run the command again",
            ErrorKind::NotFound => "`akidb-cli snapshot list --collection-id ID` shows what exists",
            ErrorKind::DataCorruption if local => {
                "the file is not readable Parquet: truncated, damaged, or another format"
            }
            ErrorKind::DataCorruption => {
                "this snapshot is damaged: restore another one and delete this one"
            }
            ErrorKind::Decoding => {
                "the file is readable but not in the snapshot schema; docs/FORMAT.md lists the \
                 columns and types a snapshot has"
            }
            ErrorKind::UnsupportedSchemaVersion => {
                "the snapshot was written by a newer akidb-snapshot: upgrade akidb-cli"
            }
            ErrorKind::LimitExceeded => "the file is larger than the reader allows",
            ErrorKind::Storage => {
                "check the store URI, the network and the credentials (AWS_* variables); \
                 transient failures were already retried"
            }
            ErrorKind::AlreadyExists => "nothing was overwritten; run the command again",
            ErrorKind::Config => "fix --store or the --config file",
            ErrorKind::Input if matches!(self, CliError::File(_)) => {
                "check the path and the file's contents"
            }
            ErrorKind::Input => "fix the input file and run the command again",
            ErrorKind::EncryptionKey => {
                "give the master key the message names: --encryption-key-id ID with \
                 --encryption-key-file PATH or AKIDB_ENCRYPTION_KEY, or --read-key ID=PATH for \
                 an older key (docs/ENCRYPTION.md)"
            }
            ErrorKind::Encoding => {
                "the snapshot could not be written from this input; the message says which part"
            }
            _ => "please report this bug, with the command that printed it",
        }
    }
}

/// The exit codes, one line per kind, for `--help`: made from the library's table.
pub(crate) fn exit_codes_help() -> String {
    let mut codes: Vec<(u8, &str)> = ErrorKind::all()
        .map(|k| (k.exit_code(), k.name()))
        .collect();
    codes.push((USAGE, "usage"));
    codes.sort();
    let list: String = codes
        .iter()
        .map(|(c, n)| format!("\n  {c:>2} {n}"))
        .collect();
    format!("Exit codes (docs/TROUBLESHOOTING.md):\n   0 success{list}")
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Snapshot(e) => write!(f, "{e}"),
            CliError::At(e, at) => write!(f, "{e} (at {at})"),
            CliError::LocalFile(e, path) => write!(f, "{}: {e}", path.display()),
            CliError::Argument(m)
            | CliError::File(m)
            | CliError::Usage(m)
            | CliError::Internal(m) => f.write_str(m),
        }
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Snapshot(Box::new(e))
    }
}

/// Prints the error as one line, `akidb-cli: error: WHAT (HINT)`, and exits with its code.
pub(crate) fn fail(error: &CliError) -> ! {
    let text = error.to_string().replace('\n', " ");
    eprintln!("akidb-cli: error: {text} (hint: {})", error.hint());
    std::process::exit(error.code())
}
