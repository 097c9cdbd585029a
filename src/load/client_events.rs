//! The event-driven runner of the Scratch clients (`run.driver = "events"`): every lane (a
//! client's polls, or one of its command patterns) on one of a few event-loop threads, each
//! an epoll set with a timerfd ([`Reactor`]), however many clients there are.
//!
//! It keeps every guarantee of the thread-per-connection runner, with the same [`Lane`]
//! bookkeeping: slots come from a constant-rate plan and latency counts from the intended
//! time; one request in flight per lane, the slots that pass meanwhile skipped and counted;
//! a keep-alive connection per lane, opened before the first slot and reopened (and counted)
//! after an error or a close; `sent_ns` taken right before the request is written.
//!
//! Pacing is the same sleep-then-spin on absolute deadlines: the loop sleeps on the timerfd to
//! the spin margin before the next slot, then spins to it, taking whatever I/O is ready
//! (`epoll_wait` without waiting) while it spins, so answers that arrive meanwhile are timed
//! when they arrive. With many clients per loop slots come closer together than the margin and
//! the loop would spin all the time, competing with the model for the CPUs; so each loop
//! spends at most [`SPIN_BUDGET`] of its time spinning: over a [`SPIN_WINDOW_NS`] window
//! that spun more, the next window waits on the timer alone (the send error then shows it).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use mio::net::TcpStream;
use nix::sys::epoll::EpollFlags;

use super::client::{ClientLog, ClientSpec, Lane, StopFlag};
use super::http::{parse_response, request_bytes, Parsed, Response};
use crate::clock::now_ns;
use crate::reactor::Reactor;

/// Longest a loop waits before looking at its stop flag and its timeouts again (what the
/// threads runner's sleeps are sliced to).
const STOP_CHECK_NS: u64 = 50_000_000;
/// The window over which a loop accounts the time it spun.
pub(crate) const SPIN_WINDOW_NS: u64 = 100_000_000;
/// The share of a window a loop may spend spinning before the next window sleeps instead.
pub(crate) const SPIN_BUDGET: f64 = 0.1;
/// How close to a slot the spin stops taking I/O and watches only the clock (an
/// `epoll_wait` costs a few µs, which would be send error).
const FINAL_SPIN_NS: u64 = 20_000;
/// Most event-loop threads, whatever the number of CPUs.
pub const MAX_LOOPS: usize = 4;

/// Where a lane's current request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Waiting for its next slot.
    Idle,
    /// The slot came while the connection was still being opened.
    AwaitConnect {
        intended: u64,
    },
    Writing {
        intended: u64,
        sent: u64,
        off: usize,
    },
    Reading {
        intended: u64,
        sent: u64,
    },
}

struct Conn {
    stream: TcpStream,
    connected: bool,
}

/// One lane on an event loop: its plan and log, its connection and where its request is.
struct EventLane {
    /// Position among all lanes, so the logs come back in the threads runner's order.
    index: usize,
    addr: SocketAddr,
    timeout_ns: u64,
    lane: Lane,
    conn: Option<Conn>,
    opened: u64,
    reconnects: u64,
    buf: Vec<u8>,
    /// The request bytes of `req_path`, built before the send deadline, not after it.
    req_path: String,
    req: Vec<u8>,
    step: Step,
    /// When the current connect, write or read gives up (reset by progress).
    io_deadline: u64,
}

impl EventLane {
    fn busy(&self) -> bool {
        self.step != Step::Idle
    }

    /// Starts opening the connection; false when that failed at once.
    fn connect(&mut self, r: &Reactor, token: u64) -> bool {
        let Ok(stream) = TcpStream::connect(self.addr) else {
            return false;
        };
        if r.add(
            stream.as_fd(),
            EpollFlags::EPOLLOUT | EpollFlags::EPOLLONESHOT,
            token,
        )
        .is_err()
        {
            return false;
        }
        self.conn = Some(Conn {
            stream,
            connected: false,
        });
        self.io_deadline = now_ns() + self.timeout_ns;
        true
    }

    fn drop_conn(&mut self, r: &Reactor) {
        if let Some(c) = self.conn.take() {
            let _ = r.delete(c.stream.as_fd());
        }
        self.buf.clear();
    }

    fn arm(&self, r: &Reactor, flags: EpollFlags, token: u64) {
        if let Some(c) = &self.conn {
            let _ = r.modify(c.stream.as_fd(), flags | EpollFlags::EPOLLONESHOT, token);
        }
    }

    /// The lane's slot `intended` has come: send, after connecting if need be.
    fn begin(&mut self, intended: u64, r: &Reactor, token: u64) {
        debug_assert!(!self.busy(), "a lane is queued only while idle");
        match &self.conn {
            None => {
                if self.connect(r, token) {
                    self.step = Step::AwaitConnect { intended };
                } else {
                    self.finish(intended, 0, None, r);
                }
            }
            Some(c) if !c.connected => self.step = Step::AwaitConnect { intended },
            Some(_) => self.send(intended, r, token),
        }
    }

    fn send(&mut self, intended: u64, r: &Reactor, token: u64) {
        if self.req_path != self.lane.path() {
            self.req_path = self.lane.path().to_string();
            self.req = request_bytes(&self.req_path);
        }
        let sent = now_ns();
        self.step = Step::Writing {
            intended,
            sent,
            off: 0,
        };
        self.io_deadline = sent + self.timeout_ns;
        self.write_more(r, token);
    }

    fn write_more(&mut self, r: &Reactor, token: u64) {
        let Step::Writing {
            intended,
            sent,
            mut off,
        } = self.step
        else {
            return;
        };
        let Some(c) = self.conn.as_mut() else {
            return self.finish(intended, sent, None, r);
        };
        loop {
            match c.stream.write(&self.req[off..]) {
                Ok(0) => return self.finish(intended, sent, None, r),
                Ok(n) => {
                    off += n;
                    if off == self.req.len() {
                        self.step = Step::Reading { intended, sent };
                        self.io_deadline = now_ns() + self.timeout_ns;
                        return self.arm(r, EpollFlags::EPOLLIN, token);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.step = Step::Writing {
                        intended,
                        sent,
                        off,
                    };
                    return self.arm(r, EpollFlags::EPOLLOUT, token);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.finish(intended, sent, None, r),
            }
        }
    }

    fn read_more(&mut self, r: &Reactor, token: u64) {
        let Step::Reading { intended, sent } = self.step else {
            return;
        };
        let Some(c) = self.conn.as_mut() else {
            return self.finish(intended, sent, None, r);
        };
        let mut chunk = [0u8; 4096];
        loop {
            match c.stream.read(&mut chunk) {
                Ok(0) => {
                    // Closed: a whole answer only if it was framed by the close.
                    let answer = match parse_response(&self.buf) {
                        Ok(Parsed::UntilClose { status, head_len }) => Some((
                            Response {
                                status,
                                body: self.buf[head_len..].to_vec(),
                            },
                            false,
                        )),
                        _ => None,
                    };
                    return self.finish(intended, sent, answer, r);
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.io_deadline = now_ns() + self.timeout_ns;
                    match parse_response(&self.buf) {
                        Err(_) => return self.finish(intended, sent, None, r),
                        Ok(Parsed::Done {
                            response,
                            consumed,
                            keep_alive,
                        }) => {
                            self.buf.drain(..consumed);
                            return self.finish(intended, sent, Some((response, keep_alive)), r);
                        }
                        Ok(_) => {}
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return self.arm(r, EpollFlags::EPOLLIN, token)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.finish(intended, sent, None, r),
            }
        }
    }

    /// The connection being opened reported in: open, still opening, or failed.
    fn connect_event(&mut self, r: &Reactor, token: u64) {
        let Some(c) = self.conn.as_mut() else { return };
        let mut failed = !matches!(c.stream.take_error(), Ok(None));
        if !failed {
            match c.stream.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotConnected => {
                    return self.arm(r, EpollFlags::EPOLLOUT, token);
                }
                Err(_) => failed = true,
            }
        }
        if failed {
            self.drop_conn(r);
            if let Step::AwaitConnect { intended } = self.step {
                self.finish(intended, 0, None, r);
            }
            return;
        }
        c.connected = true;
        let _ = c.stream.set_nodelay(true);
        if self.opened > 0 {
            self.reconnects += 1;
        }
        self.opened += 1;
        self.buf.clear();
        if let Step::AwaitConnect { intended } = self.step {
            self.send(intended, r, token);
        }
    }

    fn event(&mut self, r: &Reactor, token: u64) {
        match &self.conn {
            None => {}
            Some(c) if !c.connected => self.connect_event(r, token),
            Some(_) => match self.step {
                Step::Writing { .. } => self.write_more(r, token),
                Step::Reading { .. } => self.read_more(r, token),
                _ => {}
            },
        }
    }

    /// Gives up on whatever is out when its time is up.
    fn check_timeout(&mut self, now: u64, r: &Reactor) {
        if now < self.io_deadline {
            return;
        }
        match self.step {
            Step::Idle => {
                if self.conn.as_ref().is_some_and(|c| !c.connected) {
                    self.drop_conn(r);
                }
            }
            Step::AwaitConnect { intended } => {
                self.drop_conn(r);
                self.finish(intended, 0, None, r);
            }
            Step::Writing { intended, sent, .. } | Step::Reading { intended, sent } => {
                self.finish(intended, sent, None, r)
            }
        }
    }

    /// The request of slot `intended` is over: record it, and keep the connection only
    /// after a whole answer that allows it.
    fn finish(&mut self, intended: u64, sent: u64, answer: Option<(Response, bool)>, r: &Reactor) {
        let done = now_ns();
        self.lane
            .record(intended, sent, done, answer.as_ref().map(|(resp, _)| resp));
        if !answer.is_some_and(|(_, keep)| keep) {
            self.drop_conn(r);
        }
        self.step = Step::Idle;
    }
}

/// What an event-loop thread returns: each of its lanes' log, with the lane's number.
pub(crate) type NumberedLogs = Vec<(usize, ClientLog)>;

/// One event loop's lanes and the queue of their next slots.
struct Loop {
    lanes: Vec<EventLane>,
    reactor: Reactor,
    /// `(slot, lane)` of every idle lane with a slot ahead.
    queue: BinaryHeap<Reverse<(u64, usize)>>,
    in_flight: usize,
    stopped: bool,
    /// The send spin margin set for the run (ns); the loop drops to 0 while over budget.
    margin_ns: u64,
}

impl Loop {
    /// Runs `op` on lane `i` and keeps the queue and the in-flight count right: a lane that
    /// became idle goes back in the queue at its next slot (unless stopping or its plan is
    /// over).
    ///
    /// `slot_taken` says that `op` took the lane's queued slot (a begin): then the lane is
    /// queued again as soon as it is idle. Otherwise only a request that ended (busy, then
    /// idle) requeues it, so a lane is never in the queue twice and never sends twice.
    fn with_lane(
        &mut self,
        i: usize,
        slot_taken: bool,
        op: impl FnOnce(&mut EventLane, &Reactor, u64),
    ) {
        let before = self.lanes[i].busy();
        op(&mut self.lanes[i], &self.reactor, i as u64);
        let after = self.lanes[i].busy();
        if !before && after {
            self.in_flight += 1;
        }
        if before && !after {
            self.in_flight -= 1;
        }
        if !after && (before || slot_taken) && !self.stopped {
            if let Some(due) = self.lanes[i].lane.due() {
                self.queue.push(Reverse((due, i)));
            }
        }
    }

    fn handle(&mut self, ready: &mut Vec<(u64, EpollFlags)>) {
        for (token, _) in ready.drain(..) {
            if let Some(i) = usize::try_from(token)
                .ok()
                .filter(|&i| i < self.lanes.len())
            {
                self.with_lane(i, false, |l, r, t| l.event(r, t));
            }
        }
    }

    fn run(mut self, stop: StopFlag) -> NumberedLogs {
        super::pace::tighten_timer_slack();
        let margin_set = self.margin_ns;
        let mut margin = margin_set;
        for i in 0..self.lanes.len() {
            if let Some(due) = self.lanes[i].lane.due() {
                // Connect before the first slot: Scratch keeps its connection open.
                self.lanes[i].connect(&self.reactor, i as u64);
                self.queue.push(Reverse((due, i)));
            }
        }
        let mut ready = Vec::new();
        let (mut window_start, mut spun) = (now_ns(), 0u64);
        let mut last_check = window_start;
        loop {
            let now = now_ns();
            if now - window_start >= SPIN_WINDOW_NS {
                let over = spun as f64 > SPIN_BUDGET * (now - window_start) as f64;
                margin = if over { 0 } else { margin_set };
                (window_start, spun) = (now, 0);
            }
            if !self.stopped && stop.is_stopped() {
                // A lane waiting for its slot stops there; a request out is seen through.
                self.stopped = true;
                self.queue.clear();
            }
            while let Some(&Reverse((due, i))) = self.queue.peek() {
                if due > now {
                    break;
                }
                self.queue.pop();
                self.with_lane(i, true, |l, r, t| l.begin(due, r, t));
            }
            if self.queue.is_empty() && self.in_flight == 0 {
                break;
            }
            if now - last_check >= STOP_CHECK_NS {
                last_check = now;
                for i in 0..self.lanes.len() {
                    if self.lanes[i].conn.is_some() {
                        self.with_lane(i, false, |l, r, _| l.check_timeout(now, r));
                    }
                }
            }
            let next = self.queue.peek().map(|r| r.0 .0);
            if let Some(due) = next.filter(|&d| d <= now + FINAL_SPIN_NS && margin > 0) {
                // The last few µs: the clock alone, so no system call makes the send late.
                let mut t = now;
                while t < due {
                    std::hint::spin_loop();
                    t = now_ns();
                }
                spun += t - now;
                continue;
            }
            let result = match next {
                Some(due) if due <= now + margin => {
                    // The final approach: spin, taking whatever I/O is ready meanwhile.
                    let r = self.reactor.poll_now(&mut ready);
                    spun += now_ns() - now;
                    r
                }
                _ => {
                    let wake = next
                        .map_or(u64::MAX, |d| d - margin)
                        .min(last_check + STOP_CHECK_NS);
                    self.reactor.wait_until(Some(wake), &mut ready)
                }
            };
            if let Err(e) = result {
                // The epoll itself failed (it does not, short of a kernel bug): every lane
                // stops where it is, with what it recorded.
                crate::errln!("esbench: a client event loop stopped: {e:#}");
                break;
            }
            self.handle(&mut ready);
        }
        self.lanes
            .into_iter()
            .map(|mut l| {
                l.lane.log.reconnects = l.reconnects;
                (l.index, l.lane.log)
            })
            .collect()
    }
}

/// How many event loops for `lanes` lanes: one per CPU the driver may use, at most
/// [`MAX_LOOPS`], never more than there are lanes.
pub(crate) fn loop_count(lanes: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus.clamp(1, MAX_LOOPS).min(lanes.max(1))
}

/// Spreads the lanes over [`loop_count`] event-loop threads, round robin, and starts them,
/// each spinning `margin_ns` before its sends (while its spin budget allows).
pub(super) fn start(
    lanes: Vec<(ClientSpec, Lane)>,
    margin_ns: u64,
    stop: &StopFlag,
) -> Result<Vec<JoinHandle<NumberedLogs>>> {
    let n = loop_count(lanes.len());
    let mut loops = Vec::with_capacity(n);
    for _ in 0..n {
        loops.push(Loop {
            lanes: Vec::new(),
            reactor: Reactor::new()?,
            queue: BinaryHeap::new(),
            in_flight: 0,
            stopped: false,
            margin_ns,
        });
    }
    for (index, (spec, lane)) in lanes.into_iter().enumerate() {
        loops[index % n].lanes.push(EventLane {
            index,
            addr: spec.addr,
            timeout_ns: spec.timeout.as_nanos() as u64,
            lane,
            conn: None,
            opened: 0,
            reconnects: 0,
            buf: Vec::with_capacity(4096),
            req_path: String::new(),
            req: Vec::new(),
            step: Step::Idle,
            io_deadline: u64::MAX,
        });
    }
    let mut threads = Vec::with_capacity(n);
    for (i, l) in loops.into_iter().enumerate() {
        let st = stop.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("scratch-events-{i}"))
                .spawn(move || l.run(st))
                .context("cannot start a client event-loop thread")?,
        );
    }
    Ok(threads)
}
