//! Syscall profile of a running process: `strace -c -f -p PID` over a window, its summary
//! table parsed into rows.
//!
//! Why strace: it is the tool every Linux user already trusts for "what is this process
//! asking the kernel for", and its `-c` table is exactly the figure we want (calls, errors,
//! time per syscall). It perturbs the target heavily (every syscall stops in the tracer),
//! so its pass never overlaps the per-thread CPU sampling. When strace is missing or ptrace
//! is refused, the profile says so in `note` and the rest of the profile still stands.

use crate::metrics::profile::PassStatus;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::metrics::profile::{SyscallProfile, SyscallRow};

/// Parses strace's `-c` summary. Lines that are not table rows (attach messages, the
/// 32-bit-mode banner) are skipped; the `total` row is returned separately. Errors when no
/// table is present at all, so "strace printed something else" is never read as "no calls".
pub fn parse_summary(text: &str) -> Result<(Vec<SyscallRow>, Option<SyscallRow>), String> {
    let mut rows = Vec::new();
    let mut total = None;
    let mut saw_header = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("% time") {
            saw_header = true;
            continue;
        }
        if !saw_header || t.is_empty() || t.starts_with("---") {
            continue;
        }
        let cols: Vec<&str> = t.split_whitespace().collect();
        // % time, seconds, usecs/call, calls, [errors], syscall
        let (errors, name) = match cols.len() {
            5 => (0, cols[4]),
            6 => match cols[4].parse::<u64>() {
                Ok(e) => (e, cols[5]),
                Err(_) => continue,
            },
            _ => continue,
        };
        let (Ok(seconds), Ok(calls)) = (cols[1].parse::<f64>(), cols[3].parse::<u64>()) else {
            continue;
        };
        let row = SyscallRow {
            syscall: name.to_string(),
            calls,
            errors,
            seconds,
            per_event: None,
        };
        if name == "total" {
            total = Some(row);
        } else {
            rows.push(row);
        }
    }
    if !saw_header {
        return Err("no strace -c summary table in the output".into());
    }
    Ok((rows, total))
}

/// Builds the profile from strace's summary text.
pub fn profile_from_summary(text: &str, window_s: f64) -> Result<SyscallProfile, String> {
    let (mut rows, total) = parse_summary(text)?;
    rows.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.syscall.cmp(&b.syscall)));
    let total_calls = rows.iter().map(|r| r.calls).sum();
    let total_errors = rows.iter().map(|r| r.errors).sum();
    let total_seconds = total
        .map(|t| t.seconds)
        .unwrap_or_else(|| rows.iter().map(|r| r.seconds).sum());
    Ok(SyscallProfile {
        status: PassStatus::Ok,
        note: None,
        window_s,
        rows,
        total_calls,
        total_errors,
        total_seconds,
        calls_per_s: total_calls as f64 / window_s.max(1e-9),
        events: None,
        calls_per_event: None,
    })
}

/// True when an `strace` binary runs here.
pub fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Attaches `strace -c -f` to every thread of `pid` for `window`, then detaches (SIGINT)
/// and parses the table. Never panics or errors: failures become a `status` and a `note`.
/// `between` runs right after strace has attached and again right before it detaches
/// (the caller reads its event counters there).
pub fn trace_pid(
    pid: u32,
    window: Duration,
    scratch_dir: &Path,
    mut between: impl FnMut(),
) -> SyscallProfile {
    if !strace_available() {
        return SyscallProfile::not_done(
            PassStatus::Unavailable,
            "strace is not installed: no syscall profile (install the `strace` package)",
        );
    }
    let out = scratch_dir.join(format!("strace-{pid}.txt"));
    let mut child = match Command::new("strace")
        .args(["-c", "-f", "-qq", "-o"])
        .arg(&out)
        .arg("-p")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return SyscallProfile::not_done(
                PassStatus::Failed,
                format!("cannot start strace: {e}"),
            )
        }
    };
    // strace attaches to every thread before it starts counting; give it a moment and
    // notice an early exit (ptrace refused, process gone).
    let attach_deadline = Instant::now() + Duration::from_millis(300);
    while Instant::now() < attach_deadline {
        if let Ok(Some(_)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = std::fs::remove_file(&out);
            return SyscallProfile::not_done(
                PassStatus::Failed,
                format!(
                    "strace could not attach (is ptrace permitted?): {}",
                    err.trim()
                ),
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    between();
    // Ctrl-C, SIGTERM or SIGHUP end the window early; the rates use the time it lasted.
    super::sleep(window);
    between();
    let window_s = started.elapsed().as_secs_f64();
    // SIGINT makes strace detach cleanly and print its table.
    super::interrupt_and_wait(&mut child, Duration::from_secs(10));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    if text.trim().is_empty() && err.trim().is_empty() {
        // strace writes no table when the process made no system call at all.
        return SyscallProfile {
            status: PassStatus::Ok,
            note: Some("strace saw no system calls in the window".into()),
            window_s,
            ..Default::default()
        };
    }
    match profile_from_summary(&text, window_s) {
        Ok(p) => p,
        Err(e) => SyscallProfile::not_done(
            PassStatus::Failed,
            format!("{e}; strace said: {}", err.trim()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::profile::EventCounts;

    /// Captured from `strace -c -f -qq -o FILE -p PID` (strace 6.1) on a two-thread process.
    const CAPTURED: &str = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 92.60    0.009898          44       220           clock_nanosleep
  5.73    0.000612           8        73        73 openat
  1.67    0.000179           9        19         5 futex
------ ----------- ----------- --------- --------- ----------------
100.00    0.010689          34       312        78 total
";

    #[test]
    fn captured_table_parses() {
        let mut p = profile_from_summary(CAPTURED, 1.5).unwrap();
        assert_eq!(p.status, PassStatus::Ok);
        assert_eq!(p.rows.len(), 3);
        assert_eq!(p.rows[0].syscall, "clock_nanosleep");
        assert_eq!(p.rows[0].calls, 220);
        assert_eq!(p.rows[0].errors, 0);
        assert_eq!(p.rows[1].syscall, "openat");
        assert_eq!(p.rows[1].errors, 73);
        assert_eq!(p.total_calls, 312);
        assert_eq!(p.total_errors, 78);
        assert!((p.total_seconds - 0.010689).abs() < 1e-12);
        assert!((p.calls_per_s - 208.0).abs() < 1e-9);
        p.set_events(EventCounts {
            polls: 52,
            frames: 52,
            commands: 0,
        });
        assert!((p.calls_per_event.unwrap() - 3.0).abs() < 1e-9);
        assert!((p.rows[2].per_event.unwrap() - 19.0 / 104.0).abs() < 1e-9);
    }

    #[test]
    fn noise_around_the_table_is_skipped_and_garbage_is_an_error() {
        let noisy = format!(
            "strace: Process 1 attached with 2 threads\nSystem call usage summary for 64 bit mode:\n{CAPTURED}\nstrace: Process 1 detached\n"
        );
        assert_eq!(profile_from_summary(&noisy, 1.0).unwrap().total_calls, 312);
        assert!(
            parse_summary("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted")
                .is_err()
        );
    }
}
