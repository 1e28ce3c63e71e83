//! `SnapshotFile`: one file of either format, paged, summarised and verified.

mod common;

use akidb_snapshot_codec::*;
use common::*;
use proptest::prelude::*;

fn open(bytes: Vec<u8>) -> Result<SnapshotFile> {
    SnapshotFile::open(bytes.into(), &Limits::default())
}

/// The rows `start..end` of `docs` that a page asks for, clipped as the file clips them.
fn clipped(docs: &[VectorDocument], start: u64, end: u64) -> &[VectorDocument] {
    let end = (end as usize).min(docs.len());
    &docs[(start as usize).min(end)..end]
}

/// Statistics computed the obvious way, in one pass over everything, to compare with.
fn naive_stats(docs: &[VectorDocument]) -> (Vec<(f64, f64)>, Vec<f64>, u64) {
    let dim = docs[0].vector.len();
    let per_dim = (0..dim)
        .map(|d| {
            let xs: Vec<f64> = docs
                .iter()
                .map(|doc| f64::from(doc.vector[d]))
                .filter(|x| x.is_finite())
                .collect();
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            (mean, var.sqrt())
        })
        .collect();
    let norms = docs
        .iter()
        .filter(|doc| doc.vector.iter().all(|x| x.is_finite()))
        .map(|doc| {
            doc.vector
                .iter()
                .map(|&x| f64::from(x).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let non_finite = docs
        .iter()
        .flat_map(|doc| &doc.vector)
        .filter(|x| !x.is_finite())
        .count() as u64;
    (per_dim, norms, non_finite)
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_page_is_the_same_rows_in_either_format(
        docs in collection(finite_f32(), RFC3339_MILLIS, 8, 80),
        config in any_config(),
        start in 0..100u64,
        len in 0..100u64,
    ) {
        let (parquet, _) = encode_parquet(&docs, &header(), &config).unwrap();
        let (json, _) = encode_json(&docs, &header()).unwrap();
        for bytes in [parquet, json] {
            let file = open(bytes).unwrap();
            prop_assert_eq!(file.vector_count(), docs.len() as u64);
            prop_assert_eq!(file.dimension() as usize, docs[0].vector.len());
            prop_assert_eq!(file.header(), Some(&header()));
            let page = file.documents(start..start + len).unwrap();
            assert_same(&page, clipped(&docs, start, start + len));
        }
    }

    #[test]
    fn stats_agree_with_a_naive_pass(
        docs in collection(any_f32(), RFC3339_MILLIS, 6, 60),
        config in any_config(),
        bins in 1..40usize,
    ) {
        let (parquet, _) = encode_parquet(&docs, &header(), &config).unwrap();
        let stats = open(parquet).unwrap().vector_stats(bins).unwrap();
        let (per_dim, norms, non_finite) = naive_stats(&docs);

        prop_assert_eq!(stats.vectors, docs.len() as u64);
        prop_assert_eq!(stats.non_finite_values, non_finite);
        prop_assert_eq!(stats.vectors_with_non_finite, (docs.len() - norms.len()) as u64);
        for (got, (mean, std)) in stats.dimensions.iter().zip(&per_dim) {
            prop_assert!(close(got.mean, *mean), "mean {} vs {}", got.mean, mean);
            prop_assert!(close(got.std_dev, *std), "std {} vs {}", got.std_dev, std);
        }
        prop_assert_eq!(stats.norms.counts.len(), bins);
        prop_assert_eq!(stats.norms.counts.iter().sum::<u64>(), norms.len() as u64);
        if let Some(max) = norms.iter().copied().reduce(f64::max) {
            prop_assert!(close(stats.norms.max, max));
            prop_assert!(close(stats.norms.min, norms.iter().copied().fold(f64::MAX, f64::min)));
        }
    }
}

#[test]
fn stats_are_the_same_for_either_format() {
    let docs = docs(50, 4);
    let (parquet, _) = encode_parquet(
        &docs,
        &header(),
        &ParquetConfig::default().with_row_group_size(7),
    )
    .unwrap();
    let (json, _) = encode_json(&docs, &header()).unwrap();
    let from_parquet = open(parquet).unwrap().vector_stats(10).unwrap();
    let from_json = open(json).unwrap().vector_stats(10).unwrap();
    assert_eq!(from_parquet, from_json);
    assert_eq!(from_parquet.norms.counts.iter().sum::<u64>(), 50);
}

#[test]
fn equal_norms_fall_in_the_first_bin() {
    let mut builder = VectorStatsBuilder::new(2);
    for _ in 0..3 {
        builder.add(&[3.0, 4.0]).unwrap();
    }
    let stats = builder.finish(5);
    assert_eq!((stats.norms.min, stats.norms.max), (5.0, 5.0));
    assert_eq!(stats.norms.counts, [3, 0, 0, 0, 0]);
    assert_eq!(stats.dimensions[1].std_dev, 0.0);
}

#[test]
fn a_dimension_with_no_finite_value_has_no_mean() {
    let mut builder = VectorStatsBuilder::new(2);
    builder.add(&[f32::INFINITY, 1.0]).unwrap();
    builder.add(&[f32::NAN, 2.0]).unwrap();
    let stats = builder.finish(3);
    assert!(stats.dimensions[0].mean.is_nan() && stats.dimensions[0].std_dev.is_nan());
    assert_eq!(stats.dimensions[1].mean, 1.5);
    assert_eq!(stats.norms.counts, [0, 0, 0]);
    assert!(stats.norms.min.is_nan());
    assert_eq!(stats.vectors_with_non_finite, 2);
}

#[test]
fn a_vector_of_the_wrong_length_is_refused() {
    let mut builder = VectorStatsBuilder::new(3);
    builder.add(&[1.0, 2.0, 3.0]).unwrap();
    let err = builder.add(&[1.0]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(
        err.to_string(),
        "invalid snapshot input: document #1: the vector has dimension 1, but the statistics are \
         of dimension 3"
    );
}

#[test]
fn verify_returns_the_digest_and_checks_the_expected_one() {
    let (bytes, summary) =
        encode_parquet(&docs(20, 3), &header(), &ParquetConfig::default()).unwrap();
    let file = open(bytes).unwrap();
    assert_eq!(file.verify(None).unwrap(), summary.checksum_sha256);
    assert_eq!(
        file.verify(Some(&summary.checksum_sha256)).unwrap(),
        summary.checksum_sha256
    );
    let other = Sha256Digest::of(b"another file");
    let err = file.verify(Some(&other)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataCorruption);
    assert!(err.to_string().contains(&other.to_string()), "{err}");
}

#[test]
fn verify_decodes_every_row_group() {
    let config = ParquetConfig::default().with_row_group_size(10);
    let (mut bytes, _) = encode_parquet(&docs(30, 3), &header(), &config).unwrap();
    // The footer still reads, but the last row group's first page header is garbage.
    let info = inspect_parquet(&bytes, &Limits::default()).unwrap();
    let start = info.row_groups[2].byte_range.start as usize;
    bytes[start..start + 8].fill(0xff);
    let file = open(bytes).unwrap();
    assert_eq!(file.documents(0..20).unwrap().len(), 20);
    assert_eq!(
        file.verify(None).unwrap_err().kind(),
        ErrorKind::DataCorruption
    );
    assert_eq!(
        file.vector_stats(4).unwrap_err().kind(),
        ErrorKind::DataCorruption
    );
}

#[test]
fn what_is_not_a_snapshot_is_told_apart() {
    for (bytes, kind) in [
        (&b""[..], ErrorKind::DataCorruption),
        (b"  \n", ErrorKind::DataCorruption),
        (b"\x89PNG\r\n", ErrorKind::DataCorruption),
        (b"PAR1 and then nothing", ErrorKind::DataCorruption),
        (b"{\"documents\": []}", ErrorKind::Decoding),
        (b"{\"documents\": [", ErrorKind::DataCorruption),
    ] {
        assert_eq!(open(bytes.to_vec()).unwrap_err().kind(), kind, "{bytes:?}");
    }
}

#[test]
fn a_json_file_is_held_to_the_row_limit() {
    let (json, _) = encode_json(&docs(5, 2), &header()).unwrap();
    let mut limits = Limits::default();
    limits.max_rows = 4;
    let err = SnapshotFile::open(json.into(), &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
}

#[test]
fn only_parquet_has_footer_details() {
    let (parquet, _) = encode_parquet(&docs(3, 2), &header(), &ParquetConfig::default()).unwrap();
    let (json, _) = encode_json(&docs(3, 2), &header()).unwrap();
    let parquet = open(parquet).unwrap();
    let json = open(json).unwrap();
    assert_eq!(parquet.format(), SnapshotFormat::Parquet);
    assert_eq!(json.format(), SnapshotFormat::Json);
    assert_eq!(parquet.parquet_info().unwrap().vector_count, 3);
    assert!(json.parquet_info().is_none());
    assert!(json.file_bytes() > 0);
}
