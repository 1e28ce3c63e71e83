//! Result codes, error objects, and the guard every entry point runs in.

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use akidb_snapshot_codec as codec;

/// What a call did. `AKIDB_OK` is 0; errors start at 7001. Codes are stable: a retired code is
/// never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum akidb_result {
    /// Success.
    AKIDB_OK = 0,
    /// A required pointer argument was NULL.
    AKIDB_ERR_NULL_ARGUMENT = 7001,
    /// An argument is unusable: not UTF-8, an unknown enum value, a length that does not fit.
    AKIDB_ERR_INVALID_ARGUMENT = 7002,
    /// The documents can never become a snapshot: none, mixed dimensions, a non-finite float
    /// in JSON, invalid options.
    AKIDB_ERR_VALIDATION = 7003,
    /// The codec could not write the file.
    AKIDB_ERR_ENCODING = 7004,
    /// The codec could not read a file that is not damaged.
    AKIDB_ERR_DECODING = 7005,
    /// Size, checksum, count, dimension or structure mismatch; unreadable data.
    AKIDB_ERR_DATA_CORRUPTION = 7006,
    /// Written by a newer akidb-snapshot.
    AKIDB_ERR_UNSUPPORTED_SCHEMA_VERSION = 7007,
    /// The file declares more than the reader's limits allow.
    AKIDB_ERR_LIMIT_EXCEEDED = 7008,
    /// No such snapshot.
    AKIDB_ERR_NOT_FOUND = 7009,
    /// A write found its key taken; nothing was overwritten.
    AKIDB_ERR_ALREADY_EXISTS = 7010,
    /// The store failed (network, server, permission, timeout), after retries.
    AKIDB_ERR_STORAGE = 7011,
    /// A store URI or TOML configuration is not usable.
    AKIDB_ERR_CONFIG = 7012,
    /// A panic was caught at the boundary: a bug in akidb-snapshot.
    AKIDB_ERR_PANIC = 7013,
    /// Any other internal failure: a bug in akidb-snapshot.
    AKIDB_ERR_INTERNAL = 7014,
    /// The host's document stream (an Arrow stream) failed; nothing was committed.
    AKIDB_ERR_INPUT = 7015,
    /// The snapshot is encrypted, and the master key its data keys are wrapped under was not
    /// given, or another key was given under its id. The message names the key id.
    AKIDB_ERR_ENCRYPTION_KEY = 7016,
}

/// A failure: a code and a message. Free with `akidb_error_free`.
pub struct akidb_error {
    code: akidb_result,
    message: CString,
}

/// A failure on its way out of an entry point. It is also an error type, so that a failure
/// met inside a storage call (a host's Arrow stream) keeps its code through it.
#[derive(Debug)]
pub(crate) struct Failure {
    code: akidb_result,
    message: String,
}

impl Failure {
    pub(crate) fn new(code: akidb_result, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Failure::new(
            akidb_result::AKIDB_ERR_NULL_ARGUMENT,
            format!("`{argument}` must not be NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(akidb_result::AKIDB_ERR_INVALID_ARGUMENT, message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<codec::Error> for Failure {
    fn from(e: codec::Error) -> Self {
        Failure::new(akidb_result::of(e.kind().into()), e.to_string())
    }
}

impl From<storage::Error> for Failure {
    fn from(e: storage::Error) -> Self {
        if let storage::Error::Input { source, .. } = &e
            && let Some(failure) = source.downcast_ref::<Failure>()
        {
            return Failure::new(failure.code, e.to_string());
        }
        Failure::new(akidb_result::of(e.kind()), e.to_string())
    }
}

/// Runs an entry point's body: clears `*error_out`, catches a panic, and turns a failure into
/// its code and, when `error_out` is not NULL, a new error object.
pub(crate) fn guard(
    error_out: *mut *mut akidb_error,
    body: impl FnOnce() -> Result<(), Failure>,
) -> akidb_result {
    if !error_out.is_null() {
        // SAFETY: the caller passes NULL or a pointer to writable storage for one pointer.
        unsafe { *error_out = std::ptr::null_mut() };
    }
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return akidb_result::AKIDB_OK,
        Ok(Err(failure)) => failure,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Failure::new(
                akidb_result::AKIDB_ERR_PANIC,
                format!("internal panic: {what}"),
            )
        }
    };
    let code = failure.code;
    if !error_out.is_null() {
        let message = CString::new(failure.message.replace('\0', " ")).unwrap_or_default();
        let error = Box::new(akidb_error { code, message });
        // SAFETY: as above.
        unsafe { *error_out = Box::into_raw(error) };
    }
    code
}

/// The code of an error; `AKIDB_ERR_NULL_ARGUMENT` for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_error_code(error: *const akidb_error) -> akidb_result {
    // SAFETY: NULL or a pointer from this library, not yet freed.
    unsafe { error.as_ref() }.map_or(akidb_result::AKIDB_ERR_NULL_ARGUMENT, |e| e.code)
}

/// The message of an error, in UTF-8: valid until the error is freed. "" for NULL.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_error_message(error: *const akidb_error) -> *const c_char {
    // SAFETY: as above.
    match unsafe { error.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Frees an error. NULL is accepted.
///
/// # Safety
/// Pointer arguments are NULL or come from this library and are not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn akidb_error_free(error: *mut akidb_error) {
    // SAFETY: the header documents NULL or a handle from this library, freed once.
    unsafe { crate::handle::free_handle(error) }
}

impl akidb_result {
    /// The code of a failure of `kind`: the number the library's table of kinds gives it
    /// (`storage::ErrorKind::c_code`).
    fn of(kind: storage::ErrorKind) -> Self {
        let code = kind.c_code();
        Self::ALL
            .into_iter()
            .find(|r| *r as u32 == code)
            .unwrap_or(akidb_result::AKIDB_ERR_INTERNAL)
    }

    /// Every code, for turning a number back into a name.
    const ALL: [akidb_result; 17] = {
        use akidb_result::*;
        [
            AKIDB_OK,
            AKIDB_ERR_NULL_ARGUMENT,
            AKIDB_ERR_INVALID_ARGUMENT,
            AKIDB_ERR_VALIDATION,
            AKIDB_ERR_ENCODING,
            AKIDB_ERR_DECODING,
            AKIDB_ERR_DATA_CORRUPTION,
            AKIDB_ERR_UNSUPPORTED_SCHEMA_VERSION,
            AKIDB_ERR_LIMIT_EXCEEDED,
            AKIDB_ERR_NOT_FOUND,
            AKIDB_ERR_ALREADY_EXISTS,
            AKIDB_ERR_STORAGE,
            AKIDB_ERR_CONFIG,
            AKIDB_ERR_PANIC,
            AKIDB_ERR_INTERNAL,
            AKIDB_ERR_INPUT,
            AKIDB_ERR_ENCRYPTION_KEY,
        ]
    };
}

/// The name of a result code ("AKIDB_ERR_NOT_FOUND"): a static string, never freed; "unknown"
/// for a value that is not a code.
#[unsafe(no_mangle)]
pub extern "C" fn akidb_result_name(code: u32) -> *const c_char {
    // The names are the variants' own, made once as C strings.
    static NAMES: OnceLock<Vec<(u32, CString)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        akidb_result::ALL
            .iter()
            .map(|r| {
                (
                    *r as u32,
                    CString::new(format!("{r:?}")).unwrap_or_default(),
                )
            })
            .collect()
    });
    names
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(c"unknown".as_ptr(), |(_, name)| name.as_ptr())
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    #[test]
    fn every_code_has_its_own_name() {
        let name = |code| {
            // SAFETY: akidb_result_name returns a static C string.
            unsafe { CStr::from_ptr(akidb_result_name(code)) }
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(name(0), "AKIDB_OK");
        // Codes are contiguous from 7001; a new one must be added to `ALL` too.
        for code in 7001..=7016 {
            assert!(name(code).starts_with("AKIDB_ERR_"), "{code}");
        }
        assert_eq!(
            name(akidb_result::AKIDB_ERR_NOT_FOUND as u32),
            "AKIDB_ERR_NOT_FOUND"
        );
        assert_eq!(name(7017), "unknown");
        assert_eq!(akidb_result::ALL.len(), 17);
    }

    #[test]
    fn every_kind_of_the_library_has_its_own_code() {
        let codes: Vec<akidb_result> = storage::ErrorKind::all().map(akidb_result::of).collect();
        for (kind, code) in storage::ErrorKind::all().zip(&codes) {
            assert_eq!(
                *code as u32,
                kind.c_code(),
                "{kind:?} is a code of the header"
            );
        }
        let distinct: std::collections::BTreeSet<u32> = codes.iter().map(|c| *c as u32).collect();
        assert_eq!(distinct.len(), codes.len());
    }
}
