//! One model run on a remote agent (`esbench run --target`): the boards and the model on the
//! device, the Scratch clients here, the two clocks joined, and the same row as a local run.
//!
//! The flow mirrors the local one in `model_run` step for step (warm-up, measured window,
//! stop, joins); what differs is that the device side's timestamps arrive at the end, on the
//! agent's clock, and are put on the driver's with the estimate of `remote::clock_sync`,
//! whose ± is recorded in the row's `clock_join`.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;

use super::join::BoardRecord;
use super::measured::{
    interrupted_status, store_driver_side, store_floor, watch, End, ModelSide, Timeline,
};
use super::model_run::ModelPlan;
use super::serve_stats::merge_serve_stats;
use crate::bridge::inject::Fault;
use crate::clock::now_ns;
use crate::load::child::STOP_GRACE;
use crate::load::client::{client_specs, Clients, StopFlag};
use crate::load::health::DriverMeter;
use crate::metrics::results::{ClockJoin, Machine, ModelResult};
use crate::metrics::status::Status;
use crate::remote::clock_sync::{ClockEstimate, Phase};
use crate::remote::wire::{AgentReport, StartSpec};
use crate::remote::{AgentLink, Target};

/// The agent every model of this process's runs goes to, with its machine; set once by
/// `run --target` before the run starts. A process-wide setting so that every way a run is
/// started (one pass, rounds, sweep points) goes remote without each caller passing it on.
static TARGET: Mutex<Option<(Target, Machine)>> = Mutex::new(None);

/// Exchanges at the start and at the end of a model run; one more every `DURING_EVERY`.
const BURST: usize = 16;
const DURING_EVERY: Duration = Duration::from_millis(250);
/// How long to keep trying to reach the agent for a model (a restarted agent comes back).
const CONNECT_PATIENCE: Duration = Duration::from_secs(15);

/// Sends every model of this process's runs to `target`: checks it answers now (so a wrong
/// address or token fails the run at once, not model by model) and returns its machine.
pub fn use_target(target: Target) -> Result<Machine> {
    let link = AgentLink::connect(&target, Duration::from_secs(5))?;
    let machine = link.machine.clone();
    *TARGET.lock().unwrap_or_else(|e| e.into_inner()) = Some((target, machine.clone()));
    Ok(machine)
}

/// The agent and its machine, if `use_target` was called (a poisoned lock still holds them).
fn current() -> Option<(Target, Machine)> {
    TARGET.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The agent models go to, if any.
pub fn target() -> Option<Target> {
    current().map(|t| t.0)
}

/// The machine the models run on in remote mode (for `Results::target_machine`).
pub fn target_machine() -> Option<Machine> {
    current().map(|t| t.1)
}

/// The notes a remote run's results carry: where each side ran.
pub fn notes() -> Vec<String> {
    let Some((t, m)) = current() else {
        return Vec::new();
    };
    vec![format!(
        "remote: the models ran on {} ({}, {} cores) via the agent at {}; the Scratch \
         clients and the idle timer floor ran on the driver's machine, the timer floor \
         beside each model on the device; no CPU floor is measured (it would be the \
         driver's); staleness and command latency cross the two clocks (each row's \
         clock_join has the ±)",
        m.hostname, m.cpu_model, m.logical_cores, t.addr
    )]
}

/// Runs `plan` on the agent at `target`, filling `row`; an error means nothing was measured.
pub fn run_remote(
    plan: &ModelPlan,
    target: &Target,
    bar: &ProgressBar,
    row: &mut ModelResult,
) -> Result<()> {
    if plan
        .faults
        .iter()
        .any(|f| matches!(f, Fault::Freeze { .. }))
        || plan.kill_after.is_some()
    {
        bail!("freeze injection and the kill hook act on a local child; not with --target");
    }
    let s = &plan.scenario;
    bar.set_message(format!("{}: connecting to {}", plan.model, target.addr));
    let mut link = AgentLink::connect(target, CONNECT_PATIENCE)?;
    link.exchange(Phase::Start, BURST)?;
    bar.set_message(format!("{}: starting on {}", plan.model, target.addr));
    let spec = StartSpec {
        model: plan.model.clone(),
        scenario_text: s.text.clone(),
        inject: plan.faults.iter().map(|f| f.to_string()).collect(),
        timer_slack_ns: plan.settings.timer_slack_ns,
        cpus: None, // --pin names the driver's CPUs, not the device's
        serial: None,
        out_dir: None,
    };
    let addrs = link.start(spec, plan.ready_timeout)?;

    let tl = Timeline::starting_now(plan.warmup, plan.duration);
    let specs = client_specs(s, &addrs);
    let stop = StopFlag::new();
    let clients = Clients::start(&specs, tl.t0, tl.win_end, stop.clone())?;

    bar.set_message(format!("{}: warm-up", plan.model));
    let mut end = watch(
        &mut AgentSide::new(&mut link),
        &clients,
        tl.win_start,
        &tl,
        bar,
    )?;
    let mut driver_meter = None;
    if matches!(end, End::Completed) {
        match link.measure(plan.duration) {
            Ok(seen) => {
                seen.record_in(row);
                driver_meter = DriverMeter::start().ok();
                bar.set_message(format!("{}: measuring on {}", plan.model, target.addr));
                end = watch(
                    &mut AgentSide::new(&mut link),
                    &clients,
                    tl.win_end,
                    &tl,
                    bar,
                )?;
            }
            Err(e) => {
                end = End::AgentLost {
                    why: format!("{e:#}"),
                    at_ns: now_ns(),
                }
            }
        }
    }
    let window = tl.measured(&end);
    stop.stop();
    let driver_window = driver_meter.map(DriverMeter::stop);
    bar.set_message(format!("{}: stopping", plan.model));
    let mut report = None;
    if !matches!(end, End::AgentLost { .. }) {
        match link
            .stop(STOP_GRACE)
            .and_then(|r| link.exchange(Phase::End, BURST).map(|_| r))
        {
            Ok(r) => report = Some(r),
            Err(e) => {
                end = End::AgentLost {
                    why: format!("{e:#}"),
                    at_ns: now_ns(),
                }
            }
        }
    }
    let joined = clients.join();
    let estimate = link
        .clocks
        .estimate(now_ns().saturating_sub(tl.t0))
        .context("no timestamp exchange with the agent succeeded")?;
    row.clock_join = Some(clock_join(&estimate, target));
    row.counters.insert(
        "remote_clock_exchanges".into(),
        u64::from(estimate.exchanges),
    );

    let records: Vec<BoardRecord> = report
        .as_ref()
        .map(|r| board_records(r, &estimate))
        .unwrap_or_default();
    store_driver_side(row, &joined, &records, window, driver_window);

    let mut status_from_report = None;
    if let Some(r) = &report {
        let ticks: Vec<(u64, u64)> = r
            .floor_ticks
            .iter()
            .map(|&(d, l)| (estimate.to_driver(d), l))
            .collect();
        store_floor(row, &ticks, &records, window);
        row.cpu = r.cpu.clone();
        row.counters
            .extend(r.counters.iter().map(|(k, v)| (k.clone(), *v)));
        match &r.stats {
            Some(stats) => {
                let mut stats = stats.clone();
                for b in &mut stats.boards {
                    for e in &mut b.ingest {
                        e.1 = estimate.to_driver(e.1);
                    }
                    if let Some(log) = &mut b.watchdog_log {
                        for t in log {
                            t.0 = estimate.to_driver(t.0);
                        }
                    }
                }
                merge_serve_stats(row, &stats, &records, window);
            }
            None => status_from_report = r.stats_error.clone(),
        }
        if r.crashed {
            let at = r
                .exit_at_ns
                .map(|t| estimate.to_driver(t))
                .unwrap_or(window.end_ns);
            end = End::Crashed {
                exit: r.exit.clone(),
                at_ns: at,
            };
        }
    }
    let agent = &target.addr;
    row.status = match end {
        End::Crashed { exit, at_ns } => Status::Crashed(format!(
            "serve on {agent} {exit} {}{}",
            tl.describe(at_ns),
            report
                .as_ref()
                .map(|r| r.stderr_note.as_str())
                .unwrap_or("")
        )),
        End::Interrupted { at_ns } => interrupted_status(&tl, at_ns),
        End::AgentLost { why, at_ns } => Status::Error(format!(
            "lost the agent at {agent} {} ({why}); the driver's figures up to then \
             are kept, the device's (CPU, board records, serve statistics) are lost",
            tl.describe(at_ns)
        )),
        End::Completed => match &report {
            Some(r) if r.killed => Status::Error(format!(
                "serve on {agent} did not stop within {STOP_GRACE:?} of SIGTERM and was \
                 killed"
            )),
            Some(r) if !r.exit_success => Status::Error(format!(
                "serve on {agent} ended with {}{}",
                r.exit, r.stderr_note
            )),
            _ => match status_from_report {
                Some(e) => Status::Error(e),
                None => Status::Ok,
            },
        },
    };
    joined.mark(row);
    Ok(())
}

/// The agent as the watch loop sees it: timestamps are exchanged every `DURING_EVERY`,
/// which also tells whether the agent and its child are alive.
struct AgentSide<'a> {
    link: &'a mut AgentLink,
    next_exchange: u64,
}

impl<'a> AgentSide<'a> {
    fn new(link: &'a mut AgentLink) -> AgentSide<'a> {
        AgentSide {
            link,
            next_exchange: now_ns(),
        }
    }
}

impl ModelSide for AgentSide<'_> {
    fn ended(&mut self, now: u64) -> Result<Option<End>> {
        if now < self.next_exchange {
            return Ok(None);
        }
        let end = match self.link.exchange(Phase::During, 1) {
            Ok(Some(exit)) => Some(End::Crashed { exit, at_ns: now }),
            Ok(None) => None,
            Err(e) => Some(End::AgentLost {
                why: format!("{e:#}"),
                at_ns: now,
            }),
        };
        self.next_exchange = now + DURING_EVERY.as_nanos() as u64;
        Ok(end)
    }

    fn act(&mut self, _now: u64) -> Option<u64> {
        Some(self.next_exchange)
    }
}

/// The boards' records on the driver's clock.
fn board_records(r: &AgentReport, e: &ClockEstimate) -> Vec<BoardRecord> {
    r.boards
        .iter()
        .map(|b| BoardRecord {
            frames: b.frames.iter().map(|&(s, t)| (s, e.to_driver(t))).collect(),
            commands: b
                .commands
                .iter()
                .map(|(t, c)| (e.to_driver(*t), c.clone()))
                .collect(),
        })
        .collect()
}

fn clock_join(e: &ClockEstimate, t: &Target) -> ClockJoin {
    ClockJoin {
        target: t.addr.clone(),
        offset_ns: e.offset_ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        drift_ppm: e.drift_ppm,
        best_rtt_us: e.best_rtt_ns / 1_000,
        exchanges: e.exchanges,
        uncertainty_us: e.uncertainty_ns.div_ceil(1_000),
    }
}
