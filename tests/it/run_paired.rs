//! Paired runs through the real binary: `esbench run --against` (one build against itself)
//! writes both sides and the `paired` section, `check --paired` judges it and names no winner,
//! the dashboard formats export it, and a file that is not a paired run exits 2 with one line.

use crate::common;

use esbench::check::fixtures::{fake_run, FakeModel};
use esbench::metrics::results::Results;

#[test]
fn an_ordinary_results_file_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    fake_run(1, 1.0, &[FakeModel::typical("threads")])
        .save(&path)
        .unwrap();
    let out = common::run(&["check", "--paired", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out.stderr));
    let err = common::text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("is not a paired run"), "{err}");
    let out = common::run(&["check", "--paired", "/no/such/results.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_build_against_itself_is_paired_judged_and_names_no_winner() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("paired");
    let me = env!("CARGO_BIN_EXE_esbench");
    let out = common::run(&[
        "run",
        "--quick",
        "--rounds",
        "6",
        "--models",
        "coop",
        "--against",
        me,
        "--out",
        out_dir.to_str().unwrap(),
        "--no-history",
        "--no-report",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let stdout = common::text(&out.stdout);
    assert!(
        stdout.contains("paired: side B (this build) against side A"),
        "{stdout}"
    );
    let file = out_dir.join("results.json");
    let r = Results::load(&file).unwrap();
    let names: Vec<&str> = r.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["coop@A", "coop@B"]);
    let p = r.paired.as_ref().expect("a paired section");
    assert_eq!(p.models.len(), 1);
    let cpu = p.models[0]
        .ratios
        .iter()
        .find(|x| x.figure == "cpu.percent")
        .unwrap();
    assert_eq!(cpu.per_round.len(), 6);
    assert!(cpu.ratio.is_some());
    // Counted costs are there; instructions are counted or say why not.
    for m in &r.models {
        assert!(m.cpu.syscalls_read.is_some(), "{}", m.name);
        assert!(m.cpu.instructions.is_some() || m.cpu.instructions_note.is_some());
    }

    let f = file.to_str().unwrap();
    let out = common::run(&["check", "--gross", "--paired", f, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for row in o["rows"].as_array().unwrap() {
        let v = row["verdict"].as_str().unwrap();
        assert!(v != "regressed" && v != "improved", "a winner named: {row}");
    }
    let cpu_row = o["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "cpu.percent")
        .unwrap();
    assert_eq!(cpu_row["method"], "rounds, paired (6)");

    let out = common::run(&["check", "--paired", f, "--format", "bmf"]);
    let bmf: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        bmf["coop"]["cpu.percent.ratio"]["value"].is_number(),
        "{bmf}"
    );
    let out = common::run(&[
        "check",
        "--paired",
        f,
        "--format",
        "github-action-benchmark",
    ]);
    let gab: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(gab
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "coop cpu.percent" && e["unit"] == "%"));
}
