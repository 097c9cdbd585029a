//! `esbench agent`: the device side of a remote run.
//!
//! It listens on a control port, and for each driver connection runs at most one model at a
//! time: the virtual boards (or a real port it was given), `esbench serve --model M` as its
//! child with the model's explicit settings, the child's CPU accounting and a floor probe
//! over the measured window, exactly as the local driver does them; at `stop` it hands back
//! everything with its own monotonic timestamps. It starts nothing but its own executable's
//! `serve`, and refuses whatever is not a registered model or inside its directories.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::access::{token_matches, AllowList};
use super::gate::{wait_unless_shut, Gate, Ticket};
use super::wire::{
    AgentReport, LineConn, Op, Reply, Request, StartSpec, MAX_REQUEST_LINE, PROTOCOL,
};
use crate::bridge::stats::ServeStats;
use crate::clock::now_ns;
use crate::device::BoardLoops;
use crate::device::VirtualBoard;
use crate::load::boards::{start_boards, stop_boards, BoardRecord};
use crate::load::child::{
    free_ports, take_stats, ServeChild, ServeCommand, CPU_SAMPLE_EVERY, STOP_GRACE,
};
use crate::load::child_settings::{read_back, ChildSettings};
use crate::load::floor::{probe_alongside, random_phase_ns};
use crate::metrics::machine::describe_machine;
use crate::metrics::process::{cpu_row, lifetime_counters, CpuMonitor};
use crate::scenario::Scenario;

/// A connection silent this long while a model runs counts as a lost driver: the model is
/// stopped and the agent takes the next connection.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long serve may take to print its addresses and answer.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How the agent was started.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub listen: SocketAddr,
    pub token: String,
    pub allow: AllowList,
    /// The esbench binary whose `serve` runs the models (this one).
    pub exe: PathBuf,
    /// Added to every timestamp handed out (a test hook, `remote::test_hooks`; 0 otherwise).
    pub clock_offset_ns: i64,
    /// Exit the process this long after `measure` (a test hook; `None` otherwise).
    pub exit_after_measure: Option<Duration>,
}

/// A bound agent. Each connection gets its own thread (so a second driver hears "busy"
/// instead of hanging), within the limits of [`Gate`] (unauthenticated connections are
/// capped and must show the token within a deadline); only one model runs at a time: two
/// models on one small board would measure each other.
pub struct Agent {
    shared: Arc<Shared>,
    listener: TcpListener,
}

struct Shared {
    cfg: AgentConfig,
    /// Model runs started so far (names their scratch directories).
    runs: AtomicU64,
    /// True while some connection has a model running.
    busy: AtomicBool,
    /// Connection limits (see `remote::gate`).
    gate: Arc<Gate>,
    /// The virtual boards' event loops, kept for the agent's life so runs reuse them.
    board_loops: BoardLoops,
}

/// Clears `busy` when the model run holding it ends, however it ends.
struct BusyGuard<'a>(&'a AtomicBool);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Agent {
    pub fn bind(cfg: AgentConfig) -> Result<Agent> {
        let listener = TcpListener::bind(cfg.listen)
            .with_context(|| format!("cannot listen on {}", cfg.listen))?;
        Ok(Agent {
            shared: Arc::new(Shared {
                cfg,
                runs: AtomicU64::new(0),
                busy: AtomicBool::new(false),
                gate: Arc::new(Gate::default()),
                board_loops: BoardLoops::default(),
            }),
            listener,
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves connections, forever. A connection's failure ends only it.
    pub fn serve_forever(&mut self) -> Result<()> {
        let reaper = self.shared.clone();
        std::thread::Builder::new()
            .name("agent-reaper".into())
            .spawn(move || reaper.reap_forever())
            .context("cannot start the agent's reaper thread")?;
        let mut accept_errors = 0u64;
        let mut last_logged: Option<std::time::Instant> = None;
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) => {
                    // Logged at most every 10 s, with how many there were.
                    accept_errors += 1;
                    if last_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                        crate::errln!("agent: accept failed ({accept_errors} times): {e}");
                        last_logged = Some(std::time::Instant::now());
                        accept_errors = 0;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            // Admitted before its thread starts: this may evict the oldest unauthenticated
            // connection and wait for a thread to end, so threads stay bounded.
            let ticket = match self.shared.gate.admit(&stream, peer) {
                Ok(t) => t,
                Err(e) => {
                    crate::errln!("agent: cannot serve {peer}: {e}");
                    continue;
                }
            };
            let shared = self.shared.clone();
            // The session thread also spawns the model's child, whose PR_SET_PDEATHSIG fires
            // when this thread ends: the session outlives its child by construction.
            let spawned = std::thread::Builder::new()
                .name("agent-session".into())
                .spawn(move || {
                    if let Err(e) = shared.session(stream, ticket) {
                        crate::errln!("agent: connection from {peer} ended: {e:#}");
                    }
                });
            if let Err(e) = spawned {
                crate::errln!("agent: cannot serve {peer}: {e}");
            }
        }
    }
}

impl Shared {
    /// Closes pending connections past their deadline, and says every 10 s how many were
    /// closed without showing the token (evicted or too slow).
    fn reap_forever(&self) {
        let mut closed = 0;
        let mut since = std::time::Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(250));
            closed += self.gate.reap();
            if since.elapsed() >= Duration::from_secs(10) {
                if closed > 0 {
                    crate::errln!(
                        "agent: closed {closed} connection(s) that did not show the token \
                         (more than {} waiting, or none within {:?})",
                        super::gate::MAX_PENDING,
                        super::gate::AUTH_DEADLINE
                    );
                }
                closed = 0;
                since = std::time::Instant::now();
            }
        }
    }

    fn session(&self, stream: TcpStream, mut ticket: Ticket) -> Result<()> {
        stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
        let _ = stream.set_nodelay(true);
        let mut conn = LineConn::new(stream, MAX_REQUEST_LINE)?;
        let mut run: Option<(ModelRun, BusyGuard)> = None;
        let mut report: Option<AgentReport> = None;
        loop {
            let Some(line) = conn.recv_line()? else {
                return Ok(());
            };
            let reply = match self.authorised(&line) {
                Err(Refusal::WrongToken) => {
                    let (delay, n) = ticket.failed();
                    crate::errln!(
                        "agent: wrong token from {} (failure {n} from this address; \
                         answered after {delay:?})",
                        ticket.peer
                    );
                    wait_unless_shut(conn.stream(), delay);
                    Reply::Error {
                        error: "refused: wrong token".into(),
                    }
                }
                Err(Refusal::Other(e)) => Reply::Error {
                    error: format!("{e:#}"),
                },
                Ok(req) => match ticket.authenticate() {
                    Err(busy) => {
                        conn.send(&Reply::Error { error: busy })?;
                        return Ok(());
                    }
                    Ok(()) => {
                        self.act(req.op, &mut run, &mut report)
                            .unwrap_or_else(|e| Reply::Error {
                                error: format!("{e:#}"),
                            })
                    }
                },
            };
            conn.send(&reply)?;
        }
        // `run` drops here on any exit: the child is stopped and the boards closed.
    }

    /// Parses a line into a request carrying the right token, or says why not.
    fn authorised(&self, line: &str) -> Result<Request, Refusal> {
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Refusal::Other(anyhow::anyhow!("refused: the request is not JSON ({e})"))
        })?;
        match value.get("token").and_then(|t| t.as_str()) {
            None => {
                return Err(Refusal::Other(anyhow::anyhow!(
                    "refused: the request carries no token"
                )))
            }
            Some(t) if !token_matches(&self.cfg.token, t) => return Err(Refusal::WrongToken),
            Some(_) => {}
        }
        serde_json::from_value(value).map_err(|e| {
            Refusal::Other(anyhow::anyhow!(
                "refused: not a request this agent knows ({e})"
            ))
        })
    }

    fn act<'a>(
        &'a self,
        op: Op,
        run: &mut Option<(ModelRun, BusyGuard<'a>)>,
        report: &mut Option<AgentReport>,
    ) -> Result<Reply> {
        let now = |off| shift(now_ns(), off);
        let off = self.cfg.clock_offset_ns;
        Ok(match op {
            Op::Hello => Reply::Hello {
                protocol: PROTOCOL.into(),
                version: env!("CARGO_PKG_VERSION").into(),
                machine: describe_machine(),
                pid: std::process::id(),
            },
            Op::Time => {
                let agent_ns = now(off);
                let child_exit = match run {
                    Some((r, _)) => r.exit_seen()?,
                    None => None,
                };
                Reply::Time {
                    agent_ns,
                    child_exit,
                }
            }
            Op::Start(spec) => {
                if run.is_some() {
                    bail!("refused: a model is already running on this connection");
                }
                if self.busy.swap(true, Ordering::SeqCst) {
                    bail!("refused: busy: another driver's model is running on this agent");
                }
                let guard = BusyGuard(&self.busy);
                let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
                let r = ModelRun::start(&self.cfg, &spec, n, &self.board_loops)?;
                let reply = Reply::Started {
                    ports: r.child.addrs.iter().map(|a| a.port()).collect(),
                    pid: r.child.pid,
                };
                *report = None;
                *run = Some((r, guard));
                reply
            }
            Op::Measure { duration_ns } => {
                let (r, _) = run.as_mut().context("refused: `measure` before `start`")?;
                let reply = r.measure(duration_ns, off)?;
                if let Some(after) = self.cfg.exit_after_measure {
                    std::thread::spawn(move || {
                        std::thread::sleep(after);
                        crate::errln!("agent: test hook: exiting mid-run");
                        std::process::exit(9);
                    });
                }
                reply
            }
            Op::Stop => {
                if let Some((r, _guard)) = run.take() {
                    *report = Some(r.stop(off)?);
                }
                let r = report.clone().context("refused: `stop` before `start`")?;
                Reply::Stopped(Box::new(r))
            }
        })
    }
}

/// Why a request line was refused: a wrong token is delayed and logged, the rest answered.
enum Refusal {
    WrongToken,
    Other(anyhow::Error),
}

/// `t` plus the test offset.
fn shift(t: u64, off: i64) -> u64 {
    t.saturating_add_signed(off)
}

/// The floor probe thread beside the model and its stop flag.
type FloorProbe = (JoinHandle<Vec<(u64, u64)>>, Arc<AtomicBool>);

/// One model running on the agent.
struct ModelRun {
    boards: Vec<VirtualBoard>,
    child: ServeChild,
    stats_path: PathBuf,
    spawned_ns: u64,
    settings: ChildSettings,
    watchdog_period: Duration,
    monitor: Option<CpuMonitor>,
    window_start_ns: u64,
    probe: Option<FloorProbe>,
    exit_at_ns: Option<u64>,
}

impl ModelRun {
    fn start(
        cfg: &AgentConfig,
        spec: &StartSpec,
        n: u64,
        board_loops: &BoardLoops,
    ) -> Result<ModelRun> {
        // Every check comes before anything is started.
        if crate::models::find(&spec.model).is_none() {
            let known: Vec<&str> = crate::models::ALL.iter().map(|m| m.name).collect();
            bail!(
                "refused: unknown model {:?}; this agent has: {}",
                spec.model,
                known.join(", ")
            );
        }
        let dir = match &spec.out_dir {
            Some(d) => cfg.allow.out_dir(d)?,
            None => cfg.allow.dirs()[0].join(format!("run-{}-{n}", std::process::id())),
        };
        let serial = match &spec.serial {
            Some(p) => Some(cfg.allow.serial(p)?),
            None => cfg.allow.serials().first().cloned(),
        };
        let mut scenario = Scenario::from_str_named(&spec.scenario_text, "the driver's scenario")
            .map_err(|e| anyhow::anyhow!("refused: {e}"))?;
        if let Some(rec) = scenario.boards.recording.clone() {
            scenario.boards.recording = Some(cfg.allow.input_file(&rec)?);
        }
        let inject = crate::bridge::inject::parse_all(&spec.inject)
            .map_err(|e| anyhow::anyhow!("refused: inject: {e}"))?;
        let inject: Vec<String> = inject
            .iter()
            .filter(|f| f.is_bridge_side())
            .map(|f| f.to_string())
            .collect();

        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let scenario_path = dir.join("scenario.toml");
        write_scenario_copy(&scenario, &scenario_path)?;
        let stats_path = dir.join(format!("serve-stats-{}.json", spec.model));
        let _ = std::fs::remove_file(&stats_path);

        let mut boards = Vec::new();
        let serials = match serial {
            Some(p) => vec![p],
            None => {
                boards = start_boards(&scenario, board_loops)?;
                boards.iter().map(|b| b.path().to_path_buf()).collect()
            }
        };
        let host = cfg.listen.ip();
        let base = free_ports_on(host, serials.len())?;
        let settings = ChildSettings {
            timer_slack_ns: spec.timer_slack_ns,
            cpus: spec.cpus.clone(),
        };
        let cmd = ServeCommand {
            exe: cfg.exe.clone(),
            model: spec.model.clone(),
            serials,
            listen: SocketAddr::new(host, base),
            scenario: Some(scenario_path),
            stats_out: stats_path.clone(),
            settings: settings.clone(),
            inject,
            smol_block_on: spec.smol_block_on,
        };
        let spawned_ns = now_ns();
        let mut child = ServeChild::spawn(&cmd, READY_TIMEOUT)?;
        child.wait_until_answering(READY_TIMEOUT)?;
        crate::errln!(
            "agent: {} started (pid {}) on {:?}",
            spec.model,
            child.pid,
            child.addrs
        );
        Ok(ModelRun {
            boards,
            child,
            stats_path,
            spawned_ns,
            settings,
            watchdog_period: Duration::from_nanos(crate::load::pace::ms_to_ns(
                scenario.workload.watchdog_period_ms,
            )),
            monitor: None,
            window_start_ns: 0,
            probe: None,
            exit_at_ns: None,
        })
    }

    /// `Some(exit)` once the child has ended; remembers when it was first seen.
    fn exit_seen(&mut self) -> Result<Option<String>> {
        let e = self.child.exited()?;
        if e.is_some() && self.exit_at_ns.is_none() {
            self.exit_at_ns = Some(now_ns());
        }
        Ok(e.map(|e| e.to_string()))
    }

    fn measure(&mut self, duration_ns: u64, off: i64) -> Result<Reply> {
        if self.monitor.is_some() {
            bail!("refused: already measuring");
        }
        self.monitor = Some(CpuMonitor::start(self.child.pid, CPU_SAMPLE_EVERY)?);
        self.window_start_ns = now_ns();
        // The floor under this model's load, on the device, over the window (load::floor).
        let stop = Arc::new(AtomicBool::new(false));
        let (settings, period) = (self.settings.clone(), self.watchdog_period);
        let start = self.window_start_ns + random_phase_ns(period.as_nanos() as u64);
        let end = self.window_start_ns + duration_ns;
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("floor-alongside".into())
            .spawn(move || {
                let _ = settings.apply_to_calling_thread();
                probe_alongside(period, start, end, || flag.load(Ordering::SeqCst))
            })
            .context("cannot start the floor probe thread")?;
        self.probe = Some((handle, stop));
        let seen = read_back(self.child.pid);
        Ok(Reply::Measuring {
            agent_ns: shift(self.window_start_ns, off),
            timerslack_ns: seen.timerslack_ns,
            cpus_allowed: seen.cpus_allowed,
            nice: seen.nice,
        })
    }

    fn stop(mut self, off: i64) -> Result<AgentReport> {
        let window_end = now_ns();
        let crashed = self.exit_seen()?.is_some();
        let window_cpu = self
            .monitor
            .take()
            .map(CpuMonitor::finish)
            .unwrap_or_default();
        let floor_ticks = match self.probe.take() {
            Some((h, stop)) => {
                stop.store(true, Ordering::SeqCst);
                h.join().unwrap_or_default()
            }
            None => Vec::new(),
        };
        let (exit, rusage, killed) = self.child.stop(STOP_GRACE)?;
        let lifetime_wall_s = (now_ns() - self.spawned_ns) as f64 / 1e9;
        let mut counters: BTreeMap<String, u64> = BTreeMap::new();
        for (k, v) in lifetime_counters(&window_cpu, Some(&rusage), lifetime_wall_s) {
            counters.insert(k.into(), v);
        }
        let boards: Vec<BoardRecord> = self
            .boards
            .iter()
            .map(|b| shift_record(BoardRecord::of(b), off))
            .collect();
        counters.extend(stop_boards(std::mem::take(&mut self.boards)));
        let (stats, stats_error) = match take_stats(&self.stats_path) {
            Ok(mut s) => {
                shift_stats(&mut s, off);
                (Some(s), None)
            }
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        Ok(AgentReport {
            exit: exit.to_string(),
            exit_success: exit.success(),
            killed,
            crashed,
            exit_at_ns: self.exit_at_ns.map(|t| shift(t, off)),
            stderr_note: self.child.stderr_note(),
            cpu: cpu_row(&window_cpu, Some(&rusage)),
            counters,
            window_agent_ns: (shift(self.window_start_ns, off), shift(window_end, off)),
            boards,
            floor_ticks: floor_ticks
                .into_iter()
                .map(|(d, l)| (shift(d, off), l))
                .collect(),
            stats,
            stats_error,
        })
    }
}

/// Shifts the bridge's own timestamps (ingest arrivals, watchdog deadlines) like the rest.
fn shift_stats(s: &mut ServeStats, off: i64) {
    for b in &mut s.boards {
        for e in &mut b.ingest {
            e.1 = shift(e.1, off);
        }
        if let Some(log) = &mut b.watchdog_log {
            for t in log {
                t.0 = shift(t.0, off);
            }
        }
    }
}

/// A board's record with every timestamp plus the test offset.
fn shift_record(mut r: BoardRecord, off: i64) -> BoardRecord {
    for f in &mut r.frames {
        f.1 = shift(f.1, off);
    }
    for c in &mut r.commands {
        c.0 = shift(c.0, off);
    }
    r
}

/// The scenario as the child reads it: the driver's text, with a replay's recording given
/// as the resolved path on this machine.
fn write_scenario_copy(s: &Scenario, path: &Path) -> Result<()> {
    let mut value: toml::Table =
        toml::from_str(&s.text).context("the scenario text is not TOML")?;
    if let Some(rec) = &s.boards.recording {
        if let Some(toml::Value::Table(boards)) = value.get_mut("boards") {
            boards.insert(
                "recording".into(),
                toml::Value::String(rec.display().to_string()),
            );
        }
    }
    let text = toml::to_string(&value).context("cannot write the scenario copy")?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A base port with `count` consecutive ports free on `host` (the driver's `free_ports`
/// checks loopback; the agent's bridge listens where the agent does).
fn free_ports_on(host: std::net::IpAddr, count: usize) -> Result<u16> {
    for _ in 0..50 {
        let base = free_ports(count)?;
        let all_free =
            (0..count as u16).all(|i| TcpListener::bind(SocketAddr::new(host, base + i)).is_ok());
        if all_free {
            return Ok(base);
        }
    }
    bail!("no {count} consecutive free ports on {host}")
}
