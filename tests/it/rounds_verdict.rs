//! The verdicts on fabricated rounds (issue 16, "Done when"): a model made ~30 % costlier on
//! purpose is named costlier than its unmodified self with intervals that separate, a model
//! against itself is a tie, and the headline, the ★ of the report's table and of
//! `summary.md`, and the terminal table all say the same thing.

use esbench::metrics::status::Status;
use std::collections::BTreeMap;

use esbench::metrics::results::{ModelResult, Results, SCHEMA};
use esbench::metrics::rounds::{RoundFigure, RoundResult, RoundsPlan};
use esbench::metrics::summary::{new_histogram, record_clamped, Summary};
use esbench::metrics::verdict::{self, Verdict, CHEAPEST};

/// A ±4 % wobble, different per round and per model, like a quiet machine's.
fn wobble(seed: u64, k: u32) -> f64 {
    let x = (seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(u64::from(k) * 1442695040888963407)
        >> 33) as f64
        / f64::from(1u32 << 31);
    1.0 + 0.08 * (x - 0.5)
}

/// A row of `rounds` rounds whose CPU is `cpu` and poll p99 `p99_us` with the wobble.
fn row(name: &str, seed: u64, rounds: u32, cpu: f64, p99_us: u64) -> ModelResult {
    let mut h = new_histogram();
    let mut rr = Vec::new();
    for k in 0..rounds {
        let w = wobble(seed, k);
        let p99 = (p99_us as f64 * w) as u64;
        for i in 0..100 {
            record_clamped(&mut h, if i == 99 { p99 } else { 200 });
        }
        let mut figures = BTreeMap::new();
        figures.insert(
            "poll_latency".to_string(),
            RoundFigure {
                count: 100,
                p50: 200,
                p99,
                max: p99,
            },
        );
        rr.push(RoundResult {
            index: k,
            status: Status::Ok,
            duration_s: 3.3,
            cpu_percent: cpu * w,
            context_switches_per_s: 150.0 * w,
            figures,
            ..RoundResult::default()
        });
    }
    let mut m = ModelResult {
        name: name.into(),
        status: Status::Ok,
        poll_latency: Summary::from_histogram(&h),
        rounds: rr,
        ..ModelResult::default()
    };
    m.cpu.percent = cpu;
    m
}

fn run(models: Vec<ModelResult>, rounds: u32) -> Results {
    Results {
        schema: SCHEMA.into(),
        rounds: Some(RoundsPlan {
            count: rounds,
            seed: 1,
            order: Vec::new(),
            round_s: 3.3,
        }),
        models,
        ..Results::default()
    }
}

#[test]
fn a_model_made_30_percent_costlier_is_named_costlier_with_separate_intervals() {
    let r = run(
        vec![
            row("threads", 1, 6, 1.0, 600),
            row("threads-hot", 2, 6, 1.3, 600),
        ],
        6,
    );
    let base = verdict::interval(r.model("threads").unwrap(), "cpu_percent").unwrap();
    let hot = verdict::interval(r.model("threads-hot").unwrap(), "cpu_percent").unwrap();
    assert!(!base.is_range && base.coverage >= 0.95, "{base:?}");
    assert!(base.separates_from(&hot), "{base:?} vs {hot:?}");
    assert_eq!(
        CHEAPEST.verdict(&r),
        Verdict::Best {
            model: "threads".into(),
            runner_up: Some("threads-hot".into()),
            limited: false,
        }
    );
    let picks = esbench::report::headline::picks(&r);
    assert_eq!(picks[0].model, "threads");
    assert!(
        picks[0].verdict.contains("clear of threads-hot"),
        "{}",
        picks[0].verdict
    );
    // The ratio carries its interval, and that interval is clear of 1.
    let v = &picks[0].versus;
    assert!(
        v.starts_with("1.3× (1.") && v.contains("less than the costliest, threads-hot"),
        "{v}"
    );
    assert!(
        picks[0]
            .figure
            .contains("median of 6 rounds 1.00 %, its 96 % interval"),
        "{}",
        picks[0].figure
    );
    // Poll p99 was not changed: a tie, not a winner.
    assert!(
        picks[1]
            .verdict
            .contains("no model separates on poll latency p99"),
        "{}",
        picks[1].verdict
    );
    // The terminal table, the report's table and summary.md star the same row.
    let t = esbench::report::run_table::render(&r);
    let line = |name: &str| {
        t.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .to_string()
    };
    assert!(line("threads").contains('★'), "{t}");
    assert!(!line("threads-hot").contains('★'), "{t}");
    assert!(
        t.contains("Cheapest in CPU: threads is cheapest on CPU"),
        "{t}"
    );
    let md = esbench::report::table::markdown(&r);
    let md_row = md.lines().find(|l| l.starts_with("| threads |")).unwrap();
    assert!(md_row.contains("★ **1.00 ±"), "{md_row}");
    let html = esbench::report::table::html(&r);
    assert_eq!(html.matches("★ 1.00").count(), 1, "{html}");
}

#[test]
fn a_model_against_itself_is_a_tie_and_nobody_is_starred() {
    // The same model under two names: the same figures up to the wobble of each round.
    let r = run(
        vec![
            row("threads", 1, 6, 1.0, 600),
            row("threads-again", 2, 6, 1.0, 600),
        ],
        6,
    );
    match CHEAPEST.verdict(&r) {
        Verdict::Tie { mut models, .. } => {
            models.sort();
            assert_eq!(models, ["threads", "threads-again"]);
        }
        other => panic!("a model against itself must tie, got {other:?}"),
    }
    let picks = esbench::report::headline::picks(&r);
    assert!(
        picks[0]
            .verdict
            .starts_with("no model separates on CPU on this machine")
            && picks[0].verdict.ends_with("tie within noise"),
        "{}",
        picks[0].verdict
    );
    assert!(
        picks[0].model.contains("no model separates"),
        "{}",
        picks[0].model
    );
    let t = esbench::report::run_table::render(&r);
    assert!(!rows_starred(&t), "all tie: nobody stands out\n{t}");
    assert!(
        t.contains("no model separates on CPU on this machine: both tie within noise"),
        "{t}"
    );
}

#[test]
fn a_driver_limited_or_failed_row_is_never_crowned_and_three_rounds_are_a_range() {
    // Late sends alone are part of a latency, not of the model's CPU: the CPU crown stands.
    let mut late = row("cheap", 1, 3, 0.5, 600);
    late.driver.limited = true;
    let r = run(vec![late, row("costly", 2, 3, 1.3, 600)], 3);
    assert_eq!(
        CHEAPEST.verdict(&r),
        Verdict::Best {
            model: "cheap".into(),
            runner_up: Some("costly".into()),
            limited: false,
        }
    );
    // A saturated driver may not have delivered the load: then the CPU is in doubt too.
    let mut cheap = row("cheap", 1, 3, 0.5, 600);
    cheap.driver.limited = true;
    (cheap.driver.cpu_percent, cheap.driver.cpus) = (190.0, 2);
    let mut failed = row("failed", 3, 3, 0.2, 600);
    failed.status = Status::parse("crashed: serve signal 9");
    let r = run(vec![cheap, failed, row("costly", 2, 3, 1.3, 600)], 3);
    // The limited row leads, so the costlier one is not crowned in its place; nobody is.
    assert_eq!(
        CHEAPEST.verdict(&r),
        Verdict::Best {
            model: "cheap".into(),
            runner_up: Some("costly".into()),
            limited: true,
        }
    );
    assert!(verdict::stars(&r, "cpu_percent", |m| Some(m.cpu.percent)).is_empty());
    let i = verdict::interval(r.model("costly").unwrap(), "cpu_percent").unwrap();
    assert!(i.is_range);
    let t = esbench::report::run_table::render(&r);
    assert!(
        t.contains("1.30 [1."),
        "three rounds are shown as a range: {t}"
    );
    assert!(!rows_starred(&t), "{t}");
    assert!(t.contains("(DRIVER-LIMITED, so not crowned)"), "{t}");
}

/// Whether any model row of a terminal table has a ★ (the caption under it mentions one).
fn rows_starred(table: &str) -> bool {
    table
        .lines()
        .skip(2)
        .take_while(|l| !l.starts_with('*') && !l.contains("round(s) of"))
        .any(|l| l.contains('★'))
}
