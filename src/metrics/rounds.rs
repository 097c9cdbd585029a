//! Rounds: a model's measured time split into interleaved pieces, and the interval of a
//! figure's median over them.
//!
//! One pass per model cannot tell a model from the minute it happened to run in: a machine
//! that drifts is read as a difference between models measured early and late. So a run
//! measures every model in N rounds, interleaved (every model's round k before any model's
//! round k+1), and every headline figure is judged by the spread of its per-round values, not
//! by one number. The whole-window histograms in `ModelResult` stay merged over rounds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::status::Status;

/// How the run was split into rounds, once per run (`Results::rounds`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RoundsPlan {
    /// Rounds per model.
    pub count: u32,
    /// Seed of the per-round shuffle of the model order, so the order can be reproduced.
    pub seed: u64,
    /// The model order of each round, as run: `order[k]` is round k's order.
    pub order: Vec<Vec<String>>,
    /// Measured seconds of one round of one model (after its warm-up).
    pub round_s: f64,
}

/// One round of one model (`ModelResult::rounds`, in round order).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RoundResult {
    /// 0-based round number.
    pub index: u32,
    /// Where this model ran in the round's order (0 = first).
    pub position: u32,
    /// Start of the measured window on the one monotonic clock (ns).
    pub start_mono_ns: u64,
    /// The same instant on the wall clock, seconds since the Unix epoch.
    pub start_unix: f64,
    /// Measured seconds of this round.
    pub duration_s: f64,
    /// "ok" or the error that ended the round (a failed round keeps what it measured and is
    /// left out of the intervals).
    pub status: Status,
    /// The child's CPU over the round's window, % of one core.
    pub cpu_percent: f64,
    /// The child's context switches per second of the round's window.
    pub context_switches_per_s: f64,
    /// Per latency summary (keys as in `ModelResult::metric`): this round's p50 and p99.
    pub figures: BTreeMap<String, RoundFigure>,
    /// The child's peak RSS in this round (KiB).
    #[serde(default)]
    pub max_rss_kib: u64,
    /// The child's thread count in this round.
    #[serde(default)]
    pub threads: u64,
    /// The driver may have set this round's figures (`DriverHealth::limited`).
    #[serde(default)]
    pub driver_limited: bool,
    /// The child's voluntary context switches (all threads) in this round: its wake-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcsw: Option<u64>,
    /// Read- plus write-family system calls in this round (`metrics::proc_io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscalls: Option<u64>,
    /// User-space instructions in this round, where the machine counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<u64>,
}

/// One latency summary's shape in one round.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RoundFigure {
    pub count: u64,
    /// µs.
    pub p50: u64,
    /// µs.
    pub p99: u64,
    /// µs: the round's largest sample.
    #[serde(default)]
    pub max: u64,
}

impl RoundResult {
    pub fn is_ok(&self) -> bool {
        self.status.is_ok()
    }
}

/// The interval of a median over rounds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The median of the values.
    pub mid: f64,
    pub lo: f64,
    pub hi: f64,
    /// How many values it was made from.
    pub n: usize,
    /// The probability that the interval holds the true median (distribution-free, from the
    /// binomial order statistics); for a range (`n < 5`) it is the range's own coverage.
    pub coverage: f64,
    /// True when `n < 5`: the interval is only the range of the values and is shown as such.
    pub is_range: bool,
}

/// Fewest ok rounds a figure needs for an interval: one value has no spread.
pub(crate) const MIN_ROUNDS: usize = 2;

/// The median of `values`: the middle value, or the mean of the middle two for an even count
/// (the textbook definition, which the round intervals' midpoint, `esbench check`'s bootstrap
/// and the merged rounds' phase figures all use); `None` when empty. NaN sorts last.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some(median_of_sorted(&v))
}

/// [`median`] of values already sorted; `v` must not be empty.
fn median_of_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The coverage the order-statistic interval aims for.
pub(crate) const TARGET_COVERAGE: f64 = 0.95;

/// Fewer values than this give a range, not an interval.
pub(crate) const MIN_FOR_INTERVAL: usize = 5;

impl Interval {
    /// The distribution-free interval of the median of `values` (non-finite values are
    /// dropped): the order statistics x(k) and x(n+1-k) with the largest k whose coverage is
    /// at least 95 %, or the whole range when no k reaches it (n ≤ 5). `None` when empty.
    pub(crate) fn of_median(values: &[f64]) -> Option<Interval> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let mid = median_of_sorted(&v);
        let mut k = 1;
        while k < n.div_ceil(2) && coverage(n, k + 1) >= TARGET_COVERAGE {
            k += 1;
        }
        Some(Interval {
            mid,
            lo: v[k - 1],
            hi: v[n - k],
            n,
            coverage: coverage(n, k),
            is_range: n < MIN_FOR_INTERVAL,
        })
    }

    /// The two intervals do not overlap: the difference is real at this confidence.
    pub fn separates_from(&self, other: &Interval) -> bool {
        self.hi < other.lo || other.hi < self.lo
    }

    /// Half the width, for `mid ± half` display.
    pub(crate) fn half_width(&self) -> f64 {
        (self.hi - self.lo) / 2.0
    }

    /// The interval of `a / b` from the two intervals: lowest over highest to highest over
    /// lowest, so a ratio is only as sure as the figures it divides. `None` when `b` can be 0.
    pub(crate) fn ratio(a: &Interval, b: &Interval) -> Option<(f64, f64, f64)> {
        if b.lo <= 0.0 || b.mid <= 0.0 {
            return None;
        }
        Some((a.mid / b.mid, a.lo / b.hi, a.hi / b.lo))
    }
}

/// P(x(k) ≤ median ≤ x(n+1-k)) = 1 − 2·P(Bin(n, ½) ≤ k−1).
fn coverage(n: usize, k: usize) -> f64 {
    let mut tail = 0.0;
    let mut c = 1.0; // C(n, 0)
    for i in 0..k {
        if i > 0 {
            c = c * (n + 1 - i) as f64 / i as f64;
        }
        tail += c;
    }
    (1.0 - 2.0 * tail / 2f64.powi(n as i32)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_values_give_a_range() {
        let i = Interval::of_median(&[3.0, 1.0, 2.0]).unwrap();
        assert!(i.is_range);
        assert_eq!((i.lo, i.mid, i.hi), (1.0, 2.0, 3.0));
        assert!((i.coverage - 0.75).abs() < 1e-9);
    }

    #[test]
    fn many_values_trim_to_95_percent() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let i = Interval::of_median(&v).unwrap();
        assert!(!i.is_range);
        // n = 20: k = 6 gives 95.9 %, k = 7 gives 88.5 %.
        assert_eq!((i.lo, i.hi), (6.0, 15.0));
        assert!(i.coverage >= TARGET_COVERAGE && i.coverage < 0.97);
    }

    #[test]
    fn separation_is_strict() {
        let a = Interval::of_median(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let b = Interval::of_median(&[5.0, 6.0, 7.0, 8.0, 9.0]).unwrap();
        let c = Interval::of_median(&[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert!(!a.separates_from(&b));
        assert!(a.separates_from(&c) && c.separates_from(&a));
    }

    #[test]
    fn a_ratio_spans_lowest_over_highest_to_highest_over_lowest() {
        let a = Interval::of_median(&[6.0, 8.0, 10.0]).unwrap();
        let b = Interval::of_median(&[1.0, 2.0, 4.0]).unwrap();
        assert_eq!(Interval::ratio(&a, &b), Some((4.0, 1.5, 10.0)));
        let z = Interval::of_median(&[0.0, 1.0]).unwrap();
        assert_eq!(Interval::ratio(&a, &z), None);
    }

    #[test]
    fn non_finite_values_are_dropped() {
        assert!(Interval::of_median(&[f64::NAN]).is_none());
        assert_eq!(Interval::of_median(&[f64::NAN, 4.0]).unwrap().n, 1);
    }

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        let i = Interval::of_median(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(Some(i.mid), median(&[4.0, 1.0, 2.0, 3.0]));
    }
}
