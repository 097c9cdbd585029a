//! The per-board watchdog's schedule: a fixed-period task whose wake-up lateness is the
//! model's timer jitter.
//!
//! Deadlines are absolute (`start + k * period`) so lateness never accumulates into drift,
//! and every deadline that passed while the task was asleep is recorded (against its own
//! scheduled time), so a long stall shows up as many late ticks instead of silently
//! vanishing — the coordinated-omission rule from docs/measuring.md.
//!
//! Besides the whole-life histogram, every recorded deadline goes into a capped log of
//! `(deadline ns, lateness µs)` so the driver can keep only the ticks due inside its
//! measured window (start-up and warm-up excluded, like its own figures).
//!
//! [`longest_late_run`] reads that log for the CI gate: the longest run of consecutive
//! *late* ticks, where a tick is late when it fired a whole period or more after its
//! deadline — the next tick was already due, so the watchdog missed a beat. A model frozen
//! for 1.5 s at a 25 ms period shows a run of ~59; a healthy one 0 or 1, whatever its jitter.

use hdrhistogram::Histogram;

use crate::metrics::summary::{new_histogram, record_clamped, Summary};

/// At most this many missed deadlines are recorded per wake-up (guards a process that was
/// stopped for hours from spending minutes filling the histogram).
const MAX_CATCH_UP: u64 = 100_000;

#[derive(Debug)]
pub struct Watchdog {
    period_ns: u64,
    next_ns: u64,
    lateness_us: Histogram<u64>,
    /// `(scheduled deadline ns, lateness µs)` per recorded deadline, at most `log_cap`.
    log: Vec<(u64, u64)>,
    log_cap: usize,
    /// Deadlines recorded in the histogram but left out of the full log.
    log_dropped: u64,
}

impl Watchdog {
    /// A schedule whose first deadline is `start_ns + period_ns`, logging at most `log_cap`
    /// ticks (a memory guard for long runs; the rest are counted in `log_dropped`).
    pub fn new(period_ns: u64, start_ns: u64, log_cap: usize) -> Watchdog {
        let period_ns = period_ns.max(1_000);
        Watchdog {
            period_ns,
            next_ns: start_ns + period_ns,
            lateness_us: new_histogram(),
            log: Vec::new(),
            log_cap,
            log_dropped: 0,
        }
    }

    /// The next scheduled deadline (CLOCK_MONOTONIC ns); models sleep until then.
    pub fn next_deadline_ns(&self) -> u64 {
        self.next_ns
    }

    /// Called when the task wakes at `now_ns`. Records the lateness of every deadline that
    /// has passed and returns how many there were (0 for an early wake-up).
    pub fn fire(&mut self, now_ns: u64) -> u64 {
        let mut n = 0;
        while self.next_ns <= now_ns && n < MAX_CATCH_UP {
            let late_us = (now_ns - self.next_ns) / 1_000;
            record_clamped(&mut self.lateness_us, late_us);
            if self.log.len() < self.log_cap {
                self.log.push((self.next_ns, late_us));
            } else {
                self.log_dropped += 1;
            }
            self.next_ns += self.period_ns;
            n += 1;
        }
        if self.next_ns <= now_ns {
            // Skip the rest of a huge gap without recording it sample by sample.
            let behind = (now_ns - self.next_ns) / self.period_ns + 1;
            self.next_ns += behind * self.period_ns;
        }
        n
    }

    /// Lateness so far, µs.
    pub fn summary(&self) -> Summary {
        Summary::from_histogram(&self.lateness_us)
    }

    /// `(scheduled deadline ns, lateness µs)` of every logged tick, in deadline order.
    pub fn log(&self) -> &[(u64, u64)] {
        &self.log
    }

    /// Ticks that did not fit in the log (they are still in [`Watchdog::summary`]).
    pub fn log_dropped(&self) -> u64 {
        self.log_dropped
    }
}

/// The longest run of consecutive late ticks among the logged ticks whose deadline `keep`
/// accepts (the driver passes its measured window). A tick is late when its lateness is at
/// least one period: it fired when the next deadline had already passed. The period is read
/// off the log itself (the median gap between consecutive deadlines: they are a period
/// apart, except where a gap too long to record was skipped), so the rule needs no
/// setting and cannot disagree with the schedule that made the log. A tick outside `keep`
/// ends a run, so a stall is never stitched together across the window's edges.
pub fn longest_late_run(log: &[(u64, u64)], keep: impl Fn(u64) -> bool) -> u64 {
    let mut gaps: Vec<u64> = log
        .windows(2)
        .map(|p| p[1].0.saturating_sub(p[0].0))
        .collect();
    if gaps.is_empty() {
        return 0;
    }
    gaps.sort_unstable();
    let period_ns = gaps[gaps.len() / 2].max(1);
    let (mut run, mut longest) = (0u64, 0u64);
    for &(due_ns, late_us) in log {
        if keep(due_ns) && late_us.saturating_mul(1_000) >= period_ns {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn on_time_and_late_ticks_are_measured_against_the_schedule() {
        let mut w = Watchdog::new(25 * MS, 0, 1_000);
        assert_eq!(w.next_deadline_ns(), 25 * MS);
        assert_eq!(w.fire(24 * MS), 0, "early wake-up records nothing");
        assert_eq!(w.fire(25 * MS + 300_000), 1);
        assert_eq!(w.next_deadline_ns(), 50 * MS, "no drift from lateness");
        // Asleep through three deadlines (50, 75, 100 ms), woke at 101 ms.
        assert_eq!(w.fire(101 * MS), 3);
        assert_eq!(w.next_deadline_ns(), 125 * MS);
        let s = w.summary();
        assert_eq!(s.count, 4);
        assert!((50_900..=51_100).contains(&s.max), "max {}", s.max);
        // Lateness 300 µs, 51, 26 and 1 ms: the median of four is the second smallest.
        assert!((999..=1_001).contains(&s.p50), "p50 {}", s.p50);
        // The log has one entry per recorded deadline, against that deadline.
        assert_eq!(
            w.log(),
            [
                (25 * MS, 300),
                (50 * MS, 51_000),
                (75 * MS, 26_000),
                (100 * MS, 1_000)
            ]
        );
        assert_eq!(w.log_dropped(), 0);
    }

    #[test]
    fn the_log_is_capped_and_counts_what_it_dropped() {
        let mut w = Watchdog::new(MS, 0, 3);
        assert_eq!(w.fire(10 * MS), 10);
        assert_eq!(w.log().len(), 3);
        assert_eq!(w.log()[0], (MS, 9_000));
        assert_eq!(w.log_dropped(), 7);
        assert_eq!(w.summary().count, 10, "the histogram keeps every tick");
    }

    #[test]
    fn huge_gaps_do_not_hang() {
        let mut w = Watchdog::new(MS, 0, 1_000);
        let n = w.fire(3_600_000 * MS);
        assert_eq!(n, MAX_CATCH_UP);
        assert!(w.next_deadline_ns() > 3_600_000 * MS);
    }

    #[test]
    fn a_stall_is_one_run_of_late_ticks_and_jitter_is_none() {
        let mut w = Watchdog::new(25 * MS, 0, 10_000);
        // Healthy ticks, each 2 ms late (jitter, not a missed beat).
        for k in 1..=10 {
            w.fire(k * 25 * MS + 2 * MS);
        }
        assert_eq!(longest_late_run(w.log(), |_| true), 0);
        // Frozen from just after the 10th tick until 1.5 s later: one wake-up records the
        // 60 deadlines that passed; all but the last fired after the next one was due.
        w.fire(250 * MS + 1_500 * MS);
        assert_eq!(longest_late_run(w.log(), |_| true), 59);
        // Back to normal afterwards; a shorter stall later does not replace the longest.
        let next = w.next_deadline_ns();
        w.fire(next + MS);
        w.fire(next + 25 * MS + 80 * MS);
        assert_eq!(longest_late_run(w.log(), |_| true), 59);
        // Only the ticks the caller keeps count, and a run is cut at the edge.
        assert_eq!(longest_late_run(w.log(), |due| due <= 500 * MS), 10);
        assert_eq!(longest_late_run(w.log(), |due| due >= 1_800 * MS), 3);
    }

    #[test]
    fn exactly_one_period_late_is_late_and_one_tick_logs_say_nothing() {
        // Due at 25 and 50 ms, the first fired at 50 ms (a whole period late).
        assert_eq!(
            longest_late_run(&[(25 * MS, 25_000), (50 * MS, 0)], |_| true),
            1
        );
        assert_eq!(
            longest_late_run(&[(25 * MS, 24_999), (50 * MS, 0)], |_| true),
            0
        );
        assert_eq!(longest_late_run(&[(25 * MS, 90_000)], |_| true), 0);
        assert_eq!(longest_late_run(&[], |_| true), 0);
    }
}
