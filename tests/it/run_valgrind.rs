//! `esbench run --valgrind`: the valgrind instruction pass after the timed rounds fills each
//! row's `valgrind` object (instructions per handled event, per pass) and the costs block
//! shows it; without valgrind the run is refused before anything is measured.

use crate::common;

use esbench::metrics::figures::CPU_VALGRIND_INSTRUCTIONS_PER_EVENT as VG;
use esbench::metrics::results::Results;

fn valgrind_here() -> Result<(), String> {
    match std::process::Command::new("valgrind")
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("`valgrind --version` failed ({})", o.status)),
        Err(e) => Err(format!("valgrind is not installed ({e})")),
    }
}

#[test]
fn run_valgrind_counts_instructions_per_event_in_passes_of_its_own() {
    if let Err(why) = valgrind_here() {
        common::skip_or_fail("run_valgrind::run_valgrind_counts…", "valgrind", &why);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = common::esbench()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--quick",
            "--models",
            "coop",
            "--duration",
            "1s",
            "--valgrind=2",
            "--valgrind-passes",
            "2",
            "--no-history",
            "--no-report",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = common::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let r = Results::load(&dir.path().join("results.json")).unwrap();
    let row = r.model("coop").expect("coop row");
    let v = row.valgrind.as_ref().expect("a valgrind report");
    assert_eq!(v.passes.len(), 2, "{v:?}");
    for (k, p) in v.passes.iter().enumerate() {
        assert_eq!(p.index, k as u32);
        // Under load the child may lag (the note says so); it still counts.
        assert!(
            p.note
                .as_deref()
                .is_none_or(|n| n.contains("did not keep up")),
            "{p:?}"
        );
        assert!(p.polls_planned > 0, "{p:?}");
        let events = p.events.expect("events counted").total();
        assert!(events > 0, "{p:?}");
        let instructions = p.instructions.expect("instructions counted");
        // The window is counted, not the start-up: a Rust binary's start-up alone runs
        // millions of instructions, a 2-s window of coop at the classroom load a few.
        assert!(instructions > 1_000, "{p:?}");
        assert_eq!(p.per_event, Some(instructions as f64 / events as f64));
        assert!(std::path::Path::new(p.dump.as_deref().unwrap()).exists());
    }
    // The registry's figure is the median over the passes; the timed rounds do not have it.
    let median = VG.of_model(row, r.scenario.duration_s).expect("the figure");
    assert!(v.passes.iter().any(|p| p.per_event.unwrap() <= median));
    assert!(row.rounds.iter().all(|k| VG.of_round(k).is_none()));
    let stdout = common::text(&out.stdout);
    assert!(
        stdout.contains("valgrind pass: instructions per handled event"),
        "{stdout}"
    );
}

#[test]
fn run_valgrind_without_valgrind_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let out = common::esbench()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // No valgrind on this PATH, whatever the machine has.
        .env("PATH", empty.path())
        .args([
            "run",
            "--quick",
            "--models",
            "coop",
            "--valgrind",
            "--no-history",
            "--no-report",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    let stderr = common::text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--valgrind: valgrind is not installed"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.contains("valgrind")).count(),
        1,
        "one line: {stderr}"
    );
    assert!(
        !out_dir.join("results.json").exists(),
        "nothing was measured"
    );
}
