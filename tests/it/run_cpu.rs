//! CPU accounting of a child process: a child that burns a known amount of CPU (measured by
//! its own process CPU clock) must be reported within 10 %.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use esbench::metrics::process::{cpu_row, wait4_timeout, CpuMonitor, Exit};

const BURN_MS: u64 = 400;

fn own_cpu_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).unwrap();
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// Not a test: the child process the real test starts (this same binary, `--ignored`).
#[test]
#[ignore]
fn burner_child() {
    if std::env::var_os("ESBENCH_BURNER").is_none() {
        return;
    }
    let stdin = std::io::stdin();
    let mut line = String::new();
    println!("ready");
    std::io::stdout().flush().unwrap();
    stdin.lock().read_line(&mut line).unwrap();
    let start = own_cpu_ns();
    let mut x = 0u64;
    while own_cpu_ns() - start < BURN_MS * 1_000_000 {
        for i in 0..10_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
    }
    println!("done {} {x}", own_cpu_ns() - start);
    std::io::stdout().flush().unwrap();
    // Idle until the parent closes stdin.
    line.clear();
    let _ = stdin.lock().read_line(&mut line);
}

#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4_timeout, which clippy cannot see
fn a_known_burn_is_reported_within_ten_percent() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "run_cpu::burner_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ESBENCH_BURNER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    // Skip test-harness chatter until the child is ready: its start-up is not in the window.
    while !line.contains("ready") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "burner died");
    }
    let mon = CpuMonitor::start(pid, Duration::from_millis(100)).unwrap();
    writeln!(stdin, "go").unwrap();
    line.clear();
    while !line.contains("done ") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "burner died");
    }
    let after = &line[line.find("done ").unwrap() + 5..];
    let burned_ns: u64 = after.split_whitespace().next().unwrap().parse().unwrap();
    // Let at least one more sample land, then close the window.
    std::thread::sleep(Duration::from_millis(250));
    let w = mon.finish();
    drop(stdin);
    let (exit, ru, killed) = wait4_timeout(pid, Duration::from_secs(10)).unwrap();
    assert_eq!(exit, Exit::Code(0));
    assert!(!killed);

    let burned = burned_ns as f64 / 1e9;
    assert!(w.complete);
    assert!(
        (w.cpu_s - burned).abs() <= 0.10 * burned,
        "window CPU {:.3} s vs burned {:.3} s",
        w.cpu_s,
        burned
    );
    assert!((w.user_s + w.sys_s - w.cpu_s).abs() < 1e-9);
    // The lifetime rusage includes the burn (and start-up on top of it).
    assert!(ru.user_s + ru.sys_s >= burned * 0.9, "{ru:?}");
    assert!(ru.max_rss_kib > 0);
    // The series sampled at 10 Hz adds up to the same CPU time (however busy the machine
    // is, which decides how fast the burn went).
    assert!(w.series.len() >= 4, "{} samples", w.series.len());
    let mut prev_t = 0.0;
    let integral: f64 = w
        .series
        .iter()
        .map(|s| {
            let dt = s.t_s - prev_t;
            prev_t = s.t_s;
            s.percent / 100.0 * dt
        })
        .sum();
    assert!(
        (integral - burned).abs() <= 0.10 * burned,
        "series integral {integral:.3} s vs burned {burned:.3} s: {:?}",
        w.series
    );
    let row = cpu_row(&w, Some(&ru));
    assert!(row.percent > 0.0 && row.threads >= 1 && row.max_rss_kib == ru.max_rss_kib);
}

#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4_timeout, which clippy cannot see
fn a_stuck_child_is_killed_after_the_timeout() {
    let child = Command::new("sleep").arg("30").spawn().unwrap();
    let (exit, _ru, killed) = wait4_timeout(child.id() as i32, Duration::from_millis(100)).unwrap();
    assert!(killed);
    assert_eq!(exit, Exit::Signal(libc::SIGKILL));
}
