//! Which figures `check` compares, and how each is read out of one run's results.
//!
//! Every figure here is "lower is better". Latency percentiles carry their histogram (so a
//! single run can still be bootstrapped) and a floor: the same percentile of the timer
//! lateness the machine showed in the same run, to tell a slower model from a slower machine.
//! Beside them: the longest stall (a histogram's maximum), the counters a healthy run keeps
//! at zero, and the model's CPU cost. [`Kind`] says which rule of `compare` judges each.

use anyhow::Result;

use super::stats::HistSampler;
use crate::metrics::results::{ModelResult, Results};
use crate::metrics::summary::Summary;

/// Where a compared figure comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// A percentile of one of the model's latency histograms (µs), floor-normalised.
    Latency { metric: &'static str, q: f64 },
    /// The largest sample of a latency histogram (µs): the longest stall, an event rather
    /// than a statistic. Normalised by the longest stall of the timer floor measured beside
    /// the model, so a pause of the whole machine is not blamed on the model.
    Max { metric: &'static str },
    /// A count from the row's `counters` that a healthy run keeps at (or near) zero.
    Counter { name: &'static str },
    /// CPU use in % of one core over the measured window.
    CpuPercent,
    /// Voluntary + involuntary context switches per second of the measured window.
    CtxSwitchesPerS,
}

#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    /// The name used in tables, JSON and thresholds files, e.g. `poll_latency.p99`.
    pub key: &'static str,
    pub unit: &'static str,
    pub source: Source,
}

const fn lat(key: &'static str, metric: &'static str, q: f64) -> MetricDef {
    MetricDef {
        key,
        unit: "µs",
        source: Source::Latency { metric, q },
    }
}

const fn counter(name: &'static str, unit: &'static str) -> MetricDef {
    MetricDef {
        key: name,
        unit,
        source: Source::Counter { name },
    }
}

/// The compared figures, in table order.
pub const METRICS: &[MetricDef] = &[
    lat("poll_latency.p50", "poll_latency", 0.50),
    lat("poll_latency.p90", "poll_latency", 0.90),
    lat("poll_latency.p99", "poll_latency", 0.99),
    MetricDef {
        key: "poll_latency.max",
        unit: "µs",
        source: Source::Max {
            metric: "poll_latency",
        },
    },
    lat("watchdog_lateness.p50", "watchdog_lateness", 0.50),
    lat("watchdog_lateness.p90", "watchdog_lateness", 0.90),
    lat("watchdog_lateness.p99", "watchdog_lateness", 0.99),
    counter("watchdog_longest_late_run", "ticks"),
    lat("staleness.p99", "staleness", 0.99),
    lat("ingest_latency.p99", "ingest_latency", 0.99),
    lat("command_latency.p99", "command_latency", 0.99),
    MetricDef {
        key: "cpu.percent",
        unit: "%",
        source: Source::CpuPercent,
    },
    MetricDef {
        key: "cpu.ctx_switches_per_s",
        unit: "/s",
        source: Source::CtxSwitchesPerS,
    },
    counter("polls_failed", "count"),
    counter("polls_skipped", "count"),
    counter("commands_failed", "count"),
    counter("commands_unmatched", "count"),
    counter("seq_unmatched", "count"),
];

/// What kind of figure a row is, which decides the rule that judges it (see `compare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A latency percentile: interval, band, floor.
    Percentile,
    /// The longest stall: band and absolute floor, floor-relative too.
    Stall,
    /// A counter that is zero in a healthy run: allowance over the baseline's worst run.
    Count,
    /// CPU % or context switches: ratio with an absolute floor.
    Cost,
}

impl MetricDef {
    /// The quantile of a percentile figure.
    pub fn quantile(&self) -> Option<f64> {
        match self.source {
            Source::Latency { q, .. } => Some(q),
            _ => None,
        }
    }

    /// A tail percentile (p90 and up): judged only with enough samples beyond it.
    pub fn is_tail(&self) -> bool {
        self.quantile().is_some_and(|q| q >= 0.9)
    }

    /// Normalised by the floor of its own run (latencies and stalls).
    pub fn has_floor(&self) -> bool {
        matches!(self.source, Source::Latency { .. } | Source::Max { .. })
    }

    pub fn kind(&self) -> Kind {
        match self.source {
            Source::Latency { .. } => Kind::Percentile,
            Source::Max { .. } => Kind::Stall,
            Source::Counter { .. } => Kind::Count,
            Source::CpuPercent | Source::CtxSwitchesPerS => Kind::Cost,
        }
    }
}

/// A figure from one run, with what is needed to resample it.
#[derive(Clone, Debug)]
pub struct Obs {
    pub value: f64,
    /// The histogram and quantile the value came from, when it came from one.
    pub hist: Option<(HistSampler, f64)>,
}

/// One run's observation of one metric for one model: the figure and (for latencies) the
/// floor it is normalised by.
#[derive(Clone, Debug)]
pub struct RunObs {
    pub figure: Obs,
    pub floor: Option<Obs>,
    /// For a percentile: how many of the run's samples lie beyond it (the tail rule).
    pub beyond: Option<u64>,
}

fn percentile(s: &Summary, q: f64) -> Result<Option<Obs>> {
    if s.count == 0 {
        return Ok(None);
    }
    let sampler = HistSampler::new(&s.histogram()?);
    // The summary's own figure is what people read in reports; the histogram agrees with it
    // (same rank rule) and is only used for resampling.
    let value = match q {
        0.50 => s.p50,
        0.99 => s.p99,
        q => sampler.quantile(q),
    } as f64;
    Ok(Some(Obs {
        value,
        hist: Some((sampler, q)),
    }))
}

/// Samples strictly beyond quantile `q` of `count` samples: those ranked above ceil(q·n).
pub fn samples_beyond(count: u64, q: f64) -> u64 {
    let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).min(count);
    count - rank
}

/// Reads `def` for `model` out of `run`; `None` when the run has no data for it (an empty
/// histogram, a zero-length measured window, a counter this run did not record).
pub fn observe(def: &MetricDef, run: &Results, model: &ModelResult) -> Result<Option<RunObs>> {
    let plain = |value: f64| Obs { value, hist: None };
    let bare = |value: f64| RunObs {
        figure: plain(value),
        floor: None,
        beyond: None,
    };
    Ok(match def.source {
        Source::Latency { metric, q } => {
            let s = model.metric(metric).expect("METRICS names real metrics");
            match percentile(s, q)? {
                None => None,
                Some(figure) => Some(RunObs {
                    figure,
                    floor: percentile(&run.floor.timer_lateness, q)?,
                    beyond: Some(samples_beyond(s.count, q)),
                }),
            }
        }
        Source::Max { metric } => {
            let s = model.metric(metric).expect("METRICS names real metrics");
            let floor = run.timer_floor_for(model);
            (s.count > 0).then(|| RunObs {
                figure: plain(s.max as f64),
                floor: (floor.count > 0).then(|| plain(floor.max as f64)),
                beyond: None,
            })
        }
        Source::Counter { name } => model.counters.get(name).map(|&n| bare(n as f64)),
        Source::CpuPercent => Some(bare(model.cpu.percent)),
        Source::CtxSwitchesPerS => {
            let secs = run.scenario.duration_s;
            (secs > 0.0).then(|| bare((model.cpu.vcsw + model.cpu.ivcsw) as f64 / secs))
        }
    })
}
