//! The paired gate's power and false-alarm rate, measured: `esbench check --power-paired DIR`
//! judges the paired runs `scripts/gate-power.sh --paired` made and prints the table
//! docs/ci-gate.md shows.
//!
//! DIR holds one directory per row; every results file in it is one paired run
//! (`esbench run --against`), i.e. one pair. `a-a` holds runs of a build against itself:
//! every "regressed" there is a false alarm. Every other directory holds runs whose side B
//! had a fault injected (`--inject-b`): every "regressed" is a detection. Each run is judged
//! by `check --paired` in both modes; each rate carries its 95 % Wilson interval. The table
//! also gives what the power depends on: the median paired CPU ratio B/A (the size of the
//! fault as measured) and the standard deviation of the per-round CPU ratios within a run
//! (median over the row's runs), the noise a round of that length leaves.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::compare::{Options, Verdict};
use super::power::{rate, AA};
use super::thresholds::{Mode, Thresholds};
use crate::metrics::results::Results;

/// One row of the paired table.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedPowerRow {
    pub label: String,
    pub pairs: usize,
    /// Pairs each mode called a regression: [normal, gross].
    pub flagged: [usize; 2],
    /// Pairs `check --paired` refused (counted, never dropped silently).
    pub unusable: usize,
    /// Median over the runs of the median per-round CPU ratio B/A.
    pub cpu_ratio: Option<f64>,
    /// Median over the runs of the SD of the per-round CPU ratios.
    pub ratio_sd: Option<f64>,
    /// How often each figure was the one flagged, under `--gross` (a run can flag several):
    /// on the A/A row this says where false alarms come from.
    pub flagged_figures: std::collections::BTreeMap<String, usize>,
}

/// The whole table with where it was measured.
#[derive(Clone, Debug)]
pub struct PairedPowerTable {
    pub rows: Vec<PairedPowerRow>,
    pub setting: String,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(super::stats::median(v))
}

/// The SD of the finite per-round CPU ratios of one paired run (first model).
fn cpu_ratio_stats(r: &Results) -> Option<(f64, f64)> {
    let pm = r.paired.as_ref()?.models.first()?;
    let cpu = pm.ratios.iter().find(|x| x.figure == "cpu.percent")?;
    let v: Vec<f64> = cpu.per_round.iter().flatten().copied().collect();
    if v.len() < 2 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    Some((cpu.ratio?.mid, var.sqrt()))
}

fn row_of(label: &str, files: &[PathBuf], thresholds: &Thresholds) -> PairedPowerRow {
    let mut row = PairedPowerRow {
        label: label.into(),
        pairs: files.len(),
        flagged: [0; 2],
        unusable: 0,
        cpu_ratio: None,
        ratio_sd: None,
        flagged_figures: Default::default(),
    };
    let (mut ratios, mut sds) = (Vec::new(), Vec::new());
    for f in files {
        if let Some((m, sd)) = Results::load(f).ok().as_ref().and_then(cpu_ratio_stats) {
            ratios.push(m);
            sds.push(sd);
        }
        let mut usable = true;
        for (i, mode) in [Mode::Normal, Mode::Gross].into_iter().enumerate() {
            let opts = Options {
                thresholds: thresholds.clone(),
                mode,
                allow_missing_models: false,
                allow_mixed: false,
            };
            match super::paired::check(f, &opts) {
                Ok(o) => {
                    row.flagged[i] += (o.exit_code() == 1) as usize;
                    if mode == Mode::Gross {
                        for r in o.rows.iter().filter(|r| r.verdict == Verdict::Regressed) {
                            *row.flagged_figures.entry(r.metric.clone()).or_default() += 1;
                        }
                    }
                }
                Err(_) => usable = false,
            }
        }
        row.unusable += (!usable) as usize;
    }
    row.cpu_ratio = median(&mut ratios);
    row.ratio_sd = median(&mut sds);
    row
}

fn files_of(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    Ok(v)
}

/// Builds the table from `dir`.
pub fn table(dir: &Path, thresholds: &Thresholds) -> Result<PairedPowerTable> {
    let aa = files_of(&dir.join(AA)).with_context(|| {
        format!(
            "{} needs an {AA}/ directory of A/A paired runs",
            dir.display()
        )
    })?;
    if aa.is_empty() {
        bail!("{}/{AA} holds no paired runs", dir.display());
    }
    let first = super::paired::split(&aa[0]).context("the first A/A run")?;
    let r = &first.1;
    let setting = format!(
        "Measured on {} ({}, {} logical cores), esbench {}: scenario `{}`, model {}, {} s \
         measured per side in {} rounds{}.",
        r.machine.hostname,
        r.machine.cpu_model,
        r.machine.logical_cores,
        r.esbench_version,
        r.scenario.name,
        first
            .0
            .models
            .iter()
            .map(|m| m.model.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        r.scenario.duration_s,
        r.rounds.as_ref().map_or(0, |p| p.count),
        if r.scenario.quick { " (--quick)" } else { "" }
    );
    let mut rows = vec![row_of("none (A/A: false alarms)", &aa, thresholds)];
    let mut groups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        // `.run` and other dot-directories are the script's scratch, not a row.
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n != AA && !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    groups.sort();
    for g in groups {
        let label = g.file_name().unwrap().to_string_lossy().into_owned();
        rows.push(row_of(
            &format!("`{label}` on side B"),
            &files_of(&g)?,
            thresholds,
        ));
    }
    Ok(PairedPowerTable { rows, setting })
}

impl PairedPowerTable {
    /// The Markdown table.
    pub fn render(&self) -> String {
        let mut s = format!("{}\n\n", self.setting);
        s += "| side B | pairs | CPU ratio B/A (median) | per-round ratio SD (median) | \
              `check --paired --gross` flags | `check --paired` (normal) flags | \
              flagged by (`--gross`) |\n\
              |---|---|---|---|---|---|---|\n";
        for r in &self.rows {
            let judged = r.pairs - r.unusable;
            let pairs = if r.unusable > 0 {
                format!("{} ({} unusable)", r.pairs, r.unusable)
            } else {
                r.pairs.to_string()
            };
            let by: Vec<String> = r
                .flagged_figures
                .iter()
                .map(|(f, n)| format!("`{f}` {n}"))
                .collect();
            s += &format!(
                "| {} | {pairs} | {} | {} | {} | {} | {} |\n",
                r.label,
                r.cpu_ratio.map_or("-".into(), |x| format!("×{x:.3}")),
                r.ratio_sd.map_or("-".into(), |x| format!("{x:.3}")),
                rate(r.flagged[1], judged),
                rate(r.flagged[0], judged),
                if by.is_empty() {
                    "-".into()
                } else {
                    by.join(", ")
                },
            );
        }
        s += "\nRates with their 95 % Wilson intervals. On the A/A row a flag is a false alarm; \
              on the others it is a detection.\n";
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` paired runs into `dir/group/00k.json`, side B's per-round CPU = A's × `factor`
    /// × a ±2 % wobble, on a machine drifting ±30 % between rounds.
    fn runs(dir: &Path, group: &str, factor: f64, n: usize) {
        let a = [1.0, 1.4, 0.8, 1.2, 0.9, 1.3, 1.1, 0.85];
        std::fs::create_dir_all(dir.join(group)).unwrap();
        for k in 0..n {
            let b: Vec<f64> = a
                .iter()
                .enumerate()
                .map(|(i, x)| x * factor * (1.0 + 0.02 * (((i + k) % 3) as f64 - 1.0)))
                .collect();
            let tmp = tempfile::tempdir().unwrap();
            let f = super::super::paired::tests::file(tmp.path(), &a, &b);
            std::fs::rename(f, dir.join(group).join(format!("{k:03}.json"))).unwrap();
        }
    }

    #[test]
    fn the_table_counts_false_alarms_detections_and_what_flagged_them() {
        let dir = tempfile::tempdir().unwrap();
        runs(dir.path(), AA, 1.0, 3);
        runs(dir.path(), "frame-cpu=50us", 1.5, 2);
        std::fs::create_dir_all(dir.path().join(".run")).unwrap();
        let t = table(dir.path(), &Thresholds::default()).unwrap();
        assert_eq!(t.rows.len(), 2, "the scratch .run directory is not a row");
        let (aa, burn) = (&t.rows[0], &t.rows[1]);
        assert_eq!((aa.pairs, aa.flagged, aa.unusable), (3, [0, 0], 0));
        assert!(aa.flagged_figures.is_empty());
        assert_eq!((burn.pairs, burn.flagged), (2, [2, 2]));
        assert_eq!(burn.flagged_figures.get("cpu.percent"), Some(&2));
        assert!((burn.cpu_ratio.unwrap() - 1.5).abs() < 0.05);
        let md = t.render();
        assert!(md.contains("| `frame-cpu=50us` on side B | 2 |"), "{md}");
        assert!(md.contains("`cpu.percent` 2"), "{md}");
    }

    #[test]
    fn a_directory_without_a_a_runs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = format!(
            "{:#}",
            table(dir.path(), &Thresholds::default()).unwrap_err()
        );
        assert!(e.contains("a-a"), "{e}");
    }
}
