//! The profiling pass recovers a known load: a child process with a thread that spins and a
//! thread that sleeps 50 ms in a loop. The spinner must come out as the top thread with
//! about a core; the sleeper with ~0 CPU and ~20 wake-ups/s; strace (when it works) must
//! count the sleeper's sleeps; perf (when it works) must put the samples on the spinner.
//! Where `ESBENCH_REQUIRE` (or `ESBENCH_REQUIRE_TOOLS`) asks for strace, perf or schedstat,
//! that pass must have worked.

use crate::common;

use esbench::metrics::profile::PassStatus;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use esbench::profile::{profile_with, EventCounts, ProfileOptions};

const CHILD_ENV: &str = "ESBENCH_PROFILE_TEST_CHILD";
const SLEEP_MS: u64 = 50;

#[inline(never)]
fn spin_forever() {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Not a test: the body of the child process the tests below profile. It runs until its
/// stdin closes (the parent dropping the pipe), so it never outlives the test.
#[test]
#[ignore = "child-process entry for the profile tests, run by them"]
fn child_entry() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    std::thread::Builder::new()
        .name("spinner".into())
        .spawn(spin_forever)
        .unwrap();
    std::thread::Builder::new()
        .name("sleeper".into())
        .spawn(|| loop {
            std::thread::sleep(Duration::from_millis(SLEEP_MS));
        })
        .unwrap();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    std::process::exit(0);
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_child() -> Child {
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "profile_threads::child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let child = Child(child);
    // Wait until both helper threads exist.
    for _ in 0..200 {
        let names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
                    .collect()
            })
            .unwrap_or_default();
        if names.iter().any(|n| n.trim() == "spinner")
            && names.iter().any(|n| n.trim() == "sleeper")
        {
            return child;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("child never started its threads");
}

#[test]
fn spinning_thread_is_top_sleeping_thread_is_near_zero() {
    let child = start_child();
    let pid = child.0.id();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ProfileOptions::new(Duration::from_secs(2), dir.path(), "spin-test");
    opts.flame.call_graph = "fp".into(); // cheap: this test checks attribution by thread
                                         // A fake event counter: 40 events per second of wall time.
    let t0 = std::time::Instant::now();
    let events = move || EventCounts {
        polls: (t0.elapsed().as_secs_f64() * 40.0) as u64,
        ..Default::default()
    };
    let report = profile_with(pid, &opts, Some(&events));
    drop(child);

    let threads = report.threads.as_ref().expect("threads were read");
    let json = serde_json::to_string_pretty(&report).unwrap();
    let top = &threads.groups[0];
    assert_eq!(top.name, "spinner", "{json}");
    // About one core of demand: on a shared machine the spinner may get only part of a
    // core, but it is runnable all the time, so on-CPU + run-queue wait ≈ the window.
    assert!(top.cpu_percent > 5.0 && top.cpu_percent < 110.0, "{json}");
    assert!(
        threads.precise_cpu || !common::required("schedstat"),
        "schedstat is required, but CPU time came from clock ticks\n{json}"
    );
    if threads.precise_cpu {
        let demand = 100.0 * (top.cpu_s + top.wait_s) / threads.window_s;
        assert!(demand > 70.0 && demand < 115.0, "demand {demand}\n{json}");
    } else {
        // No schedstat (kernel without CONFIG_SCHED_INFO): only 10 ms ticks, no wait time.
        assert!(top.cpu_percent > 30.0, "{json}");
    }
    let sleeper = threads
        .groups
        .iter()
        .find(|g| g.name == "sleeper")
        .expect("sleeper");
    assert!(sleeper.cpu_percent < 5.0, "{json}");
    let expected_wakeups = 1000.0 / SLEEP_MS as f64;
    assert!(
        sleeper.wakeups_per_s > expected_wakeups * 0.5
            && sleeper.wakeups_per_s < expected_wakeups * 1.5,
        "{json}"
    );
    // Per-event figures use the counter's delta over the first window (~80 events).
    eprintln!("{json}");
    let ev = report.events.expect("events counted");
    assert!((40..=160).contains(&ev.polls), "{json}");
    assert!(report.wakeups_per_event.unwrap() > 0.0);

    match report.syscalls.status {
        PassStatus::Ok => {
            let sleeps: u64 = report
                .syscalls
                .rows
                .iter()
                .filter(|r| r.syscall.contains("nanosleep"))
                .map(|r| r.calls)
                .sum();
            let expected = report.syscalls.window_s * expected_wakeups;
            assert!(
                sleeps as f64 > expected * 0.5 && (sleeps as f64) < expected * 1.5,
                "{json}"
            );
            assert!(report.syscalls.calls_per_event.is_some(), "{json}");
        }
        _ if common::required("strace") => {
            panic!("strace is required, but the syscall pass did not work\n{json}")
        }
        _ => assert!(report.syscalls.note.is_some(), "{json}"),
    }
    match report.flamegraph.status {
        PassStatus::Ok => {
            let by_thread = &report.flamegraph.by_thread;
            assert!(
                !by_thread.is_empty(),
                "perf said ok but put no sample on a thread\n{json}"
            );
            assert_eq!(by_thread[0].function, "spinner", "{json}");
            assert!(by_thread[0].percent > 80.0, "{json}");
            let svg = report.flamegraph.svg.as_ref().expect("svg written");
            assert!(dir.path().join(svg).exists());
        }
        _ if common::required("perf") => {
            panic!("perf is required, but the sampling pass did not work\n{json}")
        }
        _ => assert!(report.flamegraph.note.is_some(), "{json}"),
    }
}

#[test]
fn a_missing_process_degrades_with_notes() {
    let dir = tempfile::tempdir().unwrap();
    // A pid that just exited: nothing can be read, nothing panics.
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    let report = profile_with(
        pid,
        &ProfileOptions::new(Duration::from_millis(200), dir.path(), "gone"),
        None,
    );
    assert!(report.threads.is_none());
    assert!(!report.notes.is_empty());
    assert_ne!(report.syscalls.status, PassStatus::Ok);
    assert_ne!(report.flamegraph.status, PassStatus::Ok);
}
