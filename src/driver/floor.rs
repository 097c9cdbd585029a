//! The floor: what this machine's own timers and the driver's pacing can do, measured in the
//! same run before any model, so every model's figures can be read relative to it.
//!
//! `timer_lateness` is a cyclictest-style probe: a thread with a 1 ns timer slack (see
//! `pace`) sleeps to absolute deadlines (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) at the scenario's watchdog period and
//! records how late it woke. `driver_error` runs the Scratch client's pacing loop (the same
//! sleep, at the poll period) without sending anything: the error the driver brings before
//! any model is involved. Both run at the same time, as they would during a model's run.
//!
//! That floor is taken on an otherwise idle machine, and an idle (virtual) CPU wakes up more
//! slowly than a busy one: on the 2-core dev VM a plain timer thread woke 172 µs late idle but
//! 109 µs late next to a light 1 kHz load. So [`probe_alongside`] also runs the same probe in
//! the driver during each model's measured window; a model's timers are judged against the
//! floor measured under the load that model's run put on the machine.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::pace::{sleep_until_ns, tighten_timer_slack, Plan};
use crate::clock::now_ns;
use crate::metrics::results::Floor;
use crate::metrics::summary::{new_histogram, record_clamped, Summary};

/// Sleeps to `t0 + k·period` for `duration` and returns the wake-up lateness histogram (µs).
/// `after_wake(k)` runs after each wake-up; the probe itself passes a no-op, tests use it to
/// inject known delays.
pub fn probe_timer_with(
    period: Duration,
    duration: Duration,
    mut after_wake: impl FnMut(u64),
) -> Histogram<u64> {
    tighten_timer_slack();
    let mut h = new_histogram();
    let period_ns = period.as_nanos() as u64;
    let plan = Plan::new(now_ns() + period_ns, period_ns);
    let end = plan.t0_ns + duration.as_nanos() as u64;
    let mut k = 0;
    // Ctrl-C ends the probe early: what was measured is kept.
    while plan.at(k) < end && !super::interrupt::interrupted() {
        let deadline = plan.at(k);
        sleep_until_ns(deadline);
        let woke = now_ns();
        record_clamped(&mut h, (woke - deadline) / 1_000);
        after_wake(k);
        // Like cyclictest: the next deadline is the next one on the plan, even if we are late
        // for it already (its lateness is then recorded, not hidden).
        k += 1;
    }
    h
}

/// The timer probe during a model's measured window: sleeps to `start_ns + k·period` while
/// the deadline is before `end_ns` and `stopped()` is false, and returns each
/// `(deadline ns, lateness µs)` so the caller can keep exactly the ticks of the window it
/// ended up measuring (a crash or Ctrl-C shortens it).
pub fn probe_alongside(
    period: Duration,
    start_ns: u64,
    end_ns: u64,
    stopped: impl Fn() -> bool,
) -> Vec<(u64, u64)> {
    tighten_timer_slack();
    let period_ns = (period.as_nanos() as u64).max(1);
    let plan = Plan::new(start_ns, period_ns);
    let mut ticks =
        Vec::with_capacity(((end_ns.saturating_sub(start_ns)) / period_ns) as usize + 1);
    let mut k = 0;
    while plan.at(k) < end_ns && !stopped() && !super::interrupt::interrupted() {
        let deadline = plan.at(k);
        sleep_until_ns(deadline);
        ticks.push((deadline, now_ns().saturating_sub(deadline) / 1_000));
        k += 1;
    }
    ticks
}

/// The lateness histogram of the `ticks` whose deadline is in `[start_ns, end_ns)`.
pub fn ticks_in_window(ticks: &[(u64, u64)], start_ns: u64, end_ns: u64) -> Histogram<u64> {
    let mut h = new_histogram();
    for &(deadline, late_us) in ticks {
        if (start_ns..end_ns).contains(&deadline) {
            record_clamped(&mut h, late_us);
        }
    }
    h
}

/// The cyclictest-style probe without any injected work.
pub fn probe_timer(period: Duration, duration: Duration) -> Histogram<u64> {
    probe_timer_with(period, duration, |_| {})
}

/// Measures the floor: the timer probe at `watchdog_period` and the driver's pacing loop at
/// `poll_period`, side by side for `duration`.
pub fn measure_floor(
    watchdog_period: Duration,
    poll_period: Duration,
    duration: Duration,
) -> Floor {
    let pacing = std::thread::Builder::new()
        .name("floor-pacing".into())
        .spawn(move || super::pace::probe_send_pacing(poll_period, duration))
        .expect("spawn floor pacing thread");
    let timer = probe_timer(watchdog_period, duration);
    let driver = pacing.join().unwrap_or_else(|_| new_histogram());
    Floor {
        timer_lateness: Summary::from_histogram(&timer),
        driver_error: Summary::from_histogram(&driver),
        ..Floor::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_one_sample_per_period_and_lateness_is_small_but_real() {
        let h = probe_timer(Duration::from_millis(5), Duration::from_millis(200));
        assert_eq!(h.len(), 40);
        // Waking up is never early: at least the 1 µs floor of the histogram.
        assert!(h.min() >= 1);
    }

    #[test]
    fn an_injected_delay_is_recovered() {
        // Every other wake-up, hold the thread for a whole period plus 8 ms: the next
        // deadline is then missed by ~8 ms, which the probe must report.
        let period = Duration::from_millis(10);
        let extra = Duration::from_millis(8);
        let h = probe_timer_with(period, Duration::from_millis(600), |k| {
            if k % 2 == 0 {
                std::thread::sleep(period + extra);
            }
        });
        // Half the samples carry the injected delay: the median lies between the two groups,
        // p90 must show ~8 ms (generous tolerance: the machine is shared).
        let p90 = h.value_at_quantile(0.90);
        assert!((7_500..=20_000).contains(&p90), "p90 {p90} µs");
        let p10 = h.value_at_quantile(0.10);
        assert!(
            p10 < 7_500,
            "undisturbed wake-ups must stay below the injected delay: {p10}"
        );
    }

    #[test]
    fn the_alongside_probe_keeps_its_plan_stops_when_asked_and_is_windowed() {
        let start = now_ns() + 5_000_000;
        let period = Duration::from_millis(5);
        let ticks = probe_alongside(period, start, start + 100_000_000, || false);
        assert_eq!(ticks.len(), 20);
        assert!(ticks
            .iter()
            .enumerate()
            .all(|(k, &(d, _))| d == start + k as u64 * 5_000_000));
        // A window shortened to its first half keeps the first ten ticks only.
        assert_eq!(ticks_in_window(&ticks, start, start + 50_000_000).len(), 10);

        let calls = std::cell::Cell::new(0);
        let stopped = probe_alongside(period, now_ns(), now_ns() + 10_000_000_000, || {
            calls.set(calls.get() + 1);
            calls.get() > 3
        });
        assert_eq!(
            stopped.len(),
            3,
            "stops at the first check after the stop request"
        );
    }

    #[test]
    fn an_injected_delay_is_recovered_alongside() {
        // Every other stop check (made before each sleep) holds the thread 18 ms, past the
        // next deadline: that tick is then ~8 ms late, which the probe must report.
        let period = Duration::from_millis(10);
        let start = now_ns() + 2_000_000;
        let hold = std::cell::Cell::new(false);
        let ticks = probe_alongside(period, start, start + 400_000_000, || {
            if hold.get() {
                std::thread::sleep(Duration::from_millis(18));
            }
            hold.set(!hold.get());
            false
        });
        let h = ticks_in_window(&ticks, start, start + 400_000_000);
        let p90 = h.value_at_quantile(0.90);
        assert!((7_000..=20_000).contains(&p90), "p90 {p90} µs");
        assert!(h.value_at_quantile(0.10) < 7_000);
    }

    #[test]
    fn floor_has_both_figures() {
        let f = measure_floor(
            Duration::from_millis(10),
            Duration::from_millis(10),
            Duration::from_millis(100),
        );
        assert_eq!(f.timer_lateness.count, 10);
        assert_eq!(f.driver_error.count, 10);
    }
}
