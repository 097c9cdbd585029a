//! A closed stdout or stderr (`esbench run | head -c 10`, a CI log truncator) is never a
//! panic: the printing stops, the work goes on — results, report and history row are written
//! and the exit code is the one the work earned.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use esbench::history::{list_runs, open_read, Filter};
use esbench::metrics::fixture::fabricate_results;

/// The write end of a pipe whose read end is already closed: every write to it fails with
/// EPIPE, as after `head` has exited.
fn broken_pipe() -> Stdio {
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    Stdio::from(w)
}

/// Runs `cmd` with stdout and stderr (or only stdout) on broken pipes.
fn run_broken(mut cmd: Command, stderr_too: bool) -> std::process::ExitStatus {
    cmd.stdout(broken_pipe());
    if stderr_too {
        cmd.stderr(broken_pipe());
    }
    cmd.status().unwrap()
}

#[test]
fn history_into_a_closed_pipe_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    esbench::history::record_run(&db, &fabricate_results(1), Path::new("r.json")).unwrap();
    for stderr_too in [false, true] {
        let mut cmd = common::esbench();
        cmd.arg("history").arg("--db").arg(&db);
        let status = run_broken(cmd, stderr_too);
        assert_eq!(status.code(), Some(0), "stderr closed too: {stderr_too}");
    }
    // Errors go to a closed stderr without a panic too (exit 2, not 101).
    let mut cmd = common::esbench();
    cmd.arg("history")
        .arg("--db")
        .arg(dir.path().join("missing.sqlite"));
    assert_eq!(run_broken(cmd, true).code(), Some(2));
}

#[test]
fn a_run_into_a_closed_pipe_still_writes_results_report_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p1");
    let db = dir.path().join("p1.sqlite");
    let mut cmd = common::esbench();
    cmd.args([
        "run", "--quick", "--models", "threads", "--rounds", "1", "--out",
    ])
    .arg(&out)
    .arg("--history")
    .arg(&db);
    let status = run_broken(cmd, true);
    assert!(
        matches!(status.code(), Some(0 | 3)),
        "the run's own exit code, not a panic: {status}"
    );
    assert!(out.join("results.json").is_file());
    assert!(out.join("index.html").is_file());
    let runs = list_runs(&open_read(&db).unwrap(), &Filter::default()).unwrap();
    assert_eq!(runs.len(), 1, "the history row is written");
}

/// A report or history row that cannot be written makes the run fail (exit 4), one line
/// each naming the file; results.json stays, and no temp file is left.
#[test]
fn a_run_whose_report_and_history_cannot_be_written_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    // index.html taken by a directory; the history's directory is a regular file.
    std::fs::create_dir_all(out.join("index.html")).unwrap();
    let not_dir = dir.path().join("f");
    std::fs::write(&not_dir, b"").unwrap();
    let db = not_dir.join("h.sqlite");
    let res = common::esbench()
        .args([
            "run", "--quick", "--models", "threads", "--rounds", "1", "--out",
        ])
        .arg(&out)
        .arg("--history")
        .arg(&db)
        .output()
        .unwrap();
    let stderr = common::text(&res.stderr);
    assert_eq!(res.status.code(), Some(4), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("esbench: error:"))
        .collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0].contains(&out.join("index.html").display().to_string()));
    assert!(errors[1].contains(&not_dir.display().to_string()));
    assert!(out.join("results.json").is_file());
    let temps: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}
