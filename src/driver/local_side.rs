//! What a child on this machine has beside it, whichever child it is (`esbench serve`,
//! `local_child`, or an external bridge, `local_bridge`): its virtual boards, the timer floor
//! probed over the measured window, the window's CPU and the child's whole life, and how
//! these go into the row. Written once so the two children cannot drift apart in what they
//! measure beside the child.

use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

use super::interrupt;
use super::join::{BoardRecord, Window};
use super::measured::{store_floor, Timeline};
use super::row::ModelPlan;
use crate::clock::now_ns;
use crate::device::VirtualBoard;
use crate::load::boards::stop_boards;
use crate::load::client::StopFlag;
use crate::load::floor::{probe_alongside, random_phase_ns};
use crate::load::pace::ms_to_ns;
use crate::metrics::process::{cpu_row, lifetime_counters, Rusage, WindowCpu};
use crate::metrics::results::ModelResult;

/// The boards, floor probe and CPU of one local child, from its start to its row.
pub(super) struct LocalSide {
    boards: Option<Vec<VirtualBoard>>,
    spawned_ns: u64,
    floor_probe: Option<JoinHandle<Vec<(u64, u64)>>>,
    /// The child's CPU over the measured window (the child's own monitor fills it).
    pub(super) window_cpu: WindowCpu,
    lifetime_wall_s: f64,
    device_counters: Vec<(String, u64)>,
}

impl LocalSide {
    /// The side of a child started at `spawned_ns` on `boards`.
    pub(super) fn new(boards: Vec<VirtualBoard>, spawned_ns: u64) -> LocalSide {
        LocalSide {
            boards: Some(boards),
            spawned_ns,
            floor_probe: None,
            window_cpu: WindowCpu::default(),
            lifetime_wall_s: 0.0,
            device_counters: Vec::new(),
        }
    }

    /// Starts the floor under the child's load, over the same measured window, with the
    /// model's settings and a random phase against the frames (see load::floor).
    pub(super) fn begin(&mut self, plan: &ModelPlan, tl: &Timeline, stop: &StopFlag) -> Result<()> {
        let stop = stop.clone();
        let settings = plan.settings.clone();
        let period_ns = ms_to_ns(plan.scenario.workload.watchdog_period_ms);
        let start = tl.win_start + random_phase_ns(period_ns);
        let win_end = tl.win_end;
        let probe = std::thread::Builder::new()
            .name("floor-alongside".into())
            .spawn(move || {
                let _ = settings.apply_to_calling_thread();
                let period = Duration::from_nanos(period_ns);
                probe_alongside(period, start, win_end, || {
                    stop.is_stopped() || interrupt::interrupted()
                })
            })
            .context("cannot start the floor probe thread")?;
        self.floor_probe = Some(probe);
        Ok(())
    }

    /// Notes that the child has just stopped (its lifetime's wall time).
    pub(super) fn child_stopped(&mut self) {
        self.lifetime_wall_s = (now_ns() - self.spawned_ns) as f64 / 1e9;
    }

    /// Stops the boards and returns what they recorded; their counters wait for
    /// [`Self::store`].
    pub(super) fn records(&mut self, tl: &Timeline, row: &mut ModelResult) -> Vec<BoardRecord> {
        let boards = self.boards.take().unwrap_or_default();
        let records: Vec<BoardRecord> = boards.iter().map(BoardRecord::of).collect();
        self.device_counters = stop_boards(boards).into_iter().collect();
        row.window_start_ns = Some(tl.win_start);
        records
    }

    /// Puts into `row` the floor beside the child, the boards' counters and the child's CPU
    /// (`rusage`: its whole life, from `wait4`, when it was reaped).
    pub(super) fn store(
        &mut self,
        row: &mut ModelResult,
        records: &[BoardRecord],
        window: Window,
        rusage: Option<&Rusage>,
    ) {
        let floor_ticks = self
            .floor_probe
            .take()
            .and_then(|p| p.join().ok())
            .unwrap_or_default();
        store_floor(row, &floor_ticks, records, window);
        row.counters.extend(self.device_counters.drain(..));
        row.cpu = cpu_row(&self.window_cpu, rusage);
        for (k, v) in lifetime_counters(&self.window_cpu, rusage, self.lifetime_wall_s) {
            row.counters.insert(k.into(), v);
        }
    }
}
