//! Where a baseline was measured, so `check` can say loudly when it compares runs from
//! another machine or another esbench: the gate's bands are sized for one machine type, and
//! a baseline from a faster host makes every model look slower.
//!
//! `scripts/update-baseline.sh` writes [`FILE`] beside the baseline's results files (with
//! `esbench check --record-provenance DIR`), taking every field from the results themselves
//! so it says what the runs saw, not what the script guessed. A baseline directory without
//! the file (made before it existed) falls back to the machine its results files recorded.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::metrics::results::Results;

/// The file's name inside a baseline directory (TOML, so `*.json` globs never take it for a
/// results file).
pub(crate) const FILE: &str = "provenance.toml";

/// The machine and build a set of runs came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Provenance {
    pub hostname: String,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub esbench_version: String,
    /// The commit the baseline's esbench was built from, when known.
    #[serde(default)]
    pub commit: Option<String>,
    /// True when that esbench was built from a tree with uncommitted changes (the commit
    /// then does not identify its code). Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dirty: bool,
    #[serde(default)]
    pub kernel: String,
    /// The scenario the runs measured, and how many runs there are.
    #[serde(default)]
    pub scenario: String,
    #[serde(default)]
    pub runs: usize,
    /// Wall-clock start of the earliest run, seconds since the Unix epoch.
    #[serde(default)]
    pub measured_unix: f64,
}

impl Provenance {
    /// What one run says about where it was measured.
    fn of_run(r: &Results) -> Provenance {
        Provenance {
            hostname: r.machine.hostname.clone(),
            cpu_model: r.machine.cpu_model.clone(),
            logical_cores: r.machine.logical_cores,
            esbench_version: r.esbench_version.clone(),
            commit: r.commit.clone(),
            dirty: r.dirty_build(),
            kernel: r.machine.kernel.clone(),
            scenario: r.scenario.name.clone(),
            runs: 1,
            measured_unix: r.started_unix,
        }
    }

    /// The provenance of a set of runs; an error naming the file when they disagree on the
    /// machine or the esbench that measured them (a baseline must come from one of each).
    pub(crate) fn of_runs(runs: &[(PathBuf, Results)]) -> Result<Provenance> {
        let Some((first_path, first)) = runs.first() else {
            bail!("no results to record the provenance of");
        };
        let mut p = Provenance::of_run(first);
        for (path, r) in &runs[1..] {
            let o = Provenance::of_run(r);
            for ((what, a), (_, b)) in p.identity().into_iter().zip(o.identity()) {
                if a != b {
                    bail!(
                        "{} and {} were measured with different {what} ({a:?} and {b:?}); \
                         a baseline must come from one machine and one esbench",
                        first_path.display(),
                        path.display()
                    );
                }
            }
            p.measured_unix = p.measured_unix.min(o.measured_unix);
            p.dirty |= o.dirty;
        }
        p.runs = runs.len();
        Ok(p)
    }

    /// The fields a baseline must share with the runs compared against it.
    fn identity(&self) -> [(&'static str, String); 4] {
        [
            ("hostname", self.hostname.clone()),
            ("CPU model", self.cpu_model.clone()),
            ("logical core count", self.logical_cores.to_string()),
            ("esbench version", self.esbench_version.clone()),
        ]
    }

    pub(crate) fn load(path: &Path) -> Result<Provenance> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline provenance {}", path.display()))?;
        toml::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid baseline provenance file (re-make it with \
                 esbench check --record-provenance DIR)",
                path.display()
            )
        })
    }

    /// Writes `dir/provenance.toml` atomically.
    pub(crate) fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(FILE);
        let text = format!(
            "# Where the baseline in this directory was measured. Written by \
             scripts/update-baseline.sh\n# (esbench check --record-provenance); esbench check \
             warns when the runs it compares\n# against this baseline come from another \
             machine or esbench version.\n{}",
            toml::to_string(self)?
        );
        crate::metrics::results::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }
}

/// Records where `dir`'s results files were measured in `dir/provenance.toml`.
pub fn record(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!("{} is not a directory of baseline results", dir.display());
    }
    let runs = super::load_all(&[dir.to_path_buf()])?;
    Provenance::of_runs(&runs)?.write(dir)
}

/// What `check` says about where the baseline came from: loud warnings (the baseline was
/// measured elsewhere) and quiet notes (no provenance file, so the results' own record was
/// used).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Origin {
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Compares the baseline's provenance with what every current run recorded. The provenance
/// is `DIR/provenance.toml` when the baseline was given as a directory that has one, else
/// what the baseline's first results file recorded (with a note, once, for a directory that
/// has no file).
pub(crate) fn origin(
    baseline_paths: &[PathBuf],
    baseline: &[(PathBuf, Results)],
    current: &[(PathBuf, Results)],
) -> Result<Origin> {
    let mut out = Origin::default();
    let mut recorded = None;
    for dir in baseline_paths.iter().filter(|p| p.is_dir()) {
        let file = dir.join(FILE);
        if file.is_file() {
            recorded.get_or_insert((file.clone(), Provenance::load(&file)?));
        } else {
            out.notes.push(format!(
                "{} has no {FILE} (made before scripts/update-baseline.sh recorded it): \
                 checked the machine its results files recorded instead",
                dir.display()
            ));
        }
    }
    out.warnings
        .extend(dirty_warnings(baseline.iter().chain(current)));
    let (source, base) = match recorded {
        Some((file, p)) => (file.display().to_string(), p),
        None => match baseline.first() {
            Some((path, r)) => (path.display().to_string(), Provenance::of_run(r)),
            None => return Ok(out),
        },
    };
    if base.dirty && !baseline.iter().any(|(_, r)| r.dirty_build()) {
        out.warnings.push(format!(
            "{source} says the baseline was measured by a dirty build (uncommitted changes): \
             its commit does not identify the code that ran"
        ));
    }
    for (what, want) in base.identity() {
        let mut others: Vec<(String, &Path)> = Vec::new();
        for (path, r) in current {
            let got = Provenance::of_run(r)
                .identity()
                .into_iter()
                .find(|(w, _)| *w == what)
                .map(|(_, v)| v)
                .unwrap_or_default();
            if got != want && !others.iter().any(|(v, _)| *v == got) {
                others.push((got, path));
            }
        }
        for (got, path) in others {
            out.warnings.push(format!(
                "the baseline was measured with {what} {want:?} ({source}) but {} was \
                 measured with {got:?}: the verdicts compare two different setups",
                path.display()
            ));
        }
    }
    Ok(out)
}

/// One warning per results file measured by a dirty build.
fn dirty_warnings<'a>(runs: impl Iterator<Item = &'a (PathBuf, Results)>) -> Vec<String> {
    runs.filter(|(_, r)| r.dirty_build())
        .map(|(path, r)| {
            format!(
                "{} was measured by a dirty build of {} (uncommitted changes): its commit does \
                 not identify the code that ran",
                path.display(),
                r.commit.as_deref().unwrap_or("an unknown commit")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixtures::{fake_run, FakeModel};

    fn runs(n: u64) -> Vec<(PathBuf, Results)> {
        (0..n)
            .map(|s| {
                (
                    PathBuf::from(format!("r{s}.json")),
                    fake_run(s, 1.0, &[FakeModel::typical("threads")]),
                )
            })
            .collect()
    }

    #[test]
    fn round_trips_and_refuses_runs_from_two_machines() {
        let dir = tempfile::tempdir().unwrap();
        let mut rs = runs(2);
        rs[0].1.commit = Some("abc".into());
        let p = Provenance::of_runs(&rs).unwrap();
        assert_eq!(p.runs, 2);
        assert_eq!(p.commit.as_deref(), Some("abc"));
        let file = p.write(dir.path()).unwrap();
        assert_eq!(Provenance::load(&file).unwrap(), p);
        rs[1].1.machine.cpu_model = "Other CPU".into();
        let e = Provenance::of_runs(&rs).unwrap_err();
        assert!(format!("{e:#}").contains("different CPU model"), "{e:#}");
        std::fs::write(&file, "hostname = 3\n").unwrap();
        let e = Provenance::load(&file).unwrap_err();
        assert!(format!("{e:#}").contains("provenance.toml"), "{e:#}");
    }

    #[test]
    fn a_dirty_build_is_named_by_check_and_recorded_in_the_provenance() {
        let dir = tempfile::tempdir().unwrap();
        let base = runs(2);
        let mut cur = runs(1);
        assert!(origin(&[], &base, &cur).unwrap().warnings.is_empty());
        cur[0].1.build = Some(crate::build_info::Build {
            commit: Some("abc".into()),
            dirty: true,
            features: vec![],
        });
        cur[0].1.commit = Some("abc".into());
        let o = origin(&[], &base, &cur).unwrap();
        assert!(
            o.warnings
                .iter()
                .any(|w| w.contains("r0.json was measured by a dirty build of abc")),
            "{o:?}"
        );
        let p = Provenance::of_runs(&cur).unwrap();
        assert!(p.dirty);
        let file = p.write(dir.path()).unwrap();
        assert!(std::fs::read_to_string(&file)
            .unwrap()
            .contains("dirty = true"));
        assert_eq!(Provenance::load(&file).unwrap(), p);
        let clean = Provenance::of_runs(&base)
            .unwrap()
            .write(dir.path())
            .unwrap();
        assert!(!std::fs::read_to_string(clean).unwrap().contains("dirty"));
    }
}
