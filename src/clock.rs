//! The one clock every timestamp in esbench comes from.
//!
//! `CLOCK_MONOTONIC` is shared by every process on the machine, so a time taken by the
//! virtual board, by the bridge in its child process and by the driver can be subtracted
//! directly. `std::time::Instant` uses the same clock on Linux but hides the raw value, which
//! is why cross-process stamps go through here.

/// Nanoseconds on `CLOCK_MONOTONIC`.
pub fn now_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .expect("CLOCK_MONOTONIC is always available on Linux");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn monotonic_and_agrees_with_instant() {
        let a = now_ns();
        let i = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        let b = now_ns();
        let el = i.elapsed();
        assert!(b > a);
        let ours = Duration::from_nanos(b - a);
        // Both measure the same clock; they differ only by the time between the two reads.
        assert!(ours >= Duration::from_millis(5));
        assert!(ours.abs_diff(el) < Duration::from_millis(50));
    }
}
