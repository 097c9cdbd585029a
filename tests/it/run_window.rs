//! `esbench run` keeps the bridge's watchdog and frame inter-arrival figures to the measured
//! window, through the real binary: with a 25 ms watchdog and 25 ms frames, a 2.5 s window
//! holds about 100 ticks and 100 gaps per board, while the child's whole life (start-up,
//! 20 ms lead-in, 1 s warm-up, shutdown) holds at least 40 more of each.
//!
//! The bounds are counts of scheduled events, not speeds: a slow machine makes ticks late,
//! not more or fewer (the watchdog records every deadline, even missed ones).

use crate::common;

use esbench::metrics::results::Results;

#[test]
fn watchdog_and_interarrival_cover_the_measured_window_only() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("window.toml");
    std::fs::write(
        &scenario,
        r#"name = "window"
description = "windowed bridge figures"
[boards]
count = 2
seed = 3
frame_period_ms = 25.0
[clients]
per_board = 1
poll_period_ms = 33.0
[workload]
watchdog_period_ms = 25.0
[run]
warmup_s = 1.0
duration_s = 2.5
quick_duration_s = 2.5
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = common::esbench()
        .arg("run")
        .arg(&scenario)
        .args([
            "--models",
            "threads",
            "--no-history",
            "--no-report",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let r = Results::load(&out.join("results.json")).unwrap();
    let m = &r.models[0];
    assert!(m.is_ok(), "{}", m.status);

    // Two boards, 100 deadlines each in 2.5 s; a tick or two at the window's end may not
    // have fired before SIGTERM on a loaded machine, so the lower bound is loose.
    let ticks = m.watchdog_lateness.count;
    assert!((160..=202).contains(&ticks), "watchdog ticks {ticks}");
    let gaps = m.frame_interarrival.count;
    assert!((160..=210).contains(&gaps), "inter-arrival gaps {gaps}");

    let c = &m.counters;
    assert_eq!(c["watchdog_log_dropped"], 0, "{c:?}");
    assert_eq!(c["ingest_log_dropped"], 0, "{c:?}");
    assert!(!c.contains_key("watchdog_whole_life"), "{c:?}");
    assert!(!c.contains_key("interarrival_whole_life"), "{c:?}");
    // The bridge accepted more frames over its life than the window's gaps: the warm-up's
    // frames exist but were left out.
    assert!(c["frames_accepted"] >= gaps + 2 * 30, "{c:?}, gaps {gaps}");

    // The floor alongside the model: one probe in the driver, 100 deadlines in the 2.5 s
    // window (not the warm-up's), and the table's ratios are taken against it.
    let floor = &m.timer_floor;
    assert!(
        (95..=100).contains(&floor.count),
        "floor ticks {}",
        floor.count
    );
    assert!(std::ptr::eq(r.timer_floor_for(m), floor));
}
