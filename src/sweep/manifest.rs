//! `sweep.json`: which knob was swept, over which values, and where each point's results.json
//! is. It repeats nothing those files hold (figures, scenario text, machine); it only says
//! what the sweep tried and how each attempt ended, so a failed point is still on record.
//!
//! The file is rewritten atomically after every point, so Ctrl-C or a crash leaves a
//! manifest that lists exactly what was measured.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::metrics::results::{write_atomic, Results};

/// Schema identifier of `sweep.json`.
pub(crate) const SWEEP_SCHEMA: &str = "esbench.sweep/1";

/// The whole sweep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    pub schema: String,
    /// The base scenario file, as given on the command line.
    pub scenario: String,
    /// The swept dotted key, e.g. `clients.per_board`.
    pub key: String,
    /// Its values, in the order they run (as typed by the user).
    pub values: Vec<String>,
    /// Knobs held fixed for every point (`--with`), applied before the swept one.
    #[serde(default)]
    pub fixed: Vec<Setting>,
    /// One entry per value, same order.
    pub points: Vec<Point>,
    /// How every point is run, kept so `--resume` runs the missing points the same way.
    #[serde(default)]
    pub options: SweepOptions,
    /// The command line that made the sweep, to repeat it.
    #[serde(default)]
    pub command: Vec<String>,
    /// Things a reader should know (e.g. "interrupted by Ctrl-C").
    #[serde(default)]
    pub notes: Vec<String>,
    /// Set for `--until-knee`: the sweep grows by doubling its last value until every model
    /// has broken or a limit stops it; `values` and `points` hold what was reached so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_knee: Option<UntilKnee>,
}

/// The limits of an `--until-knee` sweep and why it stopped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UntilKnee {
    /// No value above this is run.
    pub max_value: u64,
    /// No point is started that would end past this many seconds of measuring (summed over
    /// the sessions of a resumed sweep).
    pub max_wall_s: f64,
    /// Seconds spent measuring points so far.
    #[serde(default)]
    pub elapsed_s: f64,
    /// Why the sweep stopped growing; None while it may still grow (running, interrupted).
    #[serde(default)]
    pub stopped: Option<String>,
}

/// The run options of every point (what `esbench run` would be given).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepOptions {
    /// `--models`; empty = the scenario's list, else all.
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub quick: bool,
    /// `--duration`, in seconds.
    #[serde(default)]
    pub duration_s: Option<f64>,
    #[serde(default)]
    pub pin: bool,
    #[serde(default)]
    pub point_reports: bool,
}

/// A `key = value` override.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
}

/// How one point ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointStatus {
    /// Not attempted (yet, or the sweep was interrupted first).
    #[default]
    NotRun,
    /// The run finished and wrote its results (single models may still have failed; their
    /// rows in results.json say so).
    Done,
    /// Ctrl-C arrived during this point: its results hold the models measured before it.
    Interrupted,
    /// The run itself could not be done; `error` says why.
    Failed,
}

/// One value of the knob.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub value: String,
    pub status: PointStatus,
    /// Path of the point's results.json relative to sweep.json, once it exists.
    #[serde(default)]
    pub results: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SweepManifest {
    /// A fresh manifest with every point not run yet.
    pub fn new(scenario: &str, key: &str, values: &[String], fixed: &[Setting]) -> Self {
        SweepManifest {
            schema: SWEEP_SCHEMA.into(),
            scenario: scenario.into(),
            key: key.into(),
            values: values.to_vec(),
            fixed: fixed.to_vec(),
            points: values
                .iter()
                .map(|v| Point {
                    value: v.clone(),
                    ..Point::default()
                })
                .collect(),
            options: SweepOptions::default(),
            command: Vec::new(),
            notes: Vec::new(),
            until_knee: None,
        }
    }

    /// Appends a value (an `--until-knee` step) as a point not run yet.
    pub(crate) fn push_value(&mut self, value: &str) {
        self.values.push(value.to_string());
        self.points.push(Point {
            value: value.to_string(),
            ..Point::default()
        });
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &serde_json::to_vec_pretty(self)?)
    }

    /// Reads and checks a sweep.json, with errors that name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read sweep file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("{} is not a usable sweep.json", path.display()))
    }

    pub(crate) fn parse(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SWEEP_SCHEMA) => {}
            Some(s) if s.starts_with("esbench.results/") => {
                bail!("this is a results.json, not a sweep.json (use `esbench report` for it)")
            }
            Some(s) => bail!("schema {s:?} is not supported (this esbench reads {SWEEP_SCHEMA})"),
            None => bail!("no \"schema\" field: this is not an esbench sweep.json"),
        }
        let m: SweepManifest =
            serde_json::from_value(value).context("fields do not match the sweep schema")?;
        if m.points.len() != m.values.len()
            || m.points.iter().zip(&m.values).any(|(p, v)| &p.value != v)
        {
            bail!("`points` do not match `values` one to one");
        }
        for p in &m.points {
            if let Some(r) = &p.results {
                let rel = Path::new(r);
                if rel.is_absolute() || rel.components().any(|c| c.as_os_str() == "..") {
                    bail!(
                        "point {}: results path {r:?} must stay inside the sweep directory",
                        p.value
                    );
                }
            }
        }
        Ok(m)
    }
}

/// The directory name of a point: `<key>=<value>`, with anything a file name should not hold
/// replaced by `_` (values are user text).
pub fn point_dir_name(key: &str, value: &str) -> String {
    format!("{key}={value}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._=+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A point with its results loaded (when there are any).
#[derive(Clone, Debug)]
pub struct LoadedPoint {
    pub value: String,
    pub status: PointStatus,
    pub results: Option<Results>,
    /// Why there are no (or only partial) results: the run's error, or a results file that
    /// could not be read.
    pub problem: Option<String>,
    /// The point's directory relative to sweep.json (for links), when it has results.
    pub dir: Option<PathBuf>,
}

/// A manifest and every point's results, ready to render. A results file that cannot be read
/// turns into a problem on its point, never into a failed rendering.
#[derive(Clone, Debug)]
pub struct LoadedSweep {
    pub manifest: SweepManifest,
    pub points: Vec<LoadedPoint>,
}

impl LoadedSweep {
    /// Loads the results of `manifest`, whose sweep.json lives in `dir`.
    pub fn load(manifest: SweepManifest, dir: &Path) -> LoadedSweep {
        let points = manifest
            .points
            .iter()
            .map(|p| {
                let mut problem = p.error.clone();
                let mut results = None;
                if let Some(rel) = &p.results {
                    match Results::load(&dir.join(rel)) {
                        Ok(r) => results = Some(r),
                        Err(e) => problem = Some(format!("{e:#}")),
                    }
                }
                LoadedPoint {
                    value: p.value.clone(),
                    status: p.status.clone(),
                    dir: p
                        .results
                        .as_ref()
                        .and_then(|r| Path::new(r).parent().map(Path::to_path_buf)),
                    results,
                    problem,
                }
            })
            .collect();
        LoadedSweep { manifest, points }
    }

    /// Model names in the order they first appear (their colour index in every plot).
    pub fn models(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for r in self.points.iter().filter_map(|p| p.results.as_ref()) {
            for m in &r.models {
                if !names.contains(&m.name) {
                    names.push(m.name.clone());
                }
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = SweepManifest::new(
            "scenarios/classroom.toml",
            "clients.per_board",
            &["1".into(), "2".into()],
            &[],
        );
        m.points[0].status = PointStatus::Done;
        m.points[0].results = Some("clients.per_board=1/results.json".into());
        let p = dir.path().join("sweep.json");
        m.save(&p).unwrap();
        assert_eq!(SweepManifest::load(&p).unwrap(), m);

        let e = SweepManifest::parse("{\"schema\":\"esbench.results/1\"}").unwrap_err();
        assert!(format!("{e:#}").contains("results.json"), "{e:#}");
        let e = SweepManifest::parse("[1").unwrap_err();
        assert!(format!("{e:#}").contains("not valid JSON"));
        let mut bad = m.clone();
        bad.points.pop();
        let e = SweepManifest::parse(&serde_json::to_string(&bad).unwrap()).unwrap_err();
        assert!(format!("{e:#}").contains("one to one"));
        let mut bad = m.clone();
        bad.points[0].results = Some("../../etc/results.json".into());
        let e = SweepManifest::parse(&serde_json::to_string(&bad).unwrap()).unwrap_err();
        assert!(format!("{e:#}").contains("inside the sweep directory"));
    }

    #[test]
    fn missing_results_become_a_problem_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = SweepManifest::new("s.toml", "boards.count", &["1".into()], &[]);
        m.points[0].status = PointStatus::Done;
        m.points[0].results = Some("boards.count=1/results.json".into());
        let l = LoadedSweep::load(m, dir.path());
        assert!(l.points[0].results.is_none());
        assert!(l.points[0]
            .problem
            .as_deref()
            .unwrap()
            .contains("cannot read"));
    }

    #[test]
    fn directory_names_are_safe() {
        assert_eq!(
            point_dir_name("clients.per_board", "16"),
            "clients.per_board=16"
        );
        assert_eq!(
            point_dir_name("boards.recording", "../x y.esrec"),
            "boards.recording=.._x_y.esrec"
        );
    }
}
