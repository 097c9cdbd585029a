//! A row's child on this machine: virtual boards on ptys, `EXE serve --model` fed by them,
//! the timer floor probed beside it, its CPU sampled over the measured window, its bridge
//! statistics read from the file it writes when it stops. The crash hook and the injected
//! freeze act on it here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::join::{BoardRecord, Window};
use super::local_side::LocalSide;
use super::measured::{interrupted_status, End, Running, Timeline};
use super::progress::Progress;
use super::row::ModelPlan;
use super::serve_stats::merge_serve_stats;
use crate::bridge::inject::Fault;
use crate::clock::now_ns;
use crate::load::boards::start_boards;
use crate::load::child::{
    free_ports, take_stats, ServeChild, ServeCommand, CPU_SAMPLE_EVERY, STOP_GRACE,
};
use crate::load::child_settings::read_back;
use crate::load::client::StopFlag;
use crate::metrics::process::{CpuMonitor, Exit, Rusage};
use crate::metrics::results::ModelResult;
use crate::metrics::status::Status;

/// A started local `serve` child and everything measured beside it.
pub(super) struct LocalChild {
    child: ServeChild,
    /// Its boards, floor probe and CPU, as beside an external bridge.
    side: LocalSide,
    stats_path: PathBuf,
    hooks: Hooks,
    monitor: Option<CpuMonitor>,
    stopped: Option<(Exit, Rusage, bool)>,
    stats_error: Option<String>,
}

impl LocalChild {
    /// Starts the boards and `exe serve` on them, and waits until it answers HTTP.
    pub fn start(
        plan: &ModelPlan,
        exe: &Path,
        model: &str,
        progress: &dyn Progress,
    ) -> Result<LocalChild> {
        progress.phase(&format!("{model}: starting boards"));
        let boards = start_boards(&plan.scenario, &plan.board_loops)?;
        let base = free_ports(boards.len())?;
        let _ = std::fs::remove_file(&plan.stats_path);
        let cmd = ServeCommand {
            exe: exe.to_path_buf(),
            model: model.to_string(),
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
            smol_block_on: plan.scenario.run.smol_block_on,
        };
        progress.phase(&format!("{model}: starting serve"));
        let spawned_ns = now_ns();
        let mut child = ServeChild::spawn(&cmd, plan.ready_timeout)?;
        child.wait_until_answering(plan.ready_timeout)?;
        Ok(LocalChild {
            child,
            side: LocalSide::new(boards, spawned_ns),
            stats_path: plan.stats_path.clone(),
            hooks: Hooks::default(),
            monitor: None,
            stopped: None,
            stats_error: None,
        })
    }
}

impl Running for LocalChild {
    fn addrs(&self) -> &[SocketAddr] {
        &self.child.addrs
    }

    fn host(&self) -> Option<&str> {
        None
    }

    /// The floor under this model's load (see `LocalSide::begin`).
    fn begin(&mut self, plan: &ModelPlan, tl: &Timeline, stop: &StopFlag) -> Result<()> {
        self.side.begin(plan, tl, stop)
    }

    fn measure(
        &mut self,
        plan: &ModelPlan,
        tl: &Timeline,
        row: &mut ModelResult,
    ) -> Result<Option<End>> {
        self.monitor = Some(CpuMonitor::start(self.child.pid, CPU_SAMPLE_EVERY)?);
        // What the child really runs with, read while it is being measured.
        read_back(self.child.pid).record_in(row);
        self.hooks = Hooks {
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
        Ok(None)
    }

    fn ended(&mut self, now: u64) -> Result<Option<End>> {
        Ok(self.child.exited()?.map(|exit| End::Crashed {
            exit: exit.to_string(),
            at_ns: now,
        }))
    }

    fn act(&mut self, now: u64) -> Option<u64> {
        self.hooks.act(&self.child, now)
    }

    fn close_window(&mut self) {
        if self.hooks.frozen {
            self.child.freeze(false);
        }
        self.side.window_cpu = self
            .monitor
            .take()
            .map(CpuMonitor::finish)
            .unwrap_or_default();
    }

    fn stop(&mut self, _end: &mut End) -> Result<()> {
        self.stopped = Some(self.child.stop(STOP_GRACE)?);
        self.side.child_stopped();
        Ok(())
    }

    fn records(&mut self, tl: &Timeline, row: &mut ModelResult) -> Result<Vec<BoardRecord>> {
        Ok(self.side.records(tl, row))
    }

    fn store_child_side(
        &mut self,
        row: &mut ModelResult,
        records: &[BoardRecord],
        window: Window,
        _end: &mut End,
    ) {
        let rusage = self.stopped.as_ref().map(|s| &s.1);
        self.side.store(row, records, window, rusage);
        match take_stats(&self.stats_path) {
            Ok(stats) => merge_serve_stats(row, &stats, records, window),
            Err(e) => self.stats_error = Some(format!("{e:#}")),
        }
    }

    fn status(&self, end: End, tl: &Timeline) -> Status {
        let (exit, _, killed) = self.stopped.as_ref().expect("stopped before its status");
        match end {
            End::Crashed { exit, at_ns } => Status::Crashed(format!(
                "serve {exit} {}{}",
                tl.describe(at_ns),
                self.child.stderr_note()
            )),
            End::Interrupted { at_ns } => interrupted_status(tl, at_ns),
            // Never locally: no agent.
            End::AgentLost { why, .. } => Status::Error(why),
            End::Completed if *killed => Status::Error(format!(
                "serve did not stop within {STOP_GRACE:?} of SIGTERM and was killed"
            )),
            End::Completed if *exit == Exit::Code(crate::load::child::EXIT_STATS_UNWRITTEN) => {
                Status::Error(format!(
                    "the model ran, but its statistics file could not be written (the disk \
                     under --out, not the model){}",
                    self.child.stderr_note()
                ))
            }
            End::Completed if !exit.success() => Status::Error(format!(
                "serve ended with {exit}{}",
                self.child.stderr_note()
            )),
            End::Completed => match &self.stats_error {
                None => Status::Ok,
                Some(e) => Status::Error(e.clone()),
            },
        }
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
