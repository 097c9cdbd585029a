//! Rendering a sweep from fabricated results: the table says what each point measured, gaps
//! and failures are shown (not hidden), plots get one line per model, and `--from` redoes
//! sweep.md and sweep.html from the files alone.

use crate::common;

use esbench::metrics::status::Status;
use std::path::Path;

use crate::common::constant;
use esbench::metrics::fixture::fabricate_results_with;
use esbench::metrics::results::Results;
use esbench::sweep::manifest::{point_dir_name, LoadedSweep, PointStatus, SweepManifest};
use esbench::sweep::{page, plot, table};

const KEY: &str = "clients.per_board";
const VALUES: [&str; 4] = ["1", "2", "4", "8"];
const MODELS: [&str; 3] = ["threads", "smol", "rayon"];

/// Point k: CPU (k+1)·(model index+1) %, poll p99 (k+1) ms for smol and 10·(k+1) ms for
/// the others; rayon crashes at value 4; value 8 never ran (serve failed to start).
fn fabricate(dir: &Path) -> SweepManifest {
    let values: Vec<String> = VALUES.iter().map(|v| v.to_string()).collect();
    let mut m = SweepManifest::new("scenarios/classroom.toml", KEY, &values, &[]);
    m.command = vec!["esbench".into(), "sweep".into(), "--set".into(), "x".into()];
    for (k, value) in VALUES.iter().enumerate().take(3) {
        let mut r: Results = fabricate_results_with(k as u64 + 1, &MODELS, 2.0);
        for (i, model) in r.models.iter_mut().enumerate() {
            model.cpu.percent = ((k + 1) * (i + 1)) as f64;
            model.counters.insert("cpu_window_ms".into(), 2000);
            let p99_ms = if model.name == "smol" {
                k + 1
            } else {
                10 * (k + 1)
            };
            model.poll_latency = constant(p99_ms as u64 * 1000);
            if model.name == "rayon" && *value == "4" {
                model.status = Status::parse("crashed: killed by SIGSEGV");
            }
        }
        let rel = format!("{}/results.json", point_dir_name(KEY, value));
        r.save(&dir.join(&rel)).unwrap();
        m.points[k].status = PointStatus::Done;
        m.points[k].results = Some(rel);
    }
    m.points[3].status = PointStatus::Failed;
    m.points[3].error = Some("serve did not start: port in use".into());
    m.save(&dir.join("sweep.json")).unwrap();
    m
}

#[test]
fn table_shows_each_point_failures_and_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let m = fabricate(dir.path());
    let sweep = LoadedSweep::load(m, dir.path());
    assert_eq!(sweep.models(), MODELS);

    let md = table::markdown(&sweep);
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(
        lines[0],
        "| clients.per_board | threads CPU % | threads CPU/1k ev | threads poll p99 \
         | threads watchdog p99 | smol CPU % | smol CPU/1k ev | smol poll p99 \
         | smol watchdog p99 | rayon CPU % | rayon CPU/1k ev | rayon poll p99 \
         | rayon watchdog p99 |"
    );
    // Value 2: threads 2 %, 20 ms; smol 4 %, 2 ms; rayon 6 %, 20 ms.
    let row2: Vec<&str> = lines[3].split('|').map(str::trim).collect();
    assert_eq!(row2[1], "2");
    assert_eq!(row2[2], "2.00 %");
    assert_eq!(row2[4], "20.0 ms");
    assert_eq!(row2[6], "4.00 %");
    assert_eq!(row2[8], "2.00 ms");
    assert_eq!(row2[10], "6.00 %");
    // Value 4: rayon failed; value 8: nothing measured.
    let row4: Vec<&str> = lines[4].split('|').map(str::trim).collect();
    assert_eq!(&row4[10..14], ["failed", "failed", "failed", "failed"]);
    let row8: Vec<&str> = lines[5].split('|').map(str::trim).collect();
    assert!(row8[2..14].iter().all(|c| *c == "—"), "{row8:?}");
    assert!(
        md.contains("clients.per_board=4, rayon: crashed: killed by SIGSEGV"),
        "{md}"
    );
    assert!(
        md.contains("clients.per_board=8: serve did not start: port in use"),
        "{md}"
    );

    let text = table::text(&sweep);
    assert!(text.contains("poll latency p99"));
    assert!(text.contains("crashed: killed by SIGSEGV"));
}

#[test]
fn html_has_a_plot_per_figure_with_every_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = fabricate(dir.path());
    let sweep = LoadedSweep::load(m, dir.path());
    let html = page::html(&sweep, dir.path()).unwrap();
    // One plot per figure, and CPU against the events served with each model's fit.
    assert_eq!(html.matches("<svg").count(), plot::PLOTS.len() + 1);
    assert!(html.contains("CPU against the work served"));
    for model in MODELS {
        assert!(html.contains(model));
    }
    assert!(
        html.contains("class=\"best\""),
        "the lowest figure of a row is marked"
    );
    assert!(html.contains("class=\"bad\""), "a failed model is marked");
    assert!(html.contains("clients.per_board=1/results.json"));
    assert!(!html.contains("NaN") && !html.contains("inf"));

    // The CPU plot: one line per model, broken where rayon failed, a cross for the failure,
    // a log x axis for 1, 2, 4, 8 and one tick label per value.
    let svg = plot::plot(&sweep, &plot::PLOTS[0]).unwrap().unwrap();
    assert!(svg.contains("clients.per_board (log scale)"));
    for (i, _) in MODELS.iter().enumerate() {
        let c = esbench::render::chart::color(i);
        let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
        assert!(svg.contains(&stroke), "model {i} has no line");
    }
    assert!(svg.contains("model failed"));
    let texts = svg_texts(&svg);
    for v in ["1", "2", "4", "8"] {
        assert!(texts.iter().any(|t| t == v), "tick {v} in {texts:?}");
    }
    // Latency plots carry the floor of each run, dashed.
    let svg = plot::plot(&sweep, &plot::PLOTS[4]).unwrap().unwrap();
    assert!(svg.contains("floor: timer lateness p99"));
}

/// The text content of every `<text>` element.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split("</text>").next()?.trim().to_string())
        })
        .collect()
}

#[test]
fn nothing_measured_yet_still_renders() {
    let dir = tempfile::tempdir().unwrap();
    let m = SweepManifest::new("s.toml", KEY, &["1".into(), "2".into()], &[]);
    let sweep = LoadedSweep::load(m, dir.path());
    assert!(table::markdown(&sweep).contains("No point has results yet"));
    let html = page::html(&sweep, dir.path()).unwrap();
    assert!(html.contains("No point has results to plot yet"));
    for spec in &plot::PLOTS {
        assert!(plot::plot(&sweep, spec).unwrap().is_none());
    }
}

#[test]
fn from_rerenders_without_running() {
    let dir = tempfile::tempdir().unwrap();
    fabricate(dir.path());
    let out = common::esbench()
        .args(["sweep", "--from"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("CPU % of one core"), "{stdout}");
    let md = std::fs::read_to_string(dir.path().join("sweep.md")).unwrap();
    assert!(md.starts_with("# esbench sweep — clients.per_board"));
    assert!(md.contains("| 2 | 2.00 % |"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("sweep.html")).unwrap();
    assert!(html.contains("<svg"));

    // A results.json is not a sweep: say so.
    let out = common::esbench()
        .args(["sweep", "--from"])
        .arg(dir.path().join("clients.per_board=1/results.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a sweep.json"), "{stderr}");
}

#[test]
fn bad_arguments_fail_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = common::esbench()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("sweep")
            .args(args)
            .arg("--out")
            .arg(dir.path().join("s"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--set", "workload.poll_work_us=0,2.5"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("workload.poll_work_us") && err.contains("2.5"),
        "{err}"
    );
    let (code, err) = run(&["--set", "clients.per_bord=1,2"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("did you mean `clients.per_board`"), "{err}");
    let (_, err) = run(&["--set", "boards.count=1,2", "--models", "nope"]);
    assert!(err.contains("unknown model"), "{err}");
    let (code, err) = run(&["--set", "boards.count"]);
    assert_eq!(code, Some(2), "clap rejects it");
    assert!(err.contains("KEY=VALUE"), "{err}");
    let (code, err) = run(&["--set", "boards.count=1,2", "--with", "boards.count=3"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("both swept"), "{err}");
    let (code, err) = run(&["--set", "name=a b,a_b"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("share the directory"), "{err}");
    assert!(!dir.path().join("s").exists(), "nothing was created");
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("s");
    let o = common::esbench()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "sweep",
            "--set",
            "clients.poll_period_ms=33,10",
            "--models",
            "smol,threads",
            "--quick",
            "--dry-run",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(
        stdout.contains("over 2 value(s) of clients.poll_period_ms, about"),
        "{stdout}"
    );
    assert!(
        stdout.contains("clients.poll_period_ms=10: models smol, threads"),
        "{stdout}"
    );
    assert!(!out_dir.exists());
}
