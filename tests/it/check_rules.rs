//! Each rule of the CI gate against a results pair built here (no timing, no runs): the
//! longest stall, the counters a healthy run keeps at zero, a crashed or partial row, CPU and
//! context switches by ratio, tails judged only with samples beyond them, verdict lines that
//! say why, the Markdown order, and the baseline's provenance.

use std::path::PathBuf;

use esbench::check::fixtures::{fake_run, fake_run_paused, FakeModel};
use esbench::check::render::explain;
use esbench::check::{check_files, Verdict};
use esbench::check::{compare, provenance, render, Format, Mode, Options, Outcome, Thresholds};
use esbench::metrics::results::Results;

const MS: u64 = 1_000;

fn model(f: impl Fn(&mut FakeModel)) -> Vec<FakeModel> {
    let mut m = FakeModel::typical("threads");
    m.cpu_percent = 0.5;
    f(&mut m);
    vec![m]
}

fn healthy() -> Vec<FakeModel> {
    model(|_| {})
}

fn run(seed: u64, models: &[FakeModel]) -> (PathBuf, Results) {
    (
        PathBuf::from(format!("run-{seed}.json")),
        fake_run(seed, 1.0, models),
    )
}

fn judge(base: &[FakeModel], cur: &[FakeModel], mode: Mode) -> Outcome {
    judge_runs(&[run(1, base)], &[run(2, cur)], mode)
}

fn judge_runs(base: &[(PathBuf, Results)], cur: &[(PathBuf, Results)], mode: Mode) -> Outcome {
    let opts = Options {
        thresholds: Thresholds::default(),
        mode,
        allow_missing_models: false,
        allow_mixed: false,
    };
    compare(base, cur, &opts).unwrap()
}

fn regressed(o: &Outcome) -> Vec<String> {
    o.regressions().map(|r| r.metric.clone()).collect()
}

/// The regressions, with the per-event twin of a figure folded into it: more CPU (or more
/// context switches) for the same events is also more per event (`cpu.us_per_event`,
/// `cpu.wakeups_per_event`), which the rules call too.
fn regressed_folding_per_event(o: &Outcome) -> Vec<String> {
    let mut v: Vec<String> = regressed(o)
        .into_iter()
        .map(|m| match m.as_str() {
            "cpu.us_per_event" => "cpu.percent".to_string(),
            "cpu.wakeups_per_event" => "cpu.ctx_switches_per_s".to_string(),
            _ => m,
        })
        .collect();
    v.dedup();
    v
}

fn verdict(o: &Outcome, metric: &str) -> Verdict {
    o.rows
        .iter()
        .find(|r| r.metric == metric)
        .unwrap_or_else(|| panic!("no row {metric}"))
        .verdict
}

const BOTH: [Mode; 2] = [Mode::Normal, Mode::Gross];

#[test]
fn the_same_build_passes_in_both_modes() {
    for mode in BOTH {
        let o = judge(&healthy(), &healthy(), mode);
        assert_eq!(o.exit_code(), 0, "{}", render(&o, Format::Table));
    }
}

#[test]
fn a_frozen_model_fails_on_the_stall_and_the_late_watchdog_run() {
    // The Ctrl-Z test: 1.5 s SIGSTOP inside the window. One poll waited 1.5 s, and the
    // watchdog missed 59 beats in a row.
    let frozen = model(|m| m.stall_us = Some(1_500 * MS));
    for mode in BOTH {
        let o = judge(&healthy(), &frozen, mode);
        let regs = regressed(&o);
        assert!(
            regs.contains(&"poll_latency.max".into()),
            "{mode:?}: {regs:?}"
        );
        assert!(
            regs.contains(&"watchdog_longest_late_run".into()),
            "{mode:?}: {regs:?}"
        );
        let line = render::headline(&o);
        assert!(line.contains("threads poll_latency.max 1.50 s"), "{line}");
    }
    // A stall under the gross floor (500 ms; here 300 ms, 11 missed beats) passes the gross
    // gate, and the normal one (100 ms, 4 beats) catches it.
    let short = model(|m| m.stall_us = Some(300 * MS));
    assert_eq!(judge(&healthy(), &short, Mode::Gross).exit_code(), 0);
    let o = judge(&healthy(), &short, Mode::Normal);
    assert_eq!(
        regressed(&o),
        ["poll_latency.max", "watchdog_longest_late_run"]
    );
}

#[test]
fn a_pause_of_the_whole_machine_is_not_blamed_on_the_models_stall() {
    // The floor beside the model paused as long as the model did: raw max x1000, but not
    // against the floor, so `poll_latency.max` is not called. The watchdog did miss those
    // beats, and the count rule says so: it has no floor (see docs/ci-gate.md).
    let base = [run(1, &healthy())];
    let cur = [(
        PathBuf::from("paused.json"),
        fake_run_paused(2, 1.0, &healthy(), Some(1_500 * MS)),
    )];
    let o = judge_runs(&base, &cur, Mode::Gross);
    let row = o
        .rows
        .iter()
        .find(|r| r.metric == "poll_latency.max")
        .unwrap();
    assert!(row.change.unwrap().ratio > 100.0, "{row:?}");
    assert!(row.vs_floor.unwrap().ratio < 3.0, "{row:?}");
    assert_eq!(row.verdict, Verdict::Unchanged);
    assert_eq!(regressed(&o), ["watchdog_longest_late_run"]);
}

#[test]
fn each_counter_that_rises_from_zero_is_a_regression_naming_the_count() {
    for (counter, n) in [
        ("polls_failed", 6),
        ("polls_skipped", 45),
        ("commands_failed", 1),
        ("commands_unmatched", 1),
        ("seq_unmatched", 2),
    ] {
        let cur = model(|m| m.counters = vec![(counter, n)]);
        for mode in BOTH {
            let o = judge(&healthy(), &cur, mode);
            assert_eq!(regressed(&o), [counter], "{mode:?}");
            let r = o.regressions().next().unwrap();
            let why = explain(r);
            assert!(
                why.starts_with(&format!(
                    "threads {counter}: {n} in the median current run, 0 in the baseline's worst run"
                )),
                "{why}"
            );
            assert!(why.contains("allowed up to"), "{why}");
        }
    }
}

#[test]
fn counters_have_a_small_allowance_and_the_baselines_worst_run_sets_it() {
    // A 100 ms pause of the machine skips up to 3 poll slots: allowed in both modes; 15 are
    // allowed only by the gross gate (its 500 ms).
    let skipped = |n: u64| model(move |m| m.counters = vec![("polls_skipped", n)]);
    assert_eq!(judge(&healthy(), &skipped(3), Mode::Normal).exit_code(), 0);
    assert_eq!(
        regressed(&judge(&healthy(), &skipped(4), Mode::Normal)),
        ["polls_skipped"]
    );
    assert_eq!(judge(&healthy(), &skipped(15), Mode::Gross).exit_code(), 0);
    assert_eq!(
        regressed(&judge(&healthy(), &skipped(16), Mode::Gross)),
        ["polls_skipped"]
    );
    // Lost commands are allowed none: one is a bug.
    let one = model(|m| m.counters = vec![("commands_unmatched", 1)]);
    assert_eq!(
        regressed(&judge(&healthy(), &one, Mode::Gross)),
        ["commands_unmatched"]
    );
    // A baseline whose worst run already skipped 5 slots: up to 5 + 15 is noise in gross.
    let base = [
        run(1, &healthy()),
        run(2, &model(|m| m.counters = vec![("polls_skipped", 5)])),
    ];
    let cur = [run(3, &skipped(20))];
    assert_eq!(judge_runs(&base, &cur, Mode::Gross).exit_code(), 0);
    let cur = [run(3, &skipped(21))];
    assert_eq!(
        regressed(&judge_runs(&base, &cur, Mode::Gross)),
        ["polls_skipped"]
    );
    // The median current run decides: one unlucky run among three does not fail the gate,
    // two do.
    let failing = model(|m| m.counters = vec![("polls_failed", 4)]);
    let one_bad = [run(4, &healthy()), run(5, &failing), run(6, &healthy())];
    assert_eq!(judge_runs(&base, &one_bad, Mode::Gross).exit_code(), 0);
    let two_bad = [run(4, &failing), run(5, &failing), run(6, &healthy())];
    assert_eq!(
        regressed(&judge_runs(&base, &two_bad, Mode::Gross)),
        ["polls_failed"]
    );
}

#[test]
fn a_counter_the_baseline_never_recorded_is_not_judged_and_says_so() {
    let mut base = run(1, &healthy());
    base.1.models[0]
        .counters
        .remove("watchdog_longest_late_run");
    let frozen = model(|m| m.stall_us = Some(1_500 * MS));
    let o = judge_runs(&[base], &[run(2, &frozen)], Mode::Gross);
    assert_eq!(verdict(&o, "watchdog_longest_late_run"), Verdict::NoData);
    // The stall is still caught by the max.
    assert_eq!(regressed(&o), ["poll_latency.max"]);
    let md = render(&o, Format::Markdown);
    assert!(
        md.contains("watchdog_longest_late_run (threads): not recorded in the baseline"),
        "{md}"
    );
}

#[test]
fn a_crashed_or_partial_row_is_a_regression() {
    for status in [
        "crashed: serve signal 9 (SIGKILL)",
        "interrupted by Ctrl-C 1.2 s into the measured window",
    ] {
        let mut cur = run(2, &healthy());
        cur.1.models[0].status = esbench::metrics::status::Status::parse(status);
        let o = judge_runs(&[run(1, &healthy())], &[cur], Mode::Gross);
        assert_eq!(regressed(&o), ["status"]);
        assert!(
            render::headline(&o).contains(status),
            "{}",
            render::headline(&o)
        );
    }
}

#[test]
fn cpu_is_judged_by_ratio_with_a_small_absolute_floor() {
    let cpu = |p: f64| model(move |m| m.cpu_percent = p);
    // 0.5 % -> 1.5 % is caught by both modes, 0.50 % -> 0.52 % by neither.
    for mode in BOTH {
        assert_eq!(
            regressed_folding_per_event(&judge(&cpu(0.5), &cpu(1.5), mode)),
            ["cpu.percent"]
        );
        assert_eq!(judge(&cpu(0.50), &cpu(0.52), mode).exit_code(), 0);
    }
    // A doubling is caught by the gross gate, +30 % is not; +20 % is caught by the normal
    // bands (quiet machines).
    assert_eq!(
        regressed_folding_per_event(&judge(&cpu(0.5), &cpu(1.0), Mode::Gross)),
        ["cpu.percent"]
    );
    assert_eq!(judge(&cpu(0.5), &cpu(0.65), Mode::Gross).exit_code(), 0);
    assert_eq!(
        regressed_folding_per_event(&judge(&cpu(0.5), &cpu(0.6), Mode::Normal)),
        ["cpu.percent"]
    );
    // A doubling of a model that costs a few hundredths of a point is below the floor.
    assert_eq!(judge(&cpu(0.02), &cpu(0.04), Mode::Gross).exit_code(), 0);
}

#[test]
fn context_switches_are_judged_by_ratio() {
    let base = run(1, &healthy());
    let mut cur = run(2, &healthy());
    let c = &mut cur.1.models[0].cpu;
    c.vcsw *= 7;
    c.ivcsw *= 7;
    for mode in BOTH {
        let o = judge_runs(
            std::slice::from_ref(&base),
            std::slice::from_ref(&cur),
            mode,
        );
        assert_eq!(
            regressed_folding_per_event(&o),
            ["cpu.ctx_switches_per_s"],
            "{mode:?}"
        );
    }
}

#[test]
fn a_tail_is_judged_only_with_enough_samples_beyond_it() {
    // 600 polls: 60 beyond p90, 6 beyond p99. Poll latency x12: p90 is caught in both modes
    // (gross too), p99 is shown with its sample count instead of being judged.
    let slow = model(|m| m.poll = 12.0);
    for mode in BOTH {
        let o = judge(&healthy(), &slow, mode);
        assert_eq!(
            verdict(&o, "poll_latency.p90"),
            Verdict::Regressed,
            "{mode:?}"
        );
        assert_eq!(
            verdict(&o, "poll_latency.p99"),
            Verdict::NotJudged,
            "{mode:?}"
        );
        let text = render(&o, Format::Table);
        assert!(
            text.contains("not judged (6 samples beyond p99 in the sparsest run, 10 needed)"),
            "{text}"
        );
    }
}

#[test]
fn the_regression_line_names_values_intervals_and_band() {
    let slow = model(|m| m.poll = 4.0);
    let o = judge(&healthy(), &slow, Mode::Gross);
    let r = o
        .regressions()
        .find(|r| r.metric == "poll_latency.p50")
        .unwrap();
    let why = explain(r);
    // Both sides with their intervals (one run each: from the histograms), the change with
    // its interval, the floor-relative change, the band.
    assert!(why.starts_with("threads poll_latency.p50: "), "{why}");
    let (cur, base) = (r.current_ci.unwrap(), r.baseline_ci.unwrap());
    assert!(cur.0 <= r.current.unwrap() && r.current.unwrap() <= cur.1);
    assert!(base.1 < cur.0, "the intervals separate: {base:?} {cur:?}");
    assert!(why.contains(" vs baseline "), "{why}");
    assert!(
        why.matches('[').count() >= 4,
        "values and changes with intervals: {why}"
    );
    assert!(why.contains("vs floor"), "{why}");
    assert!(
        why.contains("band: the interval above x3.00 and the change above +300 µs"),
        "{why}"
    );
    // A CPU figure from one run per side has no interval, and the line says so.
    let o = judge(&healthy(), &model(|m| m.cpu_percent = 2.0), Mode::Gross);
    let why = explain(o.regressions().next().unwrap());
    assert!(why.contains("no interval, the band alone decides"), "{why}");
    assert!(why.contains("+0.10 points"), "{why}");
}

#[test]
fn the_markdown_summary_leads_with_regressions_then_improvements_then_not_judged() {
    // threads got slower on polls, smol got cheaper.
    let mut base = healthy();
    base.push(FakeModel::typical("smol"));
    let mut cur = model(|m| m.poll = 4.0);
    let mut smol = FakeModel::typical("smol");
    smol.cpu_percent = 0.3;
    cur.push(smol);
    let o = judge(&base, &cur, Mode::Gross);
    assert_eq!(
        verdict(&o, "cpu.percent"),
        Verdict::Unchanged,
        "threads' cpu"
    );
    assert!(o
        .rows
        .iter()
        .any(|r| r.model == "smol" && r.verdict == Verdict::Improved));
    let md = render(&o, Format::Markdown);
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("no {s:?} in\n{md}"));
    assert!(md.starts_with("### esbench check ❌"));
    assert!(at("#### Regressions") < at("#### Improvements"));
    assert!(at("#### Improvements") < at("#### Not judged"));
    assert!(at("#### Not judged") < at("<details>"));
    assert!(at("- threads poll_latency.p50: ") < at("#### Improvements"));
    assert!(at("- smol cpu.percent: ") > at("#### Improvements"));
}

fn save_dir(dir: &std::path::Path, runs: &[(PathBuf, Results)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (p, r) in runs {
        r.save(&dir.join(p)).unwrap();
    }
}

#[test]
fn a_baseline_from_another_machine_or_version_warns_but_does_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("baseline");
    save_dir(&base_dir, &[run(1, &healthy()), run(2, &healthy())]);
    let opts = Options {
        thresholds: Thresholds::default(),
        mode: Mode::Gross,
        allow_missing_models: false,
        allow_mixed: false,
    };
    let same = dir.path().join("same.json");
    run(3, &healthy()).1.save(&same).unwrap();
    let mut other = run(4, &healthy()).1;
    other.machine.hostname = "ci-runner-7".into();
    other.machine.logical_cores = 4;
    other.esbench_version = "9.9.9".into();
    let other_path = dir.path().join("other.json");
    other.save(&other_path).unwrap();

    // No provenance file yet: said once, and the results' own record is used.
    let o = check_files(
        std::slice::from_ref(&base_dir),
        std::slice::from_ref(&same),
        &opts,
    )
    .unwrap();
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    let said: Vec<&String> = o
        .notes
        .iter()
        .filter(|n| n.contains("no provenance.toml"))
        .collect();
    assert_eq!(said.len(), 1, "{:?}", o.notes);
    let o = check_files(
        std::slice::from_ref(&base_dir),
        std::slice::from_ref(&other_path),
        &opts,
    )
    .unwrap();
    assert_eq!(o.warnings.len(), 3, "{:?}", o.warnings);

    // With the file, it is the reference, and each difference is one loud line.
    provenance::record(&base_dir).unwrap();
    let o = check_files(std::slice::from_ref(&base_dir), &[same], &opts).unwrap();
    assert!(o.warnings.is_empty() && !o.notes.iter().any(|n| n.contains("provenance")));
    let o = check_files(std::slice::from_ref(&base_dir), &[other_path], &opts).unwrap();
    assert_eq!(o.exit_code(), 0);
    let w = o.warnings.join("\n");
    assert!(w.contains("hostname \"synthetic\""), "{w}");
    assert!(w.contains("\"ci-runner-7\""), "{w}");
    assert!(w.contains("logical core count \"0\""), "{w}");
    assert!(w.contains("esbench version"), "{w}");
    assert!(render(&o, Format::Table).contains("WARNING: the baseline was measured with"));
    // The provenance file is not mistaken for a results file by a directory baseline.
    assert_eq!(o.baseline_files.len(), 2);

    // A run made with injected faults (`esbench run --inject`) is never taken for a real one.
    let faulty = dir.path().join("faulty.json");
    run(5, &healthy()).1.save(&faulty).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&faulty).unwrap()).unwrap();
    v["injected"] = serde_json::json!(["freeze=1.5s@1s"]);
    std::fs::write(&faulty, v.to_string()).unwrap();
    let o = check_files(
        std::slice::from_ref(&faulty),
        &[base_dir.join("run-1.json")],
        &opts,
    )
    .unwrap();
    assert!(
        o.warnings
            .iter()
            .any(|w| w.contains("baseline run") && w.contains("injected faults (freeze=1.5s@1s)")),
        "{:?}",
        o.warnings
    );
}
