//! `esbench run` as a user meets it, through the real binary: nonsense durations are refused
//! with the accepted range, a run whose stderr is not a terminal prints plain progress lines,
//! and `reports/latest` points at the newest run directory.

use crate::common;

use crate::common::text;
use std::path::Path;
use std::process::Output;

fn esbench(cwd: &Path, args: &[&str]) -> Output {
    common::esbench()
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn nonsense_durations_are_refused_naming_the_range() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "-1", "NaN", "inf", "1e12", "10ms", "soon"] {
        let o = esbench(dir.path(), &["run", "--duration", bad, "--no-history"]);
        assert_eq!(o.status.code(), Some(2), "--duration {bad}");
        let err = text(&o.stderr);
        assert!(err.contains("--duration"), "{bad}: {err}");
        if bad != "soon" {
            assert!(err.contains("0.5 s to 86400 s"), "{bad}: {err}");
        }
    }
    // Nothing was run, so nothing was written.
    assert!(!dir.path().join("reports").exists());
}

#[test]
fn piped_run_prints_plain_progress_and_links_latest() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("short.toml");
    std::fs::write(
        &scenario,
        "name = \"short\"\n\
         description = \"run_cli test: one board, one client, very short\"\n\
         [run]\nwarmup_s = 0.5\nduration_s = 1.0\nquick_duration_s = 1.0\nmodels = [\"threads\"]\n",
    )
    .unwrap();
    // stdout and stderr are pipes here: no progress bar can draw.
    let o = esbench(
        dir.path(),
        &[
            "run",
            scenario.to_str().unwrap(),
            "--no-history",
            "--no-report",
        ],
    );
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("short: floor: "), "{err}");
    assert!(
        err.contains("[round 1/2, 1/1] threads: warm-up 0.5 s, measuring 0.5 s…"),
        "one second holds two rounds of 0.5 s: {err}"
    );
    assert!(
        err.contains("[round 2/2, 1/1] threads: done (CPU "),
        "{err}"
    );
    assert!(err.contains("in 2 round(s) of 0.5 s (seed "), "{err}");

    let reports = dir.path().join("reports");
    let link = reports.join("latest");
    let target = std::fs::read_link(&link).expect("reports/latest is a symlink");
    assert!(target.is_relative(), "{target:?}");
    assert!(reports.join(&target).join("results.json").is_file());
    assert!(link.join("results.json").is_file());
    assert!(out.contains("latest: reports/latest"), "{out}");

    // A run sent elsewhere with --out leaves the link alone.
    let o = esbench(
        dir.path(),
        &[
            "run",
            scenario.to_str().unwrap(),
            "--no-history",
            "--no-report",
            "--duration",
            "0.5",
            "--out",
            "elsewhere",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains("latest:"));
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
}
