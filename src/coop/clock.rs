//! The loop's clock: `CLOCK_MONOTONIC` (the clock `Instant` reads) as plain nanoseconds.
//!
//! Why not `Instant`: every time the loop needs (a poll's start and length, a woken task's
//! queue delay, a timer's deadline, lateness and oversleep, the wait's timeout) is a
//! difference or a comparison, and `Instant`'s are timespec arithmetic — `duration_since`
//! normalises seconds and nanoseconds and checks for underflow, about 55 instructions a call
//! (callgrind: some 4,300 calls, 5 % of the serve process's instructions, in 10 s of the
//! classroom scenario). On a `u64` they are one instruction. `Instant`s appear only at the
//! API's edges (`sleep_until`, `timeout_at`, `interval_at`), converted once.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Now, in nanoseconds of `CLOCK_MONOTONIC`.
pub(crate) fn now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a timespec on the stack. CLOCK_MONOTONIC cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// One `Instant` and the same moment in nanoseconds, read in that order, so the
/// nanoseconds are at or after the instant (by the few ns between the two reads).
fn anchor() -> (Instant, u64) {
    static ANCHOR: OnceLock<(Instant, u64)> = OnceLock::new();
    *ANCHOR.get_or_init(|| {
        let i = Instant::now();
        (i, now())
    })
}

/// `t` on the loop's clock, never earlier than `t` itself (a deadline converted here can
/// only be late, by the anchor's few ns, never early).
pub(crate) fn from_instant(t: Instant) -> u64 {
    let (i0, n0) = anchor();
    match t.checked_duration_since(i0) {
        Some(d) => n0.saturating_add(d.as_nanos() as u64),
        None => n0.saturating_sub(i0.duration_since(t).as_nanos() as u64),
    }
}

/// `ns` as an `Instant` (within the anchor's few ns).
pub(crate) fn to_instant(ns: u64) -> Instant {
    let (i0, n0) = anchor();
    if ns >= n0 {
        i0 + Duration::from_nanos(ns - n0)
    } else {
        i0.checked_sub(Duration::from_nanos(n0 - ns)).unwrap_or(i0)
    }
}

/// `d` in nanoseconds, saturating (a sleep of `Duration::MAX` is "never").
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_convert_never_early_and_back_within_a_microsecond() {
        let before = now();
        let t = Instant::now();
        let ns = from_instant(t);
        let after = now();
        assert!(ns >= before, "{ns} < {before}");
        // The anchor's gap is a few ns; allow generously for a preempted test thread.
        assert!(ns <= after + 1_000_000, "{ns} > {after}");
        let later = t + Duration::from_millis(25);
        assert_eq!(from_instant(later) - ns, 25_000_000);
        let back = to_instant(ns);
        let diff = if back > t { back - t } else { t - back };
        assert!(diff < Duration::from_micros(1), "{diff:?}");
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }
}
