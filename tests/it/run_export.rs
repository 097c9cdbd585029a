//! `esbench run --export-json/--export-csv/--export-markdown`: the run's figures in files the
//! user names (`-` for stdout), beside the run directory.

use crate::common;

#[test]
fn a_run_exports_its_figures_in_three_formats() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (json, md) = (dir.path().join("run.json"), dir.path().join("run.md"));
    let o = common::run(&[
        "run",
        "scenarios/classroom.toml",
        "--models",
        "threads",
        "--quick",
        "--no-history",
        "--no-report",
        "--out",
        out.to_str().unwrap(),
        "--export-json",
        json.to_str().unwrap(),
        "--export-csv",
        "-",
        "--export-markdown",
        md.to_str().unwrap(),
    ]);
    let stdout = common::text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        common::text(&o.stderr)
    );
    assert!(
        out.join("results.json").is_file(),
        "the run directory as ever"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["schema"], "esbench.export/1");
    assert_eq!(v["models"][0]["name"], "threads");
    let cpu = &v["models"][0]["figures"]["cpu.percent"];
    assert!(cpu["value"].as_f64().unwrap() > 0.0, "{cpu}");
    assert!(
        cpu["lo"].is_number() && cpu["hi"].is_number(),
        "an interval: {cpu}"
    );
    assert!(
        stdout
            .contains("model,status,driver_limited,figure,label,unit,value,lo,hi,rounds,starred\n")
            && stdout.contains("\nthreads,"),
        "the CSV on stdout: {stdout}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("| model | CPU % of a core |") && md.contains("| threads"),
        "{md}"
    );

    // An export that cannot be written fails the command, naming the file (a path under a
    // regular file: even root cannot make that).
    let bad = json.join("run.csv");
    let o = common::run(&[
        "run",
        "scenarios/classroom.toml",
        "--models",
        "threads",
        "--quick",
        "--duration",
        "0.5",
        "--no-history",
        "--no-report",
        "--out",
        out.to_str().unwrap(),
        "--export-csv",
        bad.to_str().unwrap(),
    ]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains(bad.to_str().unwrap()), "{err}");
}

#[test]
fn an_export_of_several_scenarios_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = common::run(&[
        "run",
        "scenarios/classroom.toml",
        "scenarios/esp4s.toml",
        "--quick",
        "--out",
        out.to_str().unwrap(),
        "--export-csv",
        "-",
    ]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("one scenario per run"), "{err}");
    assert!(!out.exists(), "nothing ran, no directory left");
}
