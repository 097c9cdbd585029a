//! `esbench run --profile`: the measured row stays as measured, and the separate profiling
//! pass fills the row's `profile` (schema esbench.profile/1) with per-thread figures of the
//! model's own serve child.

use crate::common;

use esbench::metrics::results::Results;

#[test]
fn run_profile_adds_a_profile_per_model() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let out = common::esbench()
        .current_dir(root)
        .args([
            "run",
            "--quick",
            "--profile",
            "--models",
            "threads",
            "--duration",
            "1s",
            "--no-history",
            "--no-report",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let r = Results::load(&dir.path().join("results.json")).unwrap();
    let row = r.model("threads").expect("threads row");
    assert!(row.is_ok(), "{}", row.status);
    let p = row.profile.clone().expect("a profile");
    assert_eq!(p.label, "threads");
    let t = p.threads.as_ref().expect("threads were read");
    // The threads model names its threads; the profile sees them in the serve child.
    assert!(
        t.groups.iter().any(|g| g.name == "serial"),
        "{:?}",
        t.groups.iter().map(|g| &g.name).collect::<Vec<_>>()
    );
    // Its serial thread wakes for each frame: about 40/s.
    let serial = t.groups.iter().find(|g| g.name == "serial").unwrap();
    assert!(
        serial.wakeups_per_s > 20.0 && serial.wakeups_per_s < 80.0,
        "{serial:?}"
    );
    assert!(p.events.map(|e| e.frames).unwrap_or(0) > 0);
}
