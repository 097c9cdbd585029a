//! The sweep's findings from fabricated points: the knee by its stated rule (driver-limited
//! points not judged), fixed and marginal cost fitted with intervals (driver-limited points
//! and points that broke the knee rule left out), intervals over rounds in every cell, and crossings
//! marked only where the intervals are apart on both sides. Then the same through the
//! binary (`--from` writes analysis.json, scripts/scale-table.sh prints the table) and the
//! `--until-knee` refusals.

use crate::common;

use esbench::metrics::status::Status;
use std::path::Path;
use std::process::Command;

use esbench::metrics::fixture::fabricate_results_with;
use esbench::metrics::results::{ModelResult, Results};
use esbench::metrics::rounds::{RoundFigure, RoundResult};
use esbench::metrics::summary::{new_histogram, record_clamped, Summary};
use esbench::sweep::manifest::{point_dir_name, LoadedSweep, PointStatus, SweepManifest};
use esbench::sweep::{analysis, cost, cross, growth, knee, page, table};

const KEY: &str = "boards.count";

fn constant(us: u64, n: u64) -> Summary {
    let mut h = new_histogram();
    for _ in 0..n {
        record_clamped(&mut h, us);
    }
    Summary::from_histogram(&h)
}

/// A healthy row: `events_per_s` events over a 4 s window (half frames, half polls),
/// CPU `cpu` %, poll p99 2 ms, nothing skipped.
fn healthy(m: &mut ModelResult, cpu: f64, events_per_s: f64) {
    let events = (events_per_s * 4.0).round() as u64;
    m.status = Status::parse("ok");
    m.cpu.percent = cpu;
    m.counters.insert("cpu_window_ms".into(), 4000);
    m.counters.insert("ingest_log_dropped".into(), 0);
    m.counters.insert("polls_sent".into(), events / 2);
    m.counters.insert("polls_skipped".into(), 0);
    m.counters.insert("polls_failed".into(), 0);
    m.ingest_latency = constant(100, events - events / 2);
    m.poll_answered = constant(2_000, events / 2);
    m.poll_latency = constant(2_000, events / 2);
    m.driver.limited = false;
    m.rounds.clear();
}

/// Saves one point per value with `set(model, point index, row)` applied to each row.
fn sweep_of(
    dir: &Path,
    values: &[&str],
    models: &[&str],
    set: impl Fn(&str, usize, &mut ModelResult),
) -> SweepManifest {
    let vals: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    let mut m = SweepManifest::new("scenarios/school.toml", KEY, &vals, &[]);
    for (k, value) in values.iter().enumerate() {
        let mut r: Results = fabricate_results_with(k as u64 + 1, models, 4.0);
        for row in &mut r.models {
            let name = row.name.clone();
            set(&name, k, row);
        }
        let rel = format!("{}/results.json", point_dir_name(KEY, value));
        r.save(&dir.join(&rel)).unwrap();
        m.points[k].status = PointStatus::Done;
        m.points[k].results = Some(rel);
    }
    m.save(&dir.join("sweep.json")).unwrap();
    m
}

const VALUES: [&str; 5] = ["1", "2", "4", "8", "16"];

/// smol copes at 1 and 2, is driver-limited at 4, skips 5 % of its polls at 8; threads
/// copes everywhere; rayon answers later than the poll period from the start.
fn knee_sweep(dir: &Path) -> LoadedSweep {
    let m = sweep_of(
        dir,
        &VALUES,
        &["threads", "smol", "rayon"],
        |name, k, row| {
            let rate = 100.0 * (1 << k) as f64;
            healthy(row, 2.0 + 0.5 * rate / 1000.0, rate);
            match (name, k) {
                ("smol", 2) => {
                    row.driver.limited = true;
                    row.driver.limited_why = "driver CPU 190 % of 2 CPU(s) is saturated".into();
                    (row.driver.cpu_percent, row.driver.cpus) = (190.0, 2);
                    row.cpu.percent = 80.0;
                }
                ("smol", k) if k >= 3 => {
                    let sent = row.counters["polls_sent"];
                    row.counters.insert("polls_skipped".into(), sent / 19);
                }
                ("rayon", _) => row.poll_latency = constant(50_000, 400),
                _ => {}
            }
        },
    );
    LoadedSweep::load(m, dir)
}

#[test]
fn the_knee_is_the_first_value_that_breaks_the_rule_and_driver_limited_points_are_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = knee_sweep(dir.path());
    let knees = knee::knees(&sweep);
    let by = |m: &str| knees.iter().find(|k| k.model == m).unwrap().clone();

    let smol = by("smol");
    assert_eq!(smol.knee.as_deref(), Some("8"), "{smol:?}");
    assert!(
        smol.why[0].starts_with("polls skipped 5.0 % of"),
        "{smol:?}"
    );
    assert_eq!(smol.before.as_deref(), Some("2"));
    assert!(
        smol.gap_before_knee,
        "4 was driver-limited, so 2 is not one step before"
    );
    assert_eq!(smol.unjudged.len(), 1);
    assert!(smol.unjudged[0].1.starts_with("driver-limited"));
    assert!(smol.describe().contains("values between not judged"));

    let threads = by("threads");
    assert_eq!(
        (threads.knee.as_deref(), threads.before.as_deref()),
        (None, Some("16"))
    );
    assert!(threads.describe().starts_with("no knee"));

    let rayon = by("rayon");
    assert_eq!(rayon.knee.as_deref(), Some("1"));
    assert!(rayon.why[0].starts_with("poll p99 500"), "{:?}", rayon.why);
    assert!(rayon.why[0].ends_with("µs > poll period 33000 µs"));
    assert_eq!(rayon.before, None);

    // The outputs print the rule with its thresholds, and the knee of each model.
    let text = page::terminal(&sweep);
    assert!(text.contains(knee::RULE), "{text}");
    assert!(text.contains("polls skipped > 1 % of slots"));
    let md = page::markdown(&sweep);
    assert!(
        md.contains("| smol | 8 | 2 (gap: values between not judged) |"),
        "{md}"
    );
    assert!(
        md.contains("| threads | none | 16 | copes at every judged value |"),
        "{md}"
    );
    // The driver-limited row is marked in every figure of the table.
    assert!(md.contains("80.0 % (drv)"), "{md}");
}

/// A row marked DRIVER-LIMITED against its own small poll p99 (a 1.5 ms send error beside
/// a 2 ms p99) is still judged for the knee, whose threshold is the 33 ms poll period; a send
/// error above half that period is not.
#[test]
fn the_knee_ignores_a_send_error_far_below_the_poll_period() {
    let dir = tempfile::tempdir().unwrap();
    let m = sweep_of(dir.path(), &["1", "2"], &["coop"], |_, k, row| {
        healthy(row, 1.0, 100.0);
        row.driver.limited = true;
        row.driver.limited_why = "send error p99 is more than half the poll latency p99".into();
        let err_us = if k == 0 { 1_500 } else { 20_000 };
        row.driver.send_error = constant(err_us, 200);
        if k == 1 {
            let sent = row.counters["polls_sent"];
            row.counters.insert("polls_skipped".into(), sent / 10);
        }
    });
    let sweep = LoadedSweep::load(m, dir.path());
    let coop = knee::knees(&sweep).remove(0);
    assert!(coop.knee.is_none(), "2 is not judged: {coop:?}");
    assert_eq!(coop.unjudged.len(), 1, "{coop:?}");
    assert_eq!(coop.unjudged[0].0, "2");
    assert!(
        coop.unjudged[0]
            .1
            .contains("more than half the poll period"),
        "{coop:?}"
    );
    assert!(
        coop.describe().contains("up to 1"),
        "1 was judged: {}",
        coop.describe()
    );
}

#[test]
fn the_cost_fit_recovers_fixed_and_marginal_cost_and_leaves_out_what_is_not_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = knee_sweep(dir.path());
    let fits = cost::fits(&sweep);
    let threads = fits.iter().find(|f| f.model == "threads").unwrap();
    let f = threads.fit.as_ref().expect("five coping points");
    // CPU % = 2 + 0.5 per 1,000 events/s, exactly: the fit and its interval say so.
    assert!((f.fixed_percent.value - 2.0).abs() < 1e-6, "{f:?}");
    assert!(
        (f.marginal_percent_per_1k.value - 0.5).abs() < 1e-6,
        "{f:?}"
    );
    let (lo, hi) = (f.fixed_percent.lo.unwrap(), f.fixed_percent.hi.unwrap());
    assert!(lo <= 2.0 + 1e-6 && hi >= 2.0 - 1e-6, "{f:?}");
    assert_eq!((f.points, f.by_rounds), (5, false));
    assert!(threads.left_out.is_empty());

    // smol: 4 is driver-limited (its 80 % would wreck the line), 8 and 16 are past the
    // knee; with two usable points left there is no fit, and the output says why.
    let smol = fits.iter().find(|f| f.model == "smol").unwrap();
    assert!(smol.fit.is_none());
    assert!(smol
        .missing
        .as_deref()
        .unwrap()
        .contains("2 usable point(s)"));
    let left: Vec<&str> = smol.left_out.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(left, ["4", "8", "16"]);
    assert!(smol.left_out[0].1.starts_with("driver-limited"));
    assert!(smol.left_out[1].1.contains("did not cope here"));
    assert!(smol.describe().contains("left out 4: driver-limited"));

    // CPU per 1,000 events: (2 + 0.05) % of 4 s over 400 events = 205 ms.
    let threads_at_1 = sweep.points[0]
        .results
        .as_ref()
        .unwrap()
        .model("threads")
        .unwrap();
    let c = cost::cpu_ms_per_1k(threads_at_1).unwrap();
    assert!((c - 205.0).abs() < 1e-6, "{c}");
    let md = table::markdown(&sweep);
    assert!(md.contains("| 205 ms |"), "{md}");

    // A noisy line: the interval is not zero-width and holds the true slope.
    let dir2 = tempfile::tempdir().unwrap();
    let m = sweep_of(dir2.path(), &VALUES, &["smol"], |_, k, row| {
        let rate = 200.0 * (k + 1) as f64;
        let noise = [0.3, -0.2, 0.25, -0.35, 0.1][k];
        healthy(row, 1.0 + 1.5 * rate / 1000.0 + noise, rate);
    });
    let noisy = cost::fits(&LoadedSweep::load(m, dir2.path()));
    let f = noisy[0].fit.as_ref().unwrap();
    let s = f.marginal_percent_per_1k;
    let (lo, hi) = (s.lo.unwrap(), s.hi.unwrap());
    assert!(lo < s.value && s.value < hi, "{s:?}");
    assert!(lo < 1.5 && 1.5 < hi, "{s:?}");
}

#[test]
fn a_fit_over_three_or_four_points_has_a_value_but_no_interval() {
    for n in [3, 4] {
        let dir = tempfile::tempdir().unwrap();
        let m = sweep_of(dir.path(), &VALUES[..n], &["smol"], |_, k, row| {
            let rate = 200.0 * (k + 1) as f64;
            let noise = [0.3, -0.2, 0.25, -0.35][k];
            healthy(row, 1.0 + 1.5 * rate / 1000.0 + noise, rate);
        });
        let fits = cost::fits(&LoadedSweep::load(m, dir.path()));
        let f = fits[0].fit.as_ref().expect("three points make a fit");
        assert_eq!(f.points, n);
        assert!(f.marginal_percent_per_1k.value.is_finite(), "{f:?}");
        assert_eq!(
            (f.fixed_percent.lo, f.marginal_percent_per_1k.hi),
            (None, None)
        );
        let said = fits[0].describe();
        assert!(said.contains("(no interval)"), "{said}");
        assert!(said.contains("an interval needs 5"), "{said}");
    }
}

/// Rounds with CPU `base + i·0.1` % (i = 0..5): an interval of width 0.4 around base+0.2.
fn rounds(base: f64) -> Vec<RoundResult> {
    (0..5)
        .map(|i| RoundResult {
            index: i,
            status: Status::Ok,
            duration_s: 0.8,
            cpu_percent: base + i as f64 * 0.1,
            figures: [
                (
                    "poll_answered".to_string(),
                    RoundFigure {
                        count: 40,
                        p50: 1_000,
                        p99: 2_000,
                        max: 2_000,
                    },
                ),
                (
                    "ingest_latency".to_string(),
                    RoundFigure {
                        count: 40,
                        p50: 90,
                        p99: 100,
                        max: 100,
                    },
                ),
            ]
            .into(),
            ..RoundResult::default()
        })
        .collect()
}

#[test]
fn with_rounds_cells_carry_intervals_and_only_separated_swaps_are_crossings() {
    let dir = tempfile::tempdir().unwrap();
    // threads vs smol: apart (threads lower) at 1, overlapping at 2, apart (threads higher)
    // at 4: a crossing. threads vs coop: their single values swap at 2 while their
    // intervals overlap: noise, not a crossing.
    let m = sweep_of(
        dir.path(),
        &["1", "2", "4"],
        &["threads", "smol", "coop"],
        |name, k, row| {
            let base = match (name, k) {
                ("threads", 0) => 1.0,
                ("threads", 1) => 2.0,
                ("threads", _) => 5.0,
                ("smol", 0) => 3.0,
                ("smol", 1) => 2.1,
                ("smol", _) => 2.0,
                // coop: 0.05 above threads at 1, 0.05 below at 2, far below at 4.
                ("coop", 0) => 1.05,
                ("coop", 1) => 1.95,
                _ => 0.5,
            };
            healthy(row, base + 0.2, 100.0);
            row.rounds = rounds(base);
        },
    );
    let sweep = LoadedSweep::load(m, dir.path());
    let i = table::interval(&sweep, 0, "threads", &table::FIGURES[0]).unwrap();
    assert!(!i.is_range);
    assert!(
        (i.lo - 1.0).abs() < 1e-9 && (i.hi - 1.4).abs() < 1e-9,
        "{i:?}"
    );
    let md = table::markdown(&sweep);
    assert!(md.contains("| 1.20 % [1.00 %, 1.40 %] |"), "{md}");
    assert!(md.contains("crossed here (intervals apart)"), "{md}");
    let g = growth::markdown(&sweep);
    assert!(
        g.contains(r"| threads | 1.20 % \[1.00 %, 1.40 %\] → 5.20 % \[5.00 %, 5.40 %\]"),
        "{g}"
    );

    let c = cross::crossings(&sweep);
    assert!(c.judged);
    let cpu: Vec<_> = c.crossings.iter().filter(|x| x.figure == "CPU %").collect();
    assert_eq!(cpu.len(), 1, "{c:?}");
    assert_eq!(
        (cpu[0].was_lower.as_str(), cpu[0].was_higher.as_str()),
        ("threads", "smol")
    );
    assert_eq!((cpu[0].from.as_str(), cpu[0].to.as_str()), ("1", "4"));
    assert!(
        c.swaps_within_noise >= 1,
        "threads/coop swapped inside the noise: {c:?}"
    );
    let row4 = md.lines().find(|l| l.starts_with("| 4 |")).unwrap();
    assert!(row4.contains("CPU %: threads ↗ smol"), "{row4}");
    let row2 = md.lines().find(|l| l.starts_with("| 2 |")).unwrap();
    assert!(row2.ends_with("| — |"), "{row2}");

    // The fit is made over rounds (kept together per point) when there are rounds.
    let f = cost::fits(&sweep);
    assert!(
        f.iter().all(|f| f.fit.is_none()),
        "one event rate: no slope"
    );

    // Without rounds: no intervals, and crossings are unjudged, never read off two values.
    let dir2 = tempfile::tempdir().unwrap();
    let plain = LoadedSweep::load(
        sweep_of(
            dir2.path(),
            &["1", "2"],
            &["threads", "smol"],
            |name, k, row| {
                healthy(
                    row,
                    if (name == "smol") == (k == 0) {
                        1.0
                    } else {
                        3.0
                    },
                    100.0,
                )
            },
        ),
        dir2.path(),
    );
    let c = cross::crossings(&plain);
    assert!(!c.judged && c.crossings.is_empty());
    assert!(
        c.lines(KEY)[0].starts_with("crossings unjudged"),
        "{:?}",
        c.lines(KEY)
    );
    assert!(!table::markdown(&plain).contains("crossed here"));
}

fn analysis_of(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("analysis.json")).unwrap()).unwrap()
}

#[test]
fn from_writes_analysis_json_and_the_scale_table_script_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    knee_sweep(dir.path());
    let o = common::esbench()
        .args(["sweep", "--from"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("knee across boards.count — rule:"),
        "{stdout}"
    );
    let a = analysis_of(dir.path());
    assert_eq!(a["schema"], analysis::ANALYSIS_SCHEMA);
    let smol = a["knees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["model"] == "smol")
        .unwrap();
    assert_eq!(smol["knee"], "8");
    assert_eq!(smol["before"], "2");

    let root = env!("CARGO_MANIFEST_DIR");
    let o = Command::new(format!("{root}/scripts/scale-table.sh"))
        .arg(dir.path())
        .env("ESBENCH", env!("CARGO_BIN_EXE_esbench"))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{table}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        table.contains("| model | knee (boards.count) | value before |"),
        "{table}"
    );
    assert!(table.contains("| smol | 8 | 2 (gap) |"), "{table}");
    assert!(table.contains("| threads | none (copes up to 16) | 16 | 2.00 % [2.00, 2.00] | 0.500 % [0.500, 0.500] |"), "{table}");
    assert!(table.contains("Knee rule:"), "{table}");
}

#[test]
fn until_knee_refuses_values_it_cannot_double_and_dry_run_states_its_limits() {
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        let o = common::esbench()
            .current_dir(root)
            .arg("sweep")
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (code, out) = run(&[
        "--set",
        "clients.poll_period_ms=33.5",
        "--until-knee",
        "--dry-run",
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("must be a whole number"), "{out}");
    let (code, out) = run(&["--set", "boards.count=4,2", "--until-knee", "--dry-run"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("ascending"), "{out}");
    let (code, out) = run(&["--max-value", "8", "--set", "boards.count=1"]);
    assert_eq!(code, Some(2), "--max-value needs --until-knee: {out}");
    let (code, out) = run(&[
        "scenarios/school.toml",
        "--set",
        "boards.count=1,2",
        "--until-knee",
        "--max-value",
        "64",
        "--max-wall",
        "20min",
        "--dry-run",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("then --until-knee: doubling boards.count"),
        "{out}"
    );
    assert!(
        out.contains("up to 64 at most, or 20.0 min of measuring at most"),
        "{out}"
    );
}

#[test]
fn the_bundled_school_scenario_has_many_boards_with_a_client_each() {
    let root = env!("CARGO_MANIFEST_DIR");
    let s = esbench::scenario::Scenario::load(format!("{root}/scenarios/school.toml")).unwrap();
    assert_eq!(s.name, "school");
    assert!(s.boards.count >= 16, "{}", s.boards.count);
    assert_eq!(s.clients.per_board, 1);
    assert!(esbench::scenario::BUNDLED.contains(&"school.toml"));
}
