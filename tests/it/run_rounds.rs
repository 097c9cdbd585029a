//! `esbench run` in rounds, through the real binary: every model's round k runs before any
//! model's round k+1, in the order recorded for that round, each row merges its rounds
//! (every sample kept), a test variant runs a model again under another name, and bad
//! round counts are refused naming where they came from.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::text;
use esbench::metrics::results::{Results, SCHEMA};

fn scenario(dir: &Path, extra_run: &str) -> PathBuf {
    let p = dir.join("rounds.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"rounds\"\ndescription = \"run_rounds test\"\n\
             [run]\nwarmup_s = 0.3\nduration_s = 1.5\nquick_duration_s = 1.5\n{extra_run}"
        ),
    )
    .unwrap();
    p
}

fn esbench(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esbench"))
        .current_dir(dir)
        .arg("run")
        .args(args)
        .args(["--no-history", "--no-report"])
        .output()
        .unwrap()
}

#[test]
fn rounds_are_interleaved_in_the_recorded_order_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "");
    let out = dir.path().join("out");
    let o = esbench(
        dir.path(),
        &[
            s.to_str().unwrap(),
            "--models",
            "threads,smol",
            "--rounds",
            "3",
            "--seed",
            "5",
            "--variant",
            "threads-again=threads",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = Results::load(&out.join("results.json")).unwrap();
    assert_eq!(r.schema, SCHEMA);
    assert!(SCHEMA.ends_with("/1.2"));
    let plan = r.rounds.clone().expect("a run records its rounds");
    assert_eq!((plan.count, plan.seed), (3, 5));
    assert!((plan.round_s - 0.5).abs() < 1e-9);
    let names = ["threads", "smol", "threads-again"];
    assert_eq!(
        r.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        names,
        "rows in the run's order, not a round's"
    );
    assert_eq!(plan.order.len(), 3);
    for order in &plan.order {
        let mut o = order.clone();
        o.sort();
        let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        want.sort();
        assert_eq!(o, want);
    }
    assert!(
        r.injected
            .iter()
            .any(|i| i == "variant threads-again=threads"),
        "a variant run is no measurement: {:?}",
        r.injected
    );
    for m in &r.models {
        assert!(m.is_ok(), "{}: {}", m.name, m.status);
        assert_eq!(m.rounds.len(), 3, "{}", m.name);
        let mut polls = 0;
        let mut window_s = 0.0;
        for (k, round) in m.rounds.iter().enumerate() {
            assert_eq!(round.index as usize, k);
            let pos = plan.order[k].iter().position(|n| n == &m.name).unwrap();
            assert_eq!(round.position as usize, pos, "{} round {k}", m.name);
            assert!(round.is_ok() && round.cpu_percent > 0.0);
            assert!(round.start_unix > 1.6e9, "{}", round.start_unix);
            polls += round.figures["poll_latency"].count;
            window_s += round.duration_s;
        }
        assert_eq!(m.poll_latency.count, polls, "{}: every sample kept", m.name);
        let merged_ms = m.counters["cpu_window_ms"] as f64;
        assert!(
            (merged_ms - window_s * 1e3).abs() < 5.0,
            "{} vs {window_s}",
            merged_ms
        );
    }
    // Every model's round k started before any model's round k+1, and within a round in
    // the recorded order.
    for k in 0..3usize {
        let starts = |k: usize| -> Vec<(u32, u64)> {
            r.models
                .iter()
                .map(|m| (m.rounds[k].position, m.rounds[k].start_mono_ns))
                .collect()
        };
        let mut this = starts(k);
        this.sort();
        assert!(
            this.windows(2).all(|w| w[0].1 < w[1].1),
            "round {k} ran in its order: {this:?}"
        );
        if k + 1 < 3 {
            let last = this.iter().map(|s| s.1).max().unwrap();
            let next = starts(k + 1).iter().map(|s| s.1).min().unwrap();
            assert!(last < next, "round {k} before round {}", k + 1);
        }
    }
    // The table says how the run was split and gives its verdicts.
    let table = text(&o.stdout);
    assert!(table.contains("3 round(s) of 0.50 s per model"), "{table}");
    assert!(table.contains("verdicts:"), "{table}");
}

#[test]
fn round_counts_that_cannot_be_run_are_refused_naming_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "");
    for (args, want) in [
        (vec!["--rounds", "0"], "--rounds = 0 is outside 1 to 1000"),
        (
            vec!["--rounds", "4"],
            "--rounds = 4 splits 1.5 s of measured time into rounds of 0.375 s",
        ),
    ] {
        let mut all = vec![s.to_str().unwrap(), "--models", "threads"];
        all.extend(args.iter().copied());
        let o = esbench(dir.path(), &all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let bad = scenario(dir.path(), "rounds = 0\n");
    let o = esbench(dir.path(), &[bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("run.rounds") && err.contains("got 0"), "{err}");
    let o = esbench(dir.path(), &[s.to_str().unwrap(), "--variant", "x=nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("unknown model"),
        "{}",
        text(&o.stderr)
    );
}
