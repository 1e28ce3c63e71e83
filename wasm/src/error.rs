//! Codec errors as JavaScript `Error`s.

use std::error::Error as _;

use akidb_snapshot_codec::Error;
use wasm_bindgen::JsValue;

/// A JavaScript `Error` for `err`: `name` and `kind` are the codec's error kind
/// (`DataCorruption`, `Decoding`, …), `message` is its message followed by its causes, so the
/// console and the page show what went wrong and what to do without a Rust backtrace.
pub(crate) fn to_js(err: Error) -> JsValue {
    let kind = format!("{:?}", err.kind());
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    let error = js_sys::Error::new(&message);
    error.set_name(&kind);
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"kind".into(), &kind.into());
    error.into()
}
