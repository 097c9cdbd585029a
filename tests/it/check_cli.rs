//! `esbench check` as a user runs it: exit codes 0 / 1 / 2, the regression named on stderr,
//! Markdown and JSON output. The inputs are fabricated results with known distributions.

use crate::common;

use std::path::Path;
use std::process::Output;

use crate::common::text;
use esbench::check::fixtures::{fake_run, FakeModel};

fn models(poll_for_smol: f64) -> Vec<FakeModel> {
    ["threads", "smol"]
        .iter()
        .map(|n| {
            let mut m = FakeModel::typical(n);
            if *n == "smol" {
                m.poll = poll_for_smol;
            }
            m
        })
        .collect()
}

fn write_runs(dir: &Path, seeds: std::ops::Range<u64>, poll_for_smol: f64) {
    std::fs::create_dir_all(dir).unwrap();
    for s in seeds {
        fake_run(s, 1.0, &models(poll_for_smol))
            .save(&dir.join(format!("results-{s}.json")))
            .unwrap();
    }
}

fn check(args: &[&str]) -> Output {
    common::esbench().arg("check").args(args).output().unwrap()
}

#[test]
fn exit_codes_are_0_1_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let same = dir.path().join("same");
    let slow = dir.path().join("slow");
    write_runs(&base, 0..3, 1.0);
    write_runs(&same, 10..13, 1.0);
    write_runs(&slow, 20..23, 4.0);
    let b = base.to_str().unwrap();

    let out = check(&["--baseline", b, "--current", same.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("no regression"));

    let summary = dir.path().join("summary.md");
    let out = check(&[
        "--gross",
        "--baseline",
        b,
        "--current",
        slow.to_str().unwrap(),
        "--format",
        "markdown",
        "--output",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("smol poll_latency.p50"), "stderr: {err}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("### esbench check ❌"), "{md}");
    assert!(md.contains("| smol | poll_latency.p50 |"), "{md}");

    let out = check(&["--baseline", b, "--current", b, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"][0]["verdict"], "unchanged");
    assert_eq!(v["mode"], "normal");
}

#[test]
fn unusable_input_exits_2_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    write_runs(&good, 0..1, 1.0);
    let g = good.to_str().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"truncated\": ").unwrap();
    let bad_thresholds = dir.path().join("t.toml");
    std::fs::write(
        &bad_thresholds,
        "[normal.\"pol_latency.p50\"]\nband = 1.0\n",
    )
    .unwrap();

    for (args, expect) in [
        (
            vec!["--baseline", "/nonexistent/a.json", "--current", g],
            "cannot read results file",
        ),
        (
            vec!["--baseline", g, "--current", junk.to_str().unwrap()],
            "not valid JSON",
        ),
        (
            vec![
                "--baseline",
                g,
                "--current",
                g,
                "--thresholds",
                bad_thresholds.to_str().unwrap(),
            ],
            "unknown metric",
        ),
    ] {
        let out = check(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}

#[test]
fn quick_against_full_exits_2_unless_allow_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    write_runs(&full, 0..1, 1.0);
    let quick = dir.path().join("quick");
    std::fs::create_dir_all(&quick).unwrap();
    let mut r = fake_run(1, 1.0, &models(1.0));
    r.scenario.quick = true;
    r.scenario.duration_s = 4.0;
    r.scenario.warmup_s = 0.5;
    r.save(&quick.join("results-1.json")).unwrap();
    let (f, q) = (full.to_str().unwrap(), quick.to_str().unwrap());

    let out = check(&["--baseline", f, "--current", q]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("the baseline is full") && err.contains("the current runs are quick"),
        "{err}"
    );
    assert!(err.contains("without --quick"), "{err}");

    // Compared anyway: a verdict (0 or 1 — the fabricated counts are per run, so a 5x shorter
    // window shows as 5x the context switches per second, which is why this is refused by
    // default), with the note saying the figures are only indicative.
    let out = check(&["--baseline", f, "--current", q, "--allow-mixed"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("--allow-mixed"));
}
