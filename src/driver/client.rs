//! The Scratch client emulator: constant-rate `/poll` plans and command patterns over
//! keep-alive HTTP connections, each on its own thread.
//!
//! Like Scratch, a client never has two polls in flight: when an answer comes back after the
//! next slot(s) of its plan have passed, those slots are *skipped and counted*, and the next
//! poll goes at the next slot still ahead. Latency is always measured from a poll's
//! *intended* time on the plan, never from when it was actually sent, so a slow answer shows
//! up in full (docs/measuring.md, coordinated omission). The send error (actual − intended) is
//! recorded separately: it is the driver's own error.
//!
//! Clients only record raw timestamps; `join` turns them into histograms afterwards, so the
//! hot path is: sleep, write, read, push.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

use super::http::HttpConn;
use super::pace::Plan;
use super::pollbody::PollBody;
use crate::clock::now_ns;
use crate::metrics::results::ModelResult;

/// One command pattern: `paths` are sent in turn, one every `every_ns`.
#[derive(Clone, Debug)]
pub struct CommandPlan {
    pub paths: Vec<String>,
    pub every_ns: u64,
}

/// One emulated Scratch client.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// Which board (and so which bridge port) this client talks to.
    pub board: usize,
    pub addr: SocketAddr,
    pub poll_period_ns: u64,
    /// Offset of this client's plan from the common start, so that many clients do not all
    /// fire at the same instant.
    pub phase_ns: u64,
    pub commands: Vec<CommandPlan>,
    /// Per-request timeout (connect, write, read).
    pub timeout: Duration,
}

/// What happened to one `/poll`.
#[derive(Clone, Debug, PartialEq)]
pub struct PollRecord {
    pub intended_ns: u64,
    /// Right before the request was written (after any reconnect); `done_ns` when the
    /// request never got that far.
    pub sent_ns: u64,
    pub done_ns: u64,
    /// HTTP status, 0 when the request failed (connection refused, closed, timed out).
    pub status: u16,
    pub seq: Option<u32>,
    pub problem: bool,
    pub bad_lines: u32,
}

impl PollRecord {
    pub fn ok(&self) -> bool {
        self.status == 200
    }
}

/// What happened to one command request.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandRecord {
    pub intended_ns: u64,
    /// Right before the request was written (after any reconnect); `done_ns` when the
    /// request never got that far.
    pub sent_ns: u64,
    pub done_ns: u64,
    pub status: u16,
    pub path: String,
}

/// Everything one client thread recorded.
#[derive(Clone, Debug, Default)]
pub struct ClientLog {
    pub board: usize,
    pub polls: Vec<PollRecord>,
    pub commands: Vec<CommandRecord>,
    /// Intended times of poll slots skipped because the previous poll was still out.
    pub skipped_polls: Vec<u64>,
    /// Intended times of command slots skipped because the previous command was still out.
    pub skipped_commands: Vec<u64>,
    pub reconnects: u64,
}

/// Shared between the orchestrator and its client threads.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sleeps to `deadline_ns` in slices of at most 50 ms so a stop request is noticed; returns
/// false if stopped. The last slice sleeps to just before the deadline and spins the rest
/// (`pace::arrive_at_ns`), so the send leaves on time.
fn wait_until(deadline_ns: u64, stop: &StopFlag) -> bool {
    loop {
        if stop.is_stopped() {
            return false;
        }
        let now = now_ns();
        if now >= deadline_ns {
            return true;
        }
        super::pace::step_toward_send_ns(deadline_ns, 50_000_000);
    }
}

/// Runs the poll plan of one client from `t0_ns` until `end_ns` (no slot at or after it).
pub fn poll_loop(spec: &ClientSpec, t0_ns: u64, end_ns: u64, stop: &StopFlag) -> ClientLog {
    super::pace::tighten_timer_slack();
    let mut log = ClientLog {
        board: spec.board,
        ..ClientLog::default()
    };
    let plan = Plan::new(t0_ns + spec.phase_ns, spec.poll_period_ns);
    let mut conn = HttpConn::new(spec.addr, spec.timeout);
    // Connect before the first slot: Scratch keeps its connection open.
    let _ = conn.ensure_connected();
    let mut k = 0;
    while plan.at(k) < end_ns {
        let intended = plan.at(k);
        if !wait_until(intended, stop) {
            break;
        }
        let mut sent = 0;
        let r = conn.get("/poll", || sent = now_ns());
        let done = now_ns();
        let mut rec = PollRecord {
            intended_ns: intended,
            sent_ns: if sent == 0 { done } else { sent },
            done_ns: done,
            status: 0,
            seq: None,
            problem: false,
            bad_lines: 0,
        };
        if let Ok(resp) = r {
            rec.status = resp.status;
            if resp.status == 200 {
                let body = PollBody::parse(&resp.body);
                rec.seq = body.seq();
                rec.problem = body.problem.is_some();
                rec.bad_lines = body.bad_lines;
            }
        }
        log.polls.push(rec);
        // Closed loop: every slot that passed while this poll was out is skipped.
        let next = plan.first_at_or_after(done).max(k + 1);
        for s in k + 1..next {
            if plan.at(s) < end_ns {
                log.skipped_polls.push(plan.at(s));
            }
        }
        k = next;
    }
    log.reconnects = conn.reconnects;
    log
}

/// Runs one command pattern of one client (its own connection).
pub fn command_loop(
    spec: &ClientSpec,
    pattern: &CommandPlan,
    t0_ns: u64,
    end_ns: u64,
    stop: &StopFlag,
) -> ClientLog {
    super::pace::tighten_timer_slack();
    let mut log = ClientLog {
        board: spec.board,
        ..ClientLog::default()
    };
    if pattern.paths.is_empty() {
        return log;
    }
    // Commands start half a period in, away from the client's poll slots.
    let plan = Plan::new(
        t0_ns + spec.phase_ns + pattern.every_ns / 2,
        pattern.every_ns,
    );
    let mut conn = HttpConn::new(spec.addr, spec.timeout);
    let _ = conn.ensure_connected();
    let mut k = 0;
    while plan.at(k) < end_ns {
        let intended = plan.at(k);
        if !wait_until(intended, stop) {
            break;
        }
        let path = &pattern.paths[(k as usize) % pattern.paths.len()];
        let mut sent = 0;
        let r = conn.get(path, || sent = now_ns());
        let done = now_ns();
        log.commands.push(CommandRecord {
            intended_ns: intended,
            sent_ns: if sent == 0 { done } else { sent },
            done_ns: done,
            status: r.map(|r| r.status).unwrap_or(0),
            path: path.clone(),
        });
        let next = plan.first_at_or_after(done).max(k + 1);
        for s in k + 1..next {
            if plan.at(s) < end_ns {
                log.skipped_commands.push(plan.at(s));
            }
        }
        k = next;
    }
    log.reconnects = conn.reconnects;
    log
}

/// The client threads of a run.
pub struct Clients {
    threads: Vec<JoinHandle<ClientLog>>,
    stop: StopFlag,
}

impl Clients {
    /// Starts every client's poll thread and command threads; plans begin at `t0_ns` and end
    /// at `end_ns`.
    pub fn start(specs: &[ClientSpec], t0_ns: u64, end_ns: u64, stop: StopFlag) -> Result<Clients> {
        // A failed start (out of threads or memory) is that row's error; the threads already
        // started stop at their next slot instead of running on unobserved.
        let stopper = stop.clone();
        Self::start_all(specs, t0_ns, end_ns, stop).inspect_err(|_| stopper.stop())
    }

    fn start_all(specs: &[ClientSpec], t0_ns: u64, end_ns: u64, stop: StopFlag) -> Result<Clients> {
        let mut threads = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let (s, st) = (spec.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("scratch-poll-{i}"))
                    .spawn(move || poll_loop(&s, t0_ns, end_ns, &st))
                    .context("cannot start a client thread")?,
            );
            for (j, pat) in spec.commands.iter().enumerate() {
                let (s, p, st) = (spec.clone(), pat.clone(), stop.clone());
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("scratch-cmd-{i}-{j}"))
                        .spawn(move || command_loop(&s, &p, t0_ns, end_ns, &st))
                        .context("cannot start a client thread")?,
                );
            }
        }
        Ok(Clients { threads, stop })
    }

    /// Asks every thread to stop at its next slot.
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// True once every client thread has finished its plan.
    pub fn finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    /// Waits for every thread and returns their logs, and which threads panicked (a
    /// panicked thread's log is lost, so the figures then cover the other clients only).
    pub fn join(self) -> Joined {
        let threads = self.threads.len();
        let mut joined = Joined {
            logs: Vec::with_capacity(threads),
            panicked: Vec::new(),
            threads,
        };
        for t in self.threads {
            let name = t.thread().name().unwrap_or("client").to_string();
            match t.join() {
                Ok(log) => joined.logs.push(log),
                Err(payload) => {
                    joined
                        .panicked
                        .push(format!("{name}: {}", panic_message(&*payload)));
                }
            }
        }
        joined
    }
}

/// The client threads' logs after [`Clients::join`].
#[derive(Debug, Default)]
pub struct Joined {
    /// Logs of the threads that finished.
    pub logs: Vec<ClientLog>,
    /// `thread-name: panic message` of each thread that panicked.
    pub panicked: Vec<String>,
    /// How many client threads there were in all.
    pub threads: usize,
}

impl Joined {
    /// Records the panicked threads in `row`: the `client_threads_panicked` counter (always
    /// present, a zero is a finding too) and, when any did, the status, so the table, the
    /// report and `esbench check` never take partial figures for whole ones. Call after the
    /// status is otherwise final.
    pub fn mark(&self, row: &mut ModelResult) {
        row.counters
            .insert("client_threads_panicked".into(), self.panicked.len() as u64);
        if self.panicked.is_empty() {
            return;
        }
        let what = format!(
            "{} of {} client threads panicked ({}); their requests are missing from the figures",
            self.panicked.len(),
            self.threads,
            self.panicked.join("; ")
        );
        row.status = if row.is_ok() {
            format!("partial: {what}")
        } else {
            format!("{}; also {what}", row.status)
        };
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients(panics: &[bool]) -> Clients {
        let threads = panics
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                std::thread::Builder::new()
                    .name(format!("scratch-poll-{i}"))
                    .spawn(move || {
                        if p {
                            panic!("injected failure {i}");
                        }
                        ClientLog {
                            board: i,
                            ..ClientLog::default()
                        }
                    })
                    .unwrap()
            })
            .collect();
        Clients {
            threads,
            stop: StopFlag::new(),
        }
    }

    #[test]
    fn panicked_client_threads_are_counted_and_mark_the_row_partial() {
        let joined = clients(&[false, true, false]).join();
        assert_eq!(joined.logs.len(), 2);
        assert_eq!(joined.threads, 3);
        assert_eq!(
            joined.panicked,
            ["scratch-poll-1: injected failure 1".to_string()]
        );
        let mut row = ModelResult {
            status: "ok".into(),
            ..ModelResult::default()
        };
        joined.mark(&mut row);
        assert_eq!(row.counters["client_threads_panicked"], 1);
        assert!(!row.is_ok());
        assert!(
            row.status
                .starts_with("partial: 1 of 3 client threads panicked"),
            "{}",
            row.status
        );
        assert!(row.status.contains("injected failure 1"), "{}", row.status);

        // A row that already failed keeps its reason first.
        let mut crashed = ModelResult {
            status: "crashed: serve signal 9".into(),
            ..ModelResult::default()
        };
        joined.mark(&mut crashed);
        assert!(crashed
            .status
            .starts_with("crashed: serve signal 9; also 1 of 3"));
    }

    #[test]
    fn no_panics_leave_the_row_ok_with_a_zero_counter() {
        let joined = clients(&[false, false]).join();
        assert_eq!(joined.logs.len(), 2);
        let mut row = ModelResult {
            status: "ok".into(),
            ..ModelResult::default()
        };
        joined.mark(&mut row);
        assert!(row.is_ok());
        assert_eq!(row.counters["client_threads_panicked"], 0);
    }
}
