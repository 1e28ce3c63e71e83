//! Summary statistics of a collection's vectors, gathered one batch at a time so that a file of
//! any size is summarised in the memory of one row group (plus one norm, an `f64`, per vector).

use arrow_array::RecordBatch;

use crate::error::{DocumentRef, Error, Result};
use crate::record_batch::{Origin, SnapshotColumns};

/// Per-dimension mean and standard deviation, a histogram of L2 norms and a count of non-finite
/// values, built by [`VectorStatsBuilder`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VectorStats {
    /// Vectors seen.
    pub vectors: u64,
    /// One entry per dimension, in order.
    pub dimensions: Vec<DimensionStats>,
    /// The L2 norms of the vectors whose values are all finite.
    pub norms: NormHistogram,
    /// NaN and infinite values, over every vector and dimension.
    pub non_finite_values: u64,
    /// Vectors holding at least one non-finite value (left out of [`Self::norms`]).
    pub vectors_with_non_finite: u64,
}

/// The finite values of one dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct DimensionStats {
    /// Their mean; NaN when the dimension holds no finite value.
    pub mean: f64,
    /// Their population standard deviation; NaN when the dimension holds no finite value.
    pub std_dev: f64,
}

/// Counts of L2 norms in equal-width bins from `min` to `max` (the last bin includes `max`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NormHistogram {
    /// The smallest norm; NaN when there are none.
    pub min: f64,
    /// The largest norm; NaN when there are none.
    pub max: f64,
    /// Vectors per bin. When every norm is equal they all fall in the first bin.
    pub counts: Vec<u64>,
}

/// Gathers [`VectorStats`] from vectors given one at a time or a decoded batch at a time.
///
/// Sums are kept in `f64` around a shift (the dimension's first finite value), so a dimension
/// whose values sit far from zero with a small spread keeps its precision, without a division
/// per value as Welford's update would need.
///
/// ```
/// use akidb_snapshot_codec::VectorStatsBuilder;
///
/// let mut stats = VectorStatsBuilder::new(2);
/// stats.add(&[3.0, 1.0]).unwrap();
/// stats.add(&[0.0, 3.0]).unwrap();
/// stats.add(&[f32::NAN, 5.0]).unwrap();
/// let stats = stats.finish(4);
///
/// assert_eq!(stats.vectors, 3);
/// assert_eq!((stats.dimensions[0].mean, stats.dimensions[0].std_dev), (1.5, 1.5));
/// assert_eq!(stats.dimensions[1].mean, 3.0);
/// assert_eq!((stats.non_finite_values, stats.vectors_with_non_finite), (1, 1));
/// // Norms 3.1623 and 3.0: the NaN vector has none.
/// assert_eq!(stats.norms.counts, [1, 0, 0, 1]);
/// ```
#[derive(Debug, Clone)]
pub struct VectorStatsBuilder {
    shift: Vec<Option<f64>>,
    finite: Vec<u64>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    norms: Vec<f64>,
    vectors: u64,
    non_finite_values: u64,
    vectors_with_non_finite: u64,
}

impl VectorStatsBuilder {
    /// Statistics of vectors of `dimension` values.
    pub fn new(dimension: usize) -> Self {
        VectorStatsBuilder {
            shift: vec![None; dimension],
            finite: vec![0; dimension],
            sum: vec![0.0; dimension],
            sum_sq: vec![0.0; dimension],
            norms: Vec::new(),
            vectors: 0,
            non_finite_values: 0,
            vectors_with_non_finite: 0,
        }
    }

    /// Adds one vector; [`Error::Validation`] if its length is not the dimension.
    pub fn add(&mut self, vector: &[f32]) -> Result<()> {
        if vector.len() != self.shift.len() {
            return Err(Error::validation(
                DocumentRef {
                    position: Some(self.vectors),
                    document_id: None,
                },
                format!(
                    "the vector has dimension {}, but the statistics are of dimension {}",
                    vector.len(),
                    self.shift.len()
                ),
            ));
        }
        let mut norm_sq = 0.0f64;
        let mut non_finite = 0u64;
        for (d, &x) in vector.iter().enumerate() {
            if !x.is_finite() {
                non_finite += 1;
                continue;
            }
            let x = f64::from(x);
            norm_sq += x * x;
            let shifted = x - *self.shift[d].get_or_insert(x);
            self.finite[d] += 1;
            self.sum[d] += shifted;
            self.sum_sq[d] += shifted * shifted;
        }
        self.vectors += 1;
        if non_finite == 0 {
            self.norms.push(norm_sq.sqrt());
        } else {
            self.non_finite_values += non_finite;
            self.vectors_with_non_finite += 1;
        }
        Ok(())
    }

    /// Adds every row of a batch of the snapshot schema, as a
    /// [`ParquetReader::arrow`](crate::ParquetReader::arrow) yields them.
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let columns = SnapshotColumns::of(
            batch,
            Origin::Caller {
                first: self.vectors,
            },
        )?;
        (0..columns.rows()).try_for_each(|row| self.add(columns.vector(row)))
    }

    /// The statistics, with the norms counted in `bins` bins (at least one).
    pub fn finish(self, bins: usize) -> VectorStats {
        let dimensions = (0..self.shift.len())
            .map(|d| {
                let Some(shift) = self.shift[d] else {
                    return DimensionStats {
                        mean: f64::NAN,
                        std_dev: f64::NAN,
                    };
                };
                let n = self.finite[d] as f64;
                let mean_shifted = self.sum[d] / n;
                let variance = (self.sum_sq[d] / n - mean_shifted * mean_shifted).max(0.0);
                DimensionStats {
                    mean: shift + mean_shifted,
                    std_dev: variance.sqrt(),
                }
            })
            .collect();
        VectorStats {
            vectors: self.vectors,
            dimensions,
            norms: NormHistogram::of(&self.norms, bins.max(1)),
            non_finite_values: self.non_finite_values,
            vectors_with_non_finite: self.vectors_with_non_finite,
        }
    }
}

impl NormHistogram {
    fn of(norms: &[f64], bins: usize) -> Self {
        let (min, max) = norms
            .iter()
            .fold((f64::NAN, f64::NAN), |(lo, hi), &n| (n.min(lo), n.max(hi)));
        let mut counts = vec![0u64; bins];
        let width = (max - min) / bins as f64;
        for &norm in norms {
            let bin = if width > 0.0 {
                ((norm - min) / width) as usize
            } else {
                0
            };
            counts[bin.min(bins - 1)] += 1;
        }
        NormHistogram { min, max, counts }
    }
}
