//! Joining the agent's monotonic clock to the driver's, NTP-style.
//!
//! Staleness and command latency subtract a time taken on the device from one taken on the
//! driver, so the two clocks must be put on one axis, and how well that was done must be
//! stated. Each exchange stamps the driver's clock before sending (`t1`) and after the
//! answer (`t3`) and the agent's clock once in between (`t2`): the true offset then lies in
//! `[t2 − t3, t2 − t1]`, whatever the network does. The narrowest such intervals are the
//! exchanges with the lowest round trip, so each phase (start, during, end of a model's
//! window) keeps its lowest-RTT exchange; a line through the start and end ones gives offset
//! and drift, and the bound is half the worse of their round trips plus the drift over the
//! span, widened if any exchange in between disagrees with the line by more than that.

use serde::{Deserialize, Serialize};

/// One timestamp exchange: driver clock before (`t1`) and after (`t3`), agent clock (`t2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub t1: u64,
    pub t2: u64,
    pub t3: u64,
}

impl Exchange {
    pub fn rtt_ns(&self) -> u64 {
        self.t3.saturating_sub(self.t1)
    }
    /// Agent minus driver, taking the agent's stamp at the exchange's midpoint.
    pub fn offset_ns(&self) -> i128 {
        self.t2 as i128 - (self.t1 as i128 + self.t3 as i128) / 2
    }
}

/// When in the model's run an exchange was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Start,
    During,
    End,
}

/// Drift assumed when only one phase was measured (an agent lost before the end): 100 ppm,
/// the tolerance of an ordinary uncompensated crystal, so the bound stays honest.
pub const ASSUMED_DRIFT_PPM: f64 = 100.0;

/// The exchanges of one model's run, kept by phase.
#[derive(Clone, Debug, Default)]
pub struct ClockBook {
    samples: Vec<(Phase, Exchange)>,
}

/// The joined clocks: `agent = driver + offset(t)`, and how far that can be off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockEstimate {
    /// Offset (agent − driver) at `anchor_agent_ns`.
    pub offset_ns: i128,
    /// Agent clock reading the offset is anchored at.
    pub anchor_agent_ns: u64,
    /// Agent ns gained per driver ns, in parts per million.
    pub drift_ppm: f64,
    /// The lowest round trip seen (any phase).
    pub best_rtt_ns: u64,
    /// ± on any agent time converted to the driver's clock within the span.
    pub uncertainty_ns: u64,
    /// Exchanges made in all.
    pub exchanges: u32,
}

impl ClockBook {
    pub fn add(&mut self, phase: Phase, e: Exchange) {
        if e.t3 >= e.t1 {
            self.samples.push((phase, e));
        }
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    fn best(&self, phase: Phase) -> Option<Exchange> {
        self.samples
            .iter()
            .filter(|(p, _)| *p == phase)
            .map(|(_, e)| *e)
            .min_by_key(Exchange::rtt_ns)
    }

    /// The estimate, or None without a single exchange. With exchanges in one phase only,
    /// drift is taken as zero and [`ASSUMED_DRIFT_PPM`] is charged over `span_ns`.
    pub fn estimate(&self, span_ns: u64) -> Option<ClockEstimate> {
        let first = self
            .best(Phase::Start)
            .or_else(|| self.best(Phase::During))?;
        let last = self
            .best(Phase::End)
            .or_else(|| self.best(Phase::During))
            .filter(|e| e.t1 > first.t3);
        let best_rtt_ns = self.samples.iter().map(|(_, e)| e.rtt_ns()).min()?;
        let exchanges = self.samples.len() as u32;
        let Some(last) = last else {
            let drift_ns = (ASSUMED_DRIFT_PPM * 1e-6 * span_ns as f64).ceil() as u64;
            return Some(ClockEstimate {
                offset_ns: first.offset_ns(),
                anchor_agent_ns: first.t2,
                drift_ppm: 0.0,
                best_rtt_ns,
                uncertainty_ns: first.rtt_ns().div_ceil(2) + drift_ns,
                exchanges,
            });
        };
        let mid = |e: &Exchange| (e.t1 as f64 + e.t3 as f64) / 2.0;
        let dt = mid(&last) - mid(&first);
        let drift = (last.offset_ns() - first.offset_ns()) as f64 / dt;
        let line =
            |agent_ns: u64| first.offset_ns() as f64 + drift * (agent_ns as f64 - first.t2 as f64);
        let mut bound =
            first.rtt_ns().max(last.rtt_ns()).div_ceil(2) as f64 + drift.abs() * dt.max(0.0);
        // An exchange in between that the line misses by more than its own half round trip
        // shows a wander the line does not follow: the bound must cover it.
        for (_, e) in &self.samples {
            let miss = (e.offset_ns() as f64 - line(e.t2)).abs() - e.rtt_ns() as f64 / 2.0;
            bound = bound.max(miss);
        }
        Some(ClockEstimate {
            offset_ns: first.offset_ns(),
            anchor_agent_ns: first.t2,
            drift_ppm: drift * 1e6,
            best_rtt_ns,
            uncertainty_ns: bound.ceil() as u64,
            exchanges,
        })
    }
}

impl ClockEstimate {
    /// An agent clock reading on the driver's clock (0 if it would fall before the epoch).
    pub fn to_driver(self, agent_ns: u64) -> u64 {
        let since = agent_ns as f64 - self.anchor_agent_ns as f64;
        let offset = self.offset_ns as f64 + self.drift_ppm * 1e-6 * since;
        let t = agent_ns as i128 - offset.round() as i128;
        t.clamp(0, u64::MAX as i128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// An exchange seen through a link with `up`/`down` delays and an agent clock that reads
    /// `offset + (1 + ppm·1e-6)·t`.
    fn exchange(t1: u64, up: u64, down: u64, offset: i64, ppm: f64) -> Exchange {
        let at = t1 + up;
        let agent = offset as f64 + at as f64 * (1.0 + ppm * 1e-6);
        Exchange {
            t1,
            t2: agent as u64,
            t3: at + down,
        }
    }

    #[test]
    fn recovers_a_fixed_offset_within_half_the_best_round_trip() {
        let mut b = ClockBook::default();
        let off = 3_000 * MS as i64;
        // Asymmetric, varying delays; the low-RTT ones decide.
        for (i, (up, down)) in [(5, 1), (1, 1), (9, 2), (2, 7)].into_iter().enumerate() {
            b.add(
                Phase::Start,
                exchange(
                    10 * MS + i as u64 * MS,
                    up * 100_000,
                    down * 100_000,
                    off,
                    0.0,
                ),
            );
            b.add(
                Phase::End,
                exchange(
                    20_000 * MS + i as u64 * MS,
                    down * 100_000,
                    up * 100_000,
                    off,
                    0.0,
                ),
            );
        }
        let e = b.estimate(20_000 * MS).unwrap();
        assert_eq!(e.best_rtt_ns, 200_000);
        assert!((e.offset_ns - off as i128).unsigned_abs() as u64 <= e.uncertainty_ns);
        assert!(e.uncertainty_ns <= 100_000 + 1_000, "{}", e.uncertainty_ns);
        let t = 15_000 * MS;
        let agent = (t as i64 + off) as u64;
        assert!(e.to_driver(agent).abs_diff(t) <= e.uncertainty_ns);
    }

    #[test]
    fn follows_drift_between_start_and_end() {
        let mut b = ClockBook::default();
        let off = -2_000 * MS as i64 + 10_000 * MS as i64;
        b.add(Phase::Start, exchange(100 * MS, 50_000, 50_000, off, 50.0));
        b.add(
            Phase::During,
            exchange(50_000 * MS, 50_000, 50_000, off, 50.0),
        );
        b.add(
            Phase::End,
            exchange(100_000 * MS, 50_000, 50_000, off, 50.0),
        );
        let e = b.estimate(100_000 * MS).unwrap();
        assert!((e.drift_ppm - 50.0).abs() < 0.1, "{}", e.drift_ppm);
        let t = 70_000 * MS;
        let agent = (off as f64 + t as f64 * (1.0 + 50e-6)) as u64;
        assert!(e.to_driver(agent).abs_diff(t) <= e.uncertainty_ns);
        // The drift over the span is charged: 50 ppm of 100 s is 5 ms.
        assert!(e.uncertainty_ns >= 5 * MS, "{}", e.uncertainty_ns);
    }

    #[test]
    fn a_wander_the_line_misses_widens_the_bound() {
        let mut b = ClockBook::default();
        b.add(Phase::Start, exchange(0, 10_000, 10_000, 1_000, 0.0));
        b.add(
            Phase::During,
            exchange(5_000 * MS, 10_000, 10_000, 1_000 + 3 * MS as i64, 0.0),
        );
        b.add(
            Phase::End,
            exchange(10_000 * MS, 10_000, 10_000, 1_000, 0.0),
        );
        let e = b.estimate(10_000 * MS).unwrap();
        assert!(e.uncertainty_ns >= 3 * MS - 10_000, "{}", e.uncertainty_ns);
    }

    #[test]
    fn one_phase_only_charges_an_assumed_drift() {
        let mut b = ClockBook::default();
        assert!(b.estimate(MS).is_none());
        b.add(Phase::Start, exchange(0, 20_000, 20_000, 7, 0.0));
        let e = b.estimate(10_000 * MS).unwrap();
        assert_eq!(e.drift_ppm, 0.0);
        // 20 µs half RTT + 100 ppm of 10 s = 1 ms.
        assert_eq!(e.uncertainty_ns, 20_000 + MS);
    }

    #[test]
    fn a_backwards_exchange_is_ignored() {
        let mut b = ClockBook::default();
        b.add(
            Phase::Start,
            Exchange {
                t1: 10,
                t2: 5,
                t3: 9,
            },
        );
        assert!(b.is_empty());
    }
}
