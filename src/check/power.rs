//! The gate's power and false-alarm rate, measured: `esbench check --power DIR` judges run
//! pairs that `scripts/gate-power.sh` made and prints the table docs/ci-gate.md shows.
//!
//! DIR holds one directory of results files per row. `a-a` holds runs of the unchanged
//! build: consecutive pairs of them (1 vs 2, 3 vs 4, ...) are A/A pairs, and every verdict
//! of "regressed" on one is a false alarm. Every other directory holds runs with one injected
//! fault; its k-th run is judged against the first run of the k-th A/A pair (the script makes
//! it just before), so each injected pair has its own baseline run from the same moment
//! (rows share baselines, so rows are correlated; each rate on its own is unbiased). Each pair is judged in both modes with the same thresholds as `check`, and
//! each rate carries its 95 % Wilson interval: 0 of 20 bounds a rate only below 16 %.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::compare::{compare, Options};
use super::thresholds::{Mode, Thresholds};
use crate::metrics::results::Results;

/// The directory of unchanged runs.
pub(crate) const AA: &str = "a-a";

/// One results file and what it holds.
type Run = (PathBuf, Results);

/// One row: a fault (or none) and how often each mode called its pairs a regression.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerRow {
    pub label: String,
    /// The `injected` specs the runs recorded (empty for A/A, or before the field existed).
    pub injected: Vec<String>,
    pub pairs: usize,
    /// Pairs each mode called a regression: [normal, gross].
    pub flagged: [usize; 2],
    /// Pairs `check` refused as unusable input (counted, never dropped silently).
    pub unusable: usize,
    /// How often each figure was named in the gross verdicts, most frequent first.
    pub gross_figures: Vec<(String, usize)>,
    /// The median over the pairs of current / baseline CPU % (the first model): the size of
    /// the fault as this machine measured it, e.g. what `frame-cpu=85us` really cost.
    pub cpu_ratio: Option<f64>,
}

/// What the whole table says, with where it was measured.
#[derive(Clone, Debug)]
pub struct PowerTable {
    pub rows: Vec<PowerRow>,
    pub machine: String,
    pub build: String,
    pub scenario: String,
    pub models: String,
    pub window: String,
}

/// The results files of `dir`, sorted by name, each with the `injected` list it recorded.
fn load_group(dir: &Path) -> Result<Vec<(PathBuf, Results, Vec<String>)>> {
    let runs = super::load_all(&[dir.to_path_buf()])?;
    runs.into_iter()
        .map(|(p, r)| {
            let injected = super::injected(&p)?;
            Ok((p, r, injected))
        })
        .collect()
}

/// Judges one pair in both modes: Some([normal, gross] regressed?, gross figures) or None
/// when `check` refuses the pair.
fn judge(base: &Run, cur: &Run, thresholds: &Thresholds) -> Option<([bool; 2], Vec<String>)> {
    let mut flagged = [false; 2];
    let mut figures = Vec::new();
    for (i, mode) in [Mode::Normal, Mode::Gross].into_iter().enumerate() {
        let opts = Options {
            thresholds: thresholds.clone(),
            mode,
            allow_missing_models: false,
            allow_mixed: false,
        };
        let o = compare(std::slice::from_ref(base), std::slice::from_ref(cur), &opts).ok()?;
        flagged[i] = o.exit_code() == 1;
        if mode == Mode::Gross {
            figures = o.regressions().map(|r| r.metric.clone()).collect();
        }
    }
    Some((flagged, figures))
}

fn row_of(
    label: &str,
    injected: Vec<String>,
    pairs: &[(&Run, &Run)],
    thresholds: &Thresholds,
) -> PowerRow {
    let mut row = PowerRow {
        label: label.into(),
        injected,
        pairs: pairs.len(),
        flagged: [0; 2],
        unusable: 0,
        gross_figures: Vec::new(),
        cpu_ratio: None,
    };
    let ratios: Vec<f64> = pairs
        .iter()
        .filter_map(|(b, c)| {
            let (b, c) = (b.1.models.first()?, c.1.models.first()?);
            (b.cpu.percent > 0.0).then(|| c.cpu.percent / b.cpu.percent)
        })
        .collect();
    if !ratios.is_empty() {
        row.cpu_ratio = Some(super::stats::median(&ratios));
    }
    let mut figures: BTreeMap<String, usize> = BTreeMap::new();
    for (b, c) in pairs {
        match judge(b, c, thresholds) {
            None => row.unusable += 1,
            Some((f, names)) => {
                for (n, hit) in row.flagged.iter_mut().zip(f) {
                    *n += hit as usize;
                }
                let mut seen: Vec<String> = names;
                seen.sort();
                seen.dedup();
                for n in seen {
                    *figures.entry(n).or_default() += 1;
                }
            }
        }
    }
    let mut figs: Vec<(String, usize)> = figures.into_iter().collect();
    figs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    row.gross_figures = figs;
    row
}

/// Builds the table from `dir` (see the module docs for its layout).
pub fn table(dir: &Path, thresholds: &Thresholds) -> Result<PowerTable> {
    let aa_dir = dir.join(AA);
    if !aa_dir.is_dir() {
        bail!(
            "{} has no {AA}/ directory of unchanged runs (scripts/gate-power.sh makes it)",
            dir.display()
        );
    }
    let aa = load_group(&aa_dir).context("the A/A runs")?;
    if aa.len() < 2 {
        bail!(
            "{} holds {} run(s); an A/A pair needs 2",
            aa_dir.display(),
            aa.len()
        );
    }
    for (p, _, inj) in &aa {
        if !inj.is_empty() {
            bail!(
                "{} is in {AA}/ but was made with injected faults {inj:?}",
                p.display()
            );
        }
    }
    let base: Vec<Run> = aa.iter().map(|(p, r, _)| (p.clone(), r.clone())).collect();
    let aa_pairs: Vec<(&Run, &Run)> = base.chunks_exact(2).map(|c| (&c[0], &c[1])).collect();
    let mut rows = vec![row_of(
        "none (A/A: false alarms)",
        Vec::new(),
        &aa_pairs,
        thresholds,
    )];
    let mut groups: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != AA))
        .collect();
    groups.sort();
    for g in groups {
        let label = g.file_name().unwrap().to_string_lossy().into_owned();
        let runs = load_group(&g).with_context(|| format!("the {label} runs"))?;
        let mut injected: Vec<String> = Vec::new();
        for (_, _, inj) in &runs {
            for s in inj {
                if !injected.contains(s) {
                    injected.push(s.clone());
                }
            }
        }
        let cur: Vec<Run> = runs.into_iter().map(|(p, r, _)| (p, r)).collect();
        let pairs: Vec<(&Run, &Run)> = base.iter().step_by(2).zip(&cur).collect();
        rows.push(row_of(&label, injected, &pairs, thresholds));
    }
    let first = &aa[0].1;
    let m = &first.machine;
    let mut models: Vec<&str> = first.models.iter().map(|m| m.name.as_str()).collect();
    models.dedup();
    Ok(PowerTable {
        rows,
        machine: format!(
            "{} ({}, {} logical cores, {})",
            m.hostname, m.cpu_model, m.logical_cores, m.kernel
        ),
        build: format!(
            "esbench {}{}",
            first.esbench_version,
            first
                .commit
                .as_deref()
                .map(|c| format!(" at {}", &c[..c.len().min(7)]))
                .unwrap_or_default()
        ),
        scenario: first.scenario.name.clone(),
        models: models.join(", "),
        window: format!(
            "{}{} s measured after {} s warm-up",
            if first.scenario.quick {
                "--quick, "
            } else {
                ""
            },
            first.scenario.duration_s,
            first.scenario.warmup_s
        ),
    })
}

/// The 95 % Wilson score interval of `k` successes in `n` trials, as fractions.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_964);
    let p = k / n;
    let d = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / d;
    let half = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt() / d;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

pub(super) fn rate(k: usize, n: usize) -> String {
    if n == 0 {
        return "-".into();
    }
    let (lo, hi) = wilson(k, n);
    format!(
        "{k}/{n} = {:.0} % [{:.0}, {:.0}]",
        100.0 * k as f64 / n as f64,
        100.0 * lo,
        100.0 * hi
    )
}

impl PowerTable {
    /// The Markdown table with a line saying where and how it was measured.
    pub fn render(&self) -> String {
        let mut s = format!(
            "Measured on {}, {}: scenario `{}`, model {}, {}, one run per side per pair.\n\n",
            self.machine, self.build, self.scenario, self.models, self.window
        );
        s += "| injected fault | pairs | CPU, median change | `check --gross` flags | \
              `check` (normal) flags | figures named by `--gross` |\n\
              |---|---|---|---|---|---|\n";
        for r in &self.rows {
            let label = if r.injected.is_empty() || r.injected == [r.label.clone()] {
                format!("`{}`", r.label).replace("`none (A/A: false alarms)`", &r.label)
            } else {
                format!("{} (`{}`)", r.label, r.injected.join("`, `"))
            };
            let cpu = r
                .cpu_ratio
                .map_or("-".into(), |x| format!("{:+.0} %", (x - 1.0) * 100.0))
                .replace("-0 %", "+0 %");
            let judged = r.pairs - r.unusable;
            let figs: Vec<String> = r
                .gross_figures
                .iter()
                .take(3)
                .map(|(f, n)| format!("{f} ({n})"))
                .collect();
            let pairs = if r.unusable > 0 {
                format!("{} ({} unusable)", r.pairs, r.unusable)
            } else {
                r.pairs.to_string()
            };
            s += &format!(
                "| {label} | {pairs} | {cpu} | {} | {} | {} |\n",
                rate(r.flagged[1], judged),
                rate(r.flagged[0], judged),
                if figs.is_empty() {
                    "-".into()
                } else {
                    figs.join(", ")
                }
            );
        }
        s += "\nRates with their 95 % Wilson intervals. On the A/A row a flag is a false \
              alarm; on the others it is a detection.\n";
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_are_the_textbook_ones() {
        let (lo, hi) = wilson(0, 20);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.1611).abs() < 0.001, "{hi}");
        let (lo, hi) = wilson(19, 20);
        assert!((lo - 0.7639).abs() < 0.001 && (hi - 0.9911).abs() < 0.001);
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }
}
