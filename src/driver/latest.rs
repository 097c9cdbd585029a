//! `reports/latest`: a relative symlink to the newest run directory under `reports/`, so a
//! user (or a script) can open `reports/latest/index.html` without looking up a timestamp.
//!
//! Only runs written directly under the reports directory move it (the default
//! `reports/<UTC timestamp>`, or `--out reports/NAME`): a run sent elsewhere with `--out` is
//! somebody's experiment and must not change what "latest" means for `reports/`. The link is
//! replaced atomically (a temp symlink renamed over it), so a reader never finds it missing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The reports directory `esbench run` writes to by default (relative to the working dir).
pub const REPORTS_DIR: &str = "reports";
/// The link's name inside the reports directory.
pub const LATEST: &str = "latest";

/// Points `reports_dir/latest` at `run_dir` when `run_dir` is a directory directly inside
/// `reports_dir`; returns the link's path, or `None` when the run was written elsewhere.
pub fn update_latest(reports_dir: &Path, run_dir: &Path) -> Result<Option<PathBuf>> {
    let (Ok(reports), Ok(run)) = (reports_dir.canonicalize(), run_dir.canonicalize()) else {
        return Ok(None);
    };
    let Some(name) = run.file_name() else {
        return Ok(None);
    };
    if run.parent() != Some(reports.as_path()) || name == LATEST || !run.is_dir() {
        return Ok(None);
    }
    let link = reports_dir.join(LATEST);
    if let Ok(meta) = std::fs::symlink_metadata(&link) {
        if !meta.file_type().is_symlink() {
            bail!(
                "{} exists and is not a symlink; move it away so it can point at the newest run",
                link.display()
            );
        }
    }
    let tmp = reports_dir.join(format!(".{LATEST}.tmp.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp)
        .with_context(|| format!("cannot create the symlink {}", tmp.display()))?;
    if let Err(e) = std::fs::rename(&tmp, &link) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot replace {}", link.display()));
    }
    Ok(Some(link))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_the_newest_run_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        let first = reports.join("20261122-100000");
        let second = reports.join("20261122-110000");
        std::fs::create_dir_all(&first).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        std::fs::write(second.join("results.json"), "{}").unwrap();

        let link = update_latest(&reports, &first).unwrap().unwrap();
        assert_eq!(link, reports.join("latest"));
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("20261122-100000")
        );
        update_latest(&reports, &second).unwrap();
        // Relative, so the reports directory can be moved or copied with its link.
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("20261122-110000")
        );
        assert!(link.join("results.json").is_file());
        // No temp link left behind.
        let names: Vec<_> = std::fs::read_dir(&reports)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn runs_elsewhere_leave_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        std::fs::create_dir_all(reports.join("20261122-100000")).unwrap();
        update_latest(&reports, &reports.join("20261122-100000")).unwrap();
        let elsewhere = dir.path().join("smoke");
        let nested = reports.join("a/b");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(update_latest(&reports, &elsewhere).unwrap(), None);
        assert_eq!(update_latest(&reports, &nested).unwrap(), None);
        // `--out reports/latest` writes into the run it points at: the link stays.
        update_latest(&reports, &reports.join("latest")).unwrap();
        assert_eq!(
            std::fs::read_link(reports.join("latest")).unwrap(),
            Path::new("20261122-100000")
        );
        // No reports directory at all: nothing to do.
        assert_eq!(
            update_latest(&dir.path().join("none"), &elsewhere).unwrap(),
            None
        );
    }

    #[test]
    fn a_real_directory_named_latest_is_not_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        std::fs::create_dir_all(reports.join("latest")).unwrap();
        std::fs::create_dir_all(reports.join("20261122-100000")).unwrap();
        let e = update_latest(&reports, &reports.join("20261122-100000")).unwrap_err();
        assert!(format!("{e:#}").contains("not a symlink"), "{e:#}");
        assert!(reports.join("latest").is_dir());
    }
}
