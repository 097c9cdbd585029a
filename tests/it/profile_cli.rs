//! `esbench profile --pid`: profiles a running process, writes its JSON, stores it into a
//! results.json row on request, and refuses a missing pid with a clear message.

use crate::common;

use esbench::metrics::profile::PassStatus;
use std::process::{Command, Stdio};

use esbench::metrics::profile::ProfileReport;
use esbench::metrics::results::{ModelResult, Results, SCHEMA};

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn profiles_a_pid_and_stores_into_results() {
    let dir = tempfile::tempdir().unwrap();
    let target = Kill(
        Command::new("sleep")
            .arg("30")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let results_path = dir.path().join("results.json");
    Results {
        schema: SCHEMA.into(),
        models: vec![ModelResult {
            name: "sleepy".into(),
            status: esbench::metrics::status::Status::Ok,
            ..Default::default()
        }],
        ..Default::default()
    }
    .save(&results_path)
    .unwrap();

    let out = common::esbench()
        .args([
            "profile",
            "--window",
            "0.5",
            "--no-perf",
            "--label",
            "sleepy",
            "--pid",
        ])
        .arg(target.0.id().to_string())
        .arg("--out")
        .arg(dir.path())
        .arg("--into")
        .arg(&results_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sleep (main)"), "{stdout}");

    let text = std::fs::read_to_string(dir.path().join("profile-sleepy.json")).unwrap();
    let report: ProfileReport = serde_json::from_str(&text).unwrap();
    assert_eq!(report.schema, "esbench.profile/1");
    let t = report.threads.as_ref().unwrap();
    assert_eq!(t.total.threads, 1);
    assert!(t.total.cpu_percent < 5.0);
    assert_eq!(report.flamegraph.status, PassStatus::Skipped);

    let r = Results::load(&results_path).unwrap();
    let stored = r.model("sleepy").unwrap().profile.clone();
    assert_eq!(stored.as_ref().map(|p| p.pid), Some(report.pid));
}

#[test]
fn missing_pid_is_a_clear_error() {
    let out = common::esbench()
        .args(["profile", "--pid", "999999999"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no process with pid 999999999"));
}

#[test]
fn without_strace_and_perf_it_still_profiles_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let target = Kill(
        Command::new("sleep")
            .arg("30")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // An empty PATH: neither strace nor perf can be found.
    let out = common::esbench()
        .args(["profile", "--window", "0.3", "--label", "bare", "--pid"])
        .arg(target.0.id().to_string())
        .arg("--out")
        .arg(dir.path())
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("strace is not installed"), "{stdout}");
    assert!(stdout.contains("perf is not installed"), "{stdout}");
    let text = std::fs::read_to_string(dir.path().join("profile-bare.json")).unwrap();
    let report: ProfileReport = serde_json::from_str(&text).unwrap();
    assert_eq!(report.syscalls.status, PassStatus::Unavailable);
    assert_eq!(report.flamegraph.status, PassStatus::Unavailable);
    assert!(report.threads.is_some());
}
