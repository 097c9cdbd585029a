//! The terminal summary `esbench profile` prints: per-thread CPU and wake-ups, the busiest
//! syscalls, where the CPU samples fell, and the profile's notes. The HTML view of the same
//! object is `profile_section`.

use crate::metrics::profile::PassStatus;
use std::fmt::Write as _;

use crate::metrics::profile::ProfileReport;

/// A terminal summary: threads, syscalls, functions, notes.
pub fn render(r: &ProfileReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "== {} (pid {}), windows of {:.1} s",
        r.label, r.pid, r.window_s
    );
    if let Some(t) = &r.threads {
        let _ = writeln!(
            s,
            "{:<28} {:>8} {:>10} {:>12} {:>12}",
            "thread", "CPU %", "user/sys", "wake-ups/s", "preempt/s"
        );
        for g in t.groups.iter().chain(std::iter::once(&t.total)) {
            let name = if g.threads > 1 {
                format!("{} ×{}", g.name, g.threads)
            } else {
                g.name.clone()
            };
            let _ = writeln!(
                s,
                "{:<28} {:>8.2} {:>4.2}/{:<5.2} {:>12.1} {:>12.1}",
                name, g.cpu_percent, g.user_s, g.sys_s, g.wakeups_per_s, g.preemptions_per_s
            );
        }
        if let (Some(w), Some(c)) = (r.wakeups_per_event, r.cpu_us_per_event) {
            let _ = writeln!(s, "per handled event: {w:.2} wake-ups, {c:.1} µs CPU");
        }
    }
    if r.syscalls.status == PassStatus::Ok {
        let _ = writeln!(
            s,
            "syscalls: {:.1}/s{}",
            r.syscalls.calls_per_s,
            r.syscalls
                .calls_per_event
                .map(|e| format!(", {e:.2} per event"))
                .unwrap_or_default()
        );
        for row in r.syscalls.rows.iter().take(8) {
            let _ = writeln!(
                s,
                "  {:<20} {:>8} calls {:>6} errors {:>10.6} s",
                row.syscall, row.calls, row.errors, row.seconds
            );
        }
    }
    if r.flamegraph.status == PassStatus::Ok {
        let crates: Vec<String> = r
            .flamegraph
            .by_crate
            .iter()
            .take(6)
            .map(|c| format!("{} {:.0}%", c.function, c.percent))
            .collect();
        let _ = writeln!(
            s,
            "CPU samples: {} — by crate: {}",
            r.flamegraph.samples,
            crates.join(", ")
        );
        let _ = writeln!(s, "  innermost function outside core/std/libc/kernel:");
        for f in r.flamegraph.top_code.iter().take(8) {
            let _ = writeln!(s, "  {:>5.1}%  {}", f.percent, f.function);
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::profile::{
        FlameProfile, FnShare, SyscallProfile, SyscallRow, ThreadGroup, ThreadProfile,
    };

    fn group(name: &str, threads: u32, cpu_percent: f64) -> ThreadGroup {
        ThreadGroup {
            name: name.into(),
            threads,
            cpu_percent,
            wakeups_per_s: 40.0,
            ..ThreadGroup::default()
        }
    }

    #[test]
    fn shows_threads_syscalls_samples_and_notes_and_only_passes_that_ran() {
        let share = |f: &str, p: f64| FnShare {
            function: f.into(),
            samples: 1,
            percent: p,
        };
        let mut r = ProfileReport {
            label: "smol".into(),
            pid: 42,
            window_s: 10.0,
            threads: Some(ThreadProfile {
                groups: vec![group("smol", 2, 1.25)],
                total: group("all threads", 3, 1.5),
                ..ThreadProfile::default()
            }),
            wakeups_per_event: Some(1.5),
            cpu_us_per_event: Some(12.0),
            syscalls: SyscallProfile {
                status: PassStatus::Ok,
                calls_per_s: 80.0,
                rows: vec![SyscallRow {
                    syscall: "epoll_wait".into(),
                    calls: 400,
                    ..SyscallRow::default()
                }],
                ..SyscallProfile::default()
            },
            flamegraph: FlameProfile {
                status: PassStatus::Ok,
                samples: 99,
                by_crate: vec![share("kernel", 60.0)],
                top_code: vec![share("esbench::bridge::x", 12.5)],
                ..FlameProfile::default()
            },
            notes: vec!["strace was slow".into()],
            ..ProfileReport::default()
        };
        let text = render(&r);
        assert!(
            text.starts_with("== smol (pid 42), windows of 10.0 s\n"),
            "{text}"
        );
        assert!(text.contains("smol ×2"), "a pool is one line: {text}");
        assert!(
            text.contains("per handled event: 1.50 wake-ups, 12.0 µs CPU"),
            "{text}"
        );
        assert!(text.contains("syscalls: 80.0/s"), "{text}");
        assert!(text.contains("epoll_wait"), "{text}");
        assert!(
            text.contains("CPU samples: 99 — by crate: kernel 60%"),
            "{text}"
        );
        assert!(text.contains(" 12.5%  esbench::bridge::x"), "{text}");
        assert!(text.ends_with("note: strace was slow\n"), "{text}");

        // Passes that did not run print nothing but their notes.
        r.threads = None;
        r.syscalls = SyscallProfile::not_done(PassStatus::Unavailable, "no strace");
        r.flamegraph = FlameProfile::not_done(PassStatus::Skipped, "not requested");
        let text = render(&r);
        assert!(
            !text.contains("syscalls:") && !text.contains("CPU samples"),
            "{text}"
        );
        assert!(!text.contains("thread "), "{text}");
    }
}
