//! The thread-per-connection runner of the Scratch clients (`run.driver = "threads"`): each
//! lane (a client's polls, or one of its command patterns) on its own thread, with a
//! blocking keep-alive connection, sleeping to each slot on an absolute deadline.
//!
//! Simple and faithful, but at a thousand boards it is thousands of threads that compete
//! with the model for the CPUs; `client_events` keeps the same records on a few threads.

use std::thread::JoinHandle;

use anyhow::{Context, Result};

use super::client::{ClientLog, ClientSpec, Lane, StopFlag};
use super::http::HttpConn;
use crate::clock::now_ns;

/// Sleeps to `deadline_ns` in slices of at most 50 ms so a stop request is noticed; returns
/// false if stopped. The last slice sleeps to just before the deadline and spins the rest
/// (`pace::arrive_at_ns`), so the send leaves on time.
fn wait_until(deadline_ns: u64, margin_ns: u64, stop: &StopFlag) -> bool {
    loop {
        if stop.is_stopped() {
            return false;
        }
        let now = now_ns();
        if now >= deadline_ns {
            return true;
        }
        super::pace::step_toward_send_ns(deadline_ns, 50_000_000, margin_ns);
    }
}

/// Runs one lane on the calling thread until its plan ends or `stop`, spinning `margin_ns`
/// before each send.
fn run_lane(spec: &ClientSpec, mut lane: Lane, margin_ns: u64, stop: &StopFlag) -> ClientLog {
    super::pace::tighten_timer_slack();
    if lane.due().is_none() {
        return lane.log;
    }
    let mut conn = HttpConn::new(spec.addr, spec.timeout);
    // Connect before the first slot: Scratch keeps its connection open.
    let _ = conn.ensure_connected();
    while let Some(intended) = lane.due() {
        if !wait_until(intended, margin_ns, stop) {
            break;
        }
        let mut sent = 0;
        let r = conn.get(lane.path(), || sent = now_ns());
        let done = now_ns();
        lane.record(intended, sent, done, r.as_ref().ok());
    }
    lane.log.reconnects = conn.reconnects;
    lane.log
}

/// One thread per lane, named after the client and pattern it runs, each spinning
/// `margin_ns` before its sends.
pub(super) fn start(
    lanes: Vec<(ClientSpec, Lane)>,
    margin_ns: u64,
    stop: &StopFlag,
) -> Result<Vec<JoinHandle<ClientLog>>> {
    let mut threads = Vec::with_capacity(lanes.len());
    let (mut polls_seen, mut pattern) = (0usize, 0usize);
    for (spec, lane) in lanes {
        // The thread names of before the runners were split: scratch-poll-N, scratch-cmd-N-J.
        let name = if lane.is_poll() {
            polls_seen += 1;
            pattern = 0;
            format!("scratch-poll-{}", polls_seen - 1)
        } else {
            pattern += 1;
            format!(
                "scratch-cmd-{}-{}",
                polls_seen.saturating_sub(1),
                pattern - 1
            )
        };
        let st = stop.clone();
        threads.push(
            std::thread::Builder::new()
                .name(name)
                .spawn(move || run_lane(&spec, lane, margin_ns, &st))
                .context("cannot start a client thread")?,
        );
    }
    Ok(threads)
}
