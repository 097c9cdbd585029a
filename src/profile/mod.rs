//! Where a model's CPU goes: a profiling pass over a running `esbench serve` child.
//!
//! Three views of the same process, each from a tool made for it:
//! - per-thread CPU and wake-ups from `/proc` ([`threads`]) — free, always available;
//! - a syscall table from `strace -c -f` ([`syscalls`]) — when strace runs and ptrace is allowed;
//! - a CPU flamegraph from `perf record` + inferno ([`flamegraph`]) — when perf works here.
//!
//! Profilers perturb what they watch, so this is a *separate* pass: its figures go in the
//! `profile` object of a model's row in results.json and are never mixed into the measured
//! latency/CPU table. strace perturbs the most, so it gets its own window after the
//! /proc + perf window. A missing tool leaves a `note`, never an error.

pub(crate) mod flamegraph;
pub(crate) mod load;
pub(crate) mod syscalls;
pub(crate) mod threads;

use crate::metrics::profile::PassStatus;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use flamegraph::{FlameOptions, FlameProfile, FnShare};
pub use syscalls::{SyscallProfile, SyscallRow};
pub use threads::{ThreadGroup, ThreadProfile};

pub use crate::metrics::profile::{EventCounts, ProfileReport, PROFILE_SCHEMA};

/// Set once the command is asked to stop (Ctrl-C, SIGTERM, SIGHUP: the CLI wires the
/// signals to [`stop`]); profiling windows and warm-ups then end early, and their rates use
/// the time they lasted.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Ends every profiling window and warm-up now, and those to come.
pub(crate) fn stop() {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// True once [`stop`] was called.
pub(crate) fn stopped() -> bool {
    STOP.load(std::sync::atomic::Ordering::SeqCst)
}

/// Sleeps for `d`, or less once [`stop`] is called (it looks every 50 ms). True when it
/// slept the whole `d`.
pub(crate) fn sleep(d: Duration) -> bool {
    let end = std::time::Instant::now() + d;
    loop {
        if stopped() {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// How to profile; `ProfileOptions::new(window, out_dir, label)` has sensible defaults.
#[derive(Clone, Debug)]
pub struct ProfileOptions {
    pub window: Duration,
    /// Where the flamegraph SVG and folded stacks go.
    pub out_dir: PathBuf,
    /// File stem and report label (the model name).
    pub label: String,
    /// /proc reading interval.
    pub thread_interval: Duration,
    pub strace: bool,
    pub perf: bool,
    pub flame: FlameOptions,
}

impl ProfileOptions {
    pub fn new(window: Duration, out_dir: &Path, label: &str) -> ProfileOptions {
        ProfileOptions {
            window,
            out_dir: out_dir.to_path_buf(),
            label: label.to_string(),
            thread_interval: Duration::from_millis(200),
            strace: true,
            perf: true,
            flame: FlameOptions {
                title: format!("{label}: CPU samples"),
                ..FlameOptions::default()
            },
        }
    }
}

/// Profiles `pid` (labelled `opts.label`, the model name) for two windows of `opts.window`
/// each and writes `<out_dir>/flame-<label>.svg` (+ `.folded`).
/// `events`, when given, returns the bridge's *cumulative* event counters; it is read at
/// the start and end of each window so costs can be given per event.
pub fn profile_with(
    pid: u32,
    opts: &ProfileOptions,
    events: Option<&(dyn Fn() -> EventCounts + Sync)>,
) -> ProfileReport {
    let mut report = ProfileReport {
        schema: PROFILE_SCHEMA.into(),
        label: opts.label.clone(),
        pid,
        // Absolute, so the report's flamegraph links work wherever the report is written.
        out_dir: std::path::absolute(&opts.out_dir)
            .unwrap_or_else(|_| opts.out_dir.clone())
            .display()
            .to_string(),
        window_s: opts.window.as_secs_f64(),
        ..Default::default()
    };
    let stem = format!("flame-{}", file_safe(&opts.label));

    // Window 1: /proc sampling, with perf alongside (cpu-clock sampling costs the target
    // little, and only while it is on a CPU).
    let (threads, flame, before, after) = std::thread::scope(|s| {
        let perf = opts.perf.then(|| {
            s.spawn(|| flamegraph::record_pid(pid, opts.window, &opts.out_dir, &stem, &opts.flame))
        });
        let before = events.map(|f| f());
        let threads = threads::ThreadSampler::run(pid, opts.window, opts.thread_interval);
        let after = events.map(|f| f());
        let flame = match perf {
            Some(h) => h.join().unwrap_or_else(|_| {
                FlameProfile::not_done(PassStatus::Failed, "perf thread panicked")
            }),
            None => FlameProfile::not_done(PassStatus::Skipped, "perf sampling was not requested"),
        };
        (threads, flame, before, after)
    });
    match threads {
        Ok(t) => {
            if let (Some(b), Some(a)) = (before, after) {
                let ev = a.since(&b);
                if ev.total() > 0 {
                    let n = ev.total() as f64;
                    report.wakeups_per_event = Some(t.total.wakeups_per_s * t.window_s / n);
                    report.cpu_us_per_event = Some(t.total.cpu_s * 1e6 / n);
                }
                report.events = Some(ev);
            }
            report.threads = Some(t);
        }
        Err(e) => report
            .notes
            .push(format!("process {pid} could not be read from /proc: {e}")),
    }
    if let Some(n) = &flame.note {
        report.notes.push(format!("flamegraph: {n}"));
    }
    report.flamegraph = flame;

    // Window 2: strace alone.
    report.syscalls = if !opts.strace {
        SyscallProfile::not_done(PassStatus::Skipped, "strace was not requested")
    } else if !Path::new(&format!("/proc/{pid}")).exists() {
        SyscallProfile::not_done(
            PassStatus::Failed,
            "the process had ended before the syscall pass",
        )
    } else {
        let _ = std::fs::create_dir_all(&opts.out_dir);
        let mut marks = Vec::new();
        let mut p = syscalls::trace_pid(pid, opts.window, &opts.out_dir, || {
            if let Some(f) = events {
                marks.push(f());
            }
        });
        if let [b, a] = marks[..] {
            p.set_events(a.since(&b));
        }
        p
    };
    if let Some(n) = &report.syscalls.note {
        report.notes.push(format!("syscalls: {n}"));
    }
    report
}

/// The whole profiling pass for one model, as `esbench run --profile` and `esbench profile
/// --model` do it: a *fresh* `exe serve --model MODEL` child on the scenario's boards and
/// clients ([`load::ModelUnderLoad`]), `warmup`, then [`profile_with`], then SIGTERM. A fresh
/// child keeps the measured child's CPU figures (rusage at exit) free of profiler overhead.
pub fn profile_model(
    exe: &Path,
    model: &str,
    scenario: &crate::scenario::Scenario,
    opts: &ProfileOptions,
    warmup: Duration,
) -> anyhow::Result<ProfileReport> {
    let target = load::ModelUnderLoad::start(exe, model, scenario)?;
    sleep(warmup);
    if !Path::new(&format!("/proc/{}", target.pid())).exists() {
        anyhow::bail!("`esbench serve --model {model}` exited during warm-up");
    }
    let events = || target.events();
    let seen = crate::load::child_settings::read_back(target.pid() as i32);
    let mut report = profile_with(target.pid(), opts, Some(&events));
    report.notes.push(format!(
        "serve ran with timer slack {} ns (set {} ns), CPUs {}, nice {} (read back from /proc)",
        seen.timerslack_ns
            .map_or("unknown".into(), |n| n.to_string()),
        scenario.run.model_timer_slack_ns,
        seen.cpus_allowed.as_deref().unwrap_or("unknown"),
        seen.nice.map_or("unknown".into(), |n| n.to_string()),
    ));
    if let Err(e) = target.stop() {
        report.notes.push(format!("stopping serve: {e:#}"));
        return Ok(report);
    }
    Ok(report)
}

/// `esbench run --profile`'s call, once per model after its measured pass: [`profile_model`]
/// with the usual options, returned as the value for `ModelResult::profile`. Never fails:
/// an error becomes a profile whose parts say `failed` and whose notes say why, so a
/// profiling problem never costs the run its measured rows.
pub fn profiling_pass(
    exe: &Path,
    model: &str,
    scenario: &crate::scenario::Scenario,
    out_dir: &Path,
    window: Duration,
    warmup: Duration,
) -> ProfileReport {
    let opts = ProfileOptions::new(window, out_dir, model);
    let report = profile_model(exe, model, scenario, &opts, warmup).unwrap_or_else(|e| {
        let why = format!("the profiling pass could not run: {e:#}");
        ProfileReport {
            schema: PROFILE_SCHEMA.into(),
            label: model.into(),
            window_s: window.as_secs_f64(),
            syscalls: SyscallProfile::not_done(PassStatus::Failed, why.clone()),
            flamegraph: FlameProfile::not_done(PassStatus::Failed, why.clone()),
            notes: vec![why],
            ..Default::default()
        }
    });
    report
}

/// Puts a profile into the row of the model named `report.label` of a results.json
/// (`esbench profile --into`), saving it atomically.
pub(crate) fn store_in_results(path: &Path, report: &ProfileReport) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let mut results = crate::metrics::results::Results::load(path)?;
    let row = results
        .models
        .iter_mut()
        .find(|m| m.name == report.label)
        .with_context(|| {
            format!(
                "{} has no model named {:?} (use --label to pick the row)",
                path.display(),
                report.label
            )
        })?;
    row.profile = Some(report.clone());
    results.save(path)
}

/// A label reduced to characters safe in a file name.
pub(crate) fn file_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sends SIGINT (profilers write their results on it) and waits up to `grace`, then kills.
/// Returns the exit status, or `None` when the tool had to be killed.
pub(crate) fn interrupt_and_wait(
    child: &mut std::process::Child,
    grace: Duration,
) -> Option<std::process::ExitStatus> {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let deadline = std::time::Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Atomic write (see `metrics::results::write_atomic`).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::metrics::results::write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_deltas_and_names() {
        let a = EventCounts {
            polls: 10,
            frames: 20,
            commands: 1,
        };
        let b = EventCounts {
            polls: 40,
            frames: 60,
            commands: 2,
        };
        assert_eq!(b.since(&a).total(), 71);
        assert_eq!(a.since(&b).total(), 0);
        assert_eq!(file_safe("tokio-current"), "tokio-current");
        assert_eq!(file_safe("../x y"), "___x_y");
    }
}
