//! Errors as one line on stderr and an exit code per kind.

use akidb_snapshot::{Error, ErrorKind};

/// What went wrong in the command line tool.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The library's error, with its kind.
    Snapshot(Box<Error>),
    /// The library's error about a document of the input, and where that document is.
    At(Box<Error>, String),
    /// A file of the user's could not be read or written, or holds something unusable.
    File(String),
    /// Arguments that parse but do not make sense together.
    Usage(String),
    /// A bug.
    Internal(String),
}

impl CliError {
    pub(crate) fn file(message: impl Into<String>) -> Self {
        CliError::File(message.into())
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        CliError::Internal(message.into())
    }

    /// The exit code: one per kind, documented in `--help`.
    pub(crate) fn code(&self) -> i32 {
        match self {
            CliError::Snapshot(e) | CliError::At(e, _) => match e.kind() {
                ErrorKind::Validation => 3,
                ErrorKind::NotFound => 4,
                ErrorKind::DataCorruption
                | ErrorKind::Decoding
                | ErrorKind::UnsupportedSchemaVersion
                | ErrorKind::LimitExceeded => 5,
                ErrorKind::Storage | ErrorKind::AlreadyExists => 6,
                ErrorKind::Config => 7,
                ErrorKind::Input => 8,
                _ => 1,
            },
            CliError::File(_) => 8,
            CliError::Usage(_) => 2,
            CliError::Internal(_) => 1,
        }
    }

    /// What to do about it.
    fn hint(&self) -> &'static str {
        match self {
            CliError::Snapshot(e) | CliError::At(e, _) => match e.kind() {
                ErrorKind::Validation => "fix the input and run the command again",
                ErrorKind::NotFound => {
                    "`akidb-cli snapshot list --collection-id ID` shows what exists"
                }
                ErrorKind::DataCorruption | ErrorKind::Decoding => {
                    "this snapshot is damaged: restore another one and delete this one"
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
                ErrorKind::Input => "fix the input file and run the command again",
                _ => "please report this bug",
            },
            CliError::File(_) => "check the path and the file's contents",
            CliError::Usage(_) => "see --help",
            CliError::Internal(_) => "please report this bug",
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Snapshot(e) => write!(f, "{e}"),
            CliError::At(e, at) => write!(f, "{e} (at {at})"),
            CliError::File(m) | CliError::Usage(m) | CliError::Internal(m) => f.write_str(m),
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
