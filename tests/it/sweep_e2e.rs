//! Real, short sweeps through the binary: each point is a real run (floor, `serve` child,
//! virtual board, Scratch clients) with the knob applied, the outputs are all written, and
//! Ctrl-C keeps the points already measured. Behaviour only: the machine is shared and noisy.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use esbench::metrics::results::Results;
use esbench::sweep::manifest::{PointStatus, SweepManifest};

fn scenario(dir: &Path) -> PathBuf {
    let text = r#"# a short scenario for sweep tests
name = "sweep-test"
description = "sweep end-to-end test"
[boards]
count = 1
seed = 3
[clients]
per_board = 1
poll_period_ms = 33.0
[run]
warmup_s = 0.5
duration_s = 1.5
quick_duration_s = 1.5
"#;
    let p = dir.join("sweep-test.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn two_point_sweep_runs_each_point_with_the_knob_applied() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path());
    let out = dir.path().join("out");
    let o = common::esbench()
        .arg("sweep")
        .arg(&s)
        .args([
            "--set",
            "clients.per_board=1,2",
            "--models",
            "smol",
            "--quick",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");

    let m = SweepManifest::load(&out.join("sweep.json")).unwrap();
    assert_eq!(m.key, "clients.per_board");
    assert_eq!(m.values, ["1", "2"]);
    let mut polls = Vec::new();
    for (p, per_board) in m.points.iter().zip(["1", "2"]) {
        assert_eq!(p.status, PointStatus::Done, "{p:?}");
        let rel = p.results.as_deref().unwrap();
        assert_eq!(rel, format!("clients.per_board={per_board}/results.json"));
        let r = Results::load(&out.join(rel)).unwrap();
        // The point ran the overridden scenario, and recorded it for reproduction.
        assert!(
            r.scenario
                .text
                .contains(&format!("per_board = {per_board}")),
            "{}",
            r.scenario.text
        );
        assert!(r.scenario.quick);
        let point_dir = out.join(format!("clients.per_board={per_board}"));
        assert!(point_dir.join("scenario.toml").is_file());
        assert!(point_dir.join("index.html").is_file(), "per-point report");
        assert_eq!(r.models.len(), 1);
        let smol = &r.models[0];
        assert!(smol.is_ok(), "{}", smol.status);
        assert!(smol.poll_latency.count > 0);
        polls.push(smol.poll_latency.count);
    }
    // Two clients poll on the same plan as one: the second point must see more polls.
    assert!(polls[1] > polls[0], "polls per point: {polls:?}");

    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(
        md.contains("| clients.per_board | smol CPU % | smol CPU/1k ev | smol poll p99 |"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("sweep.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("smol"));
    assert!(
        stdout.contains("poll latency p99"),
        "the table is printed: {stdout}"
    );

    // The same directory is never overwritten by a new sweep.
    let again = common::esbench()
        .arg("sweep")
        .arg(&s)
        .args(["--set", "clients.per_board=1", "--models", "smol", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a sweep"));
}

#[test]
fn ctrl_c_keeps_the_points_already_measured_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path());
    let out = dir.path().join("out");
    let mut child = common::esbench()
        .arg("sweep")
        .arg(&s)
        .args([
            "--set",
            "workload.poll_work_us=0,100,200",
            "--models",
            "threads",
            "--quick",
            "--no-point-reports",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first point to be done, then press Ctrl-C during the second.
    let manifest = out.join("sweep.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(m) = SweepManifest::load(&manifest) {
            if m.points[0].status != PointStatus::NotRun {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the first point never finished");
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended early");
        std::thread::sleep(Duration::from_millis(100));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m = SweepManifest::load(&manifest).unwrap();
    assert_eq!(m.points[0].status, PointStatus::Done);
    assert!(out.join(m.points[0].results.as_deref().unwrap()).is_file());
    assert_eq!(m.points[1].status, PointStatus::Interrupted, "{m:?}");
    assert_eq!(m.points[2].status, PointStatus::NotRun);
    assert!(m.notes.iter().any(|n| n.contains("interrupted")), "{m:?}");
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains("workload.poll_work_us=200: not run"), "{md}");

    // --resume runs the two points that are not done, with the original options, and
    // leaves the done one alone.
    let first = out.join(m.points[0].results.as_deref().unwrap());
    let before = std::fs::read(&first).unwrap();
    let o = common::esbench()
        .args(["sweep", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("2 of 3 point(s) to run"), "{stdout}");
    let m = SweepManifest::load(&manifest).unwrap();
    assert!(
        m.points.iter().all(|p| p.status == PointStatus::Done),
        "{m:?}"
    );
    assert!(!m.notes.iter().any(|n| n.contains("interrupted")), "{m:?}");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        before,
        "the done point was kept"
    );
    for p in &m.points[1..] {
        let r = Results::load(&out.join(p.results.as_deref().unwrap())).unwrap();
        assert_eq!(r.models.len(), 1);
        assert_eq!(r.models[0].name, "threads", "the original --models is kept");
        assert!(r.models[0].is_ok(), "{}", r.models[0].status);
        assert!(r.scenario.quick, "the original --quick is kept");
    }
}

#[test]
fn until_knee_doubles_until_a_stated_limit_and_resume_does_not_grow_a_stopped_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path());
    let out = dir.path().join("out");
    let o = common::esbench()
        .arg("sweep")
        .arg(&s)
        .args([
            "--set",
            "boards.count=1",
            "--until-knee",
            "--max-value",
            "2",
            "--models",
            "smol",
            "--quick",
            "--no-point-reports",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let m = SweepManifest::load(&out.join("sweep.json")).unwrap();
    let u = m
        .until_knee
        .clone()
        .expect("the manifest records --until-knee");
    let why = u.stopped.clone().expect("it stopped, and says why");
    assert!(u.elapsed_s > 0.0);
    // On a loaded machine smol may break, or the driver be the limit, at 1 board already;
    // whichever stopped it is named, and no value past --max-value is run.
    assert!(
        m.values == ["1"] || m.values == ["1", "2"],
        "starts at 1, doubles at most to 2: {m:?}"
    );
    let early = why.contains("every model has broken") || why.contains("the driver was the limit");
    if m.values == ["1"] {
        assert!(early, "{why}");
    } else {
        assert!(
            early || why.contains("above the limit --max-value 2"),
            "{why}"
        );
    }
    assert!(
        m.points.iter().all(|p| p.status == PointStatus::Done),
        "{m:?}"
    );
    assert!(stdout.contains("--until-knee stops:"), "{stdout}");
    assert!(stdout.contains("knee across boards.count"), "{stdout}");
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains("--until-knee stopped:"), "{md}");
    assert!(out.join("analysis.json").is_file());

    // A stopped sweep has nothing left: --resume runs nothing and adds no value.
    let o = common::esbench()
        .args(["sweep", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 of"),
        "{:?}",
        o
    );
    let again = SweepManifest::load(&out.join("sweep.json")).unwrap();
    assert_eq!(again.values, m.values);
}
