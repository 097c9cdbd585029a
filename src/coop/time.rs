//! Timers: a tombstoning heap, `sleep`, drift-free `interval`, `timeout` (uasyncio `wait_for`).

use super::clock;
use super::runtime::{try_with_core, with_core};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    idx: u32,
    gen: u32,
}

enum Entry {
    Free,
    Armed(Waker),
    /// Fired, with the oversleep in ns (lateness spent blocked in the reactor).
    Fired(u64),
}

/// Tombstones tolerated before a rebuild is considered (see `Timers`).
const TOMBSTONE_SLACK: usize = 8;

/// Deadline heap + entry slab; deadlines in ns of the loop's clock (`clock`). A cancelled entry stays in the heap as a tombstone (its
/// generation no longer matches) until popped or until a rebuild, which happens as soon as
/// tombstones outnumber live entries: the heap stays within 2x the live timers (+8). The
/// slack is small on purpose: each HTTP read arms an idle timeout that is nearly always
/// cancelled, and every tombstone left in the heap deepens the sift of every later pop
/// (with +64, classroom's heap held ~130 entries for 3 live timers).
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(u64, u64, u32, u32)>>,
    entries: Vec<(u32, Entry)>,
    free: Vec<u32>,
    tombstones: usize,
    seq: u64,
    pub(crate) registered: u64,
    pub(crate) cancelled: u64,
    pub(crate) immediate: u64,
    pub(crate) heap_max: usize,
    pub(crate) rebuilds: u64,
}

impl Timers {
    fn insert(&mut self, deadline: u64, waker: Waker) -> TimerKey {
        let idx = self.free.pop().unwrap_or_else(|| {
            self.entries.push((0, Entry::Free));
            self.entries.len() as u32 - 1
        });
        let e = &mut self.entries[idx as usize];
        e.1 = Entry::Armed(waker);
        self.seq += 1;
        self.heap.push(Reverse((deadline, self.seq, idx, e.0)));
        self.registered += 1;
        self.heap_max = self.heap_max.max(self.heap.len());
        TimerKey { idx, gen: e.0 }
    }

    /// `Some(oversleep)` (ns) once fired; otherwise refreshes the waker.
    fn check(&mut self, key: TimerKey, waker: &Waker) -> Option<u64> {
        match &mut self.entries[key.idx as usize] {
            (g, Entry::Fired(at)) if *g == key.gen => Some(*at),
            (g, Entry::Armed(w)) if *g == key.gen => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                None
            }
            _ => unreachable!("coop: timer key used after release"),
        }
    }

    /// Releases an entry; an armed one becomes a tombstone in the heap.
    fn release(&mut self, key: TimerKey) {
        let e = &mut self.entries[key.idx as usize];
        if e.0 != key.gen {
            return;
        }
        if matches!(e.1, Entry::Armed(_)) {
            self.tombstones += 1;
            self.cancelled += 1;
        }
        e.1 = Entry::Free;
        e.0 = e.0.wrapping_add(1);
        self.free.push(key.idx);
        if self.tombstones > TOMBSTONE_SLACK && self.tombstones * 2 > self.heap.len() {
            let entries = &self.entries;
            self.heap
                .retain(|Reverse((_, _, i, g))| entries[*i as usize].0 == *g);
            self.tombstones = 0;
            self.rebuilds += 1;
        }
    }

    fn is_live(&self, idx: u32, gen: u32) -> bool {
        let e = &self.entries[idx as usize];
        e.0 == gen && matches!(e.1, Entry::Armed(_))
    }

    /// The earliest live deadline, discarding tombstones on top.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        while let Some(Reverse((d, _, i, g))) = self.heap.peek().copied() {
            if self.is_live(i, g) {
                return Some(d);
            }
            self.heap.pop();
            self.tombstones = self.tombstones.saturating_sub(1);
        }
        None
    }

    /// Pops one timer due at `now`, marks it fired and returns its waker and oversleep
    /// (ns): the time from `max(deadline, slept_from)` to `now` if the loop was blocked in
    /// epoll since `slept_from`, else zero.
    pub(crate) fn pop_due(&mut self, now: u64, slept_from: Option<u64>) -> Option<(Waker, u64)> {
        let deadline = self.next_deadline().filter(|d| *d <= now)?;
        let Reverse((_, _, i, _)) = self.heap.pop()?;
        let over = slept_from.map_or(0, |s| now.saturating_sub(s.max(deadline)));
        match std::mem::replace(&mut self.entries[i as usize].1, Entry::Fired(over)) {
            Entry::Armed(w) => Some((w, over)),
            _ => unreachable!("next_deadline returned a live entry"),
        }
    }

    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

/// Waits until a deadline. Never completes early: it finishes only when the loop's clock,
/// read before the poll, has reached the deadline. Dropping it cancels the timer.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// ns on the loop's clock (`clock`).
    deadline: u64,
    key: Option<TimerKey>,
}

impl Sleep {
    /// The deadline (converted back from the loop's nanoseconds: within a few ns).
    pub fn deadline(&self) -> Instant {
        clock::to_instant(self.deadline)
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        with_core(|core| {
            let now = core.clock.get();
            match self.key {
                None if deadline <= now => {
                    core.timers.borrow_mut().immediate += 1;
                    Poll::Ready(())
                }
                None => {
                    self.key = Some(
                        core.timers
                            .borrow_mut()
                            .insert(deadline, cx.waker().clone()),
                    );
                    Poll::Pending
                }
                Some(key) => {
                    let fired = core.timers.borrow_mut().check(key, cx.waker());
                    match fired {
                        Some(over) => {
                            core.timers.borrow_mut().release(key);
                            self.key = None;
                            // Lateness up to the start of this poll: the loop's clock.
                            let late = now.saturating_sub(deadline);
                            core.rec
                                .borrow_mut()
                                .timer_polled(late.saturating_sub(over), late);
                            Poll::Ready(())
                        }
                        None => Poll::Pending,
                    }
                }
            }
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            try_with_core(|core| core.timers.borrow_mut().release(key));
        }
    }
}

/// Sleeps for `d` from now.
pub fn sleep(d: Duration) -> Sleep {
    Sleep {
        deadline: clock::now().saturating_add(clock::nanos(d)),
        key: None,
    }
}

/// Sleeps until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: clock::from_instant(deadline),
        key: None,
    }
}

/// A drift-free periodic timer: tick n is due at `start + n * period`, whatever the
/// lateness of earlier ticks (a late loop gets catch-up ticks, not a shifted schedule).
pub struct Interval {
    next: Instant,
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was *scheduled* for.
    pub async fn tick(&mut self) -> Instant {
        let due = self.next;
        sleep_until(due).await;
        self.next = due + self.period;
        due
    }

    pub fn period(&self) -> Duration {
        self.period
    }
}

/// Ticks every `period`, the first tick immediately.
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first at `start`.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "coop: interval period must be > 0");
    Interval {
        next: start,
        period,
    }
}

/// `timeout` ran out before the future finished (the future has been dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// uasyncio's `wait_for`: runs `fut` for at most `d`; on timeout `fut` is dropped (cancelled).
pub async fn timeout<F: Future>(d: Duration, fut: F) -> Result<F::Output, Elapsed> {
    timeout_at(Instant::now() + d, fut).await
}

/// `timeout` with an absolute deadline.
pub async fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Result<F::Output, Elapsed> {
    let mut fut = std::pin::pin!(fut);
    let mut timer = sleep_until(deadline);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        Pin::new(&mut timer).poll(cx).map(|()| Err(Elapsed))
    })
    .await
}
