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

use nix::sys::time::TimeSpec;
use nix::time::{clock_nanosleep, ClockId, ClockNanosleepFlags};

/// Sets the calling thread's timer slack to 1 ns (the smallest the kernel takes), so its
/// absolute-deadline sleeps wake as close to the deadline as the machine can. Failure (a
/// kernel without `PR_SET_TIMERSLACK`) leaves the default slack; the floor then includes it.
pub fn tighten_timer_slack() {
    let _ = nix::sys::prctl::set_timerslack(1);
}

/// Sleeps until `CLOCK_MONOTONIC` reaches `deadline_ns` (returns at once if it already has).
/// Retries when a signal interrupts the sleep, so a caught SIGINT never shortens a wait.
pub fn sleep_until_ns(deadline_ns: u64) {
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
    pub fn first_at_or_after(&self, t_ns: u64) -> u64 {
        if t_ns <= self.t0_ns {
            return 0;
        }
        (t_ns - self.t0_ns).div_ceil(self.period_ns)
    }
}

/// Milliseconds (possibly fractional, as scenarios write them) to nanoseconds.
pub fn ms_to_ns(ms: f64) -> u64 {
    (ms.max(0.0) * 1e6).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_ns;

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
