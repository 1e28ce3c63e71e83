//! End-to-end tests that cross crate boundaries live in this crate's `tests/` folder.
