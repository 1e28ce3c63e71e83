//! Vectors for the codec bench, the storage benches and the `local_snapshot` example (each
//! includes this file): random ones from a fixed seed, and the real embeddings of ../shared/data.

use std::path::{Path, PathBuf};

/// The folder of the real embedding set: `AKIDB_DATA`, or ../shared/data beside the project.
pub(crate) fn data_dir() -> PathBuf {
    let dir = std::env::var_os("AKIDB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    dir.canonicalize().unwrap_or(dir)
}

/// `rows` vectors of `dimension` floats uniform in [-1, 1), from a fixed-seed xorshift:
/// incompressible mantissas, like the random matrices of the pyarrow reference figures.
pub(crate) fn random_vectors(rows: usize, dimension: usize) -> Vec<Vec<f32>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    (0..rows)
        .map(|_| (0..dimension).map(|_| next()).collect())
        .collect()
}

/// The 10,000 × 384 MiniLM sentence embeddings and their sentences, if the files are there.
pub(crate) fn minilm() -> Option<(Vec<Vec<f32>>, Vec<String>)> {
    let dir = data_dir();
    let bytes = std::fs::read(dir.join("minilm-10k-384.npy")).ok()?;
    let npy = npyz::NpyFile::new(&bytes[..]).ok()?;
    let dimension = *npy.shape().get(1)? as usize;
    let floats: Vec<f32> = npy.into_vec().ok()?;
    let text = std::fs::read_to_string(dir.join("minilm-10k-384.txt")).unwrap_or_default();
    Some((
        floats.chunks(dimension).map(<[f32]>::to_vec).collect(),
        text.lines().map(str::to_owned).collect(),
    ))
}
