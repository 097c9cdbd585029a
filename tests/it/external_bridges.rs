//! External bridges (the user's own programs) measured beside the models: `esbench conform`
//! on a good, a sloppy-but-tolerated and a garbage bridge, and `esbench run` with every
//! failure case the issue names (missing command, exits at once, never answers, answers
//! garbage, ignores SIGTERM) plus a bridge whose work is done by a forked worker: each gets
//! a one-line status, the built-in model's row is measured as usual, the worker's CPU is
//! charged to its bridge, and no process is left behind.
//!
//! The bridges are Python (examples/bridges/, tests/bridges/); without python3 the tests
//! skip.

use crate::common;

use std::path::Path;
use std::process::Command;

fn have_python() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Processes whose environment holds `marker` (every bridge a test starts gets it).
fn processes_marked(marker: &str) -> Vec<i32> {
    let needle = marker.as_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

#[test]
fn conform_passes_a_good_bridge_notes_a_sloppy_one_and_fails_garbage() {
    if !have_python() {
        println!("SKIPPED conform: no python3");
        return;
    }
    let r = repo();
    let good = format!(
        "python3 {}/examples/bridges/asyncio_bridge.py {{serial}} --port {{port}}",
        r.display()
    );
    let out = common::run(&["conform", "--bridge", &good]);
    let text = common::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for check in ["poll", "frames", "command", "stop"] {
        assert!(text.contains(&format!("ok    {check}")), "{check}: {text}");
    }
    assert!(!text.contains("note"), "{text}");

    let sloppy = format!(
        "python3 {}/tests/bridges/esp4s_sloppy.py {{serial}} --port {{port}}",
        r.display()
    );
    let out = common::run(&["conform", "--bridge", &sloppy]);
    let text = common::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("header line without a colon"), "{text}");
    assert!(text.contains("closes the connection"), "{text}");
    assert!(text.contains("one request per connection"), "{text}");

    let garbage = format!(
        "python3 {}/tests/bridges/garbage.py {{serial}} --port {{port}}",
        r.display()
    );
    let out = common::run(&["conform", "--bridge", &garbage]);
    let text = common::text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not HTTP"), "{text}");
}

#[test]
fn every_failure_gets_a_one_line_status_and_nothing_is_left_behind() {
    if !have_python() {
        println!("SKIPPED bridge failures: no python3");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("ESBENCH_TEST_MARK_{}", std::process::id());
    let secret = format!("secret-{}", std::process::id());
    let r = repo().display().to_string();
    let bridge = |name: &str, command: &str, timeout: f64| {
        format!(
            "[[bridges]]\nname = \"{name}\"\ncommand = '{command}'\nready_timeout = {timeout}\n\
             env = {{ {marker} = \"{secret}\" }}\n\n"
        )
    };
    let mut scenario = String::from(
        "name = \"bridge-failures\"\n[run]\nwarmup_s = 0.3\nduration_s = 1.5\n\
         quick_duration_s = 1.5\nmodels = [\"threads\"]\nrounds = 1\n\n",
    );
    scenario += &bridge("missing", "no-such-bridge-program {serial}", 5.0);
    scenario += &bridge("exits", "false {serial}", 5.0);
    scenario += &bridge("silent", "sleep 60 {serial}", 2.0);
    scenario += &bridge(
        "garbage",
        &format!("python3 {r}/tests/bridges/garbage.py {{serial}} --port {{port}}"),
        10.0,
    );
    scenario += &bridge(
        "deaf",
        &format!("python3 {r}/tests/bridges/ignores_sigterm.py {{serial}} --port {{port}}"),
        10.0,
    );
    scenario += &bridge(
        "forking",
        &format!("python3 {r}/tests/bridges/forking.py {{serial}} --port {{port}}"),
        10.0,
    );
    scenario += &bridge(
        "sloppy",
        &format!("python3 {r}/tests/bridges/esp4s_sloppy.py {{serial}} --port {{port}}"),
        10.0,
    );
    // `sleep 60 /dev/pts/N` exits at once with a usage error; wrap it so it stays silent.
    let scenario = scenario.replace("sleep 60 {serial}", "sh -c \"sleep 60\" {serial}");
    let path = dir.path().join("failures.toml");
    std::fs::write(&path, scenario).unwrap();
    let out_dir = dir.path().join("out");
    let out = common::run(&[
        "run",
        path.to_str().unwrap(),
        "--quick",
        "--out",
        out_dir.to_str().unwrap(),
        "--no-history",
    ]);
    let stderr = common::text(&out.stderr);
    let results_text = std::fs::read_to_string(out_dir.join("results.json")).unwrap();
    let results: serde_json::Value = serde_json::from_str(&results_text).unwrap();
    let row = |name: &str| {
        results["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no row {name}: {stderr}"))
            .clone()
    };
    let status = |name: &str| row(name)["status"].as_str().unwrap().to_string();
    assert_eq!(status("threads"), "ok", "{stderr}");
    for (name, want) in [
        ("missing", "cannot start \"no-such-bridge-program\""),
        ("exits", "exited before answering (exit code 1)"),
        ("silent", "never answered GET /poll"),
        ("garbage", "not HTTP"),
        ("deaf", "ignored SIGTERM"),
    ] {
        let s = status(name);
        assert!(s.contains(want), "{name}: {s}");
        assert!(!s.contains('\n'), "{name}: one line: {s}");
    }
    // The one that ignored SIGTERM was still measured.
    assert!(row("deaf")["poll_latency"]["count"].as_u64().unwrap() > 0);
    // The forking bridge's parent only waits: all its CPU is its worker's (a spinning reader).
    assert_eq!(status("forking"), "ok", "{stderr}");
    let forking = row("forking");
    let cpu = forking["cpu"]["percent"].as_f64().unwrap();
    assert!(
        cpu > 10.0,
        "the worker's CPU is charged to the bridge: {cpu} %"
    );
    assert!(forking["external"]["command"]
        .as_str()
        .unwrap()
        .contains("forking.py"));
    assert_eq!(row("threads").get("external"), None);
    // esp4s's sloppy HTTP is measured through, each deviation noted, never refused.
    let sloppy = row("sloppy");
    assert_eq!(status("sloppy"), "ok", "{stderr}");
    assert!(sloppy["poll_latency"]["count"].as_u64().unwrap() > 0);
    assert!(sloppy["counters"]["driver_reconnects"].as_u64().unwrap() > 0);
    let notes = sloppy["external"]["conformance_notes"].to_string();
    assert!(notes.contains("without a colon"), "{notes}");
    assert!(notes.contains("one request per connection"), "{notes}");
    // Not measured is said, never 0.
    let nm = forking["external"]["not_measured"].as_array().unwrap();
    assert!(nm.iter().any(|k| k == "watchdog_lateness"));
    // The env values are nowhere in the results; their names are.
    assert!(
        !results_text.contains(&secret),
        "an env value was written out"
    );
    assert!(results_text.contains(&marker));
    // Nothing the bridges started is still running.
    let left = processes_marked(&marker);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn without_a_cgroup_the_forked_worker_is_still_charged() {
    if !have_python() {
        println!("SKIPPED bridge without cgroup: no python3");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = repo().display().to_string();
    let scenario = format!(
        "name = \"no-cgroup\"\n[run]\nwarmup_s = 0.3\nduration_s = 1.5\nquick_duration_s = 1.5\n\
         models = [\"threads\"]\nrounds = 1\n\n[[bridges]]\nname = \"forking\"\n\
         command = 'python3 {r}/tests/bridges/forking.py {{serial}} --port {{port}}'\n"
    );
    let path = dir.path().join("no-cgroup.toml");
    std::fs::write(&path, scenario).unwrap();
    let out_dir = dir.path().join("out");
    let out = common::esbench()
        .env("ESBENCH_NO_CGROUP", "1")
        .args([
            "run",
            path.to_str().unwrap(),
            "--quick",
            "--no-history",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    let row = results["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "forking")
        .unwrap_or_else(|| panic!("{}", common::text(&out.stderr)))
        .clone();
    assert_eq!(row["status"], "ok");
    let how = row["external"]["cpu_accounting"].as_str().unwrap();
    assert!(how.contains("/proc"), "{how}");
    let cpu = row["cpu"]["percent"].as_f64().unwrap();
    assert!(
        cpu > 10.0,
        "the worker's CPU is charged to the bridge: {cpu} %"
    );
}
