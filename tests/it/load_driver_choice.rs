//! `run.driver` / `--driver`: the scenario key is read and refused by name, and a whole
//! `esbench run --driver events` measures a model through the event-driven load driver,
//! recording which driver ran in the row's driver health.

use std::path::Path;
use std::process::Command;

use esbench::scenario::{DriverKind, Scenario, ScenarioError};

#[test]
fn the_driver_key_defaults_to_events_and_takes_threads() {
    assert_eq!(
        Scenario::from_str_named("", "x.toml").unwrap().run.driver,
        DriverKind::Events
    );
    let s = Scenario::from_str_named("[run]\ndriver = \"threads\"\n", "x.toml").unwrap();
    assert_eq!(s.run.driver, DriverKind::Threads);
    assert_eq!(DriverKind::parse("events"), Ok(DriverKind::Events));
    assert_eq!(DriverKind::parse("threads"), Ok(DriverKind::Threads));
    let e = DriverKind::parse("fibers").unwrap_err();
    assert!(e.contains("\"fibers\"") && e.contains("events"), "{e}");
}

#[test]
fn an_unknown_driver_is_named_with_its_line() {
    match Scenario::from_str_named("[run]\nwarmup_s = 1.0\ndriver = \"fibers\"\n", "bad.toml") {
        Err(ScenarioError::Invalid {
            line,
            field,
            message,
            ..
        }) => {
            assert_eq!(line, 3);
            assert_eq!(field, "run.driver");
            assert!(message.contains("fibers"), "{message}");
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn a_run_with_the_events_driver_measures_and_says_so() {
    // `--driver events` is also the default; it is given here so the test keeps meaning
    // what its name says if the default ever changes back.
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("four.toml");
    std::fs::write(
        &scenario,
        "name = \"four\"\n[boards]\ncount = 4\n[run]\nquick_duration_s = 2.0\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_esbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--quick", "--models", "coop", "--driver", "events"])
        .args(["--no-history", "--no-report", "--out"])
        .arg(&out)
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(find_results(&out)).unwrap()).unwrap();
    let row = &results["models"][0];
    assert!(
        row["status"].as_str().unwrap().starts_with("ok"),
        "{}",
        row["status"]
    );
    assert_eq!(row["driver"]["driver"], "events");
    // Four boards, four clients: 2 s at 30 polls/s each; a loaded machine may skip some.
    let sent = row["counters"]["polls_sent"].as_u64().unwrap();
    assert!(sent >= 100, "{sent} polls sent");
    assert_eq!(row["counters"]["seq_unmatched"].as_u64(), Some(0));
    assert!(row["poll_latency"]["count"].as_u64().unwrap() >= sent);
    // Main, progress and child-output readers, the probes, the loops: no thread per client.
    let threads = row["driver"]["threads"].as_u64().unwrap();
    assert!((1..64).contains(&threads), "{threads} driver threads");
}

fn find_results(dir: &Path) -> std::path::PathBuf {
    let direct = dir.join("results.json");
    if direct.exists() {
        return direct;
    }
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path().join("results.json");
        if p.exists() {
            return p;
        }
    }
    panic!("no results.json under {}", dir.display());
}
