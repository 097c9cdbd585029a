//! The regression gate end to end, both ways: real `esbench run`s of one model, compared by
//! `esbench check --gross` (the CI mode). The same build against itself must pass; the same
//! build with 20 ms of busy work injected into every `/poll` (`workload.poll_work_us`) must
//! fail with exit 1 and name the model and the metric; and so must the Ctrl-Z test: the
//! model's `esbench serve` child stopped (SIGSTOP) for 1.5 s inside the measured window.
//!
//! The injected cost is ~100x the normal poll latency and ~60 % of a core, and the freeze is
//! 3x the gross gate's 0.5 s stall floor, so the verdicts do not depend on how noisy the
//! machine is.

use crate::common;

use crate::common::text;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

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
             [run]\nwarmup_s = 0.5\nduration_s = 2.5\nquick_duration_s = 2.5\nmodels = [\"{MODEL}\"]\n\
             rounds = 1\n"
        ),
        // One round: `frozen_run` stops and resumes the one serve child of the window by pid.
    )
    .unwrap();
    p
}

fn esbench(args: &[&str]) -> Output {
    common::esbench().args(args).output().unwrap()
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
    let _alone = crate::serial();
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

/// The `esbench serve` child of the driver `pid` (the one model of the run), waiting for it
/// to be spawned.
fn serve_child(pid: u32) -> i32 {
    for _ in 0..2_000 {
        let mut kids = Vec::new();
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
            let path = task.unwrap().path().join("children");
            let text = std::fs::read_to_string(path).unwrap_or_default();
            kids.extend(text.split_whitespace().map(|k| k.parse::<i32>().unwrap()));
        }
        match kids[..] {
            [] => std::thread::sleep(Duration::from_millis(5)),
            [one] => return one,
            _ => panic!("expected one serve child, got {kids:?}"),
        }
    }
    panic!("the driver spawned no serve child within 10 s");
}

/// One run of `scenario` whose model is stopped (as Ctrl-Z does) from 0.3 s into the 2.5 s
/// measured window for 1.5 s. The warm-up line on stderr is printed once the child answers.
fn frozen_run(scenario: &Path, out: &Path) -> PathBuf {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let mut child = common::esbench()
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--models",
            MODEL,
            "--out",
            out.to_str().unwrap(),
            "--no-history",
            "--no-report",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log += &line;
        log.push('\n');
        if line.contains("warm-up") {
            break;
        }
    }
    assert!(log.contains("warm-up"), "no warm-up line: {log}");
    let serve = Pid::from_raw(serve_child(child.id()));
    // Warm-up 0.5 s, then 0.3 s into the window.
    std::thread::sleep(Duration::from_millis(800));
    kill(serve, Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    kill(serve, Signal::SIGCONT).unwrap();
    for line in lines {
        log += &line.unwrap_or_default();
        log.push('\n');
    }
    let status = child.wait().unwrap();
    let results = out.join("results.json");
    assert!(results.is_file(), "no results ({status}):\n{log}");
    results
}

#[test]
fn gate_fails_a_model_frozen_for_1_5_s_and_names_the_stall() {
    let _alone = crate::serial();
    let dir = tempfile::tempdir().unwrap();
    let plain = scenario(dir.path(), 0);
    let base = run(&plain, &dir.path().join("base"));
    let frozen = frozen_run(&plain, &dir.path().join("frozen"));
    let o = esbench(&[
        "check",
        "--gross",
        "--baseline",
        base.to_str().unwrap(),
        "--current",
        frozen.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a 1.5 s freeze must fail the gate:\n{}{err}",
        text(&o.stdout)
    );
    assert!(
        err.contains(&format!("{MODEL} poll_latency.max 1.")),
        "the verdict must name the stall and its length: {err}"
    );
    assert!(
        err.contains(&format!("{MODEL} watchdog_longest_late_run")),
        "and the watchdog's missed beats: {err}"
    );
}
