//! The epoll reactor: edge-triggered fd sources, sub-millisecond waits, the remote eventfd.

use super::clock;
use super::runtime::Core;
use super::TimerBackend;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use std::cell::{Cell, RefCell};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::task::Waker;

const REMOTE_KEY: u64 = u64::MAX;
const TIMERFD_KEY: u64 = u64::MAX - 1;
const MAX_EVENTS: usize = 64;

/// How long `poll` may block.
pub(crate) enum Wait {
    Zero,
    /// Until this deadline, in ns of the loop's clock (`clock`).
    Until(u64),
    Forever,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read,
    Write,
}

/// A registered fd: its slot index and generation (the epoll data word).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SourceKey(u64);

struct Source {
    gen: u32,
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// False once a read came back short or `WouldBlock` and no read event has arrived
    /// since: the fd is drained, so the next read waits without a syscall (see `AsyncFd`).
    readable: bool,
    /// The peer hung up (or the fd errored): edge-triggered epoll reports that once, and the
    /// same event may also have carried the last data, so after it every read is tried —
    /// a short read no longer means "wait", since no further edge would ever come and the
    /// end of file would never be read (a CLOSE-WAIT socket kept forever).
    read_closed: bool,
}

impl Default for Source {
    fn default() -> Source {
        // Unknown counts as readable: the first read is always tried.
        Source {
            gen: 0,
            reader: None,
            writer: None,
            readable: true,
            read_closed: false,
        }
    }
}

pub(crate) struct Reactor {
    epoll: Epoll,
    pwait2: Cell<bool>,
    /// `epoll_pwait2` lets a sleep end up to timeout / `slack_div` late (see `wait`).
    slack_div: u32,
    timerfd: RefCell<Option<TimerFd>>,
    armed: Cell<Option<u64>>,
    sources: RefCell<Vec<Source>>,
    free: RefCell<Vec<u32>>,
}

impl Reactor {
    pub(crate) fn new(backend: TimerBackend, remote: &impl AsFd) -> io::Result<Reactor> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(remote, EpollEvent::new(EpollFlags::EPOLLIN, REMOTE_KEY))?;
        let r = Reactor {
            epoll,
            pwait2: Cell::new(backend == TimerBackend::EpollPwait2),
            slack_div: estimate_divisor(),
            timerfd: RefCell::new(None),
            armed: Cell::new(None),
            sources: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
        };
        // Probe epoll_pwait2 once, with nothing registered but the (quiet) eventfd.
        if r.pwait2.get() {
            let mut ev = [MaybeUninit::uninit(); 1];
            if r.pwait2_raw(&mut ev, 0) < 0 {
                r.pwait2.set(false);
            }
        }
        if !r.pwait2.get() {
            let tfd = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            // Edge-triggered and never read: re-arming it (`timerfd_settime`) resets its
            // expiry count, so the next expiry is a new edge without a `read` per tick.
            r.epoll.add(
                &tfd,
                EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, TIMERFD_KEY),
            )?;
            *r.timerfd.borrow_mut() = Some(tfd);
        }
        Ok(r)
    }

    pub(crate) fn backend_name(&self) -> &'static str {
        if self.pwait2.get() {
            "epoll_pwait2"
        } else {
            "timerfd"
        }
    }

    /// `epoll_pwait2` with a timeout of `ns` nanoseconds.
    fn pwait2_raw(&self, events: &mut [MaybeUninit<libc::epoll_event>], ns: u64) -> i32 {
        let ts = libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: valid epoll fd, event buffer of the given length, timespec on the stack,
        // no signal mask.
        unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.epoll.0.as_raw_fd(),
                events.as_mut_ptr().cast::<libc::epoll_event>(),
                events.len() as libc::c_int,
                &ts as *const libc::timespec,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            ) as i32
        }
    }

    /// `now` is the loop's clock reading just before the wait (see `Core::clock`). The
    /// kernel fills the first n (the return value) of `events`.
    fn wait(&self, events: &mut [MaybeUninit<libc::epoll_event>], wait: Wait, now: u64) -> usize {
        let epfd = self.epoll.0.as_raw_fd();
        let plain = |events: &mut [MaybeUninit<libc::epoll_event>], ms: libc::c_int| {
            let (buf, len) = (events.as_mut_ptr().cast(), events.len() as libc::c_int);
            // SAFETY: valid epoll fd and event buffer of `len` entries.
            unsafe { libc::epoll_wait(epfd, buf, len, ms) }
        };
        let n = match wait {
            Wait::Zero => plain(events, 0),
            Wait::Forever => plain(events, -1),
            Wait::Until(deadline) => {
                let d = deadline.saturating_sub(now);
                if d == 0 {
                    plain(events, 0)
                } else if self.pwait2.get() {
                    // The kernel gives an epoll sleep a slack of 0.1 % of its timeout
                    // (0.5 % when niced) or the thread's timer slack, whichever is larger
                    // (fs/select.c, `select_estimate_accuracy`): 25 µs on a 25 ms sleep.
                    // Asking for the timeout less that share makes the latest wake-up the
                    // deadline itself; a wake-up inside the share (another interrupt came
                    // first) finds the timer not yet due and waits the few µs left.
                    self.pwait2_raw(events, d - d / u64::from(self.slack_div))
                } else {
                    if self.armed.get() != Some(deadline) {
                        if let Some(tfd) = self.timerfd.borrow().as_ref() {
                            // The loop's clock is CLOCK_MONOTONIC: the deadline itself.
                            let at = std::time::Duration::from_nanos(deadline);
                            let exp = Expiration::OneShot(TimeSpec::from_duration(at));
                            tfd.set(exp, TimerSetTimeFlags::TFD_TIMER_ABSTIME)
                                .expect("coop: timerfd_settime");
                        }
                        self.armed.set(Some(deadline));
                    }
                    plain(events, -1)
                }
            }
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            assert!(
                err.kind() == io::ErrorKind::Interrupted,
                "coop: epoll wait failed: {err}"
            );
            return 0;
        }
        n as usize
    }

    /// Waits for I/O, wakes the waiters of ready fds, and returns the loop's new clock
    /// reading: taken right after a blocking wait (`fresh`), or the loop's last one after a
    /// zero-timeout check (which does not sleep: the loop's reading from the end of the
    /// last poll is nanoseconds old, so a check before every task costs no clock read).
    /// Also returns the number of events.
    pub(crate) fn poll(&self, core: &Core, wait: Wait, fresh: bool) -> (u64, usize) {
        // Not zeroed: the kernel writes the first n entries, and only those are read.
        let mut events = [MaybeUninit::<libc::epoll_event>::uninit(); MAX_EVENTS];
        let before = core.clock.get();
        let n = self.wait(&mut events, wait, before).min(MAX_EVENTS);
        let now = if fresh { clock::now() } else { before };
        core.rec.borrow_mut().epoll_events(n);
        for ev in &events[..n] {
            // SAFETY: epoll_wait/epoll_pwait2 initialised the first n entries.
            let ev = unsafe { ev.assume_init() };
            let (key, bits) = (ev.u64, ev.events);
            match key {
                REMOTE_KEY => core.drain_remote(),
                TIMERFD_KEY => self.armed.set(None),
                _ => self.dispatch(key, bits),
            }
        }
        (now, n)
    }

    fn dispatch(&self, key: u64, bits: u32) {
        let (idx, gen) = (key as u32, (key >> 32) as u32);
        let any = |f: libc::c_int| bits & f as u32 != 0;
        let hup = any(libc::EPOLLHUP | libc::EPOLLERR);
        let (r, w) = {
            let mut sources = self.sources.borrow_mut();
            let Some(s) = sources.get_mut(idx as usize).filter(|s| s.gen == gen) else {
                return;
            };
            if hup || any(libc::EPOLLRDHUP) {
                s.read_closed = true;
            }
            let r = if hup || any(libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLPRI) {
                s.readable = true;
                s.reader.take()
            } else {
                None
            };
            let w = if hup || any(libc::EPOLLOUT) {
                s.writer.take()
            } else {
                None
            };
            (r, w)
        };
        r.into_iter().chain(w).for_each(Waker::wake);
    }

    /// Registers `fd` once, edge-triggered, for reading and (if `write`) writing. A fd that
    /// is only read is not registered for writing: a tty reports a write-readiness edge
    /// each time anyone writes to it (the bridge sends commands through another fd of the
    /// same pty), and each such edge would wake the loop for nothing.
    pub(crate) fn register(&self, fd: BorrowedFd<'_>, write: bool) -> io::Result<SourceKey> {
        let mut sources = self.sources.borrow_mut();
        let idx = self.free.borrow_mut().pop().unwrap_or_else(|| {
            sources.push(Source::default());
            sources.len() as u32 - 1
        });
        let key = (sources[idx as usize].gen as u64) << 32 | idx as u64;
        let mut flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP | EpollFlags::EPOLLET;
        if write {
            flags |= EpollFlags::EPOLLOUT;
        }
        if let Err(e) = self.epoll.add(fd, EpollEvent::new(flags, key)) {
            self.free.borrow_mut().push(idx);
            return Err(e.into());
        }
        Ok(SourceKey(key))
    }

    pub(crate) fn deregister(&self, key: SourceKey, fd: BorrowedFd<'_>) {
        let _ = self.epoll.delete(fd);
        let idx = key.0 as u32;
        let mut sources = self.sources.borrow_mut();
        let s = &mut sources[idx as usize];
        if s.gen == (key.0 >> 32) as u32 {
            *s = Source {
                gen: s.gen.wrapping_add(1),
                ..Source::default()
            };
            self.free.borrow_mut().push(idx);
        }
    }

    /// Whether a read on `key` is worth trying (see `Source::readable`, `read_closed`).
    pub(crate) fn readable(&self, key: SourceKey) -> bool {
        let s = &self.sources.borrow()[key.0 as u32 as usize];
        s.readable || s.read_closed
    }

    /// Notes that `key` was read dry; the next read event sets it readable again.
    pub(crate) fn clear_readable(&self, key: SourceKey) {
        self.sources.borrow_mut()[key.0 as u32 as usize].readable = false;
    }

    /// Records the task waiting for `dir` on `key` (one waiter per direction, as uasyncio).
    pub(crate) fn set_waiter(&self, key: SourceKey, dir: Dir, waker: &Waker) {
        let mut sources = self.sources.borrow_mut();
        let s = &mut sources[key.0 as u32 as usize];
        let slot = if dir == Dir::Read {
            &mut s.reader
        } else {
            &mut s.writer
        };
        match slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

/// The divisor behind `select_estimate_accuracy`'s slack for this thread: 1000 (0.1 %), or
/// 200 when the thread is niced; +1 so that timeout + slack stays at or before the deadline.
fn estimate_divisor() -> u32 {
    // SAFETY: getpriority with constant arguments; -1 is also a valid nice value, so errno
    // is not checked (an error reads as "not niced", the smaller correction).
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if nice > 0 {
        201
    } else {
        1001
    }
}
