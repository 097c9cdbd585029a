//! A row's child on a remote agent (`esbench run --target`): the boards and the model on the
//! device, the Scratch clients here. The device side's timestamps arrive at the end, on the
//! agent's clock, and are put on the driver's with the estimate of `remote::clock_sync`,
//! whose ± is recorded in the row's `clock_join`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::join::{BoardRecord, Window};
use super::measured::{interrupted_status, store_floor, End, Running, Timeline};
use super::progress::Progress;
use super::row::ModelPlan;
use super::serve_stats::merge_serve_stats;
use crate::bridge::inject::Fault;
use crate::clock::now_ns;
use crate::load::child::STOP_GRACE;
use crate::load::client::StopFlag;
use crate::metrics::results::{ClockJoin, ModelResult};
use crate::metrics::status::Status;
use crate::remote::clock_sync::{ClockEstimate, Phase};
use crate::remote::wire::{AgentReport, StartSpec};
use crate::remote::{AgentLink, Target};

/// Exchanges at the start and at the end of a model run; one more every `DURING_EVERY`.
const BURST: usize = 16;
const DURING_EVERY: Duration = Duration::from_millis(250);
/// How long to keep trying to reach the agent for a model (a restarted agent comes back).
const CONNECT_PATIENCE: Duration = Duration::from_secs(15);

/// A model started on an agent: the control link, and what the agent reported at its end.
pub(super) struct AgentChild {
    link: AgentLink,
    target: Target,
    addrs: Vec<SocketAddr>,
    /// Timestamps are exchanged every `DURING_EVERY` while watching, which also tells
    /// whether the agent and its child are alive.
    next_exchange: u64,
    report: Option<AgentReport>,
    estimate: Option<ClockEstimate>,
    status_from_report: Option<String>,
}

impl AgentChild {
    /// Connects to the agent at `target` and has it start `model` on its boards, answering.
    /// The agent runs its own build's `serve`: a row's executable names a local file.
    pub fn start(
        plan: &ModelPlan,
        model: &str,
        target: &Target,
        progress: &dyn Progress,
    ) -> Result<AgentChild> {
        if plan
            .faults
            .iter()
            .any(|f| matches!(f, Fault::Freeze { .. }))
            || plan.kill_after.is_some()
        {
            bail!("freeze injection and the kill hook act on a local child; not with --target");
        }
        progress.phase(&format!("{model}: connecting to {}", target.addr));
        let mut link = AgentLink::connect(target, CONNECT_PATIENCE)?;
        link.exchange(Phase::Start, BURST)?;
        progress.phase(&format!("{model}: starting on {}", target.addr));
        let spec = StartSpec {
            model: model.to_string(),
            scenario_text: plan.scenario.text.clone(),
            inject: plan.faults.iter().map(|f| f.to_string()).collect(),
            timer_slack_ns: plan.settings.timer_slack_ns,
            cpus: None, // --pin names the driver's CPUs, not the device's
            serial: None,
            out_dir: None,
            smol_block_on: plan.scenario.run.smol_block_on,
        };
        let addrs = link.start(spec, plan.ready_timeout)?;
        Ok(AgentChild {
            link,
            target: target.clone(),
            addrs,
            next_exchange: now_ns(),
            report: None,
            estimate: None,
            status_from_report: None,
        })
    }
}

impl Running for AgentChild {
    fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    fn host(&self) -> Option<&str> {
        Some(&self.target.addr)
    }

    fn begin(&mut self, _: &ModelPlan, _: &Timeline, _: &StopFlag) -> Result<()> {
        Ok(())
    }

    fn measure(
        &mut self,
        plan: &ModelPlan,
        _: &Timeline,
        row: &mut ModelResult,
    ) -> Result<Option<End>> {
        match self.link.measure(plan.duration) {
            Ok(seen) => {
                seen.record_in(row);
                self.next_exchange = now_ns();
                Ok(None)
            }
            Err(e) => Ok(Some(End::AgentLost {
                why: format!("{e:#}"),
                at_ns: now_ns(),
            })),
        }
    }

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

    fn stop(&mut self, end: &mut End) -> Result<()> {
        if matches!(end, End::AgentLost { .. }) {
            return Ok(());
        }
        let link = &mut self.link;
        match link
            .stop(STOP_GRACE)
            .and_then(|r| link.exchange(Phase::End, BURST).map(|_| r))
        {
            Ok(r) => self.report = Some(r),
            Err(e) => {
                *end = End::AgentLost {
                    why: format!("{e:#}"),
                    at_ns: now_ns(),
                }
            }
        }
        Ok(())
    }

    fn records(&mut self, tl: &Timeline, row: &mut ModelResult) -> Result<Vec<BoardRecord>> {
        let estimate = self
            .link
            .clocks
            .estimate(now_ns().saturating_sub(tl.t0))
            .context("no timestamp exchange with the agent succeeded")?;
        row.clock_join = Some(clock_join(&estimate, &self.target));
        row.counters.insert(
            "remote_clock_exchanges".into(),
            u64::from(estimate.exchanges),
        );
        let records = self
            .report
            .as_ref()
            .map(|r| board_records(r, &estimate))
            .unwrap_or_default();
        self.estimate = Some(estimate);
        Ok(records)
    }

    fn store_child_side(
        &mut self,
        row: &mut ModelResult,
        records: &[BoardRecord],
        window: Window,
        end: &mut End,
    ) {
        let (Some(r), Some(estimate)) = (&self.report, &self.estimate) else {
            return;
        };
        let ticks: Vec<(u64, u64)> = r
            .floor_ticks
            .iter()
            .map(|&(d, l)| (estimate.to_driver(d), l))
            .collect();
        store_floor(row, &ticks, records, window);
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
                merge_serve_stats(row, &stats, records, window);
            }
            None => self.status_from_report = r.stats_error.clone(),
        }
        if r.crashed {
            let at = r
                .exit_at_ns
                .map(|t| estimate.to_driver(t))
                .unwrap_or(window.end_ns);
            *end = End::Crashed {
                exit: r.exit.clone(),
                at_ns: at,
            };
        }
    }

    fn status(&self, end: End, tl: &Timeline) -> Status {
        let agent = &self.target.addr;
        let report = self.report.as_ref();
        match end {
            End::Crashed { exit, at_ns } => Status::Crashed(format!(
                "serve on {agent} {exit} {}{}",
                tl.describe(at_ns),
                report.map(|r| r.stderr_note.as_str()).unwrap_or("")
            )),
            End::Interrupted { at_ns } => interrupted_status(tl, at_ns),
            End::AgentLost { why, at_ns } => Status::Error(format!(
                "lost the agent at {agent} {} ({why}); the driver's figures up to then \
                 are kept, the device's (CPU, board records, serve statistics) are lost",
                tl.describe(at_ns)
            )),
            End::Completed => match report {
                Some(r) if r.killed => Status::Error(format!(
                    "serve on {agent} did not stop within {STOP_GRACE:?} of SIGTERM and was \
                     killed"
                )),
                Some(r)
                    if r.exit
                        == crate::metrics::process::Exit::Code(
                            crate::load::child::EXIT_STATS_UNWRITTEN,
                        )
                        .to_string() =>
                {
                    Status::Error(format!(
                        "the model ran on {agent}, but its statistics file could not be \
                         written (the disk under the agent's --dir, not the model){}",
                        r.stderr_note
                    ))
                }
                Some(r) if !r.exit_success => Status::Error(format!(
                    "serve on {agent} ended with {}{}",
                    r.exit, r.stderr_note
                )),
                _ => match &self.status_from_report {
                    Some(e) => Status::Error(e.clone()),
                    None => Status::Ok,
                },
            },
        }
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
