//! The teaching group: models wrong on purpose (`esp4s-threads`, `coop-spin`). They must
//! really spin (else they teach nothing), still stop promptly, still exit when the driver
//! dies, still survive an unplugged board, and stay out of the default run while `--models`
//! and a scenario's `run.models` select them.

use crate::common;

use crate::bridge_support as support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::proc_probe::runnable_ns;
use esbench::driver::options::{select_models, RunOptions};
use esbench::driver::place::Place;
use esbench::models::{default_run, teaching, TEACHING};
use esbench::scenario::Scenario;
use support::*;

fn teaching_names() -> Vec<&'static str> {
    TEACHING.iter().map(|t| t.name).collect()
}

/// The largest share of `window` one thread of `pid` spent runnable. A thread that polls
/// without blocking is runnable all the time whatever the machine's load (when it is not on
/// a CPU it waits in a run queue), so this does not depend on how busy the machine is.
fn busiest_thread_share(pid: u32, window: Duration) -> f64 {
    let before = runnable_ns(pid);
    let t = Instant::now();
    std::thread::sleep(window);
    let after = runnable_ns(pid);
    let elapsed = t.elapsed().as_nanos() as f64;
    after
        .iter()
        .map(|(tid, v)| v.saturating_sub(*before.get(tid).unwrap_or(&0)) as f64 / elapsed)
        .fold(0.0, f64::max)
}

#[test]
fn teaching_models_spin_even_while_the_board_is_silent() {
    if let Err(why) = common::schedstat() {
        common::skip_or_fail(
            "teaching_models_spin_even_while_the_board_is_silent",
            "schedstat",
            &why,
        );
        return;
    }
    for model in teaching_names() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        c.get("/poll");
        board.send_frame(1);
        poll_until(&mut c, "frame 1", |b| b.contains(&seq_lines(1)));
        // Silent board, no requests: a model that waits would be idle now.
        std::thread::sleep(Duration::from_millis(200));
        let share = busiest_thread_share(serve.pid(), Duration::from_secs(1));
        eprintln!("{model}: busiest thread runnable {share:.2} of the time");
        assert!(
            share > 0.8,
            "{model} should spin (runnable all the time), but its busiest thread was \
             runnable only {share:.2} of the time"
        );
        let stats = serve.stop();
        assert_eq!(stats.model, model);
    }
}

#[test]
fn teaching_models_stop_promptly_on_sigterm_while_spinning() {
    for model in teaching_names() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        c.get("/poll");
        board.send_frame(2);
        poll_until(&mut c, "frame 2", |b| b.contains(&seq_lines(2)));
        let t = Instant::now();
        let stats = serve.stop(); // SIGTERM; asserts a clean exit and reads the statistics
        let took = t.elapsed();
        eprintln!("{model}: stopped in {took:?}");
        // Generous for a loaded machine; a spin that ignored the signal would never end.
        assert!(took < Duration::from_secs(10), "{model}: took {took:?}");
        assert_eq!(stats.boards[0].frames_accepted, 1, "{model}");
        let rt = stats.runtime.expect("runtime statistics");
        if model == "esp4s-threads" {
            let polls = rt["fionread_calls"].as_u64().unwrap();
            let empty = rt["empty_polls"].as_u64().unwrap();
            assert!(
                empty > 1000 && empty < polls,
                "{model}: the statistics show the spin: {rt}"
            );
        }
    }
}

#[test]
fn teaching_models_report_and_survive_an_unplugged_board() {
    for model in teaching_names() {
        let mut board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        c.get("/poll");
        assert_eq!(board.wait_received(1), b"C", "{model}");
        board.send_frame(7);
        poll_until(&mut c, "frame 7", |b| b.contains(&seq_lines(7)));
        board.unplug();
        poll_until(&mut c, "the disconnect problem", |b| {
            b.contains("_problem board disconnected")
        });
        board.plug();
        assert_eq!(
            board.wait_received(1),
            b"C",
            "{model}: C after the reconnect"
        );
        board.send_frame(8);
        poll_until(&mut c, "frame 8 after the reconnect", |b| {
            b.contains(&seq_lines(8)) && !b.contains("_problem")
        });
        let stats = serve.stop();
        assert!(stats.boards[0].reconnects >= 1, "{model}");
        assert_eq!(stats.boards[0].frames_accepted, 2, "{model}");
    }
}

/// Pids of the children of `pid` (every thread's `children` list).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// True while `pid` runs (a zombie nobody reaps has exited).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !(state.starts_with('Z') || state.starts_with('X'))
        }
        Err(_) => false,
    }
}

#[test]
fn a_spinning_child_exits_when_its_driver_is_killed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    for model in teaching_names() {
        let dir = out.path().join(model);
        let mut driver = common::esbench()
            .current_dir(root)
            .args([
                "run",
                "scenarios/esp4s.toml",
                "--quick",
                "--duration",
                "60s",
            ])
            .args(["--models", model, "--no-history", "--no-report", "--out"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let end = Instant::now() + Duration::from_secs(60);
        let serve = loop {
            let serve = children(driver.id()).into_iter().find(|&p| {
                // The serve child: `serve` and the model among its arguments (a child that
                // has not exec'd yet, e.g. git, still shows the driver's own arguments).
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .map(|c| {
                        let args: Vec<&[u8]> = c.split(|&b| b == 0).collect();
                        args.contains(&&b"serve"[..]) && args.contains(&model.as_bytes())
                    })
                    .unwrap_or(false)
            });
            if let Some(p) = serve {
                break p;
            }
            assert!(
                Instant::now() < end,
                "{model}: the driver never started serve"
            );
            assert!(
                driver.try_wait().unwrap().is_none(),
                "{model}: the driver ended early"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(500));
        assert!(alive(serve), "{model}: serve should be running");
        driver.kill().unwrap(); // SIGKILL: the driver gets no chance to stop its child
        driver.wait().unwrap();
        let end = Instant::now() + Duration::from_secs(20);
        while alive(serve) {
            assert!(
                Instant::now() < end,
                "{model}: serve (pid {serve}) still spinning 20 s after its driver died"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn options(models: &[&str]) -> RunOptions {
    RunOptions {
        models: models.iter().map(|m| m.to_string()).collect(),
        duration_s: None,
        quick: true,
        pin: false,
        exe: PathBuf::from(common::BIN),
        place: Place::Local,
        progress: false,
        profile: false,
        valgrind: None,
        inject: Vec::new(),
        driver: None,
        send_spin_us: None,
        smol_block_on: None,
        bridges: Vec::new(),
    }
}

#[test]
fn the_default_run_is_the_nine_models_and_teaching_ones_run_only_when_named() {
    let classroom = Scenario::default();
    assert!(classroom.run.models.is_empty());
    let default = select_models(&options(&[]), &classroom).unwrap();
    let expected: Vec<String> = default_run().iter().map(|m| m.name.to_string()).collect();
    assert_eq!(default, expected);
    let mut today = vec![
        "threads",
        "tokio",
        "tokio-current",
        "smol",
        "coop",
        "coop-v2",
        "coop-fastio",
        "rayon",
    ];
    if cfg!(feature = "async-std-model") {
        today.push("async-std");
    }
    let mut sorted = default.clone();
    sorted.sort();
    today.sort();
    assert_eq!(
        sorted, today,
        "the default run is what it was before teaching models"
    );
    for t in teaching_names() {
        assert!(!default.iter().any(|m| m == t), "{t} in the default run");
    }

    // --models selects a teaching model...
    let picked = select_models(&options(&["coop-spin", "threads"]), &classroom).unwrap();
    assert_eq!(picked, ["coop-spin", "threads"]);
    // ...and so does a scenario's run.models: the bundled esp4s comparison.
    let esp4s =
        Scenario::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/esp4s.toml")).unwrap();
    let picked = select_models(&options(&[]), &esp4s).unwrap();
    assert_eq!(
        picked,
        [
            "esp4s-threads",
            "threads",
            "coop",
            "coop-spin",
            "tokio-current"
        ]
    );
    assert!(picked.iter().filter(|m| teaching(m).is_some()).count() == 2);
}

#[test]
fn esbench_models_lists_the_teaching_group_under_its_own_heading() {
    let out = common::esbench().arg("models").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (before, after) = text
        .split_once(esbench::cli::models::TEACHING_HEADING)
        .unwrap_or_else(|| panic!("no teaching heading in:\n{text}"));
    for m in default_run() {
        assert!(
            before
                .lines()
                .any(|l| l.split_whitespace().next() == Some(m.name)),
            "{} missing above the heading",
            m.name
        );
    }
    for t in TEACHING {
        assert!(
            !before
                .lines()
                .any(|l| l.split_whitespace().next() == Some(t.name)),
            "{} listed with the default run",
            t.name
        );
        let line = after
            .lines()
            .find(|l| l.split_whitespace().next() == Some(t.name))
            .unwrap_or_else(|| panic!("{} missing under the heading", t.name));
        assert!(line.contains(t.reason), "{line}");
    }
}
