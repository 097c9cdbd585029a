//! What a local and a remote model run share (`model_run`, `remote_run`): the timeline (a
//! warm-up, then the measured window the clients' plan ends with), how the measured part
//! ended, the loop that waits through it, and the row filled from the joins. Written once so
//! that the two runs differ only where the model is and how its end is noticed, and a remote
//! row carries the same figures, measured over the same window, as a local one.

use std::time::Duration;

use anyhow::Result;
use indicatif::ProgressBar;

use super::interrupt;
use super::join::{join, BoardRecord, Window};
use crate::clock::now_ns;
use crate::load::client::{Clients, Joined};
use crate::load::floor::{phase_after_frames, ticks_in_window};
use crate::load::health::DriverWindow;
use crate::metrics::results::ModelResult;
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

/// Where the model runs, as the watch loop sees it: a local child, or an agent.
pub(super) trait ModelSide {
    /// Whether the model side has ended by `now` (its child died, the agent was lost).
    fn ended(&mut self, now: u64) -> Result<Option<End>>;
    /// Does whatever is due at `now`; returns the next instant something is due.
    fn act(&mut self, now: u64) -> Option<u64>;
}

/// Waits until `until_ns` (or, for the measured part, until the clients have finished),
/// watching the model side and Ctrl-C, acting on what the side has due, and moving the
/// progress bar (position in ms since `plan.t0`, length to `plan.win_end`).
pub(super) fn watch(
    side: &mut impl ModelSide,
    clients: &Clients,
    until_ns: u64,
    plan: &Timeline,
    bar: &ProgressBar,
) -> Result<End> {
    bar.set_length((plan.win_end - plan.t0) / 1_000_000);
    loop {
        let now = now_ns();
        bar.set_position(now.saturating_sub(plan.t0) / 1_000_000);
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
pub(super) fn interrupted_status(plan: &Timeline, at_ns: u64) -> String {
    format!("{} {}", interrupt::status(), plan.describe(at_ns))
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
