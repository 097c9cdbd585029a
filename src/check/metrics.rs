//! Which figures `check` compares, and how each is read out of one run's results.
//!
//! Every figure here is "lower is better". Latency percentiles carry their histogram (so a
//! single run can still be bootstrapped) and a floor: the same percentile of the timer
//! lateness the machine showed in the same run, to tell a slower model from a slower machine.

use anyhow::Result;

use super::stats::HistSampler;
use crate::metrics::results::{ModelResult, Results};
use crate::metrics::summary::Summary;

/// Where a compared figure comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// A percentile of one of the model's latency histograms (µs), floor-normalised.
    Latency { metric: &'static str, q: f64 },
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

/// The compared figures, in table order.
pub const METRICS: &[MetricDef] = &[
    lat("poll_latency.p50", "poll_latency", 0.50),
    lat("poll_latency.p99", "poll_latency", 0.99),
    lat("watchdog_lateness.p50", "watchdog_lateness", 0.50),
    lat("watchdog_lateness.p99", "watchdog_lateness", 0.99),
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
];

impl MetricDef {
    /// A tail percentile (p90 and up): few samples per run, dominated by machine stalls.
    pub fn is_tail(&self) -> bool {
        matches!(self.source, Source::Latency { q, .. } if q >= 0.9)
    }

    /// Normalised by the floor of its own run (latencies).
    pub fn has_floor(&self) -> bool {
        matches!(self.source, Source::Latency { .. })
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

/// Reads `def` for `model` out of `run`; `None` when the run has no data for it (an empty
/// histogram, or a zero-length measured window).
pub fn observe(def: &MetricDef, run: &Results, model: &ModelResult) -> Result<Option<RunObs>> {
    let plain = |value: f64| Obs { value, hist: None };
    Ok(match def.source {
        Source::Latency { metric, q } => {
            let s = model.metric(metric).expect("METRICS names real metrics");
            match percentile(s, q)? {
                None => None,
                Some(figure) => Some(RunObs {
                    figure,
                    floor: percentile(&run.floor.timer_lateness, q)?,
                }),
            }
        }
        Source::CpuPercent => Some(RunObs {
            figure: plain(model.cpu.percent),
            floor: None,
        }),
        Source::CtxSwitchesPerS => {
            let secs = run.scenario.duration_s;
            (secs > 0.0).then(|| RunObs {
                figure: plain((model.cpu.vcsw + model.cpu.ivcsw) as f64 / secs),
                floor: None,
            })
        }
    })
}
