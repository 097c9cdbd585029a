//! `esbench check`: is the current build slower than the baseline, beyond machine noise?
//!
//! Reads results files only (never runs anything): `metrics` says which figures are compared,
//! `stats` holds the seeded bootstrap, `compare` makes the verdicts, `thresholds` holds the
//! noise bands, `render` prints them. The rule is documented in `compare`.

pub(crate) mod compare;
pub(crate) mod export;
/// Synthetic results for the unit and integration tests: never in the shipped binary.
#[cfg(any(test, feature = "test-hooks"))]
pub mod fixtures;
pub(crate) mod metrics;
pub(crate) mod paired;
pub mod power;
pub(crate) mod power_paired;
pub mod provenance;
pub mod render;
pub(crate) mod stats;
pub(crate) mod thresholds;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub use compare::{compare, compare_view, Change, Options, Outcome, Row, Verdict, WithoutRounds};
pub use render::{render, Format};
pub use thresholds::{Band, Mode, Thresholds};

use crate::metrics::results::Results;

/// Expands `paths` (files, or directories meaning every `*.json` in them, sorted) and loads
/// each as results. Any unreadable or foreign file is an error naming it.
pub(crate) fn load_all(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Results)>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json") && f.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("{} holds no *.json results files", p.display());
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|f| {
            let r = Results::load(&f)?;
            if r.models.is_empty() {
                bail!("{} has no model results", f.display());
            }
            Ok((f, r))
        })
        .collect()
}

/// Loads both sides and compares them, with a warning for each way the baseline was
/// measured elsewhere (another machine or esbench version; see `provenance`).
pub fn check_files(baseline: &[PathBuf], current: &[PathBuf], opts: &Options) -> Result<Outcome> {
    let b = load_all(baseline).context("baseline")?;
    let c = load_all(current).context("current")?;
    let mut outcome = compare(&b, &c, opts)?;
    let origin = provenance::origin(baseline, &b, &c).context("baseline")?;
    outcome.warnings.extend(origin.warnings);
    outcome.notes.extend(origin.notes);
    for (side, runs) in [("baseline", &b), ("current", &c)] {
        for (p, _) in runs {
            let faults = injected(p)?;
            if !faults.is_empty() {
                outcome.warnings.push(format!(
                    "{side} run {} was made with injected faults ({}): it measures the fault, \
                     not the build",
                    p.display(),
                    faults.join(", ")
                ));
            }
        }
    }
    Ok(outcome)
}

/// The `injected` fault specs a results file recorded (`esbench run --inject`); empty for a
/// real measurement or a file from before the field existed.
pub(crate) fn injected(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read results file {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    Ok(v.get("injected")
        .and_then(|i| i.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default())
}

/// The options of the comparison view (`esbench report A B`): the default bands of a quiet
/// machine, and two runs that differ in models or settings are compared with a note rather
/// than refused (a report shows what it is given; `check` is the gate that refuses).
pub fn view_options() -> Options {
    Options {
        thresholds: Thresholds::default(),
        mode: Mode::Normal,
        allow_missing_models: true,
        allow_mixed: true,
    }
}

/// The default thresholds, or `path`'s laid over them.
pub(crate) fn thresholds_from(path: Option<&Path>) -> Result<Thresholds> {
    match path {
        Some(p) => Thresholds::load_over_defaults(p),
        None => Ok(Thresholds::default()),
    }
}
