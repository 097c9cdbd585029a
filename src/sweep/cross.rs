//! Where two models cross: model A below model B at one value and above it at a later one,
//! with the intervals of their medians over rounds apart on *both* sides — not two noisy
//! points that happen to swap. Without rounds there is no interval, and a crossing is not
//! judged at all (the output says so) rather than read off two single numbers.

use serde::Serialize;

use super::manifest::LoadedSweep;
use super::table::{cell, interval, Cell, FIGURES};

/// A judged crossing of two models on one figure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Crossing {
    pub figure: &'static str,
    /// The model lower before the crossing (lower at `from`, higher at `to`).
    pub was_lower: String,
    pub was_higher: String,
    /// The last value with the intervals apart one way, and the first with them apart the
    /// other way (values between had overlapping intervals).
    pub from: String,
    pub to: String,
    /// Index of the point at `to` (where the table marks it).
    pub to_point: usize,
}

impl Crossing {
    pub(crate) fn describe(&self, key: &str) -> String {
        format!(
            "{}: {} and {} cross between {key}={} and {key}={} ({} lower before, higher after; \
             intervals apart on both sides)",
            self.figure, self.was_lower, self.was_higher, self.from, self.to, self.was_lower
        )
    }
}

/// What the crossing analysis found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Crossings {
    /// False when no point has rounds: nothing could be judged.
    pub judged: bool,
    pub crossings: Vec<Crossing>,
    /// Times two models' single values swapped order at a value where their intervals
    /// overlapped (or there were none): within noise, not a crossing.
    pub swaps_within_noise: usize,
}

/// The sign of A vs B at point p: Some(true) when A's interval is wholly below B's,
/// Some(false) wholly above, None when they overlap or one is missing.
fn apart(sweep: &LoadedSweep, p: usize, a: &str, b: &str, k: usize) -> Option<bool> {
    let f = &FIGURES[k];
    if !matches!(cell(sweep, p, a, f), Cell::Value(_))
        || !matches!(cell(sweep, p, b, f), Cell::Value(_))
    {
        return None;
    }
    let (ia, ib) = (interval(sweep, p, a, f)?, interval(sweep, p, b, f)?);
    if ia.hi < ib.lo {
        Some(true)
    } else if ib.hi < ia.lo {
        Some(false)
    } else {
        None
    }
}

fn value(sweep: &LoadedSweep, p: usize, m: &str, k: usize) -> Option<f64> {
    match cell(sweep, p, m, &FIGURES[k]) {
        Cell::Value(v) => Some(v),
        _ => None,
    }
}

/// Every judged crossing of every pair of models on every figure of the tables.
pub fn crossings(sweep: &LoadedSweep) -> Crossings {
    let models = sweep.models();
    let has_rounds = sweep.points.iter().any(|p| {
        p.results
            .as_ref()
            .is_some_and(|r| r.models.iter().any(|m| m.rounds.len() >= 2))
    });
    let mut out = Crossings {
        judged: has_rounds,
        crossings: Vec::new(),
        swaps_within_noise: 0,
    };
    for (k, fig) in FIGURES.iter().enumerate() {
        for (i, a) in models.iter().enumerate() {
            for b in &models[i + 1..] {
                let mut last: Option<(usize, bool)> = None;
                let mut last_raw: Option<bool> = None;
                for p in 0..sweep.points.len() {
                    let raw = match (value(sweep, p, a, k), value(sweep, p, b, k)) {
                        (Some(x), Some(y)) if x != y => Some(x < y),
                        _ => None,
                    };
                    let sign = if has_rounds {
                        apart(sweep, p, a, b, k)
                    } else {
                        None
                    };
                    let crossed = match (last, sign) {
                        (Some((from, s0)), Some(s1)) if s0 != s1 => {
                            let (lo, hi) = if s0 { (a, b) } else { (b, a) };
                            out.crossings.push(Crossing {
                                figure: fig.label,
                                was_lower: lo.clone(),
                                was_higher: hi.clone(),
                                from: sweep.points[from].value.clone(),
                                to: sweep.points[p].value.clone(),
                                to_point: p,
                            });
                            true
                        }
                        _ => false,
                    };
                    if let (Some(r0), Some(r1)) = (last_raw, raw) {
                        if r0 != r1 && !crossed && sign.is_none() {
                            out.swaps_within_noise += 1;
                        }
                    }
                    if raw.is_some() {
                        last_raw = raw;
                    }
                    if let Some(s) = sign {
                        last = Some((p, s));
                    }
                }
            }
        }
    }
    out
}

impl Crossings {
    /// Lines for the outputs.
    pub fn lines(&self, key: &str) -> Vec<String> {
        if !self.judged {
            return vec![format!(
                "crossings unjudged: the points have no rounds, so no interval tells a real \
                 crossing from noise (run the sweep with rounds, e.g. --with run.rounds=5){}",
                if self.swaps_within_noise > 0 {
                    format!(
                        "; {} swap(s) of single values between neighbouring values",
                        self.swaps_within_noise
                    )
                } else {
                    String::new()
                }
            )];
        }
        let mut v: Vec<String> = self.crossings.iter().map(|c| c.describe(key)).collect();
        if v.is_empty() {
            v.push("no two models cross with intervals apart on both sides".into());
        }
        if self.swaps_within_noise > 0 {
            v.push(format!(
                "{} swap(s) of single values where the intervals overlap: within noise, not \
                 crossings",
                self.swaps_within_noise
            ));
        }
        v
    }

    /// The crossings completed at point `p`, for the table's mark.
    pub(crate) fn at(&self, p: usize) -> Vec<&Crossing> {
        self.crossings.iter().filter(|c| c.to_point == p).collect()
    }
}
