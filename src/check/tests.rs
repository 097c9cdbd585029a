//! The statistics against fabricated results whose truth is known.

use crate::metrics::status::Status;
use std::path::PathBuf;

use super::fixtures::{fake_run, FakeModel};
use super::*;
use crate::metrics::results::Results;

const MODELS: [&str; 3] = ["threads", "tokio", "smol"];

fn typical() -> Vec<FakeModel> {
    MODELS.iter().map(|m| FakeModel::typical(m)).collect()
}

fn with(name: &str, f: impl Fn(&mut FakeModel)) -> Vec<FakeModel> {
    let mut ms = typical();
    for m in ms.iter_mut().filter(|m| m.name == name) {
        f(m);
    }
    ms
}

fn side(
    seeds: std::ops::Range<u64>,
    machine: f64,
    models: &[FakeModel],
) -> Vec<(PathBuf, Results)> {
    seeds
        .map(|s| {
            (
                PathBuf::from(format!("run-{s}.json")),
                fake_run(s, machine, models),
            )
        })
        .collect()
}

fn opts(mode: Mode) -> Options {
    Options {
        thresholds: Thresholds::default(),
        mode,
        allow_missing_models: false,
        allow_mixed: false,
    }
}

/// The usual experiment: three typical baseline runs against three current runs of `cur` on a
/// machine `machine` times slower, the first `runs` files a side judged in `mode`.
fn judged(machine: f64, cur: &[FakeModel], mode: Mode, runs: usize) -> Outcome {
    let base = side(0..3, 1.0, &typical());
    let cur = side(10..13, machine, cur);
    compare(&base[..runs], &cur[..runs], &opts(mode)).unwrap()
}

/// The row of `model`'s `metric`.
fn row<'o>(o: &'o Outcome, model: &str, metric: &str) -> &'o Row {
    o.rows
        .iter()
        .find(|r| r.model == model && r.metric == metric)
        .unwrap_or_else(|| panic!("no row for {model} {metric}"))
}

fn regressions(o: &Outcome) -> Vec<(String, String)> {
    o.regressions()
        .map(|r| (r.model.clone(), r.metric.clone()))
        .collect()
}

#[test]
fn same_data_against_itself_passes_single_and_repeated() {
    for runs in [0..1, 0..3] {
        let a = side(runs.clone(), 1.0, &typical());
        let o = compare(&a, &a, &opts(Mode::Normal)).unwrap();
        assert_eq!(o.exit_code(), 0, "{}", render(&o, Format::Table));
        let r = o
            .rows
            .iter()
            .find(|r| r.metric == "poll_latency.p99")
            .unwrap();
        let c = r.change.unwrap();
        assert_eq!(c.ratio, 1.0);
        assert!(
            c.lo <= 1.0 && c.hi >= 1.0,
            "interval {c:?} must cover no change"
        );
        // Nothing is called improved either.
        assert!(o.rows.iter().all(|r| r.verdict != Verdict::Improved));
    }
}

#[test]
fn independent_runs_of_the_same_build_pass() {
    // Different seeds = different samples and CPU jitter from the same distributions.
    for (b, c) in [(0..1, 10..11), (0..3, 10..13), (20..23, 30..33)] {
        let o = compare(
            &side(b, 1.0, &typical()),
            &side(c, 1.0, &typical()),
            &opts(Mode::Normal),
        )
        .unwrap();
        assert_eq!(o.exit_code(), 0, "{}", render(&o, Format::Table));
    }
}

#[test]
fn injected_3x_poll_regression_fails_naming_model_and_metric() {
    let cur = with("tokio", |m| m.poll = 3.5);
    for mode in [Mode::Normal, Mode::Gross] {
        let o = judged(1.0, &cur, mode, 3);
        assert_eq!(o.exit_code(), 1, "{}", render(&o, Format::Table));
        let regs = regressions(&o);
        assert!(
            regs.contains(&("tokio".into(), "poll_latency.p50".into())),
            "{mode:?}: {regs:?}"
        );
        assert!(
            regs.iter()
                .all(|(m, metric)| m == "tokio" && metric.starts_with("poll_latency")),
            "only the injected figure may be blamed: {regs:?}"
        );
        let text = render(&o, Format::Markdown);
        assert!(text.contains("tokio poll_latency.p50"), "{text}");
    }
    // A single run per side is judged from its histograms and still sees it.
    let o = judged(1.0, &cur, Mode::Normal, 1);
    assert!(regressions(&o).contains(&("tokio".into(), "poll_latency.p50".into())));
    assert_eq!(o.rows[0].method, "histogram");
}

#[test]
fn tails_are_judged_only_with_enough_samples_beyond() {
    // 600 polls a run: 60 samples beyond p90, 6 beyond p99.
    let smol = with("smol", |m| m.poll = 12.0);
    let row = |o: &Outcome, metric: &str| row(o, "smol", metric).clone();
    for mode in [Mode::Normal, Mode::Gross] {
        for runs in [1, 3] {
            let o = judged(1.0, &smol, mode, runs);
            assert_eq!(row(&o, "poll_latency.p50").verdict, Verdict::Regressed);
            assert_eq!(row(&o, "poll_latency.p90").verdict, Verdict::Regressed);
            let p99 = row(&o, "poll_latency.p99");
            assert_eq!(p99.verdict, Verdict::NotJudged, "{mode:?} {runs}");
            assert_eq!(
                p99.note.as_deref(),
                Some("6 samples beyond p99 in the sparsest run, 10 needed")
            );
            let md = render(&o, Format::Markdown);
            assert!(
                md.contains("poll_latency.p99 (threads, tokio, smol): 6 samples"),
                "{md}"
            );
        }
    }
    // With a lower requirement the same p99 is judged (and caught), in gross mode too.
    let mut o = opts(Mode::Gross);
    o.thresholds.tail_min_beyond = 5;
    let (base, cur) = (side(0..3, 1.0, &typical()), side(10..13, 1.0, &smol));
    let out = compare(&base, &cur, &o).unwrap();
    assert_eq!(row(&out, "poll_latency.p99").verdict, Verdict::Regressed);
}

#[test]
fn moderate_change_is_a_regression_normally_but_not_in_gross_mode() {
    let cur = with("smol", |m| m.poll = 2.0);
    let o = judged(1.0, &cur, Mode::Normal, 3);
    assert!(regressions(&o).contains(&("smol".into(), "poll_latency.p50".into())));
    let o = judged(1.0, &cur, Mode::Gross, 3);
    assert_eq!(o.exit_code(), 0, "{}", render(&o, Format::Table));
}

#[test]
fn noise_within_the_band_passes() {
    // Every latency of one model 30 % worse: inside the default +50 % band for p50 figures.
    let o = judged(1.0, &with("threads", |m| m.latency = 1.3), Mode::Normal, 3);
    assert_eq!(o.exit_code(), 0, "{}", render(&o, Format::Table));
}

#[test]
fn a_slower_machine_is_not_blamed_on_the_models() {
    // Everything, floor included, 2.5x slower: raw figures clear the band, the floor-relative
    // ones do not, so nothing is called.
    let o = judged(2.5, &typical(), Mode::Normal, 3);
    let r = row(&o, "smol", "poll_latency.p50");
    assert!(
        r.change.unwrap().lo > 1.5,
        "raw must see the slowdown: {r:?}"
    );
    assert!(
        r.vs_floor.unwrap().lo < 1.5,
        "floor-relative must not: {r:?}"
    );
    assert_eq!(o.exit_code(), 0, "{}", render(&o, Format::Table));
}

#[test]
fn busy_waiting_model_fails_on_cpu_even_in_gross_mode() {
    let cur = with("threads", |m| m.cpu_percent = 95.0);
    let o = judged(1.0, &cur, Mode::Gross, 3);
    assert_eq!(
        regressions(&o),
        vec![
            ("threads".into(), "cpu.percent".into()),
            // The same CPU over the same events: each event costs more too.
            ("threads".into(), "cpu.us_per_event".into())
        ]
    );
    // One file per side: CPU has no histogram, the fixed band decides.
    let o = judged(1.0, &cur, Mode::Gross, 1);
    assert_eq!(
        regressions(&o),
        vec![
            ("threads".into(), "cpu.percent".into()),
            // The same CPU over the same events: each event costs more too.
            ("threads".into(), "cpu.us_per_event".into())
        ]
    );
    let row = o.rows.iter().find(|r| r.metric == "cpu.percent").unwrap();
    assert_eq!(row.method, "point");
}

#[test]
fn improvement_is_reported_and_does_not_fail() {
    let base = side(0..3, 1.0, &with("smol", |m| m.poll = 4.0));
    let cur = side(10..13, 1.0, &typical());
    let o = compare(&base, &cur, &opts(Mode::Normal)).unwrap();
    assert_eq!(o.exit_code(), 0);
    let r = row(&o, "smol", "poll_latency.p50");
    assert_eq!(r.verdict, Verdict::Improved);
}

#[test]
fn metrics_without_data_are_skipped_and_vanished_ones_regress() {
    let none = |m: &mut FakeModel| m.commands = 0;
    let o = compare(
        &side(0..1, 1.0, &with("smol", none)),
        &side(1..2, 1.0, &with("smol", none)),
        &opts(Mode::Normal),
    )
    .unwrap();
    assert_eq!(o.exit_code(), 0);
    let r = row(&o, "smol", "command_latency.p99");
    assert_eq!(r.verdict, Verdict::NoData);
    let o = compare(
        &side(0..1, 1.0, &typical()),
        &side(1..2, 1.0, &with("smol", none)),
        &opts(Mode::Gross),
    )
    .unwrap();
    assert_eq!(
        regressions(&o),
        vec![("smol".into(), "command_latency.p99".into())]
    );
}

#[test]
fn a_model_that_now_fails_is_a_regression() {
    let base = side(0..1, 1.0, &typical());
    let mut cur = side(1..2, 1.0, &typical());
    cur[0].1.models[1].status = Status::parse("bridge exited with status 101");
    let o = compare(&base, &cur, &opts(Mode::Gross)).unwrap();
    assert_eq!(regressions(&o), vec![("tokio".into(), "status".into())]);
    assert!(render::headline(&o).contains("exited with status 101"));
}

#[test]
fn mismatched_inputs_are_unusable() {
    let base = side(0..1, 1.0, &typical());
    let mut other = side(1..2, 1.0, &typical());
    other[0].1.scenario.name = "classroom".into();
    let e = compare(&base, &other, &opts(Mode::Normal)).unwrap_err();
    assert!(format!("{e:#}").contains("scenarios do not match"), "{e:#}");

    let fewer: Vec<FakeModel> = typical().into_iter().take(2).collect();
    let cur = side(1..2, 1.0, &fewer);
    let e = compare(&base, &cur, &opts(Mode::Normal)).unwrap_err();
    assert!(format!("{e:#}").contains("\"smol\""), "{e:#}");
    let mut o = opts(Mode::Normal);
    o.allow_missing_models = true;
    let out = compare(&base, &cur, &o).unwrap();
    assert!(out.notes.iter().any(|n| n.contains("smol")));

    let foreign = side(1..2, 1.0, &[FakeModel::typical("rayon")]);
    let e = compare(&base, &foreign, &opts(Mode::Normal)).unwrap_err();
    assert!(format!("{e:#}").contains("nothing to compare"), "{e:#}");
}

#[test]
fn bad_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let foreign = dir.path().join("package.json");
    std::fs::write(&foreign, "{\"name\": \"left-pad\"}").unwrap();
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    for (input, says) in [
        (&missing, "nope.json"),
        (&foreign, "not an esbench results.json"),
        (&empty_dir, "no *.json"),
    ] {
        let files = std::slice::from_ref(input);
        let e = check_files(files, files, &opts(Mode::Normal)).unwrap_err();
        assert!(format!("{e:#}").contains(says), "{e:#}");
    }
}

#[test]
fn verdicts_are_reproducible() {
    let cur = with("smol", |m| m.poll = 1.6);
    let a = judged(1.0, &cur, Mode::Normal, 3);
    let b = judged(1.0, &cur, Mode::Normal, 3);
    assert_eq!(
        render(&a, Format::Json),
        render(&b, Format::Json),
        "same inputs and seed, same output"
    );
}

/// Makes `runs` look like `esbench run --quick` of the fixture scenario.
fn make_quick(runs: &mut [(PathBuf, Results)]) {
    for (_, r) in runs {
        r.scenario.quick = true;
        r.scenario.duration_s = 4.0;
        r.scenario.warmup_s = 0.5;
    }
}

#[test]
fn quick_and_full_runs_are_refused_unless_allowed() {
    let mut quick = side(0..3, 1.0, &typical());
    make_quick(&mut quick);
    let full = side(3..4, 1.0, &typical());

    let e = compare(&quick, &full, &opts(Mode::Normal)).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("cannot be compared"), "{msg}");
    assert!(
        msg.contains(
            "the baseline is quick (4 s measured after 0.5 s warm-up) in run-0.json and 2 more"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("the current runs are full (20 s measured after 2 s warm-up) in run-3.json"),
        "{msg}"
    );
    assert!(msg.contains("with `esbench run --quick`"), "{msg}");
    assert!(msg.contains("--allow-mixed"), "{msg}");

    // The other way round, the fix is the other way round.
    let e = compare(&full, &quick, &opts(Mode::Normal)).unwrap_err();
    assert!(format!("{e:#}").contains("without --quick"), "{e:#}");

    // A side that mixes both is named as a mix.
    let mut mixed = side(4..6, 1.0, &typical());
    make_quick(&mut mixed[..1]);
    let e = compare(&full, &mixed, &opts(Mode::Normal)).unwrap_err();
    assert!(format!("{e:#}").contains("a mix: "), "{e:#}");

    // Same --quick but another --duration is as incomparable.
    let mut longer = side(6..7, 1.0, &typical());
    longer[0].1.scenario.duration_s = 30.0;
    let e = compare(&full, &longer, &opts(Mode::Normal)).unwrap_err();
    assert!(format!("{e:#}").contains("30 s measured"), "{e:#}");

    let mut o = opts(Mode::Normal);
    o.allow_mixed = true;
    let out = compare(&quick, &full, &o).unwrap();
    assert!(!out.rows.is_empty());
    assert!(
        out.notes.iter().any(|n| n.contains("--allow-mixed")),
        "{:?}",
        out.notes
    );

    // Equal settings on both sides (all quick) compare without a word about it.
    let mut quick2 = side(7..8, 1.0, &typical());
    make_quick(&mut quick2);
    let out = compare(&quick, &quick2, &opts(Mode::Normal)).unwrap();
    assert!(!out.notes.iter().any(|n| n.contains("measured differently")));
}

/// Side A's and side B's rows of a paired run whose passes gave `a[k]` and `b[k]`.
fn paired_rows(a: &[f64], b: &[f64]) -> Vec<crate::metrics::results::ModelResult> {
    let row = |name: &str, v: &[f64]| crate::metrics::results::ModelResult {
        name: name.into(),
        status: crate::metrics::status::Status::Ok,
        valgrind: Some(crate::metrics::valgrind::ValgrindReport {
            passes: v
                .iter()
                .enumerate()
                .map(|(k, &x)| crate::metrics::valgrind::ValgrindPass {
                    index: k as u32,
                    per_event: Some(x),
                    ..crate::metrics::valgrind::ValgrindPass::default()
                })
                .collect(),
            ..crate::metrics::valgrind::ValgrindReport::default()
        }),
        ..Default::default()
    };
    vec![row("threads", a), row("threads", b)]
}

#[test]
fn valgrind_passes_are_judged_paired_per_pass() {
    use crate::check::compare::{compare_paired, Verdict};
    use crate::metrics::figures::CPU_VALGRIND_INSTRUCTIONS_PER_EVENT as VG;
    let a = [8_000.0, 8_010.0, 7_990.0, 8_005.0, 8_000.0];
    let plus10: Vec<f64> = a.iter().map(|x| x * 1.1).collect();
    let rows = paired_rows(&a, &plus10);
    let ratios = crate::metrics::paired::per_round(&VG, &rows[0], &rows[1]);
    assert_eq!(ratios.len(), 5);
    assert!(ratios.iter().all(|r| (r.unwrap() - 1.1).abs() < 1e-9));
    let judge = |a: &[f64], b: &[f64]| {
        let rows = paired_rows(a, b);
        let side = |m: &crate::metrics::results::ModelResult| {
            let mut r = crate::metrics::results::Results::default();
            r.scenario.name = "fixture".into();
            r.models.push(m.clone());
            (std::path::PathBuf::from("x"), r)
        };
        let opts = crate::check::compare::Options {
            thresholds: crate::check::Thresholds::default().for_paired(),
            mode: crate::check::Mode::Gross,
            allow_missing_models: false,
            allow_mixed: false,
        };
        let o = compare_paired(&side(&rows[0]), &side(&rows[1]), &opts).unwrap();
        o.rows.into_iter().find(|r| r.metric == VG.key)
    };
    let row = judge(&a, &plus10).expect("a row for the figure");
    assert_eq!(row.verdict, Verdict::Regressed, "{row:?}");
    assert_eq!(row.method, "passes, paired (5)");
    // A/A within ±0.2 %: no verdict either way.
    let same = [8_010.0, 7_995.0, 8_000.0, 8_012.0, 7_990.0];
    assert_eq!(judge(&a, &same).unwrap().verdict, Verdict::Unchanged);
    // Three passes give a range, not an interval: not judged, even at +10 %.
    let row = judge(&a[..3], &plus10[..3]).unwrap();
    assert_eq!(row.verdict, Verdict::NotJudged, "{row:?}");
    // Neither side ran the pass: no row at all.
    let none = [];
    assert!(judge(&none, &none).is_none());
}
