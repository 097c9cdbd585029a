//! The run's hook for the valgrind instruction pass (`esbench run --valgrind`,
//! `crate::valgrind`): the check before the run that valgrind is there, and the pass over
//! the run's rows after the timed rounds.

use anyhow::{bail, Result};

use super::options::{RunOptions, ValgrindRun};
use super::progress::Progress;
use super::row::Row;
use crate::bridge::inject::Fault;
use crate::metrics::valgrind::{ValgrindReport, BRIDGE_NOT_MEASURED};
use crate::scenario::Scenario;

/// `valgrind --version` when the pass can run here; the error is one line.
pub fn check(opts: &RunOptions) -> Result<String> {
    if !opts.place.is_local() {
        bail!("--valgrind runs the models under valgrind on this machine: not with --target");
    }
    crate::valgrind::callgrind::available().map_err(|why| {
        anyhow::anyhow!(
            "--valgrind: {why}; install valgrind (e.g. `apt install valgrind`) or leave out \
             --valgrind"
        )
    })
}

/// The pass as the run configures it.
pub struct Pass {
    pub run: ValgrindRun,
    pub warmup_s: f64,
    pub out_dir: std::path::PathBuf,
    pub version: Option<String>,
}

impl Pass {
    /// Counts every row that is an esbench `serve` (with the run's and the row's bridge-side
    /// faults, so side B's `--inject-b` is in its pass too); an external bridge's row gets
    /// a report that says it was not measured. Returns (row name, report) per row.
    pub fn run(
        &self,
        rows: &[Row],
        run_faults: &[Fault],
        scenario: &Scenario,
        progress: &dyn Progress,
    ) -> Vec<(String, ValgrindReport)> {
        let targets: Vec<crate::valgrind::Target> = rows
            .iter()
            .filter_map(|row| {
                Some(crate::valgrind::Target {
                    name: row.name.clone(),
                    exe: row.child.serve_exe()?.to_path_buf(),
                    model: row.child.model().to_string(),
                    inject: run_faults
                        .iter()
                        .chain(&row.faults)
                        .filter(|f| f.is_bridge_side())
                        .map(|f| f.to_string())
                        .collect(),
                })
            })
            .collect();
        let opts = crate::valgrind::Options {
            window: std::time::Duration::from_secs_f64(self.run.window_s),
            passes: self.run.passes,
            warmup: std::time::Duration::from_secs_f64(self.warmup_s),
            out_dir: self.out_dir.clone(),
        };
        let reports = crate::valgrind::run(
            &targets,
            scenario,
            &opts,
            self.version.clone(),
            &|done, total, name| progress.valgrind_pass(done, total, name),
        );
        let mut out: Vec<(String, ValgrindReport)> = targets
            .iter()
            .map(|t| t.name.clone())
            .zip(reports)
            .collect();
        for row in rows.iter().filter(|r| r.child.serve_exe().is_none()) {
            out.push((
                row.name.clone(),
                ValgrindReport {
                    tool: crate::valgrind::callgrind::TOOL.into(),
                    window_s: self.run.window_s,
                    notes: vec![BRIDGE_NOT_MEASURED.into()],
                    ..ValgrindReport::default()
                },
            ));
        }
        out
    }
}
