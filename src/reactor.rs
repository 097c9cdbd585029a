//! One event loop's way of waiting: an epoll set plus a timerfd armed at an absolute
//! `CLOCK_MONOTONIC` deadline. Shared, like `clock`, by every room that runs an event loop
//! (the virtual boards' loops in `device/`, the Scratch clients' in `load/`).
//!
//! The timerfd is what makes the event-driven driver pace like the thread-per-client one:
//! `epoll_wait`'s own timeout counts whole milliseconds, a timerfd wakes at the nanosecond
//! it is set to (plus the thread's timer slack, which the driver's threads set to 1 ns).
//! Registrations are level-triggered; callers that want one wake-up per arming use
//! `EPOLLONESHOT`.

use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Context, Result};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

/// The token the reactor's own timer reports under; callers' tokens must differ.
const TIMER_TOKEN: u64 = u64::MAX;
/// Most events taken from the kernel per wait.
const BATCH: usize = 256;

pub struct Reactor {
    epoll: Epoll,
    timer: TimerFd,
    /// The deadline the timer is armed for, if any.
    armed: Option<u64>,
    events: Vec<EpollEvent>,
}

impl Reactor {
    pub fn new() -> Result<Reactor> {
        let epoll =
            Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).context("cannot create an epoll")?;
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .context("cannot create a timerfd")?;
        epoll
            .add(
                timer.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, TIMER_TOKEN),
            )
            .context("cannot watch the timerfd")?;
        Ok(Reactor {
            epoll,
            timer,
            armed: None,
            events: vec![EpollEvent::empty(); BATCH],
        })
    }

    /// Watches `fd` for `flags`, reported under `token`.
    pub fn add(&self, fd: BorrowedFd<'_>, flags: EpollFlags, token: u64) -> Result<()> {
        debug_assert_ne!(token, TIMER_TOKEN);
        self.epoll
            .add(fd, EpollEvent::new(flags, token))
            .context("epoll add")
    }

    /// Changes what `fd` is watched for (re-arms a one-shot registration).
    pub fn modify(&self, fd: BorrowedFd<'_>, flags: EpollFlags, token: u64) -> Result<()> {
        self.epoll
            .modify(fd, &mut EpollEvent::new(flags, token))
            .context("epoll modify")
    }

    /// Stops watching `fd` (closing it does the same).
    pub fn delete(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.epoll.delete(fd).context("epoll delete")
    }

    /// Waits until a watched fd is ready or `CLOCK_MONOTONIC` reaches `deadline_ns` (None:
    /// no deadline; a deadline already past returns at once), and appends what is ready as
    /// `(token, flags)` to `ready`.
    pub fn wait_until(
        &mut self,
        deadline_ns: Option<u64>,
        ready: &mut Vec<(u64, EpollFlags)>,
    ) -> Result<()> {
        if let Some(d) = deadline_ns {
            if self.armed != Some(d) {
                let ts = TimeSpec::new(
                    (d / 1_000_000_000) as libc::time_t,
                    (d % 1_000_000_000).max(1) as libc::c_long,
                );
                self.timer
                    .set(
                        Expiration::OneShot(ts),
                        TimerSetTimeFlags::TFD_TIMER_ABSTIME,
                    )
                    .context("cannot arm the timerfd")?;
                self.armed = Some(d);
            }
        }
        self.collect(EpollTimeout::NONE, ready)
    }

    /// Takes whatever is ready now, without waiting.
    pub fn poll_now(&mut self, ready: &mut Vec<(u64, EpollFlags)>) -> Result<()> {
        self.collect(EpollTimeout::ZERO, ready)
    }

    fn collect(&mut self, timeout: EpollTimeout, ready: &mut Vec<(u64, EpollFlags)>) -> Result<()> {
        let n = match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => 0,
            Err(e) => return Err(e).context("epoll_wait"),
        };
        for ev in &self.events[..n] {
            if ev.data() == TIMER_TOKEN {
                // Expired: read it so it stops being readable; it is re-armed on demand.
                let _ = self.timer.wait();
                self.armed = None;
            } else {
                ready.push((ev.data(), ev.events()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_ns;

    #[test]
    fn the_timer_wakes_the_wait_at_its_deadline_and_not_before() {
        let mut r = Reactor::new().unwrap();
        let mut ready = Vec::new();
        for _ in 0..3 {
            let deadline = now_ns() + 5_000_000;
            r.wait_until(Some(deadline), &mut ready).unwrap();
            assert!(now_ns() >= deadline);
            assert!(ready.is_empty());
        }
        // A deadline in the past returns at once.
        let t = now_ns();
        r.wait_until(Some(t - 1_000), &mut ready).unwrap();
        assert!(now_ns() - t < 1_000_000_000);
    }

    #[test]
    fn a_ready_fd_is_reported_under_its_token() {
        let mut r = Reactor::new().unwrap();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        r.add(a.as_fd(), EpollFlags::EPOLLIN, 7).unwrap();
        let mut ready = Vec::new();
        r.poll_now(&mut ready).unwrap();
        assert!(ready.is_empty());
        use std::io::Write;
        (&b).write_all(b"x").unwrap();
        r.wait_until(Some(now_ns() + 5_000_000_000), &mut ready)
            .unwrap();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].0, 7);
        assert!(ready[0].1.contains(EpollFlags::EPOLLIN));
    }
}
