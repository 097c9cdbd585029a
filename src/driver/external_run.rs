//! One round of an external bridge (the user's own program): boards, the bridge started from
//! its command template, conformance before its first round, the same clients, warm-up,
//! measured window, floor probe and joins as a built-in model (`model_run`), and the row.
//!
//! What differs from a model: the child is an [`ExternalChild`] (any program, ready when
//! `/poll` answers, its whole process tree accounted), it writes no self-statistics (those
//! figures are "not measured", see `metrics::external`), and its status says in one line
//! what went wrong: it could not be started, exited, never answered, answered garbage,
//! failed conformance, or ignored SIGTERM.

use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use super::interrupt;
use super::join::BoardRecord;
use super::measured::{
    interrupted_status, store_driver_side, store_floor, watch, End, ModelSide, Timeline,
};
use crate::clock::now_ns;
use crate::load::boards::{start_boards, stop_boards};
use crate::load::bridge_template::BridgeSpec;
use crate::load::child::{free_ports, CPU_SAMPLE_EVERY};
use crate::load::child_settings::{read_back, ChildSettings};
use crate::load::client::{client_specs, Clients, StopFlag};
use crate::load::conform::check_bridge;
use crate::load::external::ExternalChild;
use crate::load::floor::{probe_alongside, random_phase_ns};
use crate::load::health::DriverMeter;
use crate::load::pace::ms_to_ns;
use crate::metrics::external::{ExternalBridge, NOT_MEASURED};
use crate::metrics::process::{cpu_row, lifetime_counters};
use crate::metrics::results::ModelResult;
use crate::metrics::status::Status;
use crate::metrics::tree_cpu::TreeCpuMonitor;
use crate::scenario::Scenario;

/// How long an external bridge gets to end after SIGTERM before the whole tree is killed.
pub const EXTERNAL_STOP_GRACE: Duration = Duration::from_secs(5);

/// Everything needed to run one round of an external bridge.
#[derive(Clone, Debug)]
pub struct ExternalPlan {
    pub bridge: BridgeSpec,
    pub scenario: Scenario,
    pub warmup: Duration,
    pub duration: Duration,
    /// The run's child settings (timer slack, CPUs), as for every model.
    pub settings: ChildSettings,
    /// Check conformance before measuring (the bridge's first round).
    pub conform: bool,
}

/// The `external` part of a row for `bridge`, before anything is known about the run.
pub fn external_info(bridge: &BridgeSpec) -> ExternalBridge {
    ExternalBridge {
        command: bridge.command.clone(),
        cwd: bridge.cwd.as_ref().map(|d| d.display().to_string()),
        env_names: bridge.env.keys().cloned().collect(),
        cpu_accounting: String::new(),
        conformance_notes: Vec::new(),
        not_measured: NOT_MEASURED.iter().map(|s| s.to_string()).collect(),
    }
}

/// Runs one round and returns its row; never fails (errors go into `status`).
pub fn run_external(plan: &ExternalPlan, bar: &ProgressBar) -> ModelResult {
    let mut row = ModelResult {
        name: plan.bridge.name.clone(),
        status: Status::Ok,
        external: Some(external_info(&plan.bridge)),
        ..ModelResult::default()
    };
    let outcome = if super::remote_run::target().is_some() {
        Err(anyhow::anyhow!(
            "external bridges run only on this machine, not on a remote agent"
        ))
    } else {
        run_inner(plan, bar, &mut row)
    };
    if let Err(e) = outcome {
        row.status = if interrupt::interrupted() {
            Status::Interrupted(format!("by Ctrl-C before measuring ({e:#})"))
        } else {
            Status::Error(format!("{e:#}"))
        };
    }
    row
}

fn run_inner(plan: &ExternalPlan, bar: &ProgressBar, row: &mut ModelResult) -> Result<()> {
    let s = &plan.scenario;
    let name = &plan.bridge.name;
    bar.set_message(format!("{name}: starting boards"));
    let boards = start_boards(s)?;
    let base = free_ports(boards.len())?;
    let serials: Vec<_> = boards.iter().map(|b| b.path().to_path_buf()).collect();
    bar.set_message(format!("{name}: starting the bridge"));
    let spawned_ns = now_ns();
    let mut child = ExternalChild::spawn(&plan.bridge, &serials, base, &plan.settings)?;
    if let Some(e) = row.external.as_mut() {
        e.cpu_accounting = child.scope.describe();
    }
    // Not ready, or not conforming: stop it (noting whether SIGTERM was enough) and say so.
    let give_up = |child: &mut ExternalChild, why: String| -> Result<()> {
        let ignored = match child.stop(EXTERNAL_STOP_GRACE) {
            Ok(st) if st.killed => "; it also ignored SIGTERM and was killed",
            _ => "",
        };
        anyhow::bail!("{why}{ignored}")
    };
    if let Err(e) = child.wait_until_answering(plan.bridge.ready_timeout) {
        return give_up(&mut child, format!("{e:#}"));
    }
    if plan.conform {
        bar.set_message(format!("{name}: conformance"));
        for (i, board) in boards.iter().enumerate() {
            let c = check_bridge(child.addrs[i], board, Duration::from_secs(2));
            if let Some(e) = row.external.as_mut() {
                e.conformance_notes.extend(c.notes.iter().cloned());
            }
            if let Some(why) = c.failure() {
                let _ = stop_boards(boards);
                let board = if serials.len() > 1 {
                    format!(" on board {i}")
                } else {
                    String::new()
                };
                return give_up(&mut child, format!("{why}{board}"));
            }
        }
    }

    let tl = Timeline::starting_now(plan.warmup, plan.duration);
    let specs = client_specs(s, &child.addrs);
    let stop = StopFlag::new();
    let clients = Clients::start(&specs, tl.t0, tl.win_end, stop.clone())?;
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
                probe_alongside(Duration::from_nanos(period_ns), start, win_end, || {
                    stop.is_stopped() || interrupt::interrupted()
                })
            })
            .context("cannot start the floor probe thread")?
    };

    bar.set_message(format!("{name}: warm-up"));
    let mut end = watch(
        &mut ExternalSide(&mut child),
        &clients,
        tl.win_start,
        &tl,
        bar,
    )?;
    let (mut monitor, mut driver_meter) = (None, None);
    if matches!(end, End::Completed) {
        monitor = Some(TreeCpuMonitor::start(
            child.scope.clone(),
            CPU_SAMPLE_EVERY,
        )?);
        driver_meter = DriverMeter::start().ok();
        read_back(child.pid).record_in(row);
        bar.set_message(format!("{name}: measuring"));
        end = watch(
            &mut ExternalSide(&mut child),
            &clients,
            tl.win_end,
            &tl,
            bar,
        )?;
    }
    let window = tl.measured(&end);
    stop.stop();
    let window_cpu = monitor.map(TreeCpuMonitor::finish).unwrap_or_default();
    let driver_window = driver_meter.map(DriverMeter::stop);
    bar.set_message(format!("{name}: stopping"));
    let stopped = child.stop(EXTERNAL_STOP_GRACE)?;
    let lifetime_wall_s = (now_ns() - spawned_ns) as f64 / 1e9;
    let joined = clients.join();
    let floor_ticks = floor_probe.join().unwrap_or_default();
    let records: Vec<BoardRecord> = boards.iter().map(BoardRecord::of).collect();
    let device_counters = stop_boards(boards);

    row.window_start_ns = Some(tl.win_start);
    store_driver_side(row, &joined, &records, window, driver_window);
    store_floor(row, &floor_ticks, &records, window);
    row.counters.extend(device_counters);
    row.cpu = cpu_row(&window_cpu, Some(&stopped.rusage));
    for (k, v) in lifetime_counters(&window_cpu, Some(&stopped.rusage), lifetime_wall_s) {
        row.counters.insert(k.into(), v);
    }
    row.status = match end {
        End::Crashed { exit, at_ns } => Status::Crashed(format!(
            "the bridge ended ({exit}) {}{}",
            tl.describe(at_ns),
            child.output_note()
        )),
        End::Interrupted { at_ns } => interrupted_status(&tl, at_ns),
        End::AgentLost { why, .. } => Status::Error(why),
        End::Completed if stopped.left > 0 => Status::Error(format!(
            "{} process(es) of the bridge survived SIGKILL",
            stopped.left
        )),
        End::Completed if stopped.killed => Status::Error(format!(
            "the bridge ignored SIGTERM: still running {EXTERNAL_STOP_GRACE:?} after it, \
             killed with SIGKILL (figures measured)"
        )),
        End::Completed => Status::Ok,
    };
    joined.mark(row);
    Ok(())
}

/// The external bridge as the watch loop sees it: it has ended when its first process
/// exited; nothing is due (no fault hooks for external bridges).
struct ExternalSide<'a>(&'a mut ExternalChild);

impl ModelSide for ExternalSide<'_> {
    fn ended(&mut self, now: u64) -> Result<Option<End>> {
        Ok(self.0.exited()?.map(|exit| End::Crashed {
            exit: exit.to_string(),
            at_ns: now,
        }))
    }

    fn act(&mut self, _now: u64) -> Option<u64> {
        None
    }
}

/// The external bridges a run measures: `--bridge` ones, then the scenario's `[[bridges]]`.
/// A name that is a built-in model's, or used twice, is an error.
pub fn bridges_of(cli: &[BridgeSpec], s: &Scenario) -> Result<Vec<BridgeSpec>> {
    let mut out: Vec<BridgeSpec> = cli.to_vec();
    for b in &s.bridges {
        let mut spec = BridgeSpec::new(&b.name, &b.command)
            .with_context(|| format!("scenario [[bridges]] {:?}", b.name))?;
        spec.cwd.clone_from(&b.cwd);
        spec.env.clone_from(&b.env);
        if let Some(t) = b.ready_timeout {
            spec.ready_timeout = Duration::from_secs_f64(t);
        }
        out.push(spec);
    }
    for (i, b) in out.iter().enumerate() {
        if crate::models::find(&b.name).is_some() {
            anyhow::bail!(
                "bridge name {:?} is a built-in model's; give the bridge another name",
                b.name
            );
        }
        if out[..i].iter().any(|o| o.name == b.name) {
            anyhow::bail!("two bridges are named {:?}", b.name);
        }
    }
    Ok(out)
}
