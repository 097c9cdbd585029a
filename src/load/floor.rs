//! The floor: what a plain timer thread can do on this machine, next to the model, so every
//! model's timer figures can be read relative to it. It lives with the load because both the
//! local driver and the remote agent run it beside the model; each hands in its own stop
//! condition (the driver's Ctrl-C, the agent's end of window), so the probe knows neither.
//!
//! `timer_lateness` is a cyclictest-style probe: a thread sleeps to absolute deadlines
//! (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) at the scenario's watchdog period and
//! records how late it woke. It runs with the *model's* settings ([`ChildSettings`]: the same
//! timer slack, the same CPUs under `--pin`), so it is a reference a model's watchdog can be
//! compared with, not the best the machine can do. `driver_error` runs the Scratch client's
//! pacing loop (the same sleep, at the poll period, with the driver's own 1 ns slack) without
//! sending anything: the error the driver brings before any model is involved.
//!
//! That floor is taken on an otherwise idle machine, and an idle (virtual) CPU wakes up more
//! slowly than a busy one: on the 2-core dev VM a plain timer thread woke 172 µs late idle but
//! 109 µs late next to a light 1 kHz load. So [`probe_alongside`] also runs the same probe
//! during each model's measured window. Its first deadline is put at a random offset into
//! the window: a probe started a fixed time after the first poll would stay at one point of
//! the board's frame schedule (two periodic things started from one event keep their phase),
//! and a wake-up right after a frame arrives is not the same as one between frames.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use hdrhistogram::Histogram;

use super::child_settings::ChildSettings;
use super::pace::{sleep_until_ns, Plan};
use crate::clock::now_ns;
use crate::metrics::results::Floor;
use crate::metrics::summary::{new_histogram, record_clamped, Summary};

/// Sleeps to `t0 + k·period` for `duration` (or until `stopped()`; what was measured is kept)
/// and returns the wake-up lateness histogram (µs). `after_wake(k)` runs after each wake-up;
/// the probe itself passes a no-op, tests use it to inject known delays. Runs with the
/// calling thread's settings.
pub fn probe_timer_with(
    period: Duration,
    duration: Duration,
    stopped: impl Fn() -> bool,
    mut after_wake: impl FnMut(u64),
) -> Histogram<u64> {
    let mut h = new_histogram();
    let period_ns = period.as_nanos() as u64;
    let plan = Plan::new(now_ns() + period_ns, period_ns);
    let end = plan.t0_ns + duration.as_nanos() as u64;
    let mut k = 0;
    while plan.at(k) < end && !stopped() {
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

/// A random offset in `[0, period_ns)`, from the standard library's per-process random
/// hash keys mixed with the clock (no seed to manage, different on every call).
pub fn random_phase_ns(period_ns: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ns());
    h.finish() % period_ns.max(1)
}

/// The timer probe during a model's measured window: sleeps to `start_ns + k·period` while
/// the deadline is before `end_ns` and `stopped()` is false, and returns each
/// `(deadline ns, lateness ns)` so the caller can keep exactly the ticks of the window it
/// ended up measuring (a crash or Ctrl-C shortens it). Runs with the calling thread's
/// settings: give it the model's first ([`ChildSettings::apply_to_calling_thread`]).
pub fn probe_alongside(
    period: Duration,
    start_ns: u64,
    end_ns: u64,
    stopped: impl Fn() -> bool,
) -> Vec<(u64, u64)> {
    let period_ns = (period.as_nanos() as u64).max(1);
    let plan = Plan::new(start_ns, period_ns);
    let mut ticks =
        Vec::with_capacity(((end_ns.saturating_sub(start_ns)) / period_ns) as usize + 1);
    let mut k = 0;
    while plan.at(k) < end_ns && !stopped() {
        let deadline = plan.at(k);
        sleep_until_ns(deadline);
        ticks.push((deadline, now_ns().saturating_sub(deadline)));
        k += 1;
    }
    ticks
}

/// The lateness histogram (µs) of the `ticks` whose deadline is in `[start_ns, end_ns)`.
pub fn ticks_in_window(ticks: &[(u64, u64)], start_ns: u64, end_ns: u64) -> Histogram<u64> {
    let mut h = new_histogram();
    for &(deadline, late_ns) in ticks {
        if (start_ns..end_ns).contains(&deadline) {
            record_clamped(&mut h, late_ns / 1_000);
        }
    }
    h
}

/// The cyclictest-style probe without any injected work.
pub fn probe_timer(
    period: Duration,
    duration: Duration,
    stopped: impl Fn() -> bool,
) -> Histogram<u64> {
    probe_timer_with(period, duration, stopped, |_| {})
}

/// Measures the floor: the timer probe at `watchdog_period` on a thread with the model's
/// `settings`, and the driver's pacing loop (1 ns slack, the run's send spin margin
/// `spin_margin_ns`) at `poll_period`, side by side for `duration` or until `stopped()`
/// (both keep what they measured).
pub fn measure_floor(
    watchdog_period: Duration,
    poll_period: Duration,
    duration: Duration,
    settings: &ChildSettings,
    spin_margin_ns: u64,
    stopped: fn() -> bool,
) -> Floor {
    let pacing = std::thread::Builder::new()
        .name("floor-pacing".into())
        .spawn(move || {
            super::pace::probe_send_pacing(poll_period, duration, spin_margin_ns, stopped)
        })
        .expect("spawn floor pacing thread");
    let settings = settings.clone();
    let timer = std::thread::Builder::new()
        .name("floor-timer".into())
        .spawn(move || {
            // Without the model's settings the reference would not be one (see above).
            let _ = settings.apply_to_calling_thread();
            probe_timer(watchdog_period, duration, stopped)
        })
        .expect("spawn floor timer thread");
    let driver = pacing.join().unwrap_or_else(|_| new_histogram());
    let timer = timer.join().unwrap_or_else(|_| new_histogram());
    Floor {
        timer_lateness: Summary::from_histogram(&timer),
        driver_error: Summary::from_histogram(&driver),
        ..Floor::default()
    }
}

/// Where periodic `deadlines` fall in a frame schedule: the median µs from the latest frame
/// written (`frames_ns`, sorted) to each deadline; `None` without a deadline after a frame.
/// Two timers with the same period and the same phase see the frames alike; a watchdog at
/// 2 ms after each frame and a reference at 20 ms are not measuring the same thing.
pub fn phase_after_frames(deadlines: impl Iterator<Item = u64>, frames_ns: &[u64]) -> Option<u64> {
    let mut offsets: Vec<u64> = deadlines
        .filter_map(|d| {
            let i = frames_ns.partition_point(|&w| w <= d);
            i.checked_sub(1).map(|i| (d - frames_ns[i]) / 1_000)
        })
        .collect();
    if offsets.is_empty() {
        return None;
    }
    let mid = offsets.len() / 2;
    Some(*offsets.select_nth_unstable(mid).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_one_sample_per_period_and_lateness_is_small_but_real() {
        let h = probe_timer(Duration::from_millis(5), Duration::from_millis(200), || {
            false
        });
        assert_eq!(h.len(), 40);
        // At ns resolution a wake-up is never at or before its deadline: the kernel wakes
        // after expiry and the clock is read after that. A probe that slept relative to
        // the wrong instant, or read another clock, would show zeros (saturated) here.
        let start = now_ns() + 2_000_000;
        let ticks = probe_alongside(Duration::from_millis(5), start, start + 100_000_000, || {
            false
        });
        assert_eq!(ticks.len(), 20);
        assert!(ticks.iter().all(|&(_, late_ns)| late_ns > 0), "{ticks:?}");
    }

    #[test]
    fn the_reference_timer_thread_takes_the_models_slack_and_the_pacing_keeps_1_ns() {
        let model = ChildSettings {
            timer_slack_ns: 50_000,
            cpus: None,
        };
        std::thread::spawn(move || {
            crate::load::pace::tighten_timer_slack();
            model.apply_to_calling_thread().unwrap();
            assert_eq!(nix::sys::prctl::get_timerslack().unwrap(), 50_000);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn random_phases_cover_the_period() {
        let phases: Vec<u64> = (0..200).map(|_| random_phase_ns(25_000_000)).collect();
        assert!(phases.iter().all(|&p| p < 25_000_000));
        // 200 draws over 25 ms: both halves are hit (fails for a constant or a stuck source).
        assert!(phases.iter().any(|&p| p < 12_500_000));
        assert!(phases.iter().any(|&p| p >= 12_500_000));
    }

    #[test]
    fn phase_after_frames_is_the_median_offset_from_the_latest_frame() {
        const MS: u64 = 1_000_000;
        let frames: Vec<u64> = (0..10).map(|k| k * 25 * MS).collect();
        // Deadlines 3 ms after each frame; one before any frame is left out.
        let deadlines = (0..10).map(|k| k * 25 * MS + 3 * MS);
        assert_eq!(phase_after_frames(deadlines, &frames), Some(3_000));
        let early = [0u64].into_iter();
        assert_eq!(phase_after_frames(early, &[MS]), None);
    }

    #[test]
    fn an_injected_delay_is_recovered() {
        // Every other wake-up, hold the thread for a whole period plus 8 ms: the next
        // deadline is then missed by ~8 ms, which the probe must report.
        let period = Duration::from_millis(10);
        let extra = Duration::from_millis(8);
        let h = probe_timer_with(
            period,
            Duration::from_millis(600),
            || false,
            |k| {
                if k % 2 == 0 {
                    std::thread::sleep(period + extra);
                }
            },
        );
        assert_half_delayed_by_8_ms(&h, 7_500);
    }

    /// Half the samples of `h` carry an injected ~8 ms delay: the median lies between the two
    /// groups, p90 (at least `p90_min` µs) must show it. The upper bound is generous (a loaded
    /// shared machine was seen adding 44 ms on top) but still catches lateness that
    /// accumulates from slot to slot instead of being measured against each slot's own
    /// deadline (~240 ms by the end).
    fn assert_half_delayed_by_8_ms(h: &Histogram<u64>, p90_min: u64) {
        let p90 = h.value_at_quantile(0.90);
        assert!((p90_min..=150_000).contains(&p90), "p90 {p90} µs");
        // The undisturbed half stands apart from the delayed one by about the 8 ms (a
        // loaded machine shifts both halves, so the gap is checked, not the absolute value).
        let p10 = h.value_at_quantile(0.10);
        assert!(
            p90.saturating_sub(p10) >= 5_000,
            "the injected 8 ms must separate the two halves: p10 {p10} µs, p90 {p90} µs"
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
        assert_half_delayed_by_8_ms(&h, 7_000);
    }

    #[test]
    fn floor_has_both_figures() {
        let f = measure_floor(
            Duration::from_millis(10),
            Duration::from_millis(10),
            Duration::from_millis(100),
            &ChildSettings::default(),
            crate::load::pace::SPIN_MARGIN_NS,
            || false,
        );
        assert_eq!(f.timer_lateness.count, 10);
        assert_eq!(f.driver_error.count, 10);
    }
}
