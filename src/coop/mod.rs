//! `coop`: a small single-threaded cooperative scheduler in the spirit of MicroPython's
//! `asyncio`, written for the bridge's `coop` models and measured against the big runtimes.
//!
//! Standalone: it uses std, `libc`, `nix` (epoll, eventfd, timerfd), `hdrhistogram` and
//! `serde` only, never the bridge or a model, so it could be lifted out as its own crate.
//!
//! # Design, against uasyncio
//!
//! **Tasks and the run queue.** uasyncio v3 keeps ready *and* sleeping tasks in one pairing
//! heap keyed by `ticks_ms`. Here ready tasks sit in a FIFO `VecDeque` of slot ids and
//! sleeping ones in a separate timer heap, because a Rust future sleeps on a *timer object*
//! (dropping it must cancel), not on its task. Tasks live in a slab: a slot holds the boxed
//! future, a generation number, its state (idle / queued / running / running-and-woken) and
//! an interned name for the statistics. Ready tasks run in FIFO order; a task that wakes
//! itself goes to the back, so it cannot starve the others.
//!
//! **Wakers.** A `std::task::Waker` must be `Send + Sync`, so a refcounted waker pays atomics
//! even on one thread. Ours carries no pointer at all: the data word packs
//! (runtime id, slot index, generation). Clone and drop are free; `wake` on the loop's own
//! thread is a thread-local lookup plus a push. A generation mismatch means the task finished
//! and its slot may have been reused: the wake is dropped and counted as *stale*, so a stale
//! waker never wakes a reused slot. A wake from another thread (or from a different runtime)
//! goes through a mutex-protected remote queue and an eventfd registered in epoll — the same
//! idea as uasyncio's `ThreadSafeFlag`.
//!
//! **Timers.** A binary heap of (deadline, sequence, entry) with a slab of entries; equal
//! deadlines fire in insertion order, as in uasyncio. Cancelling (dropping a `Sleep`) frees
//! the entry and leaves a tombstone in the heap; once tombstones outnumber live entries the
//! heap is rebuilt, so it never grows with cancellations. `timeout` is uasyncio's `wait_for`
//! as a combinator: the inner future and a `Sleep` are polled together and the loser is
//! dropped (dropping is Rust's `CancelledError`). `interval` is drift free (deadline +=
//! period); a late tick is followed by catch-up ticks.
//!
//! **Reactor.** epoll, edge-triggered, each fd registered once for in+out (uasyncio modifies
//! its `poll` registration as waiters come and go; edge triggering makes that unnecessary).
//! An I/O operation is always tried first and only waits after `EWOULDBLOCK`. Timeouts have
//! nanosecond resolution and never use plain `epoll_wait`'s milliseconds (mio rounds them up
//! to 1 ms). The default, `TimerBackend::Timerfd`, arms a timerfd registered in epoll
//! (edge-triggered, never read) at the next deadline, with a `timerfd_settime` only when that
//! deadline changes (once per watchdog tick in the bridge), and waits in `epoll_wait(-1)`.
//! The alternative, `TimerBackend::EpollPwait2`, passes the deadline to `epoll_pwait2` as a
//! `timespec`: no syscall of its own, but the kernel starts an hrtimer on every wait and
//! cancels it whenever I/O ends the wait first, and on a VM reprogramming the timer device is
//! a VM exit. The timerfd removes those (about 2.7 → 0.7 hrtimer operations per event) for a
//! `timerfd_settime` per tick; its CPU gain was small (one paired run of three separated it,
//! none showed a loss; docs/coop.md, "fourth pass"). Two kinds of slack would make a pwait2
//! sleep late and both are taken out: the thread's timer slack (50 µs by default;
//! `Config::timer_slack` sets it to 1 ns while `block_on` runs) and epoll's own 0.1 % of the
//! timeout (the reactor asks for that much less). If the kernel lacks `epoll_pwait2`
//! (`ENOSYS`, probed once at start, < 5.11) that backend falls back to the timerfd.
//!
//! **The fast_io knob.** [`IoPollEvery`] decides when the loop polls I/O with a zero timeout
//! while tasks are ready: before every task (fast_io, asyncio v3), every N tasks (tokio-like),
//! or once per pass over the tasks that were ready when the pass began (uasyncio v2). When
//! nothing is ready the loop always blocks in epoll until the next timer deadline.
//!
//! **Self-measurement**, cheap enough to leave on (one clock read per poll and one per
//! blocking wait, shared by everything that needs "now" and kept as plain nanoseconds, so
//! that the loop's time arithmetic is on integers, see `clock`; distributions counted into
//! HDR's bucket layout, two significant digits, and made `hdrhistogram`s only when read):
//! per-task longest poll and a warning naming a
//! task that holds the loop longer than `Config::hog_threshold` (uasyncio's "blocking call"
//! mistake), queue delay (ready → polled), timer lateness split into reactor oversleep
//! (blocked in epoll past the deadline) and queueing (the loop was busy with other tasks),
//! run-queue length, epoll calls (zero-timeout vs blocking) and events per call, busy vs
//! idle time, local/self/stale/remote wakes. [`stats()`] returns a serialisable [`Stats`]
//! snapshot. Poll durations are wall time: on an overloaded machine a poll during which the
//! thread was preempted can exceed the hog threshold too (thread CPU time would need a
//! syscall per poll).
//!
//! **Not here:** task priorities, work stealing, `Send` futures, panics caught per task (a
//! panicking task unwinds out of `block_on`). A main future that waits on nothing that can
//! ever wake it blocks forever, as a blocked thread would.

mod clock;
mod io;
mod reactor;
mod runtime;
mod stats;
mod sync;
mod time;

pub use io::{AsyncFd, TcpListener, TcpStream};
pub use runtime::{block_on, spawn, spawn_named, stats, yield_now, JoinError, JoinHandle, Runtime};
pub use stats::{Dist, Stats, TaskStats};
pub use sync::{Event, Lock, LockGuard, Queue};
pub use time::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Interval, Sleep,
};

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// When the loop checks I/O (and timers) while tasks are ready to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoPollEvery {
    /// Before every task: fast_io / asyncio v3. Lowest I/O latency, one syscall per task.
    Task,
    /// Every N tasks run (tokio polls its driver every 61 ticks).
    Tasks(u32),
    /// Once per pass over the tasks ready when the pass began: uasyncio v2.
    Pass,
}

impl fmt::Display for IoPollEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoPollEvery::Task => f.write_str("task"),
            IoPollEvery::Tasks(n) => write!(f, "{n}"),
            IoPollEvery::Pass => f.write_str("pass"),
        }
    }
}

impl FromStr for IoPollEvery {
    type Err = String;
    /// `task`, `pass` or a positive number of tasks (`1` means `task`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "task" | "1" => Ok(IoPollEvery::Task),
            "pass" => Ok(IoPollEvery::Pass),
            n => match n.parse::<u32>() {
                Ok(n) if n > 1 => Ok(IoPollEvery::Tasks(n)),
                _ => Err(format!(
                    "io_poll_every: expected task, pass or N > 0, got {s:?}"
                )),
            },
        }
    }
}

/// How the reactor sleeps until the next timer deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerBackend {
    /// A timerfd armed at the next deadline plus a blocking `epoll_wait` (no timer slack):
    /// a `timerfd_settime` per new deadline, one hrtimer per deadline. The default: fewer
    /// hrtimer operations and VM exits per event (docs/coop.md, "fourth pass").
    Timerfd,
    /// `epoll_pwait2` with a `timespec`: the deadline rides on the wait itself, no syscall
    /// of its own, but an hrtimer started on every wait and cancelled when I/O ends it.
    /// Subject to the thread's timer slack (hence `Config::timer_slack`, 1 ns by default);
    /// falls back to `Timerfd` when the kernel does not have it (< 5.11).
    EpollPwait2,
}

/// Runtime settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub io_poll_every: IoPollEvery,
    /// A poll longer than this is a hog: counted, and the first one per task name is
    /// reported on stderr.
    pub hog_threshold: Duration,
    pub timer_backend: TimerBackend,
    /// If set, the loop thread's timer slack (`PR_SET_TIMERSLACK`, default 50 µs) is set to
    /// this while `block_on` runs. The default, 1 ns, makes `EpollPwait2` sleeps as exact as
    /// a timerfd's (which the slack never delays).
    pub timer_slack: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            io_poll_every: IoPollEvery::Tasks(8),
            hog_threshold: Duration::from_millis(10),
            timer_backend: TimerBackend::Timerfd,
            timer_slack: Some(Duration::from_nanos(1)),
        }
    }
}
