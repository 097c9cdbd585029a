//! `esbench check --paired RESULTS_JSON`: did side B (this build) regress against side A
//! (the other executable) in a paired run (`esbench run --against`)?
//!
//! The file's two sides become two one-run results — side A's rows under their model names
//! as the baseline, side B's as the current run — and go through the one judging path
//! (`compare`), on the rounds only: with the same round indices on both sides it judges the
//! per-round ratios B/A (the interval of their median), and it gives a verdict only where
//! that interval clears the band. The bands are the mode's with the `paired_*` tables laid
//! over them (`Thresholds::for_paired`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::compare::{compare_paired, Options, Outcome};
use crate::metrics::paired::Paired;
use crate::metrics::results::Results;

/// The two sides of a paired results file, each as a run of its own with the models under
/// their plain names. Errors (one line each) for a file that is not a paired run or whose
/// paired section does not match its rows.
pub fn split(path: &Path) -> Result<(Paired, Results, Results)> {
    let r = Results::load(path)?;
    let Some(paired) = r.paired.clone() else {
        bail!(
            "{} is not a paired run (no \"paired\" section): make one with \
             `esbench run --against OTHER_EXE`",
            path.display()
        );
    };
    paired
        .validate(&r)
        .map_err(|e| anyhow::anyhow!("{} is a damaged paired run: {e}", path.display()))?;
    let side = |row_of: fn(&crate::metrics::paired::PairedModel) -> &String| {
        let mut s = r.clone();
        s.paired = None;
        s.models = paired
            .models
            .iter()
            .map(|pm| {
                let mut m = r.model(row_of(pm)).expect("validated").clone();
                m.name.clone_from(&pm.model);
                m
            })
            .collect();
        s
    };
    let a = side(|pm| &pm.a_row);
    let b = side(|pm| &pm.b_row);
    Ok((paired, a, b))
}

/// Judges the paired run in `path`: B against A.
pub fn check(path: &Path, opts: &Options) -> Result<Outcome> {
    let (paired, a, b) = split(path)?;
    // A figure the machine cannot count is "not available", not missing data of a side.
    let not_counted = a
        .models
        .iter()
        .find_map(|m| m.cpu.instructions_note.clone())
        .filter(|n| n.starts_with("not available"));
    let opts = Options {
        thresholds: opts.thresholds.for_paired(),
        ..opts.clone()
    };
    let label = |side: &str| PathBuf::from(format!("{}#{side}", path.display()));
    let mut o = compare_paired(&(label("A"), a), &(label("B"), b), &opts)
        .with_context(|| format!("paired run {}", path.display()))?;
    if let Some(why) = not_counted {
        for r in o.rows.iter_mut().filter(|r| {
            r.metric == crate::metrics::figures::CPU_INSTRUCTIONS_PER_EVENT.key
                && r.verdict == super::compare::Verdict::NoData
        }) {
            r.note = Some(why.clone());
        }
    }
    let who = |s: &crate::metrics::paired::Side| match &s.version {
        Some(v) => format!("{} ({v})", s.exe),
        None => s.exe.clone(),
    };
    o.notes.insert(
        0,
        format!(
            "paired run: side A (baseline) served by {}, side B (current) by {}; judged on \
             the per-round ratios B/A, a verdict only where the interval clears the band",
            who(&paired.a),
            who(&paired.b)
        ),
    );
    Ok(o)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::check::compare::Verdict;
    use crate::check::{Mode, Thresholds};
    use crate::metrics::paired::{row_name, Side, SIDE_A, SIDE_B};
    use crate::metrics::results::ModelResult;
    use crate::metrics::rounds::{RoundFigure, RoundResult};

    /// A row whose rounds have CPU `cpu[k]` and, per round, 300 events and 20 lost-work-free
    /// latencies; every figure a round keeps gets a value.
    fn row(name: &str, cpu: &[f64]) -> ModelResult {
        let mut m = ModelResult {
            name: name.into(),
            status: crate::metrics::status::Status::Ok,
            ..ModelResult::default()
        };
        for (k, &c) in cpu.iter().enumerate() {
            let mut figures = std::collections::BTreeMap::new();
            for key in ["poll_answered", "ingest_latency", "poll_latency"] {
                figures.insert(
                    key.to_string(),
                    RoundFigure {
                        count: 150,
                        p50: 300,
                        p99: 900,
                        max: 1000,
                    },
                );
            }
            m.rounds.push(RoundResult {
                index: k as u32,
                status: crate::metrics::status::Status::Ok,
                cpu_percent: c,
                duration_s: 3.0,
                context_switches_per_s: 200.0,
                vcsw: Some(600),
                syscalls: Some(900),
                figures,
                ..RoundResult::default()
            });
        }
        // The whole row as the run merges it: its events and CPU seconds over all rounds.
        let mut h = crate::metrics::summary::new_histogram();
        for _ in 0..300 * cpu.len() {
            crate::metrics::summary::record_clamped(&mut h, 300);
        }
        m.poll_answered = crate::metrics::summary::Summary::from_histogram(&h);
        m.cpu.percent = cpu.iter().sum::<f64>() / cpu.len() as f64;
        m.cpu.user_s = m.cpu.percent / 100.0 * 3.0 * cpu.len() as f64;
        m.cpu.vcsw = 600 * cpu.len() as u64;
        m.cpu.syscalls_read = Some(600 * cpu.len() as u64);
        m.cpu.syscalls_write = Some(300 * cpu.len() as u64);
        for c in ["polls_failed", "commands_unmatched"] {
            m.counters.insert(c.into(), 0);
        }
        m
    }

    /// A paired results file of one model with side A's and B's per-round CPU.
    pub(in crate::check) fn file(dir: &Path, a: &[f64], b: &[f64]) -> PathBuf {
        let mut r = Results {
            schema: crate::metrics::results::SCHEMA.into(),
            ..Results::default()
        };
        r.scenario.name = "fixture".into();
        r.scenario.duration_s = 20.0;
        r.models = vec![
            row(&row_name("threads", SIDE_A), a),
            row(&row_name("threads", SIDE_B), b),
        ];
        let mut p = Paired {
            a: Side {
                label: SIDE_A.into(),
                exe: "/old/esbench".into(),
                version: None,
            },
            b: Side {
                label: SIDE_B.into(),
                exe: "/new/esbench".into(),
                version: None,
            },
            models: Vec::new(),
        };
        p.fill(&r, &["threads".into()]);
        r.paired = Some(p);
        let path = dir.join("results.json");
        std::fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
        path
    }

    fn opts(mode: Mode) -> Options {
        Options {
            thresholds: Thresholds::default(),
            mode,
            allow_missing_models: false,
            allow_mixed: false,
        }
    }

    fn verdict(o: &Outcome, metric: &str) -> Verdict {
        o.rows.iter().find(|r| r.metric == metric).unwrap().verdict
    }

    /// Per-round CPU of a drifting machine: side B's round k ran next to side A's.
    const DRIFT: [f64; 6] = [1.0, 1.4, 0.8, 1.2, 0.9, 1.3];

    #[test]
    fn a_build_against_itself_is_a_tie_on_every_figure() {
        let dir = tempfile::tempdir().unwrap();
        // A/A: each round's two sides within ±3 % of each other, on a machine whose speed
        // moves by ±30 % between rounds.
        let wobble = [1.02, 0.98, 1.03, 0.97, 1.01, 0.99];
        let b: Vec<f64> = DRIFT.iter().zip(wobble).map(|(a, w)| a * w).collect();
        let path = file(dir.path(), &DRIFT, &b);
        for mode in [Mode::Gross, Mode::Normal] {
            let o = check(&path, &opts(mode)).unwrap();
            assert_eq!(o.exit_code(), 0, "{mode:?}: {:?}", o.rows);
            assert!(
                o.rows
                    .iter()
                    .all(|r| !matches!(r.verdict, Verdict::Regressed | Verdict::Improved)),
                "{mode:?}: no winner on any figure"
            );
            assert_eq!(verdict(&o, "cpu.percent"), Verdict::Unchanged);
            let cpu = o.rows.iter().find(|r| r.metric == "cpu.percent").unwrap();
            assert_eq!(cpu.method, "rounds, paired (6)");
        }
    }

    #[test]
    fn thirty_percent_more_cpu_is_flagged_in_both_modes_despite_the_drift() {
        let dir = tempfile::tempdir().unwrap();
        let wobble = [1.27, 1.33, 1.30, 1.28, 1.32, 1.31];
        let b: Vec<f64> = DRIFT.iter().zip(wobble).map(|(a, w)| a * w).collect();
        let path = file(dir.path(), &DRIFT, &b);
        for mode in [Mode::Gross, Mode::Normal] {
            let o = check(&path, &opts(mode)).unwrap();
            assert_eq!(o.exit_code(), 1, "{mode:?}");
            assert_eq!(verdict(&o, "cpu.percent"), Verdict::Regressed);
            // The same events cost more CPU each.
            assert_eq!(verdict(&o, "cpu.us_per_event"), Verdict::Regressed);
            // Wake-ups and syscalls per event did not move.
            assert_eq!(verdict(&o, "cpu.wakeups_per_event"), Verdict::Unchanged);
            assert_eq!(verdict(&o, "cpu.syscalls_per_event"), Verdict::Unchanged);
        }
        // Unpaired, the same two sides cannot see it: the drift swamps the change.
        let dir2 = tempfile::tempdir().unwrap();
        let mut shuffled = b.clone();
        shuffled.rotate_left(1);
        let p2 = file(dir2.path(), &DRIFT, &shuffled);
        let o = check(&p2, &opts(Mode::Gross)).unwrap();
        assert_ne!(verdict(&o, "cpu.percent"), Verdict::Regressed);
    }

    #[test]
    fn without_an_interval_there_is_no_verdict() {
        let dir = tempfile::tempdir().unwrap();
        // Three rounds (--quick): a range, not an interval, even at +100 %.
        let path = file(dir.path(), &[1.0, 1.0, 1.0], &[2.0, 2.0, 2.0]);
        let o = check(&path, &opts(Mode::Gross)).unwrap();
        assert_eq!(verdict(&o, "cpu.percent"), Verdict::NotJudged);
        assert_eq!(o.exit_code(), 0);
    }

    #[test]
    fn lost_work_on_side_b_fails_without_rounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), &DRIFT, &DRIFT);
        let mut r = Results::load(&path).unwrap();
        r.models[1].counters.insert("commands_unmatched".into(), 3);
        std::fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
        let o = check(&path, &opts(Mode::Gross)).unwrap();
        assert_eq!(verdict(&o, "commands_unmatched"), Verdict::Regressed);
    }

    #[test]
    fn unpaired_or_damaged_files_are_refused_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), &DRIFT, &DRIFT);
        let mut r = Results::load(&path).unwrap();
        let e = |r: &Results| {
            std::fs::write(&path, serde_json::to_string(r).unwrap()).unwrap();
            format!("{:#}", check(&path, &opts(Mode::Gross)).unwrap_err())
        };
        r.paired.as_mut().unwrap().models[0].a_row = "gone@A".into();
        let m = e(&r);
        assert!(
            m.contains("damaged paired run") && m.contains("gone@A"),
            "{m}"
        );
        assert!(!m.contains('\n'), "one line: {m}");
        r.paired = None;
        let m = e(&r);
        assert!(m.contains("is not a paired run"), "{m}");
        std::fs::write(&path, "{\"schema\": \"esbench.results/1.2\", \"models\": [").unwrap();
        let m = format!("{:#}", check(&path, &opts(Mode::Gross)).unwrap_err());
        assert!(m.contains("not a usable results file"), "{m}");
    }
}
