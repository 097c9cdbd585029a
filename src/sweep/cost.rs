//! Cost per unit of work: CPU per 1,000 events served, and a line CPU % = fixed + marginal ×
//! events/s fitted per model over the points where it copes.
//!
//! CPU % alone cannot tell a model that is expensive to keep alive (timers, spinning pool
//! workers: a high intercept) from one whose every request is expensive (a steep slope). An
//! *event* is one frame the bridge parsed or one poll it answered, counted from what the
//! child actually served in the measured window (not what was planned), so a model that
//! falls behind is not credited with work it did not do.
//!
//! The fit is ordinary least squares; its intervals are a percentile bootstrap that
//! resamples whole points (with their rounds, when there are rounds), seeded so a re-render
//! gives the same figures. Points where the driver was the limit, and points where the
//! model broke the knee rule (its cost is no longer linear in the load), are left out and
//! named.

use serde::Serialize;

use crate::metrics::results::ModelResult;
use crate::metrics::rounds::RoundResult;
use crate::rng::Rng;

use super::knee::{verdict, Verdict};
use super::manifest::LoadedSweep;

/// Events served by one model in one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Events {
    /// Frames the bridge parsed (ingest samples in the window).
    pub frames: u64,
    /// Polls answered (ok) in the window.
    pub polls: u64,
    /// The CPU window, seconds.
    pub window_s: f64,
}

impl Events {
    pub(crate) fn total(&self) -> u64 {
        self.frames + self.polls
    }

    pub(crate) fn per_s(&self) -> f64 {
        self.total() as f64 / self.window_s
    }
}

/// What `m` served in its measured window. None when the window is unknown, or the bridge's
/// ingest log overflowed (its frames would be undercounted and the cost overstated).
pub(crate) fn events(m: &ModelResult) -> Option<Events> {
    let window_s = m.counters.get("cpu_window_ms").copied()? as f64 / 1e3;
    if window_s <= 0.0 || m.counters.get("ingest_log_dropped").copied().unwrap_or(0) > 0 {
        return None;
    }
    Some(Events {
        frames: m.ingest_latency.count,
        polls: m.poll_answered.count,
        window_s,
    })
}

/// ms of CPU per 1,000 events: CPU % × window ÷ events.
fn ms_per_1k(cpu_percent: f64, window_s: f64, events: u64) -> Option<f64> {
    (events > 0 && cpu_percent.is_finite())
        .then(|| cpu_percent / 100.0 * window_s * 1e3 / events as f64 * 1e3)
}

/// The model's CPU per 1,000 events served over the whole window, in ms.
pub fn cpu_ms_per_1k(m: &ModelResult) -> Option<f64> {
    let e = events(m)?;
    ms_per_1k(m.cpu.percent, e.window_s, e.total())
}

/// Events served in one round (frames parsed and polls answered, from the round's counts).
pub(crate) fn round_events(r: &RoundResult) -> Option<u64> {
    if !r.is_ok() || r.duration_s <= 0.0 {
        return None;
    }
    let count = |k: &str| r.figures.get(k).map(|f| f.count);
    Some(count("ingest_latency")? + count("poll_answered")?)
}

/// The same in one round.
pub(crate) fn round_cpu_ms_per_1k(r: &RoundResult) -> Option<f64> {
    ms_per_1k(r.cpu_percent, r.duration_s, round_events(r)?)
}

/// A fitted figure and its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    /// 95 % percentile-bootstrap interval; `None` (null in analysis.json) over fewer than
    /// [`MIN_INTERVAL_POINTS`] points.
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

/// CPU % = intercept + slope × events/s, for one model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fit {
    pub model: String,
    /// CPU % of one core at no load: the fixed cost.
    pub fixed_percent: Estimate,
    /// CPU % of one core per 1,000 events/s: the marginal cost.
    pub marginal_percent_per_1k: Estimate,
    /// Points the fit used, and observations (one per point, or one per round).
    pub points: usize,
    pub observations: usize,
    /// True when the observations are rounds.
    pub by_rounds: bool,
}

/// A model's fit, or why there is none, with the points left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelFit {
    pub model: String,
    pub fit: Option<Fit>,
    /// Why there is no fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// Values left out, with why (driver-limited, broke the knee rule, no event count).
    pub left_out: Vec<(String, String)>,
}

/// Fewest points a line is fitted to (two points always fit; they say nothing about noise).
pub(crate) const MIN_FIT_POINTS: usize = 3;
/// Fewest points the bootstrap gives an interval over. Resampling k whole points has only
/// C(2k−1, k) distinct outcomes — 10 for three points, 35 for four, 126 for five — and one
/// in k^(k−1) is a single point repeated (no slope): with three or four points the
/// "interval" is a handful of values, not an estimate of the noise, so none is shown.
pub(crate) const MIN_INTERVAL_POINTS: usize = 5;
/// Bootstrap resamples.
pub(crate) const RESAMPLES: usize = 2000;
const SEED: u64 = 0x5ca1e;

/// The observations (events/s, CPU %) of one point for one model: its rounds when it has
/// usable ones, else the whole window.
fn observations(m: &ModelResult) -> (Vec<(f64, f64)>, bool) {
    let rounds: Vec<(f64, f64)> = (m.rounds.iter())
        .filter_map(|r| Some((round_events(r)? as f64 / r.duration_s, r.cpu_percent)))
        .filter(|(_, y)| y.is_finite())
        .collect();
    if rounds.len() >= 2 {
        return (rounds, true);
    }
    let whole = events(m)
        .map(|e| (e.per_s(), m.cpu.percent))
        .filter(|(_, y)| y.is_finite());
    (whole.into_iter().collect(), false)
}

/// Fits every model of the sweep.
pub fn fits(sweep: &LoadedSweep) -> Vec<ModelFit> {
    sweep.models().iter().map(|m| fit_model(sweep, m)).collect()
}

/// Fits one model over the points where it copes.
pub(crate) fn fit_model(sweep: &LoadedSweep, model: &str) -> ModelFit {
    let mut left_out = Vec::new();
    let mut clusters: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut all_rounds = true;
    for (p, point) in sweep.points.iter().enumerate() {
        let Some(m) = point.results.as_ref().and_then(|r| r.model(model)) else {
            continue;
        };
        let reason = match verdict(sweep, p, model) {
            Verdict::Copes => None,
            Verdict::Broke(_) => {
                Some("did not cope here (its cost is no longer linear in the load)".to_string())
            }
            Verdict::Unjudged(why) if why.starts_with("driver-limited") => Some(why),
            Verdict::Unjudged(why) if why.contains("poll samples") => None,
            Verdict::Unjudged(why) => Some(why),
        };
        if let Some(why) = reason {
            left_out.push((point.value.clone(), why));
            continue;
        }
        let (obs, by_rounds) = observations(m);
        if obs.is_empty() {
            left_out.push((point.value.clone(), "no count of events served".into()));
            continue;
        }
        all_rounds &= by_rounds;
        clusters.push(obs);
    }
    let missing = |why: String| ModelFit {
        model: model.to_string(),
        fit: None,
        missing: Some(why),
        left_out: left_out.clone(),
    };
    if clusters.len() < MIN_FIT_POINTS {
        return missing(format!(
            "{} usable point(s), a fit needs {MIN_FIT_POINTS}",
            clusters.len()
        ));
    }
    let flat: Vec<(f64, f64)> = clusters.iter().flatten().copied().collect();
    let Some((a, b)) = ols(&flat) else {
        return missing("the points' event rates do not vary".into());
    };
    let mut rng = Rng::new(SEED);
    let (mut av, mut bv) = (Vec::new(), Vec::new());
    let mut sample = Vec::with_capacity(flat.len());
    let resamples = if clusters.len() >= MIN_INTERVAL_POINTS {
        RESAMPLES
    } else {
        0
    };
    for _ in 0..resamples {
        sample.clear();
        for _ in 0..clusters.len() {
            let c = rng.index(clusters.len());
            sample.extend_from_slice(&clusters[c]);
        }
        // A resample whose points all share one rate has no slope; it is skipped.
        if let Some((ra, rb)) = ols(&sample) {
            av.push(ra);
            bv.push(rb);
        }
    }
    let est = |v: f64, s: &mut Vec<f64>, scale: f64| {
        let (lo, hi) = percentile_interval(s).map_or((None, None), |(lo, hi)| {
            (Some(lo * scale), Some(hi * scale))
        });
        Estimate {
            value: v * scale,
            lo,
            hi,
        }
    };
    ModelFit {
        model: model.to_string(),
        fit: Some(Fit {
            model: model.to_string(),
            fixed_percent: est(a, &mut av, 1.0),
            marginal_percent_per_1k: est(b, &mut bv, 1e3),
            points: clusters.len(),
            observations: flat.len(),
            by_rounds: all_rounds,
        }),
        missing: None,
        left_out,
    }
}

/// Least squares y = a + b·x; None when x does not vary.
pub(crate) fn ols(xy: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = xy.len() as f64;
    if xy.len() < 2 {
        return None;
    }
    let mx = xy.iter().map(|p| p.0).sum::<f64>() / n;
    let my = xy.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= f64::EPSILON * mx.abs().max(1.0) {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b))
}

/// The 2.5th and 97.5th percentiles (nearest rank) of `v` (sorted in place); None when
/// empty.
fn percentile_interval(v: &mut [f64]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Some((at(0.025), at(0.975)))
}

/// `0.812 % [0.70, 0.93]`, or `0.812 % (no interval)` over too few points.
pub(crate) fn show_estimate(e: &Estimate, unit: &str) -> String {
    use crate::render::format::sig3;
    match (e.lo, e.hi) {
        (Some(lo), Some(hi)) => format!("{}{unit} [{}, {}]", sig3(e.value), sig3(lo), sig3(hi)),
        _ => format!("{}{unit} (no interval)", sig3(e.value)),
    }
}

impl ModelFit {
    /// One line for the terminal and the Markdown list.
    pub fn describe(&self) -> String {
        let mut s = match (&self.fit, &self.missing) {
            (Some(f), _) => format!(
                "fixed {} of a core, marginal {} per 1,000 events/s ({} points{})",
                show_estimate(&f.fixed_percent, " %"),
                show_estimate(&f.marginal_percent_per_1k, " %"),
                f.points,
                match (f.by_rounds, f.points < MIN_INTERVAL_POINTS) {
                    (_, true) => format!(
                        "; an interval needs {MIN_INTERVAL_POINTS}: a bootstrap over {} \
                         points has too few distinct resamples to mean anything",
                        f.points
                    ),
                    (true, false) => format!(", {} rounds", f.observations),
                    (false, false) => String::new(),
                }
            ),
            (None, Some(why)) => format!("no fit: {why}"),
            (None, None) => "no fit".into(),
        };
        if !self.left_out.is_empty() {
            let list: Vec<String> = (self.left_out.iter())
                .map(|(v, why)| format!("{v}: {why}"))
                .collect();
            s.push_str(&format!("; left out {}", list.join(", ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_a_line_and_refuses_a_vertical_one() {
        let xy: Vec<(f64, f64)> = (0..5)
            .map(|i| (i as f64 * 100.0, 2.0 + 0.01 * i as f64 * 100.0))
            .collect();
        let (a, b) = ols(&xy).unwrap();
        assert!(
            (a - 2.0).abs() < 1e-9 && (b - 0.01).abs() < 1e-12,
            "{a} {b}"
        );
        assert!(ols(&[(5.0, 1.0), (5.0, 2.0)]).is_none());
        assert!(ols(&[(5.0, 1.0)]).is_none());
    }

    #[test]
    fn cost_per_1k_is_cpu_time_over_events() {
        // 10 % of a core for 4 s = 400 ms of CPU, over 1,000 events: 400 ms per 1,000.
        assert_eq!(ms_per_1k(10.0, 4.0, 1000), Some(400.0));
        assert_eq!(ms_per_1k(10.0, 4.0, 0), None);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile_interval(&mut v), Some((5.0, 195.0)));
        assert_eq!(percentile_interval(&mut []), None);
    }
}
