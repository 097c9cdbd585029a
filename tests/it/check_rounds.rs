//! One judging path for `esbench check` and the comparison view, on the rounds: a model made
//! costlier on purpose is named with intervals that separate, a run against a rerun of
//! itself is a tie, and where the rounds are missing or too few the view says so instead of
//! guessing (while `check` keeps its bootstrap for results without rounds).

use esbench::metrics::status::Status;
use std::path::PathBuf;

use esbench::check::{compare, compare_view, view_options, Outcome, Row, Verdict};
use esbench::metrics::fixture::{add_rounds, fabricate_results_with, scale_cpu, FIXTURE_MODELS};
use esbench::metrics::results::Results;

/// A 60 s run of the eight fixture models (the same figures for the same `seed`), with
/// `rounds` rounds scattered ±5 % by `round_seed`.
fn run(seed: u64, rounds: u32, round_seed: u64) -> (PathBuf, Results) {
    let mut r = fabricate_results_with(seed, &FIXTURE_MODELS, 60.0);
    if rounds > 0 {
        add_rounds(&mut r, rounds, round_seed, 0.05);
    }
    (PathBuf::from(format!("run-{seed}-{round_seed}.json")), r)
}

fn row<'a>(o: &'a Outcome, model: &str, metric: &str) -> &'a Row {
    o.rows
        .iter()
        .find(|r| r.model == model && r.metric == metric)
        .unwrap_or_else(|| panic!("no row {model} {metric}"))
}

fn called(o: &Outcome) -> Vec<(String, String, Verdict)> {
    o.rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Regressed | Verdict::Improved))
        .map(|r| (r.model.clone(), r.metric.clone(), r.verdict))
        .collect()
}

#[test]
fn a_model_made_30_percent_costlier_is_named_with_separate_intervals() {
    let a = run(1, 10, 1);
    let mut b = run(1, 10, 2);
    scale_cpu(&mut b.1, "coop", 1.3);
    let o = compare_view(&a, &b, &view_options()).unwrap();
    let r = row(&o, "coop", "cpu.percent");
    assert_eq!(r.verdict, Verdict::Regressed, "{r:?}");
    assert_eq!(r.method, "rounds, paired (10)");
    let ch = r.change.unwrap();
    assert!(ch.lo > 1.1 && ch.hi < 1.5, "{ch:?}");
    // The medians over rounds' intervals separate too.
    let (blo, bhi) = r.baseline_ci.unwrap();
    let (clo, _) = r.current_ci.unwrap();
    assert!(blo <= r.baseline.unwrap() && r.baseline.unwrap() <= bhi);
    assert!(clo > bhi, "{r:?}");
    assert_eq!(
        called(&o),
        vec![
            ("coop".into(), "cpu.percent".into(), Verdict::Regressed),
            // The same events, each costing 30 % more CPU.
            ("coop".into(), "cpu.us_per_event".into(), Verdict::Regressed)
        ],
        "only the model made costlier is named, on its CPU"
    );
    // `check` judges the same way: one path.
    let c = compare(
        std::slice::from_ref(&a),
        std::slice::from_ref(&b),
        &view_options(),
    )
    .unwrap();
    assert_eq!(row(&c, "coop", "cpu.percent").verdict, Verdict::Regressed);
    assert_eq!(row(&c, "coop", "cpu.percent").method, "rounds, paired (10)");
}

#[test]
fn a_run_against_a_rerun_of_itself_is_a_tie() {
    for round_seed in [2, 3, 4] {
        let a = run(1, 10, 1);
        let b = run(1, 10, round_seed);
        let o = compare_view(&a, &b, &view_options()).unwrap();
        assert!(called(&o).is_empty(), "{:?}", called(&o));
        let judged = o
            .rows
            .iter()
            .filter(|r| r.verdict == Verdict::Unchanged && r.method.starts_with("rounds"))
            .count();
        // CPU, context switches and the p50s of every model at least.
        assert!(judged >= 8 * 4, "{judged} figures judged on rounds");
    }
}

#[test]
fn without_rounds_the_view_says_so_and_check_keeps_its_bootstrap() {
    let mut a = run(1, 10, 1);
    let mut b = run(2, 0, 0);
    for m in a.1.models.iter_mut().chain(b.1.models.iter_mut()) {
        m.counters.insert("polls_failed".into(), 0);
    }
    let o = compare_view(&a, &b, &view_options()).unwrap();
    let r = row(&o, "smol", "poll_latency.p50");
    assert_eq!(r.verdict, Verdict::NotJudged);
    assert_eq!(
        r.note.as_deref(),
        Some("not enough rounds to judge: the second run has no rounds")
    );
    // Figures rounds do not keep are not judged between two runs either.
    let max = row(&o, "smol", "poll_latency.max");
    assert_eq!(max.verdict, Verdict::NotJudged);
    assert!(max
        .note
        .as_deref()
        .unwrap()
        .starts_with("not enough rounds"));
    // Counts are not a statistic: the allowance rule still applies.
    assert_eq!(row(&o, "smol", "polls_failed").verdict, Verdict::Unchanged);
    // `check` against a baseline without rounds: today's rule, from the histograms.
    let c = compare(
        std::slice::from_ref(&b),
        std::slice::from_ref(&a),
        &view_options(),
    )
    .unwrap();
    assert_eq!(row(&c, "smol", "poll_latency.p50").method, "histogram");
    assert_ne!(
        row(&c, "smol", "poll_latency.p50").verdict,
        Verdict::NotJudged
    );
}

#[test]
fn fewer_than_five_rounds_give_a_range_and_no_verdict() {
    let a = run(1, 3, 1);
    let mut b = run(1, 3, 2);
    scale_cpu(&mut b.1, "coop", 3.0);
    let o = compare_view(&a, &b, &view_options()).unwrap();
    let r = row(&o, "coop", "cpu.percent");
    assert_eq!(r.verdict, Verdict::NotJudged, "{r:?}");
    assert!(r.note.as_deref().unwrap().contains("give a range"), "{r:?}");
}

#[test]
fn rounds_that_do_not_match_are_judged_by_the_two_intervals() {
    let a = run(1, 10, 1);
    let mut b = run(1, 10, 2);
    scale_cpu(&mut b.1, "coop", 1.5);
    for m in &mut b.1.models {
        m.rounds[4].status = Status::parse("crashed: boom");
    }
    let o = compare_view(&a, &b, &view_options()).unwrap();
    let r = row(&o, "coop", "cpu.percent");
    assert_eq!(r.method, "rounds (10/9)");
    assert_eq!(r.verdict, Verdict::Regressed, "{r:?}");
    let ch = r.change.unwrap();
    let (blo, bhi) = r.baseline_ci.unwrap();
    let (clo, chi) = r.current_ci.unwrap();
    assert!((ch.lo - clo / bhi).abs() < 1e-9 && (ch.hi - chi / blo).abs() < 1e-9);
    // cpu.percent and cpu.us_per_event, both of coop.
    assert!(called(&o).len() == 2, "{:?}", called(&o));
    assert!(called(&o)
        .iter()
        .all(|(m, f, _)| m == "coop" && f.starts_with("cpu.")));
}

#[test]
fn tails_of_thin_rounds_are_not_judged() {
    // 60 s of polls in 10 rounds: ~180 a round, one sample beyond p99.
    let a = run(1, 10, 1);
    let b = run(1, 10, 2);
    let o = compare_view(&a, &b, &view_options()).unwrap();
    let r = row(&o, "smol", "poll_latency.p99");
    assert_eq!(r.verdict, Verdict::NotJudged);
    assert!(
        r.note.as_deref().unwrap().contains("in the sparsest round"),
        "{r:?}"
    );
}

#[test]
fn the_report_renders_checks_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run(1, 10, 1);
    let mut b = run(1, 10, 2);
    scale_cpu(&mut b.1, "coop", 1.3);
    let index = esbench::report::write_report_judged(
        &[a, b],
        tmp.path(),
        Some(&esbench::cli::report::judge),
    )
    .unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    assert!(html.contains("rounds, paired (10)"));
    assert_eq!(
        html.matches("class=\"worse\"").count(),
        2,
        "only coop's CPU: % of a core and µs per event"
    );
    assert!(html.contains("2 regression(s): coop cpu.percent"));
    let md = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(md.contains("**Worse:** coop cpu.percent"), "{md}");
}
