//! The browser build of akidb-snapshot. Its wasm-bindgen entry points arrive with the browser
//! issue; the crate exists now so the workspace layout of docs/DESIGN.md holds from the first
//! commit.
