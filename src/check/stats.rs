//! The small statistics `esbench check` needs: medians, bootstrap resampling of
//! repeated runs, and resampling of one run's percentile straight from its HDR histogram.
//!
//! Written here rather than pulled from a crate because it is a few dozen lines and the
//! verdict must be reproducible: the same inputs and seed always give the same interval.

use hdrhistogram::Histogram;

/// The project's one seeded generator (`src/rng.rs`): its draws on (0, 1) are `open_unit`.
pub use crate::rng::Rng;

/// The one median (`metrics::rounds::median`: mean of the middle two for an even count), as
/// the bootstrap's arithmetic wants it: NaN for an empty slice.
pub fn median(xs: &[f64]) -> f64 {
    crate::metrics::rounds::median(xs).unwrap_or(f64::NAN)
}

/// Median of a with-replacement resample of `xs` (same size), reusing `scratch`.
pub fn resampled_median(xs: &[f64], rng: &mut Rng, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend((0..xs.len()).map(|_| xs[rng.index(xs.len())]));
    median(scratch)
}

/// The `lo`/`hi` percentile interval of `samples` for confidence `confidence` (e.g. 0.95).
/// Non-finite samples (a ratio against zero) sort to the ends, which is where they belong.
pub fn percentile_interval(samples: &mut [f64], confidence: f64) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let alpha = (1.0 - confidence).clamp(0.0, 1.0) / 2.0;
    let at = |q: f64| {
        let i = (q * (samples.len() - 1) as f64).round() as usize;
        samples[i.min(samples.len() - 1)]
    };
    (at(alpha), at(1.0 - alpha))
}

/// A histogram flattened to its recorded buckets, ready for fast repeated resampling of one
/// quantile: `values[i]` is a bucket's value, `cumulative[i]` the count up to and including it.
#[derive(Clone, Debug)]
pub struct HistSampler {
    values: Vec<u64>,
    cumulative: Vec<u64>,
    total: u64,
}

impl HistSampler {
    pub fn new(h: &Histogram<u64>) -> HistSampler {
        let mut values = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for v in h.iter_recorded() {
            total += v.count_at_value();
            values.push(h.highest_equivalent(v.value_iterated_to()));
            cumulative.push(total);
        }
        HistSampler {
            values,
            cumulative,
            total,
        }
    }

    /// The value of rank `rank` (1-based) among the recorded samples.
    fn value_at_rank(&self, rank: u64) -> u64 {
        let i = self.cumulative.partition_point(|&c| c < rank);
        self.values[i.min(self.values.len() - 1)]
    }

    /// Quantile `q` with the same rank rule as `Histogram::value_at_quantile`.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        self.value_at_rank(rank_for(q, self.total))
    }

    /// Quantile `q` of one bootstrap resample (N draws with replacement from the recorded
    /// samples), drawn without materialising the N draws.
    ///
    /// Why this works: the k-th smallest of N draws from the empirical distribution is
    /// F⁻¹(U₍ₖ₎), with U₍ₖ₎ the k-th order statistic of N uniforms. U₍ₖ₎ is drawn exactly
    /// from the nearer end with exponential spacings (U₍ₙ₎ = V^(1/N), each next one down
    /// multiplies by V^(1/i)) when k is within 64 of an end — the tails, where p99 lives —
    /// and from the normal approximation of its Beta(k, N−k+1) law otherwise (p50 of a
    /// large sample, where that approximation is excellent).
    pub fn resampled_quantile(&self, q: f64, rng: &mut Rng) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let n = self.total;
        let k = rank_for(q, n);
        let from_top = n - k + 1;
        let u = if from_top <= 64 {
            order_stat_from_top(n, from_top, rng)
        } else if k <= 64 {
            1.0 - order_stat_from_top(n, k, rng)
        } else {
            let (nf, kf) = (n as f64, k as f64);
            let mean = kf / (nf + 1.0);
            let var = kf * (nf - kf + 1.0) / ((nf + 1.0) * (nf + 1.0) * (nf + 2.0));
            (mean + var.sqrt() * rng.normal()).clamp(0.0, 1.0)
        };
        let rank = ((u * n as f64).ceil() as u64).clamp(1, n);
        self.value_at_rank(rank)
    }
}

/// 1-based rank of quantile `q` among `n` samples (HdrHistogram's rule: ceil(q·n), at least 1).
fn rank_for(q: f64, n: u64) -> u64 {
    ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).clamp(1, n)
}

/// The `j`-th largest (1-based) of `n` uniforms on (0, 1).
fn order_stat_from_top(n: u64, j: u64, rng: &mut Rng) -> f64 {
    let mut u = 1.0f64;
    for i in 0..j {
        u *= rng.open_unit().powf(1.0 / (n - i) as f64);
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::{new_histogram, record_clamped};

    #[test]
    fn rng_is_reproducible_and_roughly_uniform() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut r = Rng::new(1);
        let mean: f64 = (0..20_000).map(|_| r.open_unit()).sum::<f64>() / 20_000.0;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let hits = (0..10_000).filter(|_| r.index(10) == 3).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }

    #[test]
    fn median_handles_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn sampler_quantiles_match_hdrhistogram() {
        let mut h = new_histogram();
        for v in 1..=5_000u64 {
            record_clamped(&mut h, v * 3);
        }
        let s = HistSampler::new(&h);
        for q in [0.01, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(s.quantile(q), h.value_at_quantile(q), "q {q}");
        }
    }

    /// Compares the fast resampler with the brute-force bootstrap: same centre and spread.
    #[test]
    fn resampled_quantile_matches_brute_force_bootstrap() {
        let mut h = new_histogram();
        let mut r = Rng::new(3);
        let mut raw = Vec::new();
        for _ in 0..1_000 {
            // Exponential-ish latencies around 1 ms.
            let v = (1_000.0 * -r.open_unit().ln()) as u64 + 50;
            record_clamped(&mut h, v);
            raw.push(h.highest_equivalent(v));
        }
        let s = HistSampler::new(&h);
        for q in [0.5, 0.99] {
            let mut fast: Vec<f64> = (0..2_000)
                .map(|_| s.resampled_quantile(q, &mut r) as f64)
                .collect();
            let mut slow: Vec<f64> = (0..600)
                .map(|_| {
                    let mut v: Vec<u64> = (0..raw.len()).map(|_| raw[r.index(raw.len())]).collect();
                    v.sort_unstable();
                    v[rank_for(q, v.len() as u64) as usize - 1] as f64
                })
                .collect();
            let (fl, fh) = percentile_interval(&mut fast, 0.9);
            let (sl, sh) = percentile_interval(&mut slow, 0.9);
            let width = sh - sl;
            assert!(width > 0.0);
            assert!((fl - sl).abs() <= 0.25 * width + 5.0, "q {q}: {fl} vs {sl}");
            assert!((fh - sh).abs() <= 0.25 * width + 5.0, "q {q}: {fh} vs {sh}");
        }
    }

    #[test]
    fn percentile_interval_is_ordered_and_covers_the_middle() {
        let mut xs: Vec<f64> = (0..1001).map(|i| i as f64).collect();
        xs.reverse();
        let (lo, hi) = percentile_interval(&mut xs, 0.95);
        assert_eq!((lo, hi), (25.0, 975.0));
    }
}
