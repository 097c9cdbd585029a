//! An external bridge (the user's own program) as a row's child on this machine: virtual
//! boards on ptys, the program started from its command template on them, conformance
//! checked before it is measured, the timer floor probed beside it, the CPU of its whole
//! process tree sampled over the measured window. The counterpart of `local_child` for a
//! `RowChild::Bridge`: no statistics file (those figures are "not measured"), no fault
//! hooks, and a status that says in one line what went wrong.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Result};

use super::join::{BoardRecord, Window};
use super::local_side::LocalSide;
use super::measured::{interrupted_status, End, Running, Timeline};
use super::progress::Progress;
use super::row::ModelPlan;
use crate::clock::now_ns;
use crate::load::boards::start_boards;
use crate::load::bridge_template::BridgeSpec;
use crate::load::child::{free_ports, CPU_SAMPLE_EVERY};
use crate::load::child_settings::read_back;
use crate::load::client::StopFlag;
use crate::load::conform::check_bridge;
use crate::load::external::{ExternalChild, Stopped};
use crate::metrics::results::ModelResult;
use crate::metrics::status::Status;
use crate::metrics::tree_cpu::TreeCpuMonitor;

/// How long an external bridge gets to end after SIGTERM before its whole tree is killed.
pub const BRIDGE_STOP_GRACE: Duration = Duration::from_secs(5);

/// A started external bridge and everything measured beside it.
pub(super) struct LocalBridge {
    child: ExternalChild,
    /// Its boards, floor probe and CPU, as beside a `serve` child.
    side: LocalSide,
    conformance_notes: Vec<String>,
    monitor: Option<TreeCpuMonitor>,
    stopped: Option<Stopped>,
}

impl LocalBridge {
    /// Starts the boards and the bridge on them, waits until every board's `/poll` answers,
    /// and checks conformance. A bridge that fails any of it is stopped (its whole tree) and
    /// the error says what happened, and whether it also ignored SIGTERM.
    pub fn start(
        plan: &ModelPlan,
        spec: &BridgeSpec,
        progress: &dyn Progress,
    ) -> Result<LocalBridge> {
        let name = &spec.name;
        progress.phase(&format!("{name}: starting boards"));
        let boards = start_boards(&plan.scenario, &plan.board_loops)?;
        let base = free_ports(boards.len())?;
        let serials: Vec<_> = boards.iter().map(|b| b.path().to_path_buf()).collect();
        progress.phase(&format!("{name}: starting the bridge"));
        let spawned_ns = now_ns();
        let mut child = ExternalChild::spawn(spec, &serials, base, &plan.settings)?;
        let give_up = |child: &mut ExternalChild, why: String| -> Result<LocalBridge> {
            let also = match child.stop(BRIDGE_STOP_GRACE) {
                Ok(st) if st.killed => "; it also ignored SIGTERM and was killed",
                _ => "",
            };
            bail!("{why}{also}")
        };
        if let Err(e) = child.wait_until_answering(spec.ready_timeout) {
            return give_up(&mut child, format!("{e:#}"));
        }
        progress.phase(&format!("{name}: conformance"));
        let mut notes: Vec<String> = Vec::new();
        for (i, board) in boards.iter().enumerate() {
            let c = check_bridge(child.addrs[i], board, Duration::from_secs(2));
            for n in c.notes.iter() {
                if !notes.contains(n) {
                    notes.push(n.clone());
                }
            }
            if let Some(why) = c.failure() {
                let on = if serials.len() > 1 {
                    format!(" on board {i}")
                } else {
                    String::new()
                };
                return give_up(&mut child, format!("{why}{on}"));
            }
        }
        Ok(LocalBridge {
            child,
            side: LocalSide::new(boards, spawned_ns),
            conformance_notes: notes,
            monitor: None,
            stopped: None,
        })
    }
}

impl Running for LocalBridge {
    fn addrs(&self) -> &[SocketAddr] {
        &self.child.addrs
    }

    fn host(&self) -> Option<&str> {
        None
    }

    /// The floor under this bridge's load, as beside a built-in model (`LocalSide::begin`).
    fn begin(&mut self, plan: &ModelPlan, tl: &Timeline, stop: &StopFlag) -> Result<()> {
        self.side.begin(plan, tl, stop)
    }

    fn measure(
        &mut self,
        _plan: &ModelPlan,
        _tl: &Timeline,
        row: &mut ModelResult,
    ) -> Result<Option<End>> {
        self.monitor = Some(TreeCpuMonitor::start(
            self.child.scope.clone(),
            CPU_SAMPLE_EVERY,
        )?);
        read_back(self.child.pid).record_in(row);
        Ok(None)
    }

    fn ended(&mut self, now: u64) -> Result<Option<End>> {
        Ok(self.child.exited()?.map(|exit| End::Crashed {
            exit: exit.to_string(),
            at_ns: now,
        }))
    }

    fn act(&mut self, _now: u64) -> Option<u64> {
        None
    }

    fn close_window(&mut self) {
        self.side.window_cpu = self
            .monitor
            .take()
            .map(TreeCpuMonitor::finish)
            .unwrap_or_default();
    }

    fn stop(&mut self, _end: &mut End) -> Result<()> {
        self.stopped = Some(self.child.stop(BRIDGE_STOP_GRACE)?);
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
        let rusage = self.stopped.as_ref().map(|s| &s.rusage);
        self.side.store(row, records, window, rusage);
        if let Some(e) = row.external.as_mut() {
            e.cpu_accounting = self.child.scope.describe();
            e.conformance_notes.clone_from(&self.conformance_notes);
        }
    }

    fn status(&self, end: End, tl: &Timeline) -> Status {
        let stopped = self.stopped.as_ref().expect("stopped before its status");
        match end {
            End::Crashed { exit, at_ns } => Status::Crashed(format!(
                "the bridge ended ({exit}) {}{}",
                tl.describe(at_ns),
                self.child.output_note()
            )),
            End::Interrupted { at_ns } => interrupted_status(tl, at_ns),
            End::AgentLost { why, .. } => Status::Error(why),
            End::Completed if stopped.left > 0 => Status::Error(format!(
                "{} process(es) of the bridge survived SIGKILL",
                stopped.left
            )),
            End::Completed if stopped.killed => Status::Error(format!(
                "the bridge ignored SIGTERM: still running {BRIDGE_STOP_GRACE:?} after it, \
                 killed with SIGKILL (figures measured)"
            )),
            End::Completed => Status::Ok,
        }
    }
}
