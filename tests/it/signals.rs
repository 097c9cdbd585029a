//! SIGTERM and SIGHUP (`timeout`, `docker stop`, systemd, a CI runner cancelling a job, a
//! closed terminal) stop every long-running command as cleanly as Ctrl-C: rows marked
//! interrupted with the signal's name, report and history written, children stopped,
//! `device`'s `--link` removed, and the shell's exit code for the signal (128 + N).

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use esbench::metrics::results::Results;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn send(child: &Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// Waits for `child` after a signal, failing when it takes longer than a clean stop should.
fn stopped(child: Child, within: Duration) -> Output {
    let started = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < within,
        "slow to stop: {:?}",
        started.elapsed()
    );
    o
}

/// Reads `child`'s stdout until a line starts with `prefix`, and returns that line.
fn line_starting(child: &mut Child, prefix: &str) -> String {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "no {prefix:?} line");
        if line.starts_with(prefix) {
            // Keep the pipe open: the command may print more before it stops.
            std::mem::forget(out);
            return line;
        }
    }
}

#[test]
fn sigterm_mid_run_keeps_rows_report_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let db = dir.path().join("h.sqlite");
    let child = common::esbench()
        .args([
            "run",
            "scenarios/classroom.toml",
            "--models",
            "threads,smol",
        ])
        .args(["--quick", "--duration", "30", "--out"])
        .arg(&out)
        .arg("--history")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Floor (4 s with --quick), start-up, warm-up, then the first model measuring (30 s).
    std::thread::sleep(Duration::from_secs(8));
    send(&child, Signal::SIGTERM);
    let o = stopped(child, Duration::from_secs(40));
    let stdout = common::text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(143),
        "{stdout}{}",
        common::text(&o.stderr)
    );
    let r = Results::load(&out.join("results.json")).unwrap();
    assert!(!r.models.is_empty(), "the first model's row is kept");
    assert!(
        r.models
            .iter()
            .any(|m| m.status.to_string().starts_with("interrupted by SIGTERM")),
        "{:?}",
        r.models.iter().map(|m| &m.status).collect::<Vec<_>>()
    );
    assert!(r.models.iter().all(|m| !m.is_ok()), "no row says ok");
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("interrupted by SIGTERM")),
        "{:?}",
        r.notes
    );
    assert!(out.join("index.html").is_file(), "the report: {stdout}");
    assert!(stdout.contains("history: run 1 in"), "{stdout}");
    let h = common::run(&["history", "--db", db.to_str().unwrap()]);
    assert!(h.status.success(), "{}", common::text(&h.stderr));
    let listed = common::text(&h.stdout);
    assert!(listed.contains("interrupted by SIGTERM"), "{listed}");
}

#[test]
fn sighup_removes_the_device_link() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("esplora");
    let (child, pty) = common::start_device(&["--link", link.to_str().unwrap()]);
    assert!(pty.exists());
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::symlink_metadata(&link).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(std::fs::symlink_metadata(&link).is_ok(), "the link is made");
    send(&child, Signal::SIGHUP);
    let o = stopped(child, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(0), "a clean stop, as under Ctrl-C");
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the --link is removed on SIGHUP"
    );
}

#[test]
fn sighup_stops_serve_with_its_statistics() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let mut child = common::esbench()
        .args(["serve", "--listen", "127.0.0.1:0", "--serial"])
        .arg(&slave)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    line_starting(&mut child, "listening");
    send(&child, Signal::SIGHUP);
    let o = stopped(child, Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o.stderr));
}

#[test]
fn sigterm_stops_the_agent_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "a-test-token-of-some-length-0123456789\n").unwrap();
    let mut child = common::esbench()
        .args(["agent", "--listen", "127.0.0.1:0", "--token-file"])
        .arg(&token)
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    line_starting(&mut child, "agent: listening on");
    send(&child, Signal::SIGTERM);
    let o = stopped(child, Duration::from_secs(10));
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(
        err.contains("agent: stopped (interrupted by SIGTERM)"),
        "{err}"
    );
}

#[test]
fn sigterm_cuts_a_profile_short_and_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let child = common::esbench()
        .args([
            "profile", "--model", "threads", "--window", "60", "--warmup", "0.5",
        ])
        .args(["--no-strace", "--no-perf", "--out"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    send(&child, Signal::SIGTERM);
    let o = stopped(child, Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(143), "{}", common::text(&o.stderr));
    let json = std::fs::read_to_string(dir.path().join("profile-threads.json")).unwrap();
    assert!(json.contains("interrupted by SIGTERM"), "{json}");
}

#[test]
fn sighup_stops_a_sweep_with_its_note() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let child = common::esbench()
        .args(["sweep", "scenarios/classroom.toml", "--models", "threads"])
        .args(["--quick", "--duration", "30"])
        .args(["--set", "boards.count=1,2"])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(8));
    send(&child, Signal::SIGHUP);
    let o = stopped(child, Duration::from_secs(40));
    assert_eq!(o.status.code(), Some(129), "{}", common::text(&o.stderr));
    let manifest = std::fs::read_to_string(out.join("sweep.json")).unwrap();
    assert!(manifest.contains("interrupted by SIGHUP"), "{manifest}");
    assert!(
        Path::new(&out).join("sweep.md").is_file(),
        "the sweep's page is written"
    );
}
