//! Known faults through the real binary (`esbench run --inject`): each must come out of the
//! measurement at its true size. The Ctrl-Z test freezes the model for 1.5 s; a careless
//! blocking sleep delays every poll; a bridge loses one command in ten. Also: the child runs
//! with the timer slack the scenario gives it, read back from /proc, not the driver's 1 ns.
//!
//! Bounds are about what was injected (counts of planned slots, seconds of freeze), with
//! room for a loaded machine; none depends on how fast this machine is.

use crate::common;

use std::path::{Path, PathBuf};

use esbench::metrics::results::{ModelResult, Results};

use crate::serial;

/// A one-board scenario, 4 s measured, commands every `command_every_ms`.
fn scenario(dir: &Path, name: &str, command_every_ms: u64, run_extra: &str) -> PathBuf {
    let text = format!(
        r#"name = "{name}"
description = "fault injection test"
[boards]
count = 1
seed = 5
[clients]
per_board = 1
poll_period_ms = 33.0
[[clients.commands]]
paths = ["/leds/Red/100", "/leds/Red/0"]
every_ms = {command_every_ms}.0
[run]
warmup_s = 0.5
duration_s = 4.0
quick_duration_s = 4.0
# One round: each round is a fresh serve child, and the faults here (a freeze at 1 s, one
# command or poll in ten) count per child, so the expectations below are for one child.
rounds = 1
{run_extra}
"#
    );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn run(scenario: &Path, out: &Path, inject: &[&str]) -> (Results, ModelResult) {
    let mut c = common::esbench();
    c.arg("run")
        .arg(scenario)
        .args([
            "--models",
            "threads",
            "--no-history",
            "--no-report",
            "--out",
        ])
        .arg(out);
    for spec in inject {
        c.args(["--inject", spec]);
    }
    let o = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let r = Results::load(&out.join("results.json")).unwrap();
    let m = r.models[0].clone();
    assert!(m.is_ok(), "{}", m.status);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("INJECTED FAULTS"),
        "the table says so: {stdout}"
    );
    (r, m)
}

/// Planned slots of a 4 s window at 33 ms: 121 or 122 depending on the phase.
fn planned_slots(m: &ModelResult) -> u64 {
    let planned = m.counters["polls_sent"] + m.counters["polls_skipped"];
    assert!((120..=122).contains(&planned), "{:?}", m.counters);
    planned
}

#[test]
fn ctrl_z_a_frozen_model_weighs_what_the_freeze_lasted() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "freeze", 1000, "model_timer_slack_ns = 200000");
    let (r, m) = run(&s, &dir.path().join("out"), &["freeze=1.5s@1s"]);
    assert_eq!(r.injected, ["freeze=1.5s@1s"]);
    // Every planned slot has a sample, the frozen ones included.
    assert_eq!(m.poll_latency.count, planned_slots(&m));
    assert!(
        m.counters["polls_skipped"] >= 35,
        "1.5 s at 33 ms is ~45 slots: {:?}",
        m.counters
    );
    // 45 of 121 slots were frozen for between 0 and 1.5 s: p90 well above half a second.
    assert!(m.poll_latency.p90 >= 500_000, "p90 {}", m.poll_latency.p90);
    assert!(
        (1_300_000..=2_500_000).contains(&m.poll_latency.max),
        "max {}",
        m.poll_latency.max
    );
    // The per-answer view is kept beside it, and is the one that hides the stall.
    assert_eq!(m.poll_answered.count, m.counters["polls_ok"]);
    assert!(m.poll_answered.count < m.poll_latency.count);
    assert!(m.poll_answered.p90 < m.poll_latency.p90);
    // The scenario's slack, read back from the child during the window.
    assert_eq!(r.model_timer_slack_ns, Some(200_000));
    assert_eq!(m.timerslack_ns, Some(200_000));
}

#[test]
fn a_blocking_sleep_per_poll_shows_at_its_full_weight() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "slowpoll", 1000, "");
    let (r, m) = run(
        &s,
        &dir.path().join("out"),
        &["poll-delay=100ms", "fail-poll=10%"],
    );
    assert_eq!(r.injected, ["poll-delay=100ms", "fail-poll=10%"]);
    let planned = planned_slots(&m);
    assert_eq!(m.poll_latency.count, planned);
    // Each poll takes ≥ 100 ms, so about three slots pass unsent after each one.
    assert!(
        m.counters["polls_skipped"] >= 2 * m.counters["polls_sent"],
        "{:?}",
        m.counters
    );
    assert!(
        m.poll_service.p50 >= 100_000,
        "svc p50 {}",
        m.poll_service.p50
    );
    assert!(m.poll_answered.p50 >= 100_000);
    // Per slot, a cycle of four slots waits ~100, 67, 34 and 1 ms: the mean is ~50 ms. A
    // histogram of answers only would say 100 ms for a quarter of the time.
    let h = m.poll_latency.histogram().unwrap();
    let mean_ms = h.mean() / 1_000.0;
    assert!((40.0..=90.0).contains(&mean_ms), "mean {mean_ms} ms");
    // One poll in ten answered 500: failures are counted and keep their slot's sample.
    let failed = m.counters["polls_failed"];
    assert!((2..=4).contains(&failed), "{:?}", m.counters);
    assert_eq!(m.poll_answered.count + failed, m.counters["polls_sent"]);
}

#[test]
fn one_lost_command_in_ten_is_counted_and_the_other_nine_keep_their_latency() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    // Every 400 ms: exactly 10 command slots in the 4 s window, whatever the phase, so
    // exactly one of them is a 10th.
    let s = scenario(dir.path(), "lostcmd", 400, "");
    let (r, m) = run(
        &s,
        &dir.path().join("out"),
        &["drop-command=10", "timer-late=5ms", "frame-cpu=2ms"],
    );
    let c = &m.counters;
    assert_eq!(c["commands_sent"] + c["commands_skipped"], 10, "{c:?}");
    assert_eq!(c["commands_ok"], 10, "a dropped command is still answered");
    assert_eq!(c["commands_unmatched"], 1, "{c:?}");
    assert_eq!(c["command_reads_unmatched"], 0, "{c:?}");
    assert_eq!(m.command_latency.count, 9);
    // Under the old earliest-send join, the commands after the lost one were paired with
    // the send 800 ms before their own.
    assert!(
        m.command_latency.max < 300_000,
        "max {} µs",
        m.command_latency.max
    );
    // The watchdog oversleeps each deadline by 5 ms; each frame costs 2 ms of CPU first.
    assert!(
        m.watchdog_lateness.p50 >= 5_000,
        "{}",
        m.watchdog_lateness.p50
    );
    assert!(m.ingest_latency.p50 >= 2_000, "{}", m.ingest_latency.p50);
    // Without a scenario value the child runs with the kernel's default slack, not the
    // driver's 1 ns.
    assert_eq!(r.model_timer_slack_ns, Some(50_000));
    assert_eq!(m.timerslack_ns, Some(50_000));
    assert!(m.cpus_allowed.is_some() && m.nice.is_some(), "{m:?}");
}

#[test]
fn a_bad_fault_spec_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "bad", 1000, "inject = [\"poll-delay=fast\"]");
    let o = common::esbench()
        .arg("run")
        .arg(&s)
        .args(["--no-history", "--no-report", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("run.inject"), "{err}");
    assert!(err.contains("poll-delay=fast"), "{err}");
    let o = common::esbench()
        .args(["run", "--inject", "explode=1s", "--no-history"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown fault \"explode\""));
}
