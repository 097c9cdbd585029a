//! The regression gate end to end, both ways: real `esbench run`s of one model, compared by
//! `esbench check --gross` (the CI mode). The same build against itself must pass; the same
//! build with 20 ms of busy work injected into every `/poll` (`workload.poll_work_us`) must
//! fail with exit 1 and name the model and the metric.
//!
//! The injected cost is ~100x the normal poll latency and ~60 % of a core, far beyond the
//! gross (3x) band, so the verdict does not depend on how noisy the machine is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MODEL: &str = "threads";

fn scenario(dir: &Path, poll_work_us: u64) -> PathBuf {
    // Same name for both, so check accepts them as the same scenario; only the knob differs.
    let sub = dir.join(format!("work-{poll_work_us}"));
    std::fs::create_dir_all(&sub).unwrap();
    let p = sub.join("gate.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"gate\"\n\
             description = \"check_gate test: one board, one client, short\"\n\
             [workload]\npoll_work_us = {poll_work_us}\n\
             [run]\nwarmup_s = 0.5\nduration_s = 2.5\nquick_duration_s = 2.5\nmodels = [\"{MODEL}\"]\n"
        ),
    )
    .unwrap();
    p
}

fn esbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esbench"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One run of `scenario` into `out`; returns the results file.
fn run(scenario: &Path, out: &Path) -> PathBuf {
    let o = esbench(&[
        "run",
        scenario.to_str().unwrap(),
        "--models",
        MODEL,
        "--out",
        out.to_str().unwrap(),
        "--no-history",
        "--no-report",
    ]);
    let results = out.join("results.json");
    assert!(
        results.is_file(),
        "esbench run wrote no results (exit {:?}):\n{}\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    results
}

#[test]
fn gate_passes_the_same_build_and_fails_an_injected_regression() {
    let dir = tempfile::tempdir().unwrap();
    let plain = scenario(dir.path(), 0);
    let slow = scenario(dir.path(), 20_000);
    let base = run(&plain, &dir.path().join("base"));
    let same = run(&plain, &dir.path().join("same"));
    let injected = run(&slow, &dir.path().join("injected"));
    let (b, s, i) = (
        base.to_str().unwrap(),
        same.to_str().unwrap(),
        injected.to_str().unwrap(),
    );

    let o = esbench(&["check", "--gross", "--baseline", b, "--current", s]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "same build must pass:\n{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );

    let o = esbench(&["check", "--gross", "--baseline", b, "--current", i]);
    let err = text(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "injected regression must fail:\n{}{err}",
        text(&o.stdout)
    );
    assert!(
        err.contains(&format!("{MODEL} poll_latency.p50")),
        "the verdict must name the model and metric: {err}"
    );
}
