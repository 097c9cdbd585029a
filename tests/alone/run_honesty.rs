//! Honesty checks of `esbench run`, through the real binary: known extra work shows up in
//! the latency by its amount, a crashed model keeps its row (and leaves the others intact),
//! Ctrl-C keeps what was measured, and the sequence joins never lie.
//!
//! Tolerances are generous: these check that the measurement machinery recovers what was
//! injected, not how fast this (shared, noisy) machine is.

use crate::common;

use esbench::metrics::status::StatusKind;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use esbench::metrics::results::{ModelResult, Results};

use crate::serial;

fn scenario(dir: &Path, name: &str, poll_work_us: u64) -> PathBuf {
    let text = format!(
        r#"name = "{name}"
description = "honesty test"
[boards]
count = 1
seed = 7
[clients]
per_board = 1
poll_period_ms = 33.0
[[clients.commands]]
paths = ["/leds/Red/100", "/leds/Red/0"]
every_ms = 500.0
[workload]
poll_work_us = {poll_work_us}
[run]
warmup_s = 0.5
duration_s = 2.5
quick_duration_s = 2.5
"#
    );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn run(args: &[&str], out: &Path, env: &[(&str, &str)]) -> (Output, Results) {
    let mut c = common::esbench();
    c.arg("run")
        .args(args)
        .arg("--out")
        .arg(out)
        .args(["--no-history", "--no-report"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let r = Results::load(&out.join("results.json")).unwrap_or_else(|e| {
        panic!(
            "no results ({e:#}); stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o, r)
}

/// Every ok row must have joined every answer to a frame the board really wrote earlier.
fn assert_joins_honest(m: &ModelResult) {
    let c = &m.counters;
    assert_eq!(c["staleness_negative"], 0, "{}: {c:?}", m.name);
    assert_eq!(c["seq_unmatched"], 0, "{}: {c:?}", m.name);
    assert_eq!(c["ingest_unmatched"], 0, "{}: {c:?}", m.name);
    assert!(m.staleness.count > 0, "{}: no staleness samples", m.name);
    // Every answered poll carrying a frame has a staleness sample: nothing dropped.
    assert_eq!(
        m.staleness.count,
        c["polls_ok"] - c["polls_without_frame"],
        "{}",
        m.name
    );
    // Frames come every 25 ms and polls at an unrelated 33 ms, so the served frame's age
    // spreads over about one frame period: its median is neither ~0 (a join against the
    // wrong, later frame) nor beyond a period plus the answer time (an older frame's time).
    let period_us = 25_000;
    assert!(
        (2_000..=period_us + m.poll_answered.p50 + 5_000).contains(&m.staleness.p50),
        "{}: staleness p50 {} µs",
        m.name,
        m.staleness.p50
    );
    // A healthy model serves the newest complete frame most of the time.
    assert_eq!(m.staleness_excess.count, m.staleness.count, "{}", m.name);
    assert_eq!(m.staleness_excess.p50, 0, "{}: excess p50", m.name);
    // No slot is lost: every planned poll has a sample in poll_latency.
    assert_eq!(
        m.poll_latency.count,
        c["polls_sent"] + c["polls_skipped"],
        "{}",
        m.name
    );
}

#[test]
fn poll_work_raises_poll_latency_by_its_amount() {
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut p50 = Vec::new();
    for work_us in [0u64, 2_000, 10_000] {
        let s = scenario(dir.path(), &format!("work{work_us}"), work_us);
        let out = dir.path().join(format!("out{work_us}"));
        let (o, r) = run(&[s.to_str().unwrap(), "--models", "threads"], &out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let m = &r.models[0];
        assert!(m.is_ok(), "{}", m.status);
        assert_joins_honest(m);
        // Without slots passing unsent (a loaded machine may stretch a poll past its
        // period) or failures, the per-slot figure is the per-answer one.
        let c = &m.counters;
        if c["polls_skipped"] == 0 && c["polls_failed"] == 0 {
            assert_eq!(m.poll_latency.hist, m.poll_answered.hist, "{}", m.name);
        } else {
            assert!(m.poll_latency.count > m.poll_answered.count, "{c:?}");
        }
        p50.push(m.poll_service.p50 as f64);
    }
    // The model's own response time (send → answer) rises by the work. A loaded machine can
    // stretch busy work (it is timed by the wall clock and may be preempted), never shorten
    // it: the bound below is tight, the one above allows for neighbours.
    for (i, work) in [(1, 2_000.0), (2, 10_000.0)] {
        let rise = p50[i] - p50[0];
        assert!(
            rise >= 0.8 * work && rise <= 1.6 * work + 1_000.0,
            "poll_work {work} µs raised service p50 by {rise} µs (p50s {p50:?})"
        );
    }
}

#[test]
fn a_model_killed_mid_run_keeps_its_row_and_the_others_are_intact() {
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "crash", 0);
    let out = dir.path().join("out");
    let (o, r) = run(
        &[
            s.to_str().unwrap(),
            "--models",
            "threads,smol,tokio-current",
            "--rounds",
            "2",
        ],
        &out,
        // 1 s into smol's second round (of 1.25 s).
        &[("ESBENCH_TEST_KILL", "smol:1.0@2")],
    );
    assert_eq!(o.status.code(), Some(3), "exit code says a model failed");
    let names: Vec<&str> = r.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["threads", "smol", "tokio-current"]);
    let smol = r.model("smol").unwrap();
    assert_eq!(smol.status.kind(), StatusKind::Crashed, "{}", smol.status);
    assert!(
        smol.status.to_string().contains("SIGKILL"),
        "{}",
        smol.status
    );
    assert!(
        smol.status
            .to_string()
            .contains("(round 2 of 2; 1 round(s) ok)"),
        "{}",
        smol.status
    );
    // The crashed round is recorded with its status, the other one ran, and what was
    // measured before the crash is kept: a round and about one second of polls and CPU.
    assert_eq!(smol.rounds.len(), 2);
    assert!(smol.rounds[0].is_ok(), "{}", smol.rounds[0].status);
    assert!(
        smol.rounds[1].status.to_string().contains("SIGKILL"),
        "{}",
        smol.rounds[1].status
    );
    assert!(smol.poll_latency.count >= 40, "{}", smol.poll_latency.count);
    assert!(smol.cpu.percent > 0.0);
    let window = smol.counters["cpu_window_ms"];
    assert!((1_500..2_500).contains(&window), "{:?}", smol.counters);
    // A failed round is left out of the intervals: one ok round has none.
    assert!(esbench::metrics::verdict::interval(smol, "cpu_percent").is_none());
    for name in ["threads", "tokio-current"] {
        let m = r.model(name).unwrap();
        assert!(m.is_ok(), "{name}: {}", m.status);
        assert!(m.poll_latency.count >= 50, "{name}");
        assert!(m.watchdog_lateness.count > 0, "{name}");
        assert_joins_honest(m);
    }
    assert!(
        r.notes.iter().all(|n| !n.starts_with("partial")),
        "{:?}",
        r.notes
    );
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_what_was_measured() {
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "interrupt", 0);
    let out = dir.path().join("out");
    let child = common::esbench()
        .arg("run")
        .arg(&s)
        .args([
            "--models",
            "threads,smol",
            "--quick",
            "--duration",
            "30",
            "--out",
        ])
        .arg(&out)
        .args(["--no-history", "--no-report"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Floor (4 s with --quick), start-up, warm-up 0.5 s, then a second or more of the first
    // model (its window is 30 s, so it is still measuring when Ctrl-C comes).
    std::thread::sleep(Duration::from_secs(7));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "slow to stop");
    assert_eq!(o.status.code(), Some(130));
    let r = Results::load(&out.join("results.json")).unwrap();
    assert_eq!(r.models.len(), 1, "the second model never started");
    let m = &r.models[0];
    assert!(m.status.is_interrupted(), "{}", m.status);
    assert!(m.poll_latency.count > 0);
    assert!(
        r.notes.iter().any(|n| n.contains("interrupted")),
        "{:?}",
        r.notes
    );
}
