//! The report written from fabricated results: files present, self-contained, escaped,
//! readable with eight models, comparison view with two files, clear errors on bad input.

use crate::common;

use esbench::metrics::status::Status;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::out_dir;
use esbench::metrics::fixture::{fabricate_results, fabricate_results_with};
use esbench::metrics::results::Results;
use esbench::report::write_report;

fn save(dir: &Path, name: &str, r: &Results) -> PathBuf {
    let p = dir.join(name).join("results.json");
    r.save(&p).unwrap();
    p
}

#[test]
fn single_run_report_has_every_part() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = fabricate_results(11);
    r.scenario.name = "class<room> & \"quotes\"".into();
    r.models[2].status = Status::parse("crashed: <panic> at src/x.rs");
    r.models[4].name = "sm<o>l&co".into();
    let out = out_dir(tmp.path(), "single");
    let index = write_report(&[(PathBuf::from("in/results.json"), r.clone())], &out).unwrap();
    assert_eq!(index, out.join("index.html"));
    let html = std::fs::read_to_string(&index).unwrap();

    // Self-contained: no scripts, no external resources.
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("http://")
            || html.matches("http://").count() == html.matches("xmlns=\"http://www.w3.org").count()
    );
    assert!(!html.contains("https://"));
    assert!(!html.contains("<link"));
    assert!(!html.contains("<img"));

    // Text from the file is escaped.
    assert!(html.contains("class&lt;room&gt; &amp; &quot;quotes&quot;"));
    assert!(!html.contains("class<room>"));
    assert!(html.contains("crashed: &lt;panic&gt;"));
    // Model names reach the SVG legends escaped too.
    assert!(html.contains("sm&lt;o&gt;l&amp;co"));
    assert!(!html.contains("sm<o>l"));
    assert!(
        html.contains("<title>"),
        "plots carry a title for screen readers"
    );

    // Headline, table, plots, context, how-to-read.
    for part in [
        "Cheapest in CPU",
        "Lowest latency",
        "Steadiest latency",
        "class=\"summary\"",
        "How to read this",
        "fixture-host",
        "Watchdog timer lateness per model",
    ] {
        assert!(html.contains(part), "missing {part}");
    }
    // The verdict chart, 1 CPU + 7 latency metrics + 1 histogram grid.
    assert_eq!(html.matches("<svg").count(), 10);
    assert!(html.contains("Verdict") || html.contains("verdicts at a glance"));
    for f in [
        "verdicts.svg",
        "cpu_over_time.svg",
        "latency_poll_latency.svg",
        "latency_poll_service.svg",
        "latency_staleness.svg",
        "latency_staleness_excess.svg",
        "latency_ingest_latency.svg",
        "latency_command_latency.svg",
        "latency_watchdog_lateness.svg",
        "watchdog_lateness_hist.svg",
        "summary.md",
    ] {
        let p = out.join(f);
        assert!(
            p.metadata().map(|m| m.len() > 500).unwrap_or(false),
            "{f} missing or empty"
        );
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| ")).count(),
        1 + r.models.len()
    );
    assert!(md.contains("Cheapest in CPU"));
}

#[test]
fn two_runs_get_a_comparison_and_both_sections() {
    let tmp = tempfile::tempdir().unwrap();
    // The comparison is check's judgement, on the rounds (issue 16).
    let mut a = fabricate_results(21);
    let mut b = fabricate_results(22);
    esbench::metrics::fixture::add_rounds(&mut a, 8, 1, 0.05);
    esbench::metrics::fixture::add_rounds(&mut b, 8, 2, 0.05);
    esbench::metrics::fixture::scale_cpu(&mut b, "rayon", 4.0); // rayon got much worse
    let out = out_dir(tmp.path(), "compare");
    let pa = save(tmp.path(), "a", &a);
    let pb = save(tmp.path(), "b", &b);
    let inputs = vec![(pa, a), (pb, b)];
    let index =
        esbench::report::write_report_judged(&inputs, &out, Some(&esbench::cli::report::judge))
            .unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    assert!(html.contains("id=\"compare\""));
    assert!(html.contains("class=\"worse\""));
    // 10 plots per run + poll latency and watchdog lateness A vs B.
    assert_eq!(html.matches("<svg").count(), 22);
    assert!(out.join("compare-a-b-poll_latency.svg").exists());
    assert!(out.join("a-cpu_over_time.svg").exists());
    assert!(out.join("b-cpu_over_time.svg").exists());
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("## Comparison"));
    assert!(md.contains("**Worse:** rayon cpu.percent"), "{md}");
}

#[test]
fn partial_results_still_report() {
    // A run with one model that failed before measuring anything and no floor.
    let tmp = tempfile::tempdir().unwrap();
    let mut r = fabricate_results_with(31, &["smol"], 2.0);
    r.floor = Default::default();
    let mut failed = r.models[0].clone();
    failed.name = "coop".into();
    failed.status = Status::parse("failed to start");
    failed.cpu = Default::default();
    failed.poll_latency = Default::default();
    failed.watchdog_lateness = Default::default();
    r.models.push(failed);
    let index = write_report(&[(PathBuf::from("r.json"), r)], tmp.path()).unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    assert!(html.contains("failed to start"));
    assert!(html.contains("not measured"));
}

#[test]
fn cli_writes_next_to_the_first_file_and_names_bad_files() {
    let exe = common::BIN;
    let tmp = tempfile::tempdir().unwrap();
    let p = save(tmp.path(), "run1", &fabricate_results(41));
    let out = Command::new(exe).arg("report").arg(&p).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(p.parent().unwrap().join("index.html").exists());
    // A run directory works as well as its results.json.
    let p2 = save(tmp.path(), "run2", &fabricate_results(43));
    let out = Command::new(exe)
        .arg("report")
        .arg(p2.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(p2.parent().unwrap().join("index.html").exists());

    let bad = tmp.path().join("foreign.json");
    std::fs::write(&bad, "{\"name\": \"package.json, not results\"}").unwrap();
    let out = Command::new(exe)
        .arg("report")
        .arg(&p)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("foreign.json"), "{err}");
    assert!(err.contains("not an esbench results.json"), "{err}");

    let trunc = tmp.path().join("truncated.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&trunc, &text[..text.len() / 2]).unwrap();
    let out = Command::new(exe)
        .arg("report")
        .arg(&trunc)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated.json") && err.contains("not valid JSON"),
        "{err}"
    );

    let mut dup = fabricate_results(42);
    dup.models[1].name = dup.models[0].name.clone();
    let dup_path = save(tmp.path(), "dup", &dup);
    let out = Command::new(exe)
        .arg("report")
        .arg(&dup_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dup/results.json") && err.contains("appears twice"),
        "{err}"
    );

    let out = Command::new(exe)
        .args(["report", "/nonexistent/results.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read results file"));
}

#[test]
fn a_run_without_models_still_gets_a_page() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = fabricate_results(51);
    r.models.clear();
    let index = write_report(&[(PathBuf::from("empty.json"), r)], tmp.path()).unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    assert!(html.contains("no models"));
    assert!(html.contains("there is no headline"));
    assert!(!html.contains("<svg"));
}

#[test]
fn runs_of_different_scenarios_are_only_compared_within_a_scenario() {
    use esbench::report::comparison_pairs;
    let named = |seed: u64, name: &str| {
        let mut r = fabricate_results(seed);
        r.scenario.name = name.into();
        (PathBuf::from(format!("{name}-{seed}.json")), r)
    };
    // One scenario: everything against the first.
    let same = vec![named(1, "x"), named(2, "x"), named(3, "x")];
    assert_eq!(comparison_pairs(&same), vec![(0, 1), (0, 2)]);
    // `esbench run` over two scenarios: nothing to compare.
    let two = vec![named(1, "classroom"), named(2, "stress")];
    assert!(comparison_pairs(&two).is_empty());
    let mixed = vec![named(1, "a"), named(2, "b"), named(3, "a"), named(4, "b")];
    assert_eq!(comparison_pairs(&mixed), vec![(0, 2), (1, 3)]);

    let tmp = tempfile::tempdir().unwrap();
    let index = write_report(&two, tmp.path()).unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    assert!(!html.contains("id=\"compare\""));
    assert!(html.contains("2 scenarios"));
    assert_eq!(html.matches("<svg").count(), 20);
}
