//! `esbench check --format bmf | github-action-benchmark`: the figures of a run (or of a
//! comparison's current side, or of a paired run's side B with its ratios B/A) in the formats
//! dashboards read, so they can be tracked from one pull request to the next:
//!
//! - Bencher Metric Format (`bmf`): `{model: {figure: {value, lower_value, upper_value}}}`;
//! - github-action-benchmark's `customSmallerIsBetter` (`github-action-benchmark`):
//!   `[{name, unit, value, range}]` (every esbench figure is a cost: smaller is better).
//!
//! The bounds are the figure's interval (over rounds, or check's bootstrap); a figure without
//! one has `lower_value = upper_value = value` and no `range`. A paired run adds one measure
//! per judged figure, `<figure>.ratio` (B/A), with the interval of the median per-round ratio.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Value};

use super::compare::{Outcome, Row, Verdict};
use super::metrics::{kind, metrics};
use super::thresholds::{Band, Mode};
use crate::metrics::results::Results;

/// One exported figure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub model: String,
    pub figure: String,
    pub unit: String,
    pub value: f64,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

/// The current side of a comparison (or side B of a paired one), plus the ratios of a paired
/// run, as points.
pub fn points(o: &Outcome, paired: bool) -> Vec<Point> {
    let mut out = Vec::new();
    for r in &o.rows {
        let Some(value) = r.current else { continue };
        out.push(Point {
            model: r.model.clone(),
            figure: r.metric.clone(),
            unit: r.unit.clone(),
            value,
            lo: r.current_ci.map(|c| c.0),
            hi: r.current_ci.map(|c| c.1),
        });
        if let (true, Some(c)) = (paired, r.change) {
            if r.method.starts_with("rounds, paired") {
                out.push(Point {
                    model: r.model.clone(),
                    figure: format!("{}.ratio", r.metric),
                    unit: "B/A".into(),
                    value: c.ratio,
                    lo: Some(c.lo),
                    hi: Some(c.hi),
                });
            }
        }
    }
    out
}

/// A run's own figures (no baseline): one row per model and judged figure, the value the
/// registry derives and the interval of its median over the rounds when there is one.
/// Several files: the median over them, bounded by their lowest and highest.
pub fn run_outcome(files: &[(PathBuf, Results)]) -> Outcome {
    let mut rows = Vec::new();
    let mut models: Vec<String> = Vec::new();
    for (_, r) in files {
        for m in &r.models {
            if !models.contains(&m.name) {
                models.push(m.name.clone());
            }
        }
    }
    for model in &models {
        for def in metrics() {
            let mut values = Vec::new();
            let mut rounds = None;
            for (_, r) in files {
                let Some(m) = r.model(model).filter(|m| m.is_ok()) else {
                    continue;
                };
                if let Some(v) = def.of_model(m, r.scenario.duration_s) {
                    // With rounds, the median over them and its interval, so the value
                    // always lies inside its bounds.
                    let i = def.interval(m);
                    values.push(i.map_or(v, |i| i.mid));
                    rounds = i;
                }
            }
            if values.is_empty() {
                continue;
            }
            values.sort_by(f64::total_cmp);
            let current = values[values.len() / 2];
            let current_ci = if values.len() > 1 {
                Some((values[0], values[values.len() - 1]))
            } else {
                rounds.map(|i| (i.lo, i.hi))
            };
            rows.push(Row {
                model: model.clone(),
                metric: def.key.into(),
                unit: def.unit.symbol().into(),
                kind: kind(def),
                baseline: None,
                current: Some(current),
                baseline_ci: None,
                current_ci,
                limit: None,
                change: None,
                vs_floor: None,
                method: "run".into(),
                band: Band {
                    band: 0.0,
                    min_abs: 0.0,
                    judge: false,
                },
                verdict: Verdict::NoData,
                note: None,
            });
        }
    }
    Outcome {
        mode: Mode::Normal,
        confidence: 0.95,
        scenario: files
            .first()
            .map(|(_, r)| r.scenario.name.clone())
            .unwrap_or_default(),
        baseline_files: Vec::new(),
        current_files: files.iter().map(|(p, _)| p.clone()).collect(),
        rows,
        warnings: Vec::new(),
        notes: Vec::new(),
    }
}

/// A bound for people: four decimals at most, trailing zeros dropped.
fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Bencher Metric Format.
pub fn bmf(points: &[Point]) -> String {
    let mut doc: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for p in points {
        doc.entry(p.model.clone()).or_default().insert(
            p.figure.clone(),
            json!({
                "value": p.value,
                "lower_value": p.lo.unwrap_or(p.value),
                "upper_value": p.hi.unwrap_or(p.value),
            }),
        );
    }
    serde_json::to_string_pretty(&doc).expect("serialises") + "\n"
}

/// github-action-benchmark, `customSmallerIsBetter`.
pub fn github_action_benchmark(points: &[Point]) -> String {
    let entries: Vec<Value> = points
        .iter()
        .map(|p| {
            let mut e = json!({
                "name": format!("{} {}", p.model, p.figure),
                "unit": p.unit,
                "value": p.value,
            });
            if let (Some(lo), Some(hi)) = (p.lo, p.hi) {
                e["range"] = json!(format!("{}–{}", short(lo), short(hi)));
            }
            e
        })
        .collect();
    serde_json::to_string_pretty(&entries).expect("serialises") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;

    #[test]
    fn a_run_exports_every_model_in_both_formats() {
        let r = fabricate_results(3);
        let files = vec![(PathBuf::from("r.json"), r.clone())];
        let o = run_outcome(&files);
        let pts = points(&o, false);
        assert!(pts
            .iter()
            .any(|p| p.model == r.models[0].name && p.figure == "cpu.percent"));
        let b: Value = serde_json::from_str(&bmf(&pts)).unwrap();
        let cpu = &b[&r.models[0].name]["cpu.percent"];
        assert_eq!(cpu["value"].as_f64().unwrap(), r.models[0].cpu.percent);
        assert!(cpu["lower_value"].as_f64().unwrap() <= cpu["upper_value"].as_f64().unwrap());
        let g: Value = serde_json::from_str(&github_action_benchmark(&pts)).unwrap();
        let first = &g.as_array().unwrap()[0];
        for k in ["name", "unit", "value"] {
            assert!(first.get(k).is_some(), "{k}: {first}");
        }
    }

    #[test]
    fn a_paired_outcome_adds_the_ratio_with_its_interval() {
        let row = Row {
            model: "threads".into(),
            metric: "cpu.percent".into(),
            unit: "%".into(),
            kind: super::super::metrics::Kind::Cost,
            baseline: Some(1.0),
            current: Some(1.3),
            baseline_ci: Some((0.9, 1.1)),
            current_ci: Some((1.2, 1.4)),
            limit: None,
            change: Some(super::super::compare::Change {
                ratio: 1.3,
                lo: 1.25,
                hi: 1.35,
            }),
            vs_floor: None,
            method: "rounds, paired (6)".into(),
            band: Band {
                band: 0.1,
                min_abs: 0.05,
                judge: true,
            },
            verdict: Verdict::Regressed,
            note: None,
        };
        let mut o = run_outcome(&[]);
        o.rows.push(row);
        let pts = points(&o, true);
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[1].figure, "cpu.percent.ratio");
        assert_eq!((pts[1].lo, pts[1].hi), (Some(1.25), Some(1.35)));
        let g = github_action_benchmark(&pts);
        assert!(
            g.contains("threads cpu.percent.ratio") && g.contains("1.25–1.35"),
            "{g}"
        );
    }
}
