//! The Scratch client emulator: constant-rate `/poll` plans and command patterns over
//! keep-alive HTTP connections, run either one thread per connection (`client_threads`) or
//! on a few event loops (`client_events`), as the scenario's `run.driver` says.
//!
//! Like Scratch, a client never has two polls in flight: when an answer comes back after the
//! next slot(s) of its plan have passed, those slots are *skipped and counted*, and the next
//! poll goes at the next slot still ahead. Latency is always measured from a poll's
//! *intended* time on the plan, never from when it was actually sent, so a slow answer shows
//! up in full (docs/measuring.md, coordinated omission). The send error (actual − intended) is
//! recorded separately: it is the driver's own error.
//!
//! Clients only record raw timestamps; `join` turns them into histograms afterwards, so the
//! hot path is: sleep, write, read, push. Both runners share [`Lane`], the bookkeeping of
//! one plan on one connection, so they record exactly the same things.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;

use super::http::Response;
use super::pace::{ms_to_ns, Plan};
use super::pollbody::PollBody;
use crate::metrics::results::ModelResult;
use crate::scenario::{DriverKind, Scenario};

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
    /// Which runner drives this client (every spec of one [`Clients::start`] uses the first
    /// spec's).
    pub driver: DriverKind,
    /// How long before each send deadline the client stops sleeping and spins (ns; the
    /// scenario's `run.send_spin_us`, see `pace`); like `driver`, the first spec's holds.
    pub spin_margin_ns: u64,
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
    pub(crate) fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Requests answered so far (2xx), readable while the clients run: the profiling pass puts
/// its costs per event with them.
#[derive(Debug, Default)]
pub(crate) struct LiveCounts {
    pub polls: AtomicU64,
    pub commands: AtomicU64,
}

/// One plan of one client on one connection: the client's polls, or one of its command
/// patterns. Knows the next slot, and turns a finished request into its record, the slots it
/// made the plan skip, and the slot after.
pub(crate) struct Lane {
    paths: Vec<String>,
    is_poll: bool,
    plan: Plan,
    end_ns: u64,
    k: u64,
    pub log: ClientLog,
    live: Arc<LiveCounts>,
}

impl Lane {
    /// The `/poll` plan of `spec`, from `t0_ns` until `end_ns` (no slot at or after it).
    pub(crate) fn polls(spec: &ClientSpec, t0_ns: u64, end_ns: u64, live: Arc<LiveCounts>) -> Lane {
        Lane {
            paths: vec!["/poll".into()],
            is_poll: true,
            plan: Plan::new(t0_ns + spec.phase_ns, spec.poll_period_ns),
            end_ns,
            k: 0,
            log: ClientLog {
                board: spec.board,
                ..ClientLog::default()
            },
            live,
        }
    }

    /// One command pattern of `spec`; an empty pattern has no slots.
    pub(crate) fn commands(
        spec: &ClientSpec,
        pattern: &CommandPlan,
        t0_ns: u64,
        end_ns: u64,
        live: Arc<LiveCounts>,
    ) -> Lane {
        Lane {
            paths: pattern.paths.clone(),
            is_poll: false,
            // Commands start half a period in, away from the client's poll slots.
            plan: Plan::new(
                t0_ns + spec.phase_ns + pattern.every_ns / 2,
                pattern.every_ns,
            ),
            end_ns: if pattern.paths.is_empty() { 0 } else { end_ns },
            k: 0,
            log: ClientLog {
                board: spec.board,
                ..ClientLog::default()
            },
            live,
        }
    }

    /// True for a client's poll plan, false for a command pattern.
    pub(crate) fn is_poll(&self) -> bool {
        self.is_poll
    }

    /// The intended time of the next slot, None when the plan is over.
    pub(crate) fn due(&self) -> Option<u64> {
        let t = self.plan.at(self.k);
        (t < self.end_ns).then_some(t)
    }

    /// The path the next slot requests.
    pub(crate) fn path(&self) -> &str {
        &self.paths[(self.k as usize) % self.paths.len()]
    }

    /// Records the request of the current slot, `sent_ns` 0 when it never got as far as
    /// the write, `answer` None when it failed; then skips every slot that passed while it
    /// was out (closed loop: one request in flight) and moves to the next one ahead.
    pub(crate) fn record(
        &mut self,
        intended_ns: u64,
        sent_ns: u64,
        done_ns: u64,
        answer: Option<&Response>,
    ) {
        let sent_ns = if sent_ns == 0 { done_ns } else { sent_ns };
        let status = answer.map_or(0, |r| r.status);
        if self.is_poll {
            let mut rec = PollRecord {
                intended_ns,
                sent_ns,
                done_ns,
                status,
                seq: None,
                problem: false,
                bad_lines: 0,
            };
            if let Some(resp) = answer.filter(|r| r.status == 200) {
                let body = PollBody::parse(&resp.body);
                rec.seq = body.seq();
                rec.problem = body.problem.is_some();
                rec.bad_lines = body.bad_lines;
            }
            self.log.polls.push(rec);
        } else {
            self.log.commands.push(CommandRecord {
                intended_ns,
                sent_ns,
                done_ns,
                status,
                path: self.path().to_string(),
            });
        }
        if status / 100 == 2 {
            let counter = if self.is_poll {
                &self.live.polls
            } else {
                &self.live.commands
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let k = self.k;
        let next = self.plan.first_at_or_after(done_ns).max(k + 1);
        for s in k + 1..next {
            if self.plan.at(s) < self.end_ns {
                if self.is_poll {
                    self.log.skipped_polls.push(self.plan.at(s));
                } else {
                    self.log.skipped_commands.push(self.plan.at(s));
                }
            }
        }
        self.k = next;
    }
}

/// Every lane of `specs`, in the order the logs are returned: each client's polls, then its
/// command patterns.
pub(crate) fn lanes(
    specs: &[ClientSpec],
    t0_ns: u64,
    end_ns: u64,
    live: &Arc<LiveCounts>,
) -> Vec<(ClientSpec, Lane)> {
    let mut out = Vec::new();
    for spec in specs {
        out.push((spec.clone(), Lane::polls(spec, t0_ns, end_ns, live.clone())));
        for pat in &spec.commands {
            out.push((
                spec.clone(),
                Lane::commands(spec, pat, t0_ns, end_ns, live.clone()),
            ));
        }
    }
    out
}

/// The running clients of a run.
pub struct Clients {
    runner: Runner,
    stop: StopFlag,
    live: Arc<LiveCounts>,
    /// The runner and send spin margin they run with (the driver meter records both).
    driver: DriverKind,
    spin_margin_ns: u64,
}

enum Runner {
    /// One thread per lane, each returning its log.
    Threads(Vec<JoinHandle<ClientLog>>),
    /// A few event loops, each returning its lanes' logs with their lane numbers.
    Events(Vec<JoinHandle<super::client_events::NumberedLogs>>),
}

impl Clients {
    /// Starts every client's poll plan and command plans on the runner the specs name;
    /// plans begin at `t0_ns` and end at `end_ns`.
    pub fn start(specs: &[ClientSpec], t0_ns: u64, end_ns: u64, stop: StopFlag) -> Result<Clients> {
        // A failed start (out of threads or memory) is that row's error; the threads already
        // started stop at their next slot instead of running on unobserved.
        let stopper = stop.clone();
        let live = Arc::new(LiveCounts::default());
        let lanes = lanes(specs, t0_ns, end_ns, &live);
        let kind = specs.first().map(|s| s.driver).unwrap_or_default();
        let margin = specs
            .first()
            .map_or(super::pace::SPIN_MARGIN_NS, |s| s.spin_margin_ns);
        let runner = match kind {
            DriverKind::Threads => {
                super::client_threads::start(lanes, margin, &stop).map(Runner::Threads)
            }
            DriverKind::Events => {
                super::client_events::start(lanes, margin, &stop).map(Runner::Events)
            }
        }
        .inspect_err(|_| stopper.stop())?;
        Ok(Clients {
            runner,
            stop,
            live,
            driver: kind,
            spin_margin_ns: margin,
        })
    }

    /// The runner driving these clients.
    pub(crate) fn driver(&self) -> DriverKind {
        self.driver
    }

    /// The send spin margin they run with (ns).
    pub(crate) fn spin_margin_ns(&self) -> u64 {
        self.spin_margin_ns
    }

    /// Asks every client to stop at its next slot.
    pub(crate) fn stop(&self) {
        self.stop.stop();
    }

    /// Requests answered so far.
    pub(crate) fn live(&self) -> &LiveCounts {
        &self.live
    }

    /// True once every client has finished its plan.
    pub(crate) fn finished(&self) -> bool {
        match &self.runner {
            Runner::Threads(t) => t.iter().all(|t| t.is_finished()),
            Runner::Events(t) => t.iter().all(|t| t.is_finished()),
        }
    }

    /// Waits for every client and returns their logs, and which threads panicked (a
    /// panicked thread's logs are lost, so the figures then cover the other clients only).
    pub fn join(self) -> Joined {
        match self.runner {
            Runner::Threads(threads) => {
                let mut joined = Joined {
                    threads: threads.len(),
                    ..Joined::default()
                };
                for t in threads {
                    let name = t.thread().name().unwrap_or("client").to_string();
                    match t.join() {
                        Ok(log) => joined.logs.push(log),
                        Err(p) => joined
                            .panicked
                            .push(format!("{name}: {}", panic_message(&*p))),
                    }
                }
                joined
            }
            Runner::Events(threads) => {
                let mut joined = Joined {
                    threads: threads.len(),
                    ..Joined::default()
                };
                let mut numbered = Vec::new();
                for t in threads {
                    let name = t.thread().name().unwrap_or("client").to_string();
                    match t.join() {
                        Ok(logs) => numbered.extend(logs),
                        Err(p) => joined
                            .panicked
                            .push(format!("{name}: {}", panic_message(&*p))),
                    }
                }
                numbered.sort_by_key(|(i, _)| *i);
                joined.logs = numbered.into_iter().map(|(_, log)| log).collect();
                joined
            }
        }
    }
}

/// The scenario's clients for the bridge ports `addrs` (one per board): `per_board` per
/// board, phases spread over one poll period, each with every command pattern.
pub(crate) fn client_specs(s: &Scenario, addrs: &[SocketAddr]) -> Vec<ClientSpec> {
    let period = ms_to_ns(s.clients.poll_period_ms);
    let total = (addrs.len() as u64 * u64::from(s.clients.per_board)).max(1);
    let commands: Vec<CommandPlan> = s
        .clients
        .commands
        .iter()
        .map(|c| CommandPlan {
            paths: c.paths.clone(),
            every_ns: ms_to_ns(c.every_ms),
        })
        .collect();
    let mut specs = Vec::new();
    for (b, addr) in addrs.iter().enumerate() {
        for _ in 0..s.clients.per_board {
            let idx = specs.len() as u64;
            specs.push(ClientSpec {
                board: b,
                addr: *addr,
                poll_period_ns: period,
                phase_ns: period * idx / total,
                commands: commands.clone(),
                timeout: Duration::from_secs(5),
                driver: s.run.driver,
                spin_margin_ns: s.run.send_spin_us * 1_000,
            });
        }
    }
    specs
}

/// The client threads' logs after [`Clients::join`].
#[derive(Debug, Default)]
pub struct Joined {
    /// Logs of the threads that finished.
    pub logs: Vec<ClientLog>,
    /// `thread-name: panic message` of each thread that panicked.
    pub panicked: Vec<String>,
    /// How many client threads there were in all (one per lane, or the event loops).
    pub threads: usize,
}

impl Joined {
    /// Records the panicked threads in `row`: the `client_threads_panicked` counter (always
    /// present, a zero is a finding too) and, when any did, the status, so the table, the
    /// report and `esbench check` never take partial figures for whole ones. Call after the
    /// status is otherwise final.
    pub(crate) fn mark(&self, row: &mut ModelResult) {
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
        row.status = std::mem::take(&mut row.status).with_finding(what);
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
    use crate::metrics::status::Status;

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
            runner: Runner::Threads(threads),
            stop: StopFlag::new(),
            live: Arc::default(),
            driver: DriverKind::Threads,
            spin_margin_ns: 0,
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
            status: Status::Ok,
            ..ModelResult::default()
        };
        joined.mark(&mut row);
        assert_eq!(row.counters["client_threads_panicked"], 1);
        assert!(!row.is_ok());
        assert!(
            row.status
                .to_string()
                .starts_with("partial: 1 of 3 client threads panicked"),
            "{}",
            row.status
        );
        assert!(
            row.status.to_string().contains("injected failure 1"),
            "{}",
            row.status
        );

        // A row that already failed keeps its reason first.
        let mut crashed = ModelResult {
            status: Status::parse("crashed: serve signal 9"),
            ..ModelResult::default()
        };
        joined.mark(&mut crashed);
        assert!(crashed
            .status
            .to_string()
            .starts_with("crashed: serve signal 9; also 1 of 3"));
    }

    #[test]
    fn no_panics_leave_the_row_ok_with_a_zero_counter() {
        let joined = clients(&[false, false]).join();
        assert_eq!(joined.logs.len(), 2);
        let mut row = ModelResult {
            status: Status::Ok,
            ..ModelResult::default()
        };
        joined.mark(&mut row);
        assert!(row.is_ok());
        assert_eq!(row.counters["client_threads_panicked"], 0);
    }
}
