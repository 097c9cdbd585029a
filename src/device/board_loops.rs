//! The shared event loops that run virtual boards with `run.driver = "events"`: a few
//! threads for the whole process (one per CPU, at most [`MAX_LOOPS`]), each waiting in one
//! epoll set with a timerfd for all its boards' ptys and deadlines, however many boards
//! there are.
//!
//! A board on a loop does exactly what a board on its own thread does, in the same order:
//! [`Sketch::plan_wait`], a wait (here: until the pty is ready in epoll or the deadline
//! passes, then a zero-timeout `ppoll` for the very readiness the thread runner would have
//! seen), [`Sketch::after_wait`], and the same nap while nobody has the pty open (the master
//! reports hang-up all the time then, so the pty leaves the epoll set for the nap).
//!
//! The loops belong to their owner's [`BoardLoops`] (a run's session, the remote agent, a
//! test): they start with its first boards and then stay, idle in `epoll_wait` when they
//! carry none, so a run of many models reuses them. Once every handle of the owner is gone,
//! a loop ends as soon as it carries no board.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::AsFd;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use nix::sys::epoll::EpollFlags;
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::sketch::{Sketch, NO_READER_NAP};
use crate::clock::now_ns;
use crate::reactor::Reactor;

/// Most board loops, whatever the number of CPUs.
pub const MAX_LOOPS: usize = 4;
/// The token of a loop's wake-up eventfd (a new board arrived).
const WAKE_TOKEN: u64 = u64::MAX - 1;

/// How the owner reaches one loop.
struct LoopHandle {
    /// `None` only while dropping: the loop sees the channel closed, then its wake-up.
    boards: Option<mpsc::Sender<Sketch>>,
    wake: Arc<EventFd>,
    /// Boards the loop carries now.
    load: Arc<AtomicUsize>,
}

impl Drop for LoopHandle {
    fn drop(&mut self) {
        // Close the channel before the wake-up, so the woken loop sees that its owner left.
        drop(self.boards.take());
        let _ = self.wake.write(1);
    }
}

/// The board event loops of one owner, shared by its clones (an `Arc`): what used to be a
/// process-wide static, now held by whoever runs the boards and passed where they start.
#[derive(Clone, Default)]
pub struct BoardLoops(Arc<Mutex<Vec<LoopHandle>>>);

impl BoardLoops {
    /// How many loops the owner runs now (at most [`loop_count`]).
    pub fn running(&self) -> usize {
        self.0.lock().map_or(0, |l| l.len())
    }
}

impl std::fmt::Debug for BoardLoops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BoardLoops({} running)", self.running())
    }
}

/// How many loops the process runs: one per CPU it may use, at most [`MAX_LOOPS`].
pub fn loop_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_LOOPS)
}

/// Hands `sketch` to the least loaded of `owner`'s loops, starting a loop first while there
/// are fewer than [`loop_count`].
pub(super) fn add(owner: &BoardLoops, sketch: Sketch) -> anyhow::Result<()> {
    let mut loops = owner.0.lock().unwrap_or_else(|e| e.into_inner());
    if loops.len() < loop_count() && loops.iter().all(|l| l.load.load(Ordering::Relaxed) > 0) {
        let h = start_loop(loops.len())?;
        loops.push(h);
    }
    let h = loops
        .iter()
        .min_by_key(|l| l.load.load(Ordering::Relaxed))
        .ok_or_else(|| anyhow::anyhow!("no board loop could be started"))?;
    h.load.fetch_add(1, Ordering::Relaxed);
    h.boards
        .as_ref()
        .and_then(|b| b.send(sketch).ok())
        .ok_or_else(|| anyhow::anyhow!("the board loop has stopped"))?;
    h.wake
        .write(1)
        .map_err(|e| anyhow::anyhow!("cannot wake the board loop: {e}"))?;
    Ok(())
}

fn start_loop(n: usize) -> anyhow::Result<LoopHandle> {
    let reactor = Reactor::new()?;
    let wake = Arc::new(
        EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)
            .map_err(|e| anyhow::anyhow!("cannot create an eventfd: {e}"))?,
    );
    reactor.add(wake.as_fd(), EpollFlags::EPOLLIN, WAKE_TOKEN)?;
    let (tx, rx) = mpsc::channel();
    let load = Arc::new(AtomicUsize::new(0));
    let mut l = BoardLoop {
        reactor,
        wake: wake.clone(),
        load: load.clone(),
        slots: Vec::new(),
        free: Vec::new(),
        timers: BinaryHeap::new(),
    };
    std::thread::Builder::new()
        .name(format!("board-events-{n}"))
        .spawn(move || l.run(rx))?;
    Ok(LoopHandle {
        boards: Some(tx),
        wake,
        load,
    })
}

/// What a board on a loop waits for.
#[derive(Clone, Copy)]
enum State {
    /// The pty (in the epoll set) or `deadline`, as the thread runner's `ppoll`.
    Waiting { want_write: bool },
    /// Nobody has the pty open: look again at the timer.
    Napping,
}

struct Slot {
    sketch: Sketch,
    state: State,
    /// What the pty is registered for in epoll, if it is.
    registered: Option<EpollFlags>,
    /// Bumped at every new deadline, so stale timer entries are told apart.
    generation: u64,
}

struct BoardLoop {
    reactor: Reactor,
    wake: Arc<EventFd>,
    load: Arc<AtomicUsize>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// `(deadline, slot, generation)`.
    timers: BinaryHeap<Reverse<(u64, usize, u64)>>,
}

impl BoardLoop {
    fn run(&mut self, boards: mpsc::Receiver<Sketch>) {
        // Frames leave on their deadlines, not up to the default 50 µs of slack after them.
        let _ = nix::sys::prctl::set_timerslack(1);
        let mut ready = Vec::new();
        let mut owned = true;
        loop {
            loop {
                let sketch = match boards.try_recv() {
                    Ok(sketch) => sketch,
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        owned = false;
                        break;
                    }
                };
                let i = self.free.pop().unwrap_or_else(|| {
                    self.slots.push(None);
                    self.slots.len() - 1
                });
                self.slots[i] = Some(Slot {
                    sketch,
                    state: State::Napping,
                    registered: None,
                    generation: 0,
                });
                self.turn(i, false);
            }
            let now = now_ns();
            while let Some(&Reverse((t, i, g))) = self.timers.peek() {
                if t > now {
                    break;
                }
                self.timers.pop();
                if self.slots[i].as_ref().is_some_and(|s| s.generation == g) {
                    self.turn(i, true);
                }
            }
            // Checked after the due timers, right before the wait: a last board that leaves
            // on its deadline leaves no timer and no fd to wake the loop again, so a wait
            // now would never end.
            if !owned && self.slots.iter().all(Option::is_none) {
                return; // the owner let go of its loops and the last board has left
            }
            let next = self.timers.peek().map(|r| r.0 .0);
            if let Err(e) = self.reactor.wait_until(next, &mut ready) {
                // Not expected short of a kernel bug; a short pause keeps it from spinning.
                crate::errln!("esbench: a board event loop could not wait: {e:#}");
                std::thread::sleep(Duration::from_millis(10));
            }
            for (token, _) in ready.drain(..) {
                if token == WAKE_TOKEN {
                    let _ = self.wake.read();
                } else if let Ok(i) = usize::try_from(token) {
                    if self.slots.get(i).is_some_and(|s| s.is_some()) {
                        self.turn(i, true);
                    }
                }
            }
        }
    }

    /// One step of board `i`: after a wait (`woke`), what the thread runner does after its
    /// `ppoll`; then the next wait. A board that stops or fails leaves the loop.
    fn turn(&mut self, i: usize, woke: bool) {
        let Some(mut slot) = self.slots[i].take() else {
            return;
        };
        let reactor = &self.reactor;
        let step = std::panic::catch_unwind(AssertUnwindSafe(|| -> anyhow::Result<Option<u64>> {
            if woke {
                if let State::Waiting { want_write } = slot.state {
                    let ready = slot.sketch.pty().wait(Duration::ZERO, want_write)?;
                    if slot.sketch.after_wait(ready, now_ns())? {
                        unregister(reactor, &mut slot);
                        slot.state = State::Napping;
                        return Ok(Some(now_ns() + NO_READER_NAP.as_nanos() as u64));
                    }
                }
            }
            let Some((deadline, want_write)) = slot.sketch.plan_wait(now_ns())? else {
                return Ok(None);
            };
            let mut flags = EpollFlags::EPOLLIN;
            if want_write {
                flags |= EpollFlags::EPOLLOUT;
            }
            if slot.registered != Some(flags) {
                let fd = slot.sketch.pty().fd();
                match slot.registered {
                    None => reactor.add(fd, flags, i as u64)?,
                    Some(_) => reactor.modify(fd, flags, i as u64)?,
                }
                slot.registered = Some(flags);
            }
            slot.state = State::Waiting { want_write };
            Ok(Some(deadline))
        }));
        match step {
            Ok(Ok(Some(deadline))) => {
                slot.generation += 1;
                self.timers.push(Reverse((deadline, i, slot.generation)));
                self.slots[i] = Some(slot);
            }
            Ok(Ok(None)) => {
                unregister(&self.reactor, &mut slot);
                slot.sketch.finish();
                self.leave(i, slot, Ok(()));
            }
            Ok(Err(e)) => {
                unregister(&self.reactor, &mut slot);
                self.leave(i, slot, Err(format!("{e:#}")));
            }
            Err(_) => self.leave(i, slot, Err("the virtual board panicked".into())),
        }
    }

    fn leave(&mut self, i: usize, slot: Slot, outcome: Result<(), String>) {
        let records = slot.sketch.records();
        drop(slot); // closes the pty master before the owner hears the board has stopped
        records.end(outcome);
        self.free.push(i);
        self.load.fetch_sub(1, Ordering::Relaxed);
    }
}

fn unregister(reactor: &Reactor, slot: &mut Slot) {
    if slot.registered.take().is_some() {
        let _ = reactor.delete(slot.sketch.pty().fd());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{DeviceConfig, VirtualBoard};
    use crate::scenario::DriverKind;

    fn board(seed: u64, loops: &BoardLoops) -> VirtualBoard {
        let cfg = DeviceConfig {
            runner: DriverKind::Events,
            ..DeviceConfig::synth(seed)
        };
        VirtualBoard::start_on(cfg, loops).unwrap()
    }

    #[test]
    fn an_owners_loops_are_shared_by_its_boards_and_end_after_it_lets_go() {
        let loops = BoardLoops::default();
        let boards: Vec<VirtualBoard> = (0..12).map(|i| board(i, &loops)).collect();
        assert!((1..=loop_count()).contains(&loops.running()));
        // Each loop thread holds its own clone of `load`; it drops it when the thread ends.
        let held: Vec<Arc<AtomicUsize>> = loops
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.load.clone())
            .collect();
        drop(loops);
        // The owner is gone but boards remain: the loops carry on with them.
        std::thread::sleep(Duration::from_millis(50));
        assert!(held.iter().all(|l| Arc::strong_count(l) == 2));
        for b in boards {
            b.stop().unwrap();
        }
        let deadline = now_ns() + 10_000_000_000;
        while held.iter().any(|l| Arc::strong_count(l) > 1) && now_ns() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            held.iter().all(|l| Arc::strong_count(l) == 1),
            "every loop thread ended"
        );
    }
}
