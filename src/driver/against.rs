//! Paired runs (`esbench run --against OTHER_EXE`): every selected model becomes two rows of
//! the same rounds, `<model>@A` served by OTHER_EXE's `serve` and `<model>@B` by this build,
//! so both builds are measured in the same shuffled, interleaved rounds with the same
//! settings, floor and driver. The rows are ordinary rows whose child is another executable
//! (as the hidden `--variant` rows are rows whose child has other faults); at the end the
//! run's `paired` section names the sides and records the per-round ratios B/A
//! (`metrics::paired`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::row::{Row, RowChild};
use crate::bridge::inject::Fault;
use crate::metrics::paired::{row_name, Paired, Side, SIDE_A, SIDE_B};
use crate::metrics::results::Results;

/// What side A runs, and the faults of side B only.
#[derive(Clone, Debug, PartialEq)]
pub struct Against {
    /// The other executable (side A), resolved.
    pub exe: PathBuf,
    /// What `EXE --version` printed (first line), when it answered.
    pub version: Option<String>,
    /// Faults injected into side B's rows only (`--inject-b`), to measure the paired gate's
    /// power; recorded in `Results::injected`.
    pub faults_b: Vec<Fault>,
}

impl Against {
    /// Checks OTHER_EXE: it must be an executable file that answers `--version` (an esbench,
    /// or anything that accepts esbench's `serve` arguments and says what it is).
    pub fn new(exe: &Path, faults_b: Vec<Fault>) -> Result<Against, String> {
        let resolved =
            std::fs::canonicalize(exe).map_err(|e| format!("--against {}: {e}", exe.display()))?;
        let meta = std::fs::metadata(&resolved)
            .map_err(|e| format!("--against {}: {e}", exe.display()))?;
        use std::os::unix::fs::PermissionsExt;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(format!(
                "--against {}: not an executable file (give the other build's esbench binary)",
                exe.display()
            ));
        }
        Ok(Against {
            version: version_of(&resolved),
            exe: resolved,
            faults_b,
        })
    }

    /// The rows of a paired run of `models`, A before B for each (the rounds shuffle them).
    pub fn rows(&self, models: &[String], this_exe: &Path) -> Vec<Row> {
        let serve = |exe: &Path, model: &str| RowChild::Serve {
            exe: exe.to_path_buf(),
            model: model.to_string(),
        };
        models
            .iter()
            .flat_map(|m| {
                [
                    Row {
                        name: row_name(m, SIDE_A),
                        child: serve(&self.exe, m),
                        faults: Vec::new(),
                    },
                    Row {
                        name: row_name(m, SIDE_B),
                        child: serve(this_exe, m),
                        faults: self.faults_b.clone(),
                    },
                ]
            })
            .collect()
    }

    /// The specs recorded in `Results::injected` for side B's faults.
    pub fn injected(&self) -> Vec<String> {
        self.faults_b
            .iter()
            .map(|f| format!("side B only: {f}"))
            .collect()
    }

    /// The note a paired run carries.
    pub fn note(&self, this_exe: &Path) -> String {
        format!(
            "paired run: every model measured twice per round, side A by {}{} and side B by \
             this build ({}); rows <model>@A and <model>@B",
            self.exe.display(),
            self.version
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default(),
            this_exe.display()
        )
    }

    /// The `paired` section for `results` (after every row is merged).
    pub fn section(&self, results: &Results, models: &[String], this_exe: &Path) -> Paired {
        let mut p = Paired {
            a: Side {
                label: SIDE_A.into(),
                exe: self.exe.display().to_string(),
                version: self.version.clone(),
            },
            b: Side {
                label: SIDE_B.into(),
                exe: this_exe.display().to_string(),
                version: Some(format!("esbench {}", env!("CARGO_PKG_VERSION"))),
            },
            models: Vec::new(),
        };
        p.fill(results, models);
        p
    }
}

/// The first line `exe --version` prints within two seconds; `None` when it does not answer.
fn version_of(exe: &Path) -> Option<String> {
    let mut child = Command::new(exe)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pair_every_model_and_fault_only_side_b() {
        let me = std::env::current_exe().unwrap();
        let fault = Fault::parse("frame-cpu=30us").unwrap();
        let a = Against::new(&me, vec![fault]).unwrap();
        let rows = a.rows(&["threads".into(), "coop".into()], Path::new("/b/esbench"));
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["threads@A", "threads@B", "coop@A", "coop@B"]);
        assert_eq!(rows[0].child.serve_exe(), Some(a.exe.as_path()));
        assert_eq!(rows[1].child.serve_exe(), Some(Path::new("/b/esbench")));
        assert_eq!(rows[1].child.model(), "threads");
        assert!(rows[0].faults.is_empty());
        assert_eq!(rows[1].faults, vec![fault]);
        assert_eq!(
            a.injected(),
            vec!["side B only: frame-cpu=30us".to_string()]
        );
    }

    #[test]
    fn what_cannot_serve_is_refused() {
        let e = Against::new(Path::new("/no/such/esbench"), Vec::new()).unwrap_err();
        assert!(e.contains("/no/such/esbench"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("not-exec");
        std::fs::write(&plain, "x").unwrap();
        let e = Against::new(&plain, Vec::new()).unwrap_err();
        assert!(e.contains("not an executable"), "{e}");
        let e = Against::new(dir.path(), Vec::new()).unwrap_err();
        assert!(e.contains("not an executable"), "{e}");
    }
}
