//! The core: task slab, run queue, pointer-free wakers and the event loop.

use super::clock;
use super::reactor::{Reactor, Wait};
use super::stats::{Recorder, Stats};
use super::time::Timers;
use super::{Config, IoPollEvery};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("coop packs task ids into a waker's data pointer and needs 64-bit pointers");

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Free,
    Idle,
    Queued,
    Running,
    /// Woke itself (or was woken) while being polled: re-queue after the poll.
    RunningWoken,
    /// Aborted while being polled: drop after the poll.
    RunningAborted,
}

struct Slot {
    gen: u32,
    state: State,
    future: Option<BoxFuture>,
    name: u32,
    /// When it was queued, in ns of the loop's clock.
    ready_at: u64,
}

/// Slot 0 is the `block_on` future, which lives on the caller's stack, not in the slab.
const MAIN: u32 = 0;
const IDX_BITS: u32 = 20;
const MAX_TASKS: usize = 1 << IDX_BITS;

/// Waker data word: runtime id (12 bits) | generation (32) | slot index (20).
/// `unpack` gives back (runtime, index, generation).
fn pack(rt: u16, idx: u32, gen: u32) -> u64 {
    (rt as u64) << 52 | (gen as u64) << IDX_BITS | idx as u64
}

fn unpack(id: u64) -> (u16, u32, u32) {
    (
        (id >> 52) as u16,
        (id as u32) & (MAX_TASKS as u32 - 1),
        (id >> IDX_BITS) as u32,
    )
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_raw, drop_raw);
unsafe fn clone_raw(p: *const ()) -> RawWaker {
    RawWaker::new(p, &VTABLE)
}
unsafe fn wake_raw(p: *const ()) {
    wake_id(p as usize as u64)
}
unsafe fn drop_raw(_: *const ()) {}

fn make_waker(id: u64) -> Waker {
    // SAFETY: the vtable functions never dereference the data word; it is a plain integer.
    unsafe { Waker::from_raw(RawWaker::new(id as usize as *const (), &VTABLE)) }
}

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the runtime running on this thread; panics outside `block_on`.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> R {
    try_with_core(f).expect("coop: called outside of a coop runtime (Runtime::block_on)")
}

/// Like `with_core`, but `None` outside a runtime (used by destructors).
pub(crate) fn try_with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let p = CURRENT.try_with(|c| c.get()).ok()?;
    // SAFETY: CURRENT is only non-null while an `Enter` guard holds an `Rc<Core>` alive.
    (!p.is_null()).then(|| f(unsafe { &*p }))
}

fn wake_id(id: u64) {
    let (rt, idx, gen) = unpack(id);
    let local = try_with_core(|core| {
        if core.id == rt {
            core.wake_local(idx, gen);
            true
        } else {
            false
        }
    });
    if local != Some(true) {
        remote_wake(rt, id);
    }
}

/// Cross-thread wakes: runtime id -> its remote queue.
static REMOTES: Mutex<Vec<(u16, Weak<Remote>)>> = Mutex::new(Vec::new());
static NEXT_RT: Mutex<u16> = Mutex::new(1);

/// Wakes sent from other threads, drained by the loop when the eventfd fires.
pub(crate) struct Remote {
    pub(crate) queue: Mutex<Vec<u64>>,
    pub(crate) signalled: std::sync::atomic::AtomicBool,
    pub(crate) efd: nix::sys::eventfd::EventFd,
}

fn remote_wake(rt: u16, id: u64) {
    let target = {
        let list = REMOTES.lock().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .find(|(r, _)| *r == rt)
            .and_then(|(_, w)| w.upgrade())
    };
    if let Some(remote) = target {
        remote
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        if !remote
            .signalled
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            let _ = remote.efd.write(1);
        }
    }
}

/// The runtime's shared state. Everything is `Cell`/`RefCell`: one thread only.
pub(crate) struct Core {
    pub(crate) id: u16,
    pub(crate) config: Config,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    run_queue: RefCell<VecDeque<u64>>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) reactor: Reactor,
    pub(crate) rec: RefCell<Recorder>,
    /// The loop's latest clock reading (ns, `clock::now`), taken once after each blocking
    /// epoll return and once after each task poll (during a poll it is when that poll
    /// started). It is "now" for timers, the ready time of a woken task, the start of the
    /// next poll and of the next wait: one clock read per poll and per wait, not per use.
    pub(crate) clock: Cell<u64>,
    pub(crate) remote: Arc<Remote>,
}

impl Core {
    pub(crate) fn wake_local(&self, idx: u32, gen: u32) {
        let mut slots = self.slots.borrow_mut();
        let mut rec = self.rec.borrow_mut();
        let Some(slot) = slots.get_mut(idx as usize).filter(|s| s.gen == gen) else {
            rec.wakes_stale += 1;
            return;
        };
        match slot.state {
            State::Idle => {
                rec.wakes_local += 1;
                slot.state = State::Queued;
                slot.ready_at = self.clock.get();
                self.run_queue
                    .borrow_mut()
                    .push_back(pack(self.id, idx, gen));
            }
            State::Running => {
                rec.wakes_self += 1;
                slot.state = State::RunningWoken;
            }
            State::Free => rec.wakes_stale += 1,
            _ => rec.wakes_duplicate += 1,
        }
    }

    fn spawn_boxed(&self, name: &str, future: BoxFuture) -> u64 {
        let name = self.rec.borrow_mut().intern(name);
        let now = self.clock.get();
        let mut slots = self.slots.borrow_mut();
        let idx = match self.free.borrow_mut().pop() {
            Some(i) => i,
            None => {
                assert!(slots.len() < MAX_TASKS, "coop: more than 2^20 live tasks");
                slots.push(Slot {
                    gen: 0,
                    state: State::Free,
                    future: None,
                    name,
                    ready_at: now,
                });
                slots.len() as u32 - 1
            }
        };
        let slot = &mut slots[idx as usize];
        *slot = Slot {
            gen: slot.gen,
            state: State::Queued,
            future: Some(future),
            name,
            ready_at: now,
        };
        let id = pack(self.id, idx, slot.gen);
        self.run_queue.borrow_mut().push_back(id);
        self.rec.borrow_mut().tasks_spawned += 1;
        id
    }

    /// Frees a slot; the caller drops the returned future after releasing all borrows.
    fn free_slot(&self, slots: &mut [Slot], idx: u32) -> Option<BoxFuture> {
        let slot = &mut slots[idx as usize];
        slot.state = State::Free;
        slot.gen = slot.gen.wrapping_add(1);
        self.free.borrow_mut().push(idx);
        slot.future.take()
    }

    fn abort(&self, id: u64) {
        let (_, idx, gen) = unpack(id);
        let doomed = {
            let mut slots = self.slots.borrow_mut();
            match slots
                .get_mut(idx as usize)
                .filter(|s| s.gen == gen)
                .map(|s| s.state)
            {
                Some(State::Running | State::RunningWoken) => {
                    slots[idx as usize].state = State::RunningAborted;
                    None
                }
                Some(State::Idle | State::Queued) => self.free_slot(&mut slots, idx),
                _ => return,
            }
        };
        self.rec.borrow_mut().tasks_aborted += 1;
        drop(doomed); // may run destructors that re-enter the core
    }

    fn live_tasks(&self) -> u64 {
        (self.slots.borrow().len() - 1 - self.free.borrow().len()) as u64
    }

    /// Polls I/O: blocking until the next timer when `block`, else with a zero timeout.
    /// Then fires due timers and drains remote wakes.
    fn turn(&self, block: bool) {
        let qlen = self.run_queue.borrow().len();
        self.rec.borrow_mut().sample_queue(qlen);
        // The earliest timer, read once: the wait's deadline, and whether any timer can be
        // due after it (only tasks arm timers, and none runs during the wait), so that the
        // ~60 % of wake-ups that no timer is due at skip the heap.
        let next = self.timers.borrow_mut().next_deadline();
        let deadline = if block { next } else { None };
        let wait = match (block, deadline) {
            (false, _) => Wait::Zero,
            (true, Some(d)) => Wait::Until(d),
            (true, None) => Wait::Forever,
        };
        let before = block.then(|| self.clock.get());
        let (now, events) = self.reactor.poll(self, wait, block);
        self.clock.set(now);
        let mut rec = self.rec.borrow_mut();
        match before {
            Some(t) => {
                rec.epoll_blocking += 1;
                if events == 0 && deadline.is_some_and(|d| d > now) {
                    rec.early_wakes += 1;
                }
                rec.idle_ns += now.saturating_sub(t);
            }
            None => rec.epoll_zero += 1,
        }
        drop(rec);
        if next.is_some_and(|d| d <= now) {
            self.fire_timers(now, before);
        }
    }

    /// Fires the timers due at `now`. Their oversleep is the part of the lateness spent
    /// blocked in epoll (`slept_from` is when a blocking wait began); a deadline that passed
    /// while the loop was busy running tasks counts as queueing, not oversleep.
    fn fire_timers(&self, now: u64, slept_from: Option<u64>) {
        loop {
            let Some((waker, oversleep)) = self.timers.borrow_mut().pop_due(now, slept_from) else {
                return;
            };
            self.rec.borrow_mut().timer_fired(oversleep);
            waker.wake();
        }
    }

    pub(crate) fn drain_remote(&self) {
        let _ = self.remote.efd.read();
        self.remote
            .signalled
            .store(false, std::sync::atomic::Ordering::Release);
        let ids = std::mem::take(&mut *self.remote.queue.lock().unwrap_or_else(|e| e.into_inner()));
        for id in ids {
            self.rec.borrow_mut().wakes_remote += 1;
            let (_, idx, gen) = unpack(id);
            self.wake_local(idx, gen);
        }
    }

    /// Polls one queued task (or the main future); returns the main output when it finishes.
    fn run_one<T>(&self, id: u64, main: &mut Pin<&mut dyn Future<Output = T>>) -> Option<T> {
        let (_, idx, gen) = unpack(id);
        let t0 = self.clock.get();
        let (name, mut fut) = {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[idx as usize];
            if slot.gen != gen || slot.state != State::Queued {
                return None; // aborted while queued
            }
            slot.state = State::Running;
            self.rec
                .borrow_mut()
                .queue_delay(t0.saturating_sub(slot.ready_at));
            (slot.name, slot.future.take())
        };
        let waker = make_waker(id);
        let mut cx = Context::from_waker(&waker);
        let mut out = None;
        let done = match fut.as_mut() {
            Some(f) => f.as_mut().poll(&mut cx).is_ready(),
            None => match main.as_mut().poll(&mut cx) {
                Poll::Ready(v) => {
                    out = Some(v);
                    true
                }
                Poll::Pending => false,
            },
        };
        let t1 = clock::now();
        self.clock.set(t1);
        self.rec.borrow_mut().poll_done(name, t1.saturating_sub(t0));
        let doomed = {
            let mut slots = self.slots.borrow_mut();
            let state = slots[idx as usize].state;
            if idx == MAIN {
                slots[0].state = if state == State::RunningWoken && !done {
                    State::Queued
                } else {
                    State::Idle
                };
                if slots[0].state == State::Queued {
                    slots[0].ready_at = t1;
                    self.run_queue.borrow_mut().push_back(id);
                }
                None
            } else if done || state == State::RunningAborted {
                if done {
                    self.rec.borrow_mut().tasks_finished += 1;
                }
                slots[idx as usize].future = fut;
                self.free_slot(&mut slots, idx)
            } else {
                let slot = &mut slots[idx as usize];
                slot.future = fut;
                if state == State::RunningWoken {
                    slot.state = State::Queued;
                    slot.ready_at = t1;
                    self.run_queue.borrow_mut().push_back(id);
                } else {
                    slot.state = State::Idle;
                }
                None
            }
        };
        drop(doomed);
        out
    }
}

/// Makes the runtime current on this thread for the guard's lifetime.
struct Enter {
    prev: *const Core,
}

impl Enter {
    fn new(core: &Rc<Core>) -> Enter {
        let prev = CURRENT.with(|c| c.replace(Rc::as_ptr(core)));
        assert!(
            prev.is_null() || prev == Rc::as_ptr(core),
            "coop: nested runtimes on one thread"
        );
        Enter { prev }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// A single-threaded cooperative runtime. Tasks spawned and not finished when `block_on`
/// returns stay parked until the next `block_on` or until the runtime is dropped.
pub struct Runtime {
    core: Rc<Core>,
}

impl Runtime {
    pub fn new(config: Config) -> std::io::Result<Runtime> {
        let efd = nix::sys::eventfd::EventFd::from_value_and_flags(
            0,
            nix::sys::eventfd::EfdFlags::EFD_NONBLOCK | nix::sys::eventfd::EfdFlags::EFD_CLOEXEC,
        )?;
        let remote = Arc::new(Remote {
            queue: Mutex::new(Vec::new()),
            signalled: false.into(),
            efd,
        });
        let reactor = Reactor::new(config.timer_backend, &remote.efd)?;
        let id = {
            let mut list = REMOTES.lock().unwrap_or_else(|e| e.into_inner());
            list.retain(|(_, w)| w.strong_count() > 0);
            let mut next = NEXT_RT.lock().unwrap_or_else(|e| e.into_inner());
            while *next == 0 || list.iter().any(|(r, _)| r == &*next) {
                *next = (*next + 1) & 0xfff;
            }
            let id = *next;
            *next = (id + 1) & 0xfff;
            list.push((id, Arc::downgrade(&remote)));
            id
        };
        let now = clock::now();
        let main = Slot {
            gen: 0,
            state: State::Idle,
            future: None,
            name: 0,
            ready_at: now,
        };
        let rec = Recorder::new(&config, reactor.backend_name());
        Ok(Runtime {
            core: Rc::new(Core {
                id,
                config,
                slots: RefCell::new(vec![main]),
                free: RefCell::new(Vec::new()),
                run_queue: RefCell::new(VecDeque::new()),
                timers: RefCell::new(Timers::default()),
                reactor,
                rec: RefCell::new(rec),
                clock: Cell::new(now),
                remote,
            }),
        })
    }

    /// Runs `future` to completion on this thread, running spawned tasks meanwhile.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let core = &*self.core;
        assert!(
            try_with_core(|_| ()).is_none(),
            "coop: block_on inside a running runtime would deadlock the loop"
        );
        let _enter = Enter::new(&self.core);
        let _slack = self.core.config.timer_slack.map(TimerSlack::set);
        core.rec.borrow_mut().start();
        core.clock.set(clock::now());
        let main_id = {
            let mut slots = core.slots.borrow_mut();
            slots[0].gen = slots[0].gen.wrapping_add(1);
            slots[0].state = State::Queued;
            slots[0].ready_at = core.clock.get();
            pack(core.id, MAIN, slots[0].gen)
        };
        core.run_queue.borrow_mut().push_back(main_id);
        let mut future = std::pin::pin!(future);
        let mut main: Pin<&mut dyn Future<Output = F::Output>> = future.as_mut();
        let mode = core.config.io_poll_every;
        let mut since_poll = u32::MAX;
        let mut pass_left = 0usize;
        loop {
            let empty = core.run_queue.borrow().is_empty();
            let poll_now = empty
                || match mode {
                    IoPollEvery::Task => true,
                    IoPollEvery::Tasks(n) => since_poll >= n,
                    IoPollEvery::Pass => pass_left == 0,
                };
            if poll_now {
                core.turn(empty);
                since_poll = 0;
                pass_left = core.run_queue.borrow().len();
            }
            let Some(id) = core.run_queue.borrow_mut().pop_front() else {
                continue;
            };
            since_poll = since_poll.saturating_add(1);
            pass_left = pass_left.saturating_sub(1);
            if let Some(out) = core.run_one(id, &mut main) {
                return out;
            }
        }
    }

    /// Spawns a task onto this runtime (it starts running inside `block_on`).
    pub fn spawn_named<F>(&self, name: &str, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let _enter = Enter::new(&self.core);
        spawn_named(name, future)
    }

    /// The runtime's statistics so far.
    pub fn stats(&self) -> Stats {
        self.core.snapshot()
    }
}

impl Core {
    fn snapshot(&self) -> Stats {
        let timers = self.timers.borrow();
        self.rec.borrow().snapshot(self.live_tasks(), &timers)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _enter = Enter::new(&self.core);
        // Drop every parked task inside the runtime so that their destructors (timers,
        // I/O registrations, join handles) find it; one at a time, no borrow held.
        loop {
            let fut = {
                let mut slots = self.core.slots.borrow_mut();
                slots.iter_mut().find_map(|s| s.future.take())
            };
            match fut {
                Some(f) => drop(f),
                None => break,
            }
        }
    }
}

/// Restores the thread's timer slack when `block_on` returns.
struct TimerSlack(libc::c_int);

impl TimerSlack {
    fn set(slack: std::time::Duration) -> TimerSlack {
        // SAFETY: prctl with integer arguments only.
        let old = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
        unsafe {
            libc::prctl(
                libc::PR_SET_TIMERSLACK,
                slack.as_nanos().max(1) as libc::c_ulong,
                0,
                0,
                0,
            )
        };
        TimerSlack(old)
    }
}

impl Drop for TimerSlack {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe {
            libc::prctl(
                libc::PR_SET_TIMERSLACK,
                self.0.max(1) as libc::c_ulong,
                0,
                0,
                0,
            )
        };
    }
}

/// Runs `future` on a fresh runtime with the default `Config`.
pub fn block_on<F: Future>(future: F) -> F::Output {
    Runtime::new(Config::default())
        .expect("coop: cannot create epoll/eventfd")
        .block_on(future)
}

/// Spawns an unnamed task on the current runtime.
pub fn spawn<F: Future + 'static>(future: F) -> JoinHandle<F::Output> {
    spawn_named("(unnamed)", future)
}

/// Spawns a task whose name appears in the statistics and in hog warnings.
pub fn spawn_named<F: Future + 'static>(name: &str, future: F) -> JoinHandle<F::Output> {
    let state = Rc::new(JoinState {
        done: Cell::new(false),
        result: RefCell::new(None),
        waiter: RefCell::new(None),
    });
    let task = TaskFuture {
        future,
        state: state.clone(),
    };
    let id = with_core(|core| core.spawn_boxed(name, Box::pin(task)));
    JoinHandle { id, state }
}

/// The current runtime's statistics.
pub fn stats() -> Stats {
    with_core(|core| core.snapshot())
}

/// Lets every other ready task run once before this one continues.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Why a `JoinHandle` yields no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// The task was aborted (or dropped with its runtime) before finishing.
    Cancelled,
}

impl std::fmt::Display for JoinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("task cancelled")
    }
}

impl std::error::Error for JoinError {}

struct JoinState<T> {
    done: Cell<bool>,
    result: RefCell<Option<Result<T, JoinError>>>,
    waiter: RefCell<Option<Waker>>,
}

impl<T> JoinState<T> {
    fn complete(&self, r: Result<T, JoinError>) {
        self.done.set(true);
        *self.result.borrow_mut() = Some(r);
        if let Some(w) = self.waiter.borrow_mut().take() {
            w.wake();
        }
    }
}

/// The spawned future plus where its output goes. Dropped unfinished = cancelled.
struct TaskFuture<F: Future> {
    future: F,
    state: Rc<JoinState<F::Output>>,
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is never moved out of the pinned `TaskFuture`; `state` is not
        // structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let fut = unsafe { Pin::new_unchecked(&mut this.future) };
        match fut.poll(cx) {
            Poll::Ready(v) => {
                this.state.complete(Ok(v));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        if !self.state.done.get() {
            self.state.complete(Err(JoinError::Cancelled));
        }
    }
}

/// Awaits a spawned task's output. Dropping it detaches the task.
pub struct JoinHandle<T> {
    id: u64,
    state: Rc<JoinState<T>>,
}

impl<T> JoinHandle<T> {
    /// Cancels the task: its future is dropped now (or right after its current poll),
    /// which cancels its timers and I/O waits; awaiting the handle gives `Cancelled`.
    pub fn abort(&self) {
        if !self.state.done.get() {
            try_with_core(|core| core.abort(self.id));
        }
    }

    /// True once the task finished or was cancelled.
    pub fn is_finished(&self) -> bool {
        self.state.done.get()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(r) = self.state.result.borrow_mut().take() {
            return Poll::Ready(r);
        }
        *self.state.waiter.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}
