//! What every model run shares, wherever its child is: the timeline (a warm-up, then the
//! measured window the clients' plan ends with), how the measured part ended, the `Running`
//! trait a started child implements (`local_child`, `agent_child`), the loop that waits
//! through the timeline, and the row filled from the joins. `row_run` drives them in one
//! flow, so a remote row carries the same figures, measured over the same window, as a
//! local one.

use std::time::Duration;

use std::net::SocketAddr;

use anyhow::Result;

use super::interrupt;
use super::join::{join, BoardRecord, Window};
use super::progress::Progress;
use super::row::ModelPlan;
use crate::clock::now_ns;
use crate::load::client::{Clients, Joined, StopFlag};
use crate::load::floor::{phase_after_frames, ticks_in_window};
use crate::load::health::DriverWindow;
use crate::metrics::results::ModelResult;
use crate::metrics::status::Status;
use crate::metrics::summary::Summary;

/// Time the clients get to start before their first planned poll.
const CLIENT_START_NS: u64 = 20_000_000;
/// The longest the watch loop sleeps between looks at the model, the clock and Ctrl-C.
const WATCH_EVERY_NS: u64 = 50_000_000;

/// One model run's plan: the clients start at `t0`, the measured window is
/// `[win_start, win_end)`, after `warmup`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeline {
    pub t0: u64,
    pub win_start: u64,
    pub win_end: u64,
}

impl Timeline {
    /// A plan starting shortly from now.
    pub fn starting_now(warmup: Duration, duration: Duration) -> Timeline {
        let t0 = now_ns() + CLIENT_START_NS;
        let win_start = t0 + warmup.as_nanos() as u64;
        Timeline {
            t0,
            win_start,
            win_end: win_start + duration.as_nanos() as u64,
        }
    }

    /// The window that was measured: the planned one, or shortened to where `end` stopped
    /// it (never before its start).
    pub fn measured(&self, end: &End) -> Window {
        let end_ns = match end {
            End::Completed => self.win_end,
            End::Crashed { at_ns, .. }
            | End::Interrupted { at_ns }
            | End::AgentLost { at_ns, .. } => (*at_ns).max(self.win_start),
        };
        Window {
            start_ns: self.win_start,
            end_ns,
        }
    }

    /// When `at_ns` was, for a status: in the warm-up or into the measured window.
    pub fn describe(&self, at_ns: u64) -> String {
        describe_when(at_ns, self.win_start)
    }
}

/// How the measured part of a model run ended.
pub(super) enum End {
    Completed,
    Crashed {
        exit: String,
        at_ns: u64,
    },
    Interrupted {
        at_ns: u64,
    },
    /// Remote only: the agent stopped answering.
    AgentLost {
        why: String,
        at_ns: u64,
    },
}

/// A row's child once started, wherever it runs: the steps of `row_run::run_model` that
/// differ between a local child and a remote agent. A new kind of child (another program, a
/// bridge started from a command template) is a new implementation; the flow stays one.
pub(super) trait Running {
    /// The HTTP addresses the clients poll.
    fn addrs(&self) -> &[SocketAddr];
    /// Where the child is, for progress messages (`None`: here).
    fn host(&self) -> Option<&str>;
    /// The clients have started on `tl`: start whatever runs beside the model until `stop`
    /// (the local floor probe).
    fn begin(&mut self, plan: &ModelPlan, tl: &Timeline, stop: &StopFlag) -> Result<()>;
    /// The warm-up is over: start measuring the child (its CPU, what it runs with) and arm
    /// what acts on it in the window; `Some` when the window cannot be measured.
    fn measure(
        &mut self,
        plan: &ModelPlan,
        tl: &Timeline,
        row: &mut ModelResult,
    ) -> Result<Option<End>>;
    /// Whether the model side has ended by `now` (its child died, the agent was lost).
    fn ended(&mut self, now: u64) -> Result<Option<End>>;
    /// Does whatever is due at `now`; returns the next instant something is due.
    fn act(&mut self, now: u64) -> Option<u64>;
    /// The measured window is over: stop measuring the child (before the driver's own meter
    /// stops, as the window closes).
    fn close_window(&mut self) {}
    /// Stops the child (SIGTERM, then SIGKILL after a grace); a lost agent changes `end`.
    fn stop(&mut self, end: &mut End) -> Result<()>;
    /// The boards' records on the driver's clock, for the join (and what the row needs
    /// before it, e.g. the clock join).
    fn records(&mut self, tl: &Timeline, row: &mut ModelResult) -> Result<Vec<BoardRecord>>;
    /// The child's side of the row over `window`: the timer floor beside it, its CPU and
    /// counters, the bridge's statistics. A crash it reports late changes `end`.
    fn store_child_side(
        &mut self,
        row: &mut ModelResult,
        records: &[BoardRecord],
        window: Window,
        end: &mut End,
    );
    /// The row's status for how the run ended.
    fn status(&self, end: End, tl: &Timeline) -> Status;
}

/// Waits until `until_ns` (or, for the measured part, until the clients have finished),
/// watching the model side and Ctrl-C, acting on what the side has due, and moving the
/// progress (position in ms since `plan.t0`, length to `plan.win_end`).
pub(super) fn watch(
    side: &mut dyn Running,
    clients: &Clients,
    until_ns: u64,
    plan: &Timeline,
    progress: &dyn Progress,
) -> Result<End> {
    let len_ms = (plan.win_end - plan.t0) / 1_000_000;
    loop {
        let now = now_ns();
        progress.position(now.saturating_sub(plan.t0) / 1_000_000, len_ms);
        if let Some(end) = side.ended(now)? {
            return Ok(end);
        }
        if interrupt::interrupted() {
            return Ok(End::Interrupted { at_ns: now });
        }
        if now >= until_ns || (until_ns == plan.win_end && clients.finished()) {
            return Ok(End::Completed);
        }
        let next = side.act(now).unwrap_or(until_ns).min(until_ns);
        std::thread::sleep(Duration::from_nanos(
            next.saturating_sub(now_ns()).min(WATCH_EVERY_NS),
        ));
    }
}

/// Fills the driver's side of `row` from the clients' logs joined with the boards' records
/// over `window`: the latency figures, the driver's own health and the join's counters.
pub(super) fn store_driver_side(
    row: &mut ModelResult,
    joined: &Joined,
    records: &[BoardRecord],
    window: Window,
    driver: Option<DriverWindow>,
) {
    let fig = join(&joined.logs, records, window);
    fig.store_latencies(row);
    if let Some(m) = driver {
        row.driver = m.health(&row.driver_error, &row.poll_latency);
    }
    row.counters.extend(fig.counters);
}

/// Fills the timer floor beside the model from the probe's `(deadline, lateness)` ticks (on
/// the driver's clock): the ticks in `window`, and where their deadlines fell in board 0's
/// frame schedule.
pub(super) fn store_floor(
    row: &mut ModelResult,
    ticks: &[(u64, u64)],
    records: &[BoardRecord],
    window: Window,
) {
    row.timer_floor =
        Summary::from_histogram(&ticks_in_window(ticks, window.start_ns, window.end_ns));
    row.timer_floor_phase_us = phase_after_frames(
        ticks.iter().map(|t| t.0).filter(|&d| window.contains(d)),
        &frame_times(records),
    );
}

/// The status of a run that Ctrl-C stopped at `at_ns`.
pub(super) fn interrupted_status(plan: &Timeline, at_ns: u64) -> Status {
    Status::Interrupted(format!("{} {}", interrupt::by(), plan.describe(at_ns)))
}

fn describe_when(at_ns: u64, win_start: u64) -> String {
    if at_ns < win_start {
        format!(
            "during warm-up ({:.1} s before the window)",
            (win_start - at_ns) as f64 / 1e9
        )
    } else {
        format!(
            "{:.1} s into the measured window",
            (at_ns - win_start) as f64 / 1e9
        )
    }
}

/// Board 0's frame write times, sorted: the schedule phases are measured against.
pub(super) fn frame_times(records: &[BoardRecord]) -> Vec<u64> {
    let mut t: Vec<u64> = records
        .first()
        .map(|r| r.frames.iter().map(|f| f.1).collect())
        .unwrap_or_default();
    t.sort_unstable();
    t
}
