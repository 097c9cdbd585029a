//! One model, start to finish: boards, child, clients, warm-up, measured window, shutdown,
//! and the joins that turn it all into a `ModelResult`.
//!
//! Whatever goes wrong (the child fails to start, crashes mid-run, Ctrl-C), the row keeps
//! what was measured up to that point and says what happened in `status`; the run goes on
//! with the next model.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use super::interrupt;
use super::join::BoardRecord;
use super::measured::{
    interrupted_status, store_driver_side, store_floor, watch, End, ModelSide, Timeline,
};
use super::serve_stats::merge_serve_stats;
use crate::bridge::inject::Fault;
use crate::clock::now_ns;
use crate::load::boards::{start_boards, stop_boards};
use crate::load::child::{
    free_ports, take_stats, ServeChild, ServeCommand, CPU_SAMPLE_EVERY, STOP_GRACE,
};
use crate::load::child_settings::{read_back, ChildSettings};
use crate::load::client::{client_specs, Clients, StopFlag};
use crate::load::floor::{probe_alongside, random_phase_ns};
use crate::load::health::DriverMeter;
use crate::load::pace::ms_to_ns;
use crate::metrics::process::{cpu_row, lifetime_counters, CpuMonitor};
use crate::metrics::results::ModelResult;
use crate::scenario::Scenario;

/// Everything needed to run one model.
#[derive(Clone, Debug)]
pub struct ModelPlan {
    pub model: String,
    pub scenario: Scenario,
    /// The scenario file handed to `serve --scenario` (its `[workload]`).
    pub scenario_path: PathBuf,
    pub warmup: Duration,
    pub duration: Duration,
    /// The esbench binary that provides `serve`.
    pub exe: PathBuf,
    /// Where the child writes its statistics (a scratch file).
    pub stats_path: PathBuf,
    /// The child's own timer slack and CPUs (and the floor probe's, which copies them).
    pub settings: ChildSettings,
    /// Faults injected on purpose: the bridge's are passed to `serve`, `freeze` is done here.
    pub faults: Vec<Fault>,
    /// Test hook: SIGKILL the child this long into the measured window.
    pub kill_after: Option<Duration>,
    /// How long the child may take to print its addresses.
    pub ready_timeout: Duration,
}

/// Runs one model and returns its row; never fails (errors go into `status`).
pub fn run_model(plan: &ModelPlan, bar: &ProgressBar) -> ModelResult {
    let mut row = ModelResult {
        name: plan.model.clone(),
        status: "ok".into(),
        ..ModelResult::default()
    };
    let outcome = match super::remote_run::target() {
        Some(target) => super::remote_run::run_remote(plan, &target, bar, &mut row),
        None => run_model_inner(plan, bar, &mut row),
    };
    if let Err(e) = outcome {
        row.status = if interrupt::interrupted() {
            format!("{} before measuring ({e:#})", interrupt::status())
        } else {
            format!("error: {e:#}")
        };
    }
    row
}

fn run_model_inner(plan: &ModelPlan, bar: &ProgressBar, row: &mut ModelResult) -> Result<()> {
    let s = &plan.scenario;
    bar.set_message(format!("{}: starting boards", plan.model));
    let boards = start_boards(s)?;
    let base = free_ports(boards.len())?;
    let _ = std::fs::remove_file(&plan.stats_path);
    let cmd = ServeCommand {
        exe: plan.exe.clone(),
        model: plan.model.clone(),
        serials: boards.iter().map(|b| b.path().to_path_buf()).collect(),
        listen: SocketAddr::from(([127, 0, 0, 1], base)),
        scenario: Some(plan.scenario_path.clone()),
        stats_out: plan.stats_path.clone(),
        settings: plan.settings.clone(),
        inject: plan
            .faults
            .iter()
            .filter(|f| f.is_bridge_side())
            .map(|f| f.to_string())
            .collect(),
    };
    bar.set_message(format!("{}: starting serve", plan.model));
    let spawned_ns = now_ns();
    let mut child = ServeChild::spawn(&cmd, plan.ready_timeout)?;
    child.wait_until_answering(plan.ready_timeout)?;

    // The plan: warm-up, then the measured window; clients run through both.
    let tl = Timeline::starting_now(plan.warmup, plan.duration);
    let specs = client_specs(s, &child.addrs);
    let stop = StopFlag::new();
    let clients = Clients::start(&specs, tl.t0, tl.win_end, stop.clone())?;
    // The floor under this model's load, over the same measured window, with the model's
    // settings and a random phase against the frames (see load::floor).
    let floor_probe = {
        let stop = stop.clone();
        let settings = plan.settings.clone();
        let period_ns = ms_to_ns(s.workload.watchdog_period_ms);
        let start = tl.win_start + random_phase_ns(period_ns);
        let win_end = tl.win_end;
        std::thread::Builder::new()
            .name("floor-alongside".into())
            .spawn(move || {
                let _ = settings.apply_to_calling_thread();
                let period = Duration::from_nanos(period_ns);
                probe_alongside(period, start, win_end, || {
                    stop.is_stopped() || interrupt::interrupted()
                })
            })
            .context("cannot start the floor probe thread")?
    };

    bar.set_message(format!("{}: warm-up", plan.model));
    let mut warmup = LocalSide {
        child: &mut child,
        hooks: Hooks::default(),
    };
    let mut end = watch(&mut warmup, &clients, tl.win_start, &tl, bar)?;
    let (mut monitor, mut driver_meter) = (None, None);
    if matches!(end, End::Completed) {
        monitor = Some(CpuMonitor::start(child.pid, CPU_SAMPLE_EVERY)?);
        driver_meter = DriverMeter::start().ok();
        // What the child really runs with, read while it is being measured.
        read_back(child.pid).record_in(row);
        bar.set_message(format!("{}: measuring", plan.model));
        let hooks = Hooks {
            kill_at: plan.kill_after.map(|d| tl.win_start + d.as_nanos() as u64),
            freeze: plan.faults.iter().find_map(|f| match *f {
                Fault::Freeze { length, at } => {
                    let from = tl.win_start + at.as_nanos() as u64;
                    Some((from, from + length.as_nanos() as u64))
                }
                _ => None,
            }),
            ..Hooks::default()
        };
        let mut measuring = LocalSide {
            child: &mut child,
            hooks,
        };
        end = watch(&mut measuring, &clients, tl.win_end, &tl, bar)?;
        if measuring.hooks.frozen {
            child.freeze(false);
        }
    }
    let window = tl.measured(&end);
    stop.stop();
    let window_cpu = monitor.map(CpuMonitor::finish).unwrap_or_default();
    let driver_window = driver_meter.map(DriverMeter::stop);
    bar.set_message(format!("{}: stopping", plan.model));
    let (exit, rusage, killed) = child.stop(STOP_GRACE)?;
    let lifetime_wall_s = (now_ns() - spawned_ns) as f64 / 1e9;
    let joined = clients.join();
    let floor_ticks = floor_probe.join().unwrap_or_default();

    let records: Vec<BoardRecord> = boards.iter().map(BoardRecord::of).collect();
    let device_counters = stop_boards(boards);

    row.window_start_ns = Some(tl.win_start);
    store_driver_side(row, &joined, &records, window, driver_window);
    store_floor(row, &floor_ticks, &records, window);
    row.counters.extend(device_counters);
    row.cpu = cpu_row(&window_cpu, Some(&rusage));
    for (k, v) in lifetime_counters(&window_cpu, Some(&rusage), lifetime_wall_s) {
        row.counters.insert(k.into(), v);
    }

    let stats = take_stats(&plan.stats_path);
    if let Ok(stats) = &stats {
        merge_serve_stats(row, stats, &records, window);
    }

    row.status = match end {
        End::Crashed { exit, at_ns } => format!(
            "crashed: serve {exit} {}{}",
            tl.describe(at_ns),
            child.stderr_note()
        ),
        End::Interrupted { at_ns } => interrupted_status(&tl, at_ns),
        // Never locally: no agent.
        End::AgentLost { why, .. } => format!("error: {why}"),
        End::Completed if killed => {
            format!("error: serve did not stop within {STOP_GRACE:?} of SIGTERM and was killed")
        }
        End::Completed if !exit.success() => {
            format!("error: serve ended with {exit}{}", child.stderr_note())
        }
        End::Completed => match stats {
            Ok(_) => "ok".into(),
            Err(e) => format!("error: {e:#}"),
        },
    };
    joined.mark(row);
    Ok(())
}

/// The local child as the watch loop sees it: it has ended when it exited; what is due is
/// its hooks'.
struct LocalSide<'a> {
    child: &'a mut ServeChild,
    hooks: Hooks,
}

impl ModelSide for LocalSide<'_> {
    fn ended(&mut self, now: u64) -> Result<Option<End>> {
        Ok(self.child.exited()?.map(|exit| End::Crashed {
            exit: exit.to_string(),
            at_ns: now,
        }))
    }

    fn act(&mut self, now: u64) -> Option<u64> {
        self.hooks.act(self.child, now)
    }
}

/// What the watch loop does to the child at given instants: the crash test hook (SIGKILL)
/// and the injected freeze (SIGSTOP, then SIGCONT), and whether each has happened.
#[derive(Default)]
struct Hooks {
    kill_at: Option<u64>,
    killed: bool,
    /// `(SIGSTOP at, SIGCONT at)`.
    freeze: Option<(u64, u64)>,
    frozen: bool,
    thawed: bool,
}

impl Hooks {
    /// Acts on whatever is due at `now`; returns the next instant something is due.
    fn act(&mut self, child: &ServeChild, now: u64) -> Option<u64> {
        if let Some(k) = self.kill_at.filter(|_| !self.killed) {
            if now >= k {
                child.kill_now();
                self.killed = true;
            }
        }
        if let Some((stop_at, cont_at)) = self.freeze {
            if !self.frozen && !self.thawed && now >= stop_at {
                child.freeze(true);
                self.frozen = true;
            }
            if self.frozen && now >= cont_at {
                child.freeze(false);
                self.frozen = false;
                self.thawed = true;
            }
        }
        let kill = self.kill_at.filter(|_| !self.killed);
        let freeze = self
            .freeze
            .and_then(|(a, b)| match (self.frozen, self.thawed) {
                (false, false) => Some(a),
                (true, _) => Some(b),
                _ => None,
            });
        kill.into_iter().chain(freeze).min()
    }
}
