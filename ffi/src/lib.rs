//! The C API of akidb-snapshot. Its entry points arrive with the C API issue; the crate exists
//! now so the workspace layout of docs/DESIGN.md holds from the first commit.
