//! What the integration tests share: starting the `esbench` binary one way, and one rule for
//! a test whose outside tool (chromium, strace, perf, the kernel's schedstat, valgrind) is
//! missing.
//!
//! A module of the test binary takes it with `use crate::common;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// The binary under test, as cargo built it for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_esbench");

/// `esbench`, ready for arguments. Stdin is closed, so no subcommand ever waits on the
/// terminal the tests were started from.
pub fn esbench() -> Command {
    let mut c = Command::new(BIN);
    c.stdin(Stdio::null());
    c
}

/// Runs `esbench ARGS` to the end and captures what it printed.
pub fn run(args: &[&str]) -> Output {
    esbench()
        .args(args)
        .output()
        .expect("cannot run the esbench binary")
}

/// Bytes a child printed, as text (lossy: a test should see whatever came out).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Starts `esbench device ARGS` and returns it with the pty path from its first line
/// (`device: /dev/pts/N`).
pub fn start_device(args: &[&str]) -> (Child, PathBuf) {
    let mut child = esbench()
        .arg("device")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start esbench device");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let path = first
        .strip_prefix("device: ")
        .unwrap_or_else(|| panic!("esbench device's first line: {first:?}"))
        .trim()
        .to_string();
    (child, PathBuf::from(path))
}

/// The outside tools a test may need and a machine may lack.
pub const TOOLS: [&str; 5] = ["chromium", "strace", "perf", "schedstat", "valgrind"];

/// Whether a missing `tool` must fail the test instead of skipping it, from the environment:
/// `ESBENCH_REQUIRE` names tools (`chromium,strace`, or `all`), and `ESBENCH_REQUIRE_TOOLS`
/// set to anything but empty or `0` (the older switch, which `.ci/run` sets) requires all of
/// them. A name in `ESBENCH_REQUIRE` that is not a tool panics, so a typo cannot quietly
/// require nothing.
pub fn required(tool: &str) -> bool {
    let require = std::env::var("ESBENCH_REQUIRE").ok();
    let require_tools = std::env::var("ESBENCH_REQUIRE_TOOLS").ok();
    required_by(tool, require.as_deref(), require_tools.as_deref())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`required`] on given values of `ESBENCH_REQUIRE` and `ESBENCH_REQUIRE_TOOLS`.
pub fn required_by(
    tool: &str,
    require: Option<&str>,
    require_tools: Option<&str>,
) -> Result<bool, String> {
    assert!(TOOLS.contains(&tool), "{tool:?} is not one of {TOOLS:?}");
    let mut named = false;
    for name in require.unwrap_or("").split(',').map(str::trim) {
        match name {
            "" => {}
            "all" => named = true,
            n if TOOLS.contains(&n) => named |= n == tool,
            n => {
                return Err(format!(
                    "ESBENCH_REQUIRE={:?}: {n:?} is not a tool the tests know (one of {}, or all)",
                    require.unwrap_or(""),
                    TOOLS.join(", ")
                ))
            }
        }
    }
    let all = require_tools.is_some_and(|v| !v.is_empty() && v != "0");
    Ok(named || all)
}

/// For a test that cannot run because `tool` is missing (`why` says how): panics when the
/// tool is required, otherwise prints `SKIPPED test: why` so the skip shows in the output.
/// The caller returns after it.
pub fn skip_or_fail(test: &str, tool: &str, why: &str) {
    if required(tool) {
        panic!(
            "{test}: {why} ({tool} is required here by ESBENCH_REQUIRE or ESBENCH_REQUIRE_TOOLS)"
        );
    }
    println!("SKIPPED {test}: {why}");
}

/// The kernel's per-task scheduler statistics (`/proc/PID/task/TID/schedstat`), or why not.
pub fn schedstat() -> Result<(), String> {
    if std::path::Path::new("/proc/self/schedstat").exists() {
        Ok(())
    } else {
        Err("no schedstat on this kernel (CONFIG_SCHEDSTATS/CONFIG_SCHED_INFO)".into())
    }
}

/// A latency summary of 200 equal values of `us` µs: a round with no spread.
pub fn constant(us: u64) -> esbench::metrics::summary::Summary {
    use esbench::metrics::summary::{new_histogram, record_clamped, Summary};
    let mut h = new_histogram();
    for _ in 0..200 {
        record_clamped(&mut h, us);
    }
    Summary::from_histogram(&h)
}

/// Where a test writes report `name`: under `tmp`, or under `ESBENCH_KEEP_REPORT` to keep it
/// for a look.
pub fn out_dir(tmp: &std::path::Path, name: &str) -> PathBuf {
    match std::env::var_os("ESBENCH_KEEP_REPORT") {
        Some(d) => PathBuf::from(d).join(name),
        None => tmp.join(name),
    }
}
