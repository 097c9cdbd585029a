//! Which figures `check` compares, and how each is read out of one run's results.
//!
//! The figures themselves — key, unit, derivation, rule — are the registry's
//! (`metrics::figures`): `check` judges the ones it marks `judged`. What this module adds is
//! what resampling needs: latency percentiles carry their histogram (so a single run can still
//! be bootstrapped) and a floor, the same percentile of the timer lateness the machine showed
//! in the same run, to tell a slower model from a slower machine. [`Kind`] says which rule of
//! `compare` judges each.

use anyhow::Result;

use super::stats::HistSampler;
use crate::metrics::figures::{self as registry};
pub(crate) use crate::metrics::figures::{samples_beyond, Figure as MetricDef, Kind, Source};
use crate::metrics::results::{ModelResult, Results};
use crate::metrics::summary::Summary;

/// The compared figures, in table order: the registry's judged ones.
pub fn metrics() -> impl Iterator<Item = &'static MetricDef> {
    registry::judged()
}

/// The rule a compared figure is judged by.
pub fn kind(def: &MetricDef) -> Kind {
    def.judged.unwrap_or(Kind::Cost)
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
            let s = model
                .metric(metric)
                .expect("the registry names real metrics");
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
            let s = model
                .metric(metric)
                .expect("the registry names real metrics");
            let floor = run.timer_floor_for(model);
            (s.count > 0).then(|| RunObs {
                figure: plain(s.max as f64),
                floor: (floor.count > 0).then(|| plain(floor.max as f64)),
                beyond: None,
            })
        }
        _ => def.of_model(model, run.scenario.duration_s).map(bare),
    })
}
