//! The one seeded generator: the synthetic board, the line effects, the check's bootstrap and
//! the report's fixtures all draw from it, so a seed means the same stream everywhere.
//!
//! It is SplitMix64 from `rand_xoshiro`, whose output for a seed is fixed by the algorithm
//! (Vigna's reference), not by a crate version: a scenario's synthetic board and a check's
//! verdict repeat exactly on every machine. Like `clock`, any room may use it.

use rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::SplitMix64;

/// A seeded SplitMix64 stream with the few draws esbench needs.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// The stream for `seed` (the seed is SplitMix64's state, as in the reference code).
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::seed_from_u64(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in the open interval `(0, 1)`, so `ln` and `powf(1/n)` are always finite.
    pub fn open_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform index in `0..n` (`n > 0`), by multiply-shift (no modulo bias worth naming).
    pub fn index(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Integer in `lo..=hi`, by modulo (the synthetic board's draws, kept as first written).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    /// True with probability `p`; draws nothing when `p <= 0`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Standard normal (Box–Muller on two open-interval draws).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.open_unit(), self.open_unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_for_a_seed_is_splitmix64s() {
        // Seed 7, from the reference algorithm (and from the generator esbench first carried).
        let mut r = Rng::new(7);
        assert_eq!(
            [r.next_u64(), r.next_u64(), r.next_u64()],
            [
                7_191_089_600_892_374_487,
                309_689_372_594_955_804,
                16_616_101_746_815_609_346
            ]
        );
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut r = Rng::new(3);
        for _ in 0..10_000 {
            assert!((0.0..1.0).contains(&r.unit()));
            let u = r.open_unit();
            assert!(u > 0.0 && u < 1.0);
            assert!(r.index(7) < 7);
            assert!((-3..=3).contains(&r.range(-3, 3)));
            assert!(r.normal().is_finite());
        }
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
    }

    #[test]
    fn normal_draws_look_standard() {
        let mut r = Rng::new(11);
        let xs: Vec<f64> = (0..20_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }
}
