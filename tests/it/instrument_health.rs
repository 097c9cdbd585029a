//! The instrument's own figures reach every reader: a driver-limited sweep point is marked in
//! the sweep's tables and ringed in its plots, and a real `esbench run` writes the driver
//! health, the CPU floor and each row's floor multiple into results.json and the table.

use crate::common;

use std::path::Path;

use crate::common::constant;
use esbench::metrics::fixture::fabricate_results_with;
use esbench::metrics::results::Results;
use esbench::sweep::manifest::{point_dir_name, LoadedSweep, PointStatus, SweepManifest};
use esbench::sweep::{plot, table};

const KEY: &str = "boards.count";
const VALUES: [&str; 2] = ["1", "256"];

/// Two points; at 256 boards smol's row is driver-limited when `limited`.
fn fabricate(dir: &Path, limited: bool) -> SweepManifest {
    let values: Vec<String> = VALUES.iter().map(|v| v.to_string()).collect();
    let mut m = SweepManifest::new("scenarios/classroom.toml", KEY, &values, &[]);
    for (k, value) in VALUES.iter().enumerate() {
        let mut r: Results = fabricate_results_with(k as u64 + 7, &["threads", "smol"], 2.0);
        for model in &mut r.models {
            model.poll_latency = constant(3_000);
            if limited && model.name == "smol" && *value == "256" {
                model.driver.limited = true;
                model.driver.limited_why = "send error p99 2.5 ms".into();
            }
        }
        let rel = format!("{}/results.json", point_dir_name(KEY, value));
        r.save(&dir.join(&rel)).unwrap();
        m.points[k].status = PointStatus::Done;
        m.points[k].results = Some(rel);
    }
    m
}

#[test]
fn a_driver_limited_point_is_marked_in_the_tables_and_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = LoadedSweep::load(fabricate(dir.path(), true), dir.path());
    let md = table::markdown(&sweep);
    let rows: Vec<Vec<&str>> = md
        .lines()
        .skip(2)
        .take(2)
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    // Columns: key, threads CPU, CPU/1k ev, poll, wd, smol CPU, CPU/1k ev, poll, wd.
    assert_eq!(rows[0][8], "3.00 ms", "{md}");
    assert_eq!(rows[1][8], "3.00 ms (drv)", "{md}");
    assert_eq!(rows[1][4], "3.00 ms", "threads at 256 is its own: {md}");
    assert!(
        md.contains("boards.count=256, smol: (drv) driver-limited: send error p99 2.5 ms"),
        "{md}"
    );
    let html = table::html(&sweep);
    assert!(html.contains("class=\"limited\""), "{html}");
    let text = table::text(&sweep);
    assert!(text.contains("(drv)"), "{text}");

    let spec = plot::PLOTS
        .iter()
        .find(|p| p.file.contains("poll"))
        .expect("a poll plot");
    let svg = plot::plot(&sweep, spec).unwrap().unwrap();
    assert!(
        svg.contains("ringed: driver-limited"),
        "legend says what a ring is"
    );
    // No limited point: no mark, no ring legend.
    let dir2 = tempfile::tempdir().unwrap();
    let clean = LoadedSweep::load(fabricate(dir2.path(), false), dir2.path());
    assert!(!table::markdown(&clean).contains("(drv)"));
    let svg = plot::plot(&clean, spec).unwrap().unwrap();
    assert!(!svg.contains("ringed"));
}

#[test]
fn a_run_records_driver_health_the_cpu_floor_and_floor_multiples() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::esbench()
        .args(["run", "--quick", "--models", "threads", "--duration", "1"])
        .args(["--no-history", "--no-report", "--out"])
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = Results::load(&dir.path().join("results.json")).unwrap();
    let floor = r.floor.cpu.as_ref().expect("a CPU floor");
    assert_eq!(r.floor.cpu_percent, Some(floor.cpu_percent));
    assert!(
        floor.cpu_percent > 0.0 && floor.wakeups_per_s > 10.0,
        "{floor:?}"
    );
    assert_eq!(
        floor.timer_slack_ns, 50_000,
        "the floor child runs like a model"
    );
    let m = &r.models[0];
    let d = &m.driver;
    assert!(d.cpu_percent > 0.0, "{d:?}");
    assert!(d.threads >= 3, "boards, clients, probes: {d:?}");
    assert!(d.cpus >= 1);
    assert_eq!(
        d.send_error, m.driver_error,
        "the row's send error, one figure"
    );
    assert!(d.send_error.count >= 25, "{}", d.send_error.count);
    let multiple = m.cpu.floor_multiple.expect("a floor multiple");
    assert!((multiple - m.cpu.percent / floor.cpu_percent).abs() < 1e-9);
    // The JSON keys the issue names.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert!(json["floor"]["cpu_percent"].is_number());
    let row = &json["models"][0];
    assert!(row["cpu"]["floor_multiple"].is_number());
    for k in ["cpu_percent", "send_error", "threads"] {
        assert!(!row["driver"][k].is_null(), "driver.{k} missing");
    }
    assert!(
        stdout.contains("CPU/floor") && stdout.contains("CPU floor:"),
        "{stdout}"
    );
}
