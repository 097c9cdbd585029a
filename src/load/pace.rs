//! Sleeping to absolute deadlines on the shared monotonic clock.
//!
//! Both the floor probe and the Scratch clients wait with `clock_nanosleep(CLOCK_MONOTONIC,
//! TIMER_ABSTIME)`: an absolute deadline never accumulates drift, and using the same call in
//! the floor and in the driver makes the floor a fair baseline for the driver's own error.
//!
//! Every thread that paces itself this way first calls [`tighten_timer_slack`]: Linux lets a
//! `clock_nanosleep` wake up to the thread's timer slack (50 µs by default) after its
//! deadline, which would add 50 µs of the driver's own making to every figure and make the
//! floor slower than a timerfd-based runtime (coop's timers are not subject to slack).
//!
//! A plain sleep still wakes tens of µs late (the kernel's wake-up path, an idle vCPU), and
//! that lateness is the driver's send error, part of every poll latency. So the clients do
//! not sleep all the way: [`arrive_at_ns`] sleeps to [`SPIN_MARGIN_NS`] before the deadline
//! and spins on the clock for the rest. Whenever the wake-up is less late than the margin the
//! send is on time to the clock's resolution; when it is later, the error is the lateness
//! minus the margin, so the send error's percentiles sit below the plain timer's by the
//! margin. The spin runs on the driver's own thread, in the driver process: it shows in the
//! driver's CPU (`driver.cpu_percent`), never in the model's, and under `--pin` it runs on the
//! driver's CPU only. The floor's plain timer probes keep [`sleep_until_ns`], so they go on
//! measuring what a plain timer does.

use std::time::Duration;

use hdrhistogram::Histogram;
use nix::sys::time::TimeSpec;
use nix::time::{clock_nanosleep, ClockId, ClockNanosleepFlags};

use crate::clock::now_ns;
use crate::metrics::summary::{new_histogram, record_clamped};

/// Sets the calling thread's timer slack to 1 ns (the smallest the kernel takes), so its
/// absolute-deadline sleeps wake as close to the deadline as the machine can. Failure (a
/// kernel without `PR_SET_TIMERSLACK`) leaves the default slack; the floor then includes it.
pub fn tighten_timer_slack() {
    let _ = nix::sys::prctl::set_timerslack(1);
}

/// Sleeps until `CLOCK_MONOTONIC` reaches `deadline_ns` (returns at once if it already has).
/// Retries when a signal interrupts the sleep, so a caught SIGINT never shortens a wait.
pub(crate) fn sleep_until_ns(deadline_ns: u64) {
    let ts = TimeSpec::new(
        (deadline_ns / 1_000_000_000) as libc::time_t,
        (deadline_ns % 1_000_000_000) as libc::c_long,
    );
    loop {
        match clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            ClockNanosleepFlags::TIMER_ABSTIME,
            &ts,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// How long before a send deadline the driver stops sleeping and starts spinning, unless
/// the scenario's `run.send_spin_us` (or `esbench run --send-spin-us`) says otherwise; each
/// [`super::client::ClientSpec`] carries the margin its run chose.
///
/// Chosen with `examples/pace_margin.rs` (see docs/instrument.md): on the 2-core dev VM a
/// plain timer with 1 ns slack woke about 50 µs late at the median and 70–120 µs at p90 when
/// the machine was quiet; 200 µs covers that, so most sends leave on time, for at most 200 µs
/// of spinning per send (about 0.5 % of one core at the classroom's 31 sends/s). A longer
/// margin also absorbs some CPU contention (1 ms cut the p99 further on the loaded VM), but
/// spins ~3 % of a core, which without `--pin` competes with the model for the same CPUs.
pub const SPIN_MARGIN_NS: u64 = crate::scenario::DEFAULT_SEND_SPIN_US * 1_000;

/// What one [`arrive_at_ns`] did: how late the caller is at its return, and how long it spun.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arrival {
    /// `now − deadline` on return (0 when the deadline was met to the clock's resolution and
    /// the spin's own step, a few tens of ns).
    pub late_ns: u64,
    /// Time spent spinning on the clock before the deadline.
    pub spun_ns: u64,
}

/// Waits until `CLOCK_MONOTONIC` reaches `deadline_ns`: sleeps (absolute deadline) to
/// `margin_ns` before it, then spins reading the clock. Never returns before the deadline.
pub fn arrive_at_ns(deadline_ns: u64, margin_ns: u64) -> Arrival {
    let wake_at = deadline_ns.saturating_sub(margin_ns);
    if now_ns() < wake_at {
        sleep_until_ns(wake_at);
    }
    let spin_from = now_ns();
    let mut now = spin_from;
    while now < deadline_ns {
        std::hint::spin_loop();
        now = now_ns();
    }
    Arrival {
        late_ns: now - deadline_ns,
        spun_ns: deadline_ns.saturating_sub(spin_from),
    }
}

/// One step of a stoppable wait for a send deadline: when `deadline_ns` is more than
/// `max_sleep_ns` away, a plain sleep of `max_sleep_ns` (the caller checks its stop flag and
/// comes back); otherwise [`arrive_at_ns`] with `margin`, so only the final approach spins.
pub(crate) fn step_toward_send_ns(deadline_ns: u64, max_sleep_ns: u64, margin: u64) {
    let now = now_ns();
    if deadline_ns.saturating_sub(now) > max_sleep_ns.max(margin) {
        sleep_until_ns(now + max_sleep_ns);
    } else {
        arrive_at_ns(deadline_ns, margin);
    }
}

/// The clients' pacing loop without any request: arrives at `t0 + k·period` for `duration`
/// (or until `stopped` says so, e.g. on Ctrl-C), with the run's spin margin `margin_ns`, and
/// returns the send error it would have had (µs), the floor's `driver_error`.
pub(crate) fn probe_send_pacing(
    period: Duration,
    duration: Duration,
    margin_ns: u64,
    stopped: impl Fn() -> bool,
) -> Histogram<u64> {
    tighten_timer_slack();
    let mut h = new_histogram();
    let period_ns = (period.as_nanos() as u64).max(1);
    let plan = Plan::new(now_ns() + period_ns, period_ns);
    let end = plan.t0_ns + duration.as_nanos() as u64;
    let mut k = 0;
    while plan.at(k) < end && !stopped() {
        let a = arrive_at_ns(plan.at(k), margin_ns);
        record_clamped(&mut h, a.late_ns / 1_000);
        k += 1;
    }
    h
}

/// A constant-rate plan: event `k` is intended at `t0 + k·period`, whatever happened before.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub t0_ns: u64,
    pub period_ns: u64,
}

impl Plan {
    pub fn new(t0_ns: u64, period_ns: u64) -> Plan {
        Plan {
            t0_ns,
            period_ns: period_ns.max(1),
        }
    }

    /// Intended time of event `k`.
    pub fn at(&self, k: u64) -> u64 {
        self.t0_ns + k * self.period_ns
    }

    /// The first event index whose intended time is at or after `t_ns`.
    pub(crate) fn first_at_or_after(&self, t_ns: u64) -> u64 {
        if t_ns <= self.t0_ns {
            return 0;
        }
        (t_ns - self.t0_ns).div_ceil(self.period_ns)
    }
}

/// Milliseconds (possibly fractional, as scenarios write them) to nanoseconds.
pub(crate) fn ms_to_ns(ms: f64) -> u64 {
    (ms.max(0.0) * 1e6).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_the_deadline_and_not_before() {
        let start = now_ns();
        let deadline = start + 20_000_000;
        sleep_until_ns(deadline);
        assert!(now_ns() >= deadline);
        // A deadline in the past returns at once.
        let t = now_ns();
        sleep_until_ns(start);
        assert!(now_ns() - t < 50_000_000);
    }

    #[test]
    fn the_pacing_threads_timer_slack_is_tightened_to_1_ns() {
        std::thread::spawn(|| {
            nix::sys::prctl::set_timerslack(50_000).unwrap();
            tighten_timer_slack();
            assert_eq!(nix::sys::prctl::get_timerslack().unwrap(), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn arriving_never_returns_early_and_spins_at_most_the_margin() {
        for margin in [0, 50_000, SPIN_MARGIN_NS] {
            for _ in 0..5 {
                let deadline = now_ns() + 3_000_000;
                let a = arrive_at_ns(deadline, margin);
                let back = now_ns();
                assert!(back >= deadline, "returned {} ns early", deadline - back);
                assert!(back - deadline >= a.late_ns);
                assert!(
                    a.spun_ns <= margin,
                    "spun {} ns, margin {margin}",
                    a.spun_ns
                );
            }
        }
        // A deadline already past: no sleep, no spin, the lateness reported.
        let past = now_ns() - 1_000_000;
        let a = arrive_at_ns(past, SPIN_MARGIN_NS);
        assert_eq!(a.spun_ns, 0);
        assert!(a.late_ns >= 1_000_000);
    }

    #[test]
    fn the_spin_takes_up_the_wake_up_lateness() {
        // With a margin far above any wake-up lateness, the thread wakes early and spins the
        // rest: the spin is what the sleep did not cover. (With margin 0 it never spins; the
        // first test shows that.) Only the sum is checked, not a speed: the machine is shared.
        let margin = 20_000_000;
        let deadline = now_ns() + 25_000_000;
        let a = arrive_at_ns(deadline, margin);
        assert!(a.spun_ns > 0, "woke after the deadline minus 20 ms?");
        assert!(now_ns() >= deadline);
    }

    #[test]
    fn a_step_far_from_the_deadline_is_a_plain_bounded_sleep() {
        let deadline = now_ns() + 10_000_000_000;
        let t = now_ns();
        step_toward_send_ns(deadline, 2_000_000, SPIN_MARGIN_NS);
        let took = now_ns() - t;
        assert!((2_000_000..5_000_000_000).contains(&took), "took {took} ns");
        // Near the deadline, the step arrives at it.
        let deadline = now_ns() + 1_000_000;
        step_toward_send_ns(deadline, 50_000_000, SPIN_MARGIN_NS);
        assert!(now_ns() >= deadline);
    }

    #[test]
    fn the_pacing_probe_takes_one_sample_per_slot() {
        let h = probe_send_pacing(
            Duration::from_millis(5),
            Duration::from_millis(100),
            SPIN_MARGIN_NS,
            || false,
        );
        assert_eq!(h.len(), 20);
    }

    #[test]
    fn plan_indices() {
        let p = Plan::new(1_000, 100);
        assert_eq!(p.at(0), 1_000);
        assert_eq!(p.at(3), 1_300);
        assert_eq!(p.first_at_or_after(0), 0);
        assert_eq!(p.first_at_or_after(1_000), 0);
        assert_eq!(p.first_at_or_after(1_001), 1);
        assert_eq!(p.first_at_or_after(1_300), 3);
        assert_eq!(p.first_at_or_after(1_301), 4);
    }
}
