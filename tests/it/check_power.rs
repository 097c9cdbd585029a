//! The part of scripts/gate-power.sh that judges: `esbench check --power DIR` on fabricated
//! runs whose faults are known, so the counts in the table can be checked exactly.

use crate::common;

use std::path::Path;

use esbench::check::fixtures::{fake_run, FakeModel};
use esbench::check::power::{table, wilson};
use esbench::check::Thresholds;

fn threads(f: impl Fn(&mut FakeModel)) -> Vec<FakeModel> {
    let mut m = FakeModel::typical("threads");
    m.cpu_percent = 0.5;
    f(&mut m);
    vec![m]
}

fn write(dir: &Path, name: &str, seed: u64, models: &[FakeModel]) {
    std::fs::create_dir_all(dir).unwrap();
    fake_run(seed, 1.0, models)
        .save(&dir.join(format!("{name}.json")))
        .unwrap();
}

/// 3 A/A pairs, 3 frozen runs, 3 runs of which one lost a command.
fn experiment(dir: &Path) {
    for k in 1..=3u64 {
        write(
            &dir.join("a-a"),
            &format!("{k:03}-1"),
            10 * k,
            &threads(|_| {}),
        );
        write(
            &dir.join("a-a"),
            &format!("{k:03}-2"),
            10 * k + 1,
            &threads(|_| {}),
        );
        write(
            &dir.join("freeze"),
            &format!("{k:03}"),
            10 * k + 2,
            &threads(|m| m.stall_us = Some(1_500_000)),
        );
        let lost = if k == 2 { 1 } else { 0 };
        write(
            &dir.join("drop-command"),
            &format!("{k:03}"),
            10 * k + 3,
            &threads(move |m| m.counters = vec![("commands_unmatched", lost)]),
        );
    }
}

#[test]
fn the_table_counts_false_alarms_and_detections_per_mode() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    let t = table(dir.path(), &Thresholds::default()).unwrap();
    let labels: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        ["none (A/A: false alarms)", "drop-command", "freeze"]
    );
    let (aa, drop, freeze) = (&t.rows[0], &t.rows[1], &t.rows[2]);
    assert_eq!((aa.pairs, aa.flagged, aa.unusable), (3, [0, 0], 0));
    assert_eq!((freeze.pairs, freeze.flagged), (3, [3, 3]));
    assert_eq!(freeze.gross_figures[0].1, 3);
    assert!(freeze
        .gross_figures
        .iter()
        .any(|(f, n)| f == "poll_latency.max" && *n == 3));
    assert_eq!((drop.pairs, drop.flagged), (3, [1, 1]));
    assert_eq!(drop.gross_figures, [("commands_unmatched".to_string(), 1)]);

    let md = t.render();
    assert!(md.starts_with("Measured on synthetic"), "{md}");
    let line = |start: &str| -> String {
        md.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start:?} in\n{md}"))
            .to_string()
    };
    let (lo, hi) = wilson(1, 3);
    let want = format!("| 1/3 = 33 % [{:.0}, {:.0}] |", 100.0 * lo, 100.0 * hi);
    assert!(
        line("| `drop-command` | 3 | ").contains(&want),
        "{want}\n{md}"
    );
    assert!(line("| none (A/A: false alarms) | 3 | ").contains("| 0/3 = 0 % [0, 56] |"));
    assert!(
        line("| `freeze` | 3 | ").contains("poll_latency.max (3)"),
        "{md}"
    );
}

#[test]
fn bad_experiment_directories_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let e = table(dir.path(), &Thresholds::default()).unwrap_err();
    assert!(format!("{e:#}").contains("no a-a/ directory"), "{e:#}");
    write(&dir.path().join("a-a"), "001-1", 1, &threads(|_| {}));
    let e = table(dir.path(), &Thresholds::default()).unwrap_err();
    assert!(format!("{e:#}").contains("an A/A pair needs 2"), "{e:#}");
    // A run made with a fault must not sit among the unchanged ones.
    let injected = dir.path().join("a-a").join("001-2.json");
    let mut r = fake_run(2, 1.0, &threads(|_| {}));
    r.notes.clear();
    r.save(&injected).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&injected).unwrap()).unwrap();
    v["injected"] = serde_json::json!(["freeze=1.5s@1s"]);
    std::fs::write(&injected, v.to_string()).unwrap();
    let e = table(dir.path(), &Thresholds::default()).unwrap_err();
    assert!(format!("{e:#}").contains("injected faults"), "{e:#}");
}

#[test]
fn the_hidden_cli_prints_and_writes_the_table() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    let out = dir.path().join("table.md");
    let o = common::esbench()
        .args(["check", "--power"])
        .arg(dir.path())
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let printed = String::from_utf8(o.stdout).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), printed);
    let freeze = printed
        .lines()
        .find(|l| l.starts_with("| `freeze` | 3 | "))
        .unwrap();
    assert!(
        freeze.contains("| 3/3 = 100 % [44, 100] | 3/3 = 100 % [44, 100] |"),
        "{printed}"
    );
}
