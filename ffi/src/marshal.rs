//! Reading C arguments: every pointer checked for NULL, every string for UTF-8.

use std::ffi::{CStr, c_char};

use uuid::Uuid;

use crate::error::Failure;

/// `*ptr`, or a NULL-argument failure naming `name`.
pub(crate) fn reference<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the header documents every such argument as NULL or valid for the call.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// The place `ptr` points to, to write a result into.
pub(crate) fn out<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: as above, for writable storage.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// A 16-byte UUID argument.
pub(crate) fn uuid(ptr: *const [u8; 16], name: &str) -> Result<Uuid, Failure> {
    reference(ptr, name).map(|bytes| Uuid::from_bytes(*bytes))
}

/// A NUL-terminated UTF-8 string argument.
pub(crate) fn string<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: the header documents a NUL-terminated string valid for the call.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|e| Failure::invalid(format!("`{name}` is not valid UTF-8: {e}")))
}

/// `len` bytes at `data`.
pub(crate) fn bytes<'a>(data: *const u8, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if data.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: the header documents `len` readable bytes at `data` for the call.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// `len` elements at `data`, or `None` when `data` is NULL (an optional array).
pub(crate) fn optional_array<'a, T>(data: *const T, len: usize) -> Option<&'a [T]> {
    // SAFETY: the header documents NULL or `len` readable elements for the call.
    (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts(data, len) })
}

/// `count` UUIDs at `ids` (16 bytes each); NULL only when `count` is 0.
pub(crate) fn uuids(ids: *const [u8; 16], count: usize, name: &str) -> Result<Vec<Uuid>, Failure> {
    match optional_array(ids, count) {
        Some(ids) => Ok(ids.iter().map(|id| Uuid::from_bytes(*id)).collect()),
        None if count == 0 => Ok(Vec::new()),
        None => Err(Failure::null(name)),
    }
}
