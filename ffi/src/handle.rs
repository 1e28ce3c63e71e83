//! Values handed to C as owned pointers, and taken back by their `*_free`.

/// Hands a value to C as a handle, which its `*_free` gives back to [`free_handle`].
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Drops what `handle` holds; NULL is accepted.
///
/// # Safety
/// `handle` is NULL or came from [`into_handle`] and was not freed yet.
pub(crate) unsafe fn free_handle<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: the caller's promise: a live handle from `into_handle`.
        drop(unsafe { Box::from_raw(handle) });
    }
}
