//! The "Where the CPU goes" fragment: present only when a model was profiled, escapes what
//! it prints, draws inline SVG, puts the syscall tables side by side, links flamegraphs and
//! says where a tool was missing.

use esbench::metrics::profile::PassStatus;
use esbench::metrics::results::{ModelResult, Results, SCHEMA};
use esbench::profile::{
    EventCounts, FlameProfile, FnShare, ProfileReport, SyscallProfile, SyscallRow, ThreadGroup,
    ThreadProfile, PROFILE_SCHEMA,
};
use esbench::report::profile_section::section;

fn group(name: &str, threads: u32, cpu_percent: f64, wakeups_per_s: f64) -> ThreadGroup {
    ThreadGroup {
        name: name.into(),
        threads,
        cpu_s: cpu_percent / 100.0 * 10.0,
        user_s: cpu_percent / 100.0 * 10.0,
        sys_s: 0.0,
        cpu_percent,
        wakeups_per_s,
        preemptions_per_s: 1.0,
        wait_s: 0.0,
    }
}

fn profiled(model: &str, groups: Vec<ThreadGroup>, with_tools: bool) -> ModelResult {
    let total = ThreadGroup {
        name: "all threads".into(),
        threads: groups.iter().map(|g| g.threads).sum(),
        cpu_percent: groups.iter().map(|g| g.cpu_percent).sum(),
        cpu_s: groups.iter().map(|g| g.cpu_s).sum(),
        wakeups_per_s: groups.iter().map(|g| g.wakeups_per_s).sum(),
        ..Default::default()
    };
    let mut syscalls = if with_tools {
        SyscallProfile {
            status: PassStatus::Ok,
            window_s: 10.0,
            rows: vec![
                SyscallRow {
                    syscall: "epoll_wait".into(),
                    calls: 800,
                    ..Default::default()
                },
                SyscallRow {
                    syscall: "read".into(),
                    calls: 400,
                    errors: 7,
                    ..Default::default()
                },
            ],
            total_calls: 1200,
            calls_per_s: 120.0,
            ..Default::default()
        }
    } else {
        SyscallProfile::not_done(PassStatus::Unavailable, "strace is not installed")
    };
    if with_tools {
        syscalls.set_events(EventCounts {
            polls: 300,
            frames: 400,
            commands: 100,
        });
    }
    let flamegraph = if with_tools {
        FlameProfile {
            status: PassStatus::Ok,
            samples: 321,
            frequency_hz: 999,
            svg: Some(format!("flame-{model}.svg")),
            top_code: vec![FnShare {
                function: "esbench::bridge::<impl Foo>::poll".into(),
                samples: 100,
                percent: 31.2,
            }],
            ..Default::default()
        }
    } else {
        FlameProfile::not_done(PassStatus::Unavailable, "perf is not installed")
    };
    let report = ProfileReport {
        schema: PROFILE_SCHEMA.into(),
        label: model.into(),
        out_dir: "profile".into(),
        window_s: 10.0,
        threads: Some(ThreadProfile {
            window_s: 10.0,
            readings: 50,
            precise_cpu: true,
            groups,
            total,
        }),
        events: Some(EventCounts {
            polls: 300,
            frames: 400,
            commands: 0,
        }),
        wakeups_per_event: Some(0.5),
        cpu_us_per_event: Some(12.5),
        syscalls,
        flamegraph,
        notes: if with_tools {
            vec![]
        } else {
            vec!["syscalls: strace is not installed".into()]
        },
        ..Default::default()
    };
    ModelResult {
        name: model.into(),
        status: esbench::metrics::status::Status::Ok,
        profile: Some(report),
        ..Default::default()
    }
}

fn results(models: Vec<ModelResult>) -> Results {
    Results {
        schema: SCHEMA.into(),
        models,
        ..Default::default()
    }
}

#[test]
fn no_profile_no_section() {
    let r = results(vec![ModelResult {
        name: "smol".into(),
        ..Default::default()
    }]);
    assert!(section(&r).is_none());
}

#[test]
fn section_explains_threads_syscalls_and_functions() {
    let r = results(vec![
        profiled(
            "tokio",
            vec![
                group("tokio-runtime-w", 2, 3.5, 220.0),
                group("esbench (main)", 1, 0.1, 1.0),
            ],
            true,
        ),
        profiled(
            "rayon<script>",
            vec![group("rayon-worker", 2, 40.0, 5000.0)],
            true,
        ),
        profiled("smol", vec![group("async-io", 1, 0.2, 40.0)], false),
    ]);
    let html = section(&r).expect("a section");
    if let Some(p) = std::env::var_os("ESBENCH_SECTION_OUT") {
        std::fs::write(p, format!("<html><body>{html}</body></html>")).unwrap();
    }
    assert!(html.contains("Where the CPU goes"));
    assert!(html.contains("separate profiling pass"));
    assert!(html.contains("never mixed"));
    // Two stacked bar charts (CPU, wake-ups), inline.
    assert_eq!(html.matches("<svg").count(), 2, "{html}");
    assert!(html.contains("tokio-runtime-w ×2"));
    // Escaping: the hostile model name never appears raw.
    assert!(!html.contains("<script>"));
    assert!(html.contains("rayon&lt;script&gt;"));
    assert!(html.contains("&lt;impl Foo&gt;"));
    // One sentence per model, in figures.
    assert!(html.contains("In short"));
    assert!(
        html.contains("3.60% of a core over 3 threads; tokio-runtime-w ×2 holds 97.2% of it"),
        "{html}"
    );
    assert!(
        html.contains("led by epoll_wait (80.0/s, 1.00 per event)"),
        "{html}"
    );
    // Syscall table: models as columns, rate and per-event figures, errors.
    assert!(html.contains("<td>epoll_wait</td>"));
    assert!(html.contains("<td>80.0 (1.00)</td>"), "{html}");
    assert!(html.contains("7 err"));
    // Flamegraph links next to the model's figures.
    assert!(html.contains("href=\"profile/flame-tokio.svg\""));
    // A missing tool is stated, not hidden.
    assert!(html.contains("strace is not installed"));
    assert!(html.contains("perf is not installed"));
}
