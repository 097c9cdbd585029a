//! `esbench run` as a user meets it, through the real binary: nonsense durations are refused
//! with the accepted range, a run whose stderr is not a terminal prints plain progress lines,
//! `reports/latest` points at the newest run directory, and the measurement variants
//! (`run.send_spin_us`, `run.smol_block_on`) come from the scenario or the options.

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

#[test]
fn the_measurement_variants_come_from_the_scenario_or_the_command_line_never_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("variants.toml");
    std::fs::write(
        &scenario,
        "name = \"variants\"\n\
         [run]\nwarmup_s = 0.3\nduration_s = 0.5\nrounds = 1\nmodels = [\"smol\"]\n\
         send_spin_us = 0\nsmol_block_on = \"futures-lite\"\n",
    )
    .unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--no-history",
            "--no-report",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        // The variables that used to switch these are set the other way: they must not count.
        let o = common::esbench()
            .current_dir(dir.path())
            .env("ESBENCH_SMOL_BLOCK_ON", "async-io")
            .env("ESBENCH_SEND_SPIN_US", "500")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        esbench::metrics::results::Results::load(&dir.path().join(out).join("results.json"))
            .unwrap()
    };
    let seen = |r: &esbench::metrics::results::Results| {
        let s = r.settings.clone().expect("settings recorded");
        let m = r.model("smol").unwrap();
        let block_on = m.runtime.as_ref().unwrap()["block_on"]
            .as_str()
            .unwrap()
            .to_string();
        (
            s.send_spin_us,
            s.smol_block_on,
            m.driver.spin_margin_us,
            block_on,
        )
    };
    let r = run("from-scenario", &[]);
    assert_eq!(
        seen(&r),
        (0, "futures-lite".into(), 0, "futures-lite".into())
    );
    let r = run(
        "from-options",
        &["--send-spin-us", "300", "--smol-block-on", "async-io"],
    );
    assert_eq!(seen(&r), (300, "async-io".into(), 300, "async-io".into()));

    for bad in [
        &["--send-spin-us", "10001"][..],
        &["--send-spin-us", "-1"],
        &["--smol-block-on", "futures_lite"],
    ] {
        let o = esbench(dir.path(), &[&["run", "--no-history"], bad].concat());
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(
            text(&o.stderr).contains(bad[0]),
            "{bad:?}: {}",
            text(&o.stderr)
        );
    }
}
