//! CPU and memory of a child process: the headline cost of a model.
//!
//! Two sources, each used for what it is good at (see docs/measuring.md, "CPU accounting"):
//! - during the run, a sampler reads the child's process CPU clock
//!   (`clock_getcpuclockid`, nanoseconds, includes threads that already exited),
//!   `/proc/<pid>/stat` (utime/stime in clock ticks, for the user/sys split and thread count)
//!   and `/proc/<pid>/task/*/status` (context switches per thread) at ≥ 5 Hz. The *measured
//!   window* figures are differences between the samples at window start and end, so nothing
//!   the child did while starting up or warming up is counted;
//! - after the child exits, `wait4` gives the lifetime rusage in microseconds (user, sys,
//!   context switches, peak RSS), kept alongside as the lifetime totals.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::time::{clock_getcpuclockid, clock_gettime};
use nix::unistd::Pid;

use super::instructions::{self as hw, InstructionCounters};
use super::proc_io::{self, IoCalls};
use super::proc_stat::{parse_switches, read_proc_stat, read_stat, ProcStat, StatLine};
use super::results::{Cpu, CpuSample};
use crate::clock::now_ns;

/// Clock ticks per second for `/proc/<pid>/stat` times.
pub(crate) fn clk_tck() -> u64 {
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Voluntary and involuntary context switches of every live thread, by thread id.
pub(crate) fn read_task_switches(pid: i32) -> HashMap<i32, (u64, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        out.insert(tid, parse_switches(&text).unwrap_or((0, 0)));
    }
    out
}

/// Total CPU time (user + sys, all threads including exited ones) of process `pid`, in ns.
pub(crate) fn process_cpu_ns(pid: i32) -> Option<u64> {
    let clock = clock_getcpuclockid(Pid::from_raw(pid)).ok()?;
    let ts = clock_gettime(clock).ok()?;
    Some(ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
}

/// One look at the process.
#[derive(Clone, Debug)]
struct Snapshot {
    t_ns: u64,
    /// Precise CPU time when the process CPU clock could be read.
    cpu_ns: Option<u64>,
    stat: ProcStat,
}

impl Snapshot {
    fn take(pid: i32) -> Result<Snapshot> {
        let cpu_ns = process_cpu_ns(pid);
        let stat = read_proc_stat(pid)?;
        Ok(Snapshot {
            t_ns: now_ns(),
            cpu_ns,
            stat,
        })
    }

    /// CPU ns, from the precise clock when both ends have it, else from ticks.
    fn cpu_since(&self, earlier: &Snapshot) -> u64 {
        match (self.cpu_ns, earlier.cpu_ns) {
            (Some(b), Some(a)) => b.saturating_sub(a),
            _ => {
                let ticks = (self.stat.utime_ticks + self.stat.stime_ticks)
                    .saturating_sub(earlier.stat.utime_ticks + earlier.stat.stime_ticks);
                ticks * 1_000_000_000 / clk_tck()
            }
        }
    }
}

/// (voluntary, involuntary) context switches of one thread.
type Switches = (u64, u64);

/// Per-thread context switch bookkeeping across samples: a thread that exits mid-window
/// keeps what it was last seen with, so only its last sampling interval is lost.
#[derive(Default)]
pub(super) struct SwitchBook {
    /// tid -> (at window start or birth, last seen)
    threads: HashMap<i32, (Switches, Switches)>,
}

impl SwitchBook {
    pub(super) fn start(now: HashMap<i32, (u64, u64)>) -> SwitchBook {
        SwitchBook {
            threads: now.into_iter().map(|(t, c)| (t, (c, c))).collect(),
        }
    }

    pub(super) fn update(&mut self, now: HashMap<i32, (u64, u64)>) {
        for (tid, c) in now {
            self.threads
                .entry(tid)
                // Born during the window: everything it did counts.
                .and_modify(|e| e.1 = c)
                .or_insert(((0, 0), c));
        }
    }

    /// Every thread's counts as last seen.
    pub(super) fn last_seen(&self) -> HashMap<i32, (u64, u64)> {
        self.threads.iter().map(|(t, (_, c))| (*t, *c)).collect()
    }

    pub(super) fn totals(&self) -> (u64, u64) {
        self.threads.values().fold((0, 0), |acc, (a, b)| {
            (
                acc.0 + b.0.saturating_sub(a.0),
                acc.1 + b.1.saturating_sub(a.1),
            )
        })
    }
}

/// What the sampler thread has gathered so far, read by `finish` when the window ends.
struct SamplerState {
    last: Snapshot,
    series: Vec<CpuSample>,
    switches: SwitchBook,
    threads_max: u64,
    /// Instruction counters on the child's threads, or why there are none.
    instructions: Result<InstructionCounters, String>,
}

/// Samples a running child over the measured window.
pub struct CpuMonitor {
    pid: i32,
    start: Snapshot,
    /// `/proc/<pid>/io` at the window's start.
    io_start: Option<IoCalls>,
    sampled: Arc<Mutex<SamplerState>>,
    sampler: Sampler,
}

/// The sampling thread of a CPU monitor (one process here, a process tree in
/// `tree_cpu::TreeCpuMonitor`): from `t0_ns` on it wakes every `interval` (in short slices,
/// so a stop never waits a whole interval) and takes a sample, until the sample says the
/// process is gone or the monitor finishes or is dropped.
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts the thread `name`; `sample` returns false to end it early.
    pub(crate) fn start(
        name: &str,
        t0_ns: u64,
        interval: Duration,
        mut sample: impl FnMut() -> bool + Send + 'static,
    ) -> Result<Sampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let step = interval.as_nanos() as u64;
                    let mut k = 1;
                    while !stop.load(Ordering::SeqCst) {
                        let deadline = t0_ns + k * step;
                        while now_ns() < deadline && !stop.load(Ordering::SeqCst) {
                            let left = deadline.saturating_sub(now_ns()).min(20_000_000);
                            std::thread::sleep(Duration::from_nanos(left));
                        }
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        k += 1;
                        if !sample() {
                            break;
                        }
                    }
                })
                .with_context(|| format!("cannot start the {name} thread"))?
        };
        Ok(Sampler {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it, so no sample comes after this returns.
    pub(crate) fn finish(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// What the child used during the measured window.
#[derive(Clone, Debug)]
pub struct WindowCpu {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    pub vcsw: u64,
    pub ivcsw: u64,
    pub threads_max: u64,
    pub series: Vec<CpuSample>,
    /// False when the process was gone before the window ended (figures stop at its last
    /// sample).
    pub complete: bool,
    /// True when CPU time came from the precise process clock, false when from clock ticks.
    pub precise: bool,
    /// Read- and write-family system calls over the window (`proc_io`); `None` when
    /// `/proc/<pid>/io` could not be read at both ends.
    pub io: Option<IoCalls>,
    /// User-space instructions over the window and the threads counted, or why not counted.
    pub instructions: Result<(u64, usize), String>,
}

impl Default for WindowCpu {
    fn default() -> WindowCpu {
        WindowCpu {
            wall_s: 0.0,
            cpu_s: 0.0,
            user_s: 0.0,
            sys_s: 0.0,
            vcsw: 0,
            ivcsw: 0,
            threads_max: 0,
            series: Vec::new(),
            complete: false,
            precise: false,
            io: None,
            instructions: Err("not measured".into()),
        }
    }
}

impl CpuMonitor {
    /// Starts the measured window now, sampling every `interval` (use ≤ 200 ms for ≥ 5 Hz).
    pub fn start(pid: i32, interval: Duration) -> Result<CpuMonitor> {
        let start = Snapshot::take(pid)?;
        let io_start = proc_io::read(pid);
        let switches = read_task_switches(pid);
        let instructions = instructions_available()
            .and_then(|()| InstructionCounters::start(switches.keys().copied()));
        let sampled = Arc::new(Mutex::new(SamplerState {
            last: start.clone(),
            series: Vec::new(),
            switches: SwitchBook::start(switches),
            threads_max: start.stat.threads,
            instructions,
        }));
        let sampler = {
            let (sampled, t0) = (sampled.clone(), start.t_ns);
            Sampler::start("cpu-sampler", t0, interval, move || {
                sample_once(pid, t0, &sampled)
            })?
        };
        Ok(CpuMonitor {
            pid,
            start,
            io_start,
            sampled,
            sampler,
        })
    }

    /// Ends the window now (call before stopping the child) and returns its figures.
    pub fn finish(mut self) -> WindowCpu {
        self.sampler.finish();
        let mut sh = self.sampled.lock().unwrap_or_else(|e| e.into_inner());
        let mut complete = false;
        let mut io = None;
        if let Ok(end) = Snapshot::take(self.pid) {
            if read_state(self.pid) != Some('Z') {
                let switches = read_task_switches(self.pid);
                if let Ok(c) = &mut sh.instructions {
                    c.update(switches.keys().copied());
                }
                sh.switches.update(switches);
                io = proc_io::read(self.pid)
                    .zip(self.io_start)
                    .map(|(b, a)| b.since(&a));
                sh.threads_max = sh.threads_max.max(end.stat.threads);
                sh.last = end;
                complete = true;
            }
        }
        let end = sh.last.clone();
        let wall_ns = end.t_ns.saturating_sub(self.start.t_ns);
        let cpu_ns = end.cpu_since(&self.start);
        let du = end
            .stat
            .utime_ticks
            .saturating_sub(self.start.stat.utime_ticks);
        let ds = end
            .stat
            .stime_ticks
            .saturating_sub(self.start.stat.stime_ticks);
        let cpu_s = cpu_ns as f64 / 1e9;
        // The precise clock has no user/sys split: split it the way the kernel does, by the
        // tick ratio over the same window (all user when no tick was charged).
        let user_frac = if du + ds > 0 {
            du as f64 / (du + ds) as f64
        } else {
            1.0
        };
        let (vcsw, ivcsw) = sh.switches.totals();
        WindowCpu {
            wall_s: wall_ns as f64 / 1e9,
            cpu_s,
            user_s: cpu_s * user_frac,
            sys_s: cpu_s * (1.0 - user_frac),
            vcsw,
            ivcsw,
            threads_max: sh.threads_max,
            series: std::mem::take(&mut sh.series),
            complete,
            precise: end.cpu_ns.is_some() && self.start.cpu_ns.is_some(),
            io,
            instructions: match &sh.instructions {
                Ok(c) if complete => Ok(c.total()),
                Ok(_) => Err("the process ended before the window did".into()),
                Err(e) => Err(e.clone()),
            },
        }
    }
}

/// Whether instructions can be counted here, probed once per process (a VM without the
/// counter answers the same way every time).
fn instructions_available() -> Result<(), String> {
    static PROBE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    PROBE.get_or_init(hw::available).clone()
}

/// The process state letter (`R`, `S`, `Z`, ...).
fn read_state(pid: i32) -> Option<char> {
    let text = read_stat(pid).ok()?;
    StatLine::parse(&text).ok()?.state().ok()
}

/// One sample of process `pid` into `sampled`; false once the process is gone.
fn sample_once(pid: i32, t0_ns: u64, sampled: &Mutex<SamplerState>) -> bool {
    let Ok(snap) = Snapshot::take(pid) else {
        return false;
    };
    if read_state(pid) == Some('Z') {
        return false;
    }
    let switches = read_task_switches(pid);
    let mut sh = sampled.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(c) = &mut sh.instructions {
        c.update(switches.keys().copied());
    }
    let dt = snap.t_ns.saturating_sub(sh.last.t_ns);
    if dt > 0 {
        let pct = snap.cpu_since(&sh.last) as f64 / dt as f64 * 100.0;
        sh.series.push(CpuSample {
            t_s: (snap.t_ns - t0_ns) as f64 / 1e9,
            percent: pct,
        });
    }
    sh.switches.update(switches);
    sh.threads_max = sh.threads_max.max(snap.stat.threads);
    sh.last = snap;
    true
}

/// Lifetime resource use from `wait4`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rusage {
    pub user_s: f64,
    pub sys_s: f64,
    pub vcsw: u64,
    pub ivcsw: u64,
    pub max_rss_kib: u64,
}

/// How the child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub(crate) fn success(&self) -> bool {
        *self == Exit::Code(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => {
                let name = nix::sys::signal::Signal::try_from(*s)
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|_| format!("signal {s}"));
                write!(f, "killed by {name}")
            }
        }
    }
}

fn tv_s(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6
}

/// Reaps child `pid` if it has exited (`WNOHANG`); `Ok(None)` while it is still running.
pub(crate) fn try_wait4(pid: i32) -> Result<Option<(Exit, Rusage)>> {
    wait4_flags(pid, libc::WNOHANG)
}

/// `Some(exit)` once child `pid` has exited: reaped the first time it is seen, its exit and
/// lifetime rusage kept in `reaped` (the kernel gives them only once), read from there after.
/// The one "has it exited?" of every child we start (`serve`, an external bridge).
pub(crate) fn exited_once(pid: i32, reaped: &mut Option<(Exit, Rusage)>) -> Result<Option<Exit>> {
    if reaped.is_none() {
        *reaped = try_wait4(pid)?;
    }
    Ok(reaped.map(|(e, _)| e))
}

fn wait4_flags(pid: i32, flags: libc::c_int) -> Result<Option<(Exit, Rusage)>> {
    let mut status: libc::c_int = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        break r;
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).context(format!("wait4({pid})"));
    }
    if r == 0 {
        return Ok(None);
    }
    let exit = if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    Ok(Some((
        exit,
        Rusage {
            user_s: tv_s(ru.ru_utime),
            sys_s: tv_s(ru.ru_stime),
            vcsw: ru.ru_nvcsw as u64,
            ivcsw: ru.ru_nivcsw as u64,
            // Linux reports ru_maxrss in KiB.
            max_rss_kib: ru.ru_maxrss as u64,
        },
    )))
}

/// Waits up to `timeout` for child `pid` to exit; then SIGKILLs it and reaps it. Returns how
/// it ended, its rusage, and whether it had to be killed.
pub fn wait4_timeout(pid: i32, timeout: Duration) -> Result<(Exit, Rusage, bool)> {
    let deadline = now_ns() + timeout.as_nanos() as u64;
    loop {
        if let Some((e, r)) = try_wait4(pid)? {
            return Ok((e, r, false));
        }
        if now_ns() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    match wait4_flags(pid, 0)? {
        Some((e, r)) => Ok((e, r, true)),
        None => bail!("wait4({pid}) returned without a status"),
    }
}

/// The results-file CPU row: the measured window's figures, peak RSS from the lifetime
/// rusage (the kernel keeps only a lifetime peak). The rest of the lifetime rusage goes into
/// the model's counters (see [`lifetime_counters`]).
pub fn cpu_row(window: &WindowCpu, lifetime: Option<&Rusage>) -> Cpu {
    let percent = if window.wall_s > 0.0 {
        window.cpu_s / window.wall_s * 100.0
    } else {
        0.0
    };
    Cpu {
        user_s: window.user_s,
        sys_s: window.sys_s,
        percent,
        vcsw: window.vcsw,
        ivcsw: window.ivcsw,
        max_rss_kib: lifetime.map(|r| r.max_rss_kib).unwrap_or(0),
        threads: window.threads_max,
        series: window.series.clone(),
        syscalls_read: window.io.map(|c| c.syscr),
        syscalls_write: window.io.map(|c| c.syscw),
        instructions: window.instructions.as_ref().ok().map(|(n, _)| *n),
        instructions_note: match &window.instructions {
            Ok((_, threads)) => Some(format!("user-space instructions of {threads} thread(s)")),
            Err(why) => Some(format!("not available: {why}")),
        },
        ..Cpu::default()
    }
}

/// Counters recording what the CPU row does not hold: the window length and the child's
/// lifetime rusage (start-up, warm-up and shutdown included), in µs / ms / counts.
pub(crate) fn lifetime_counters(
    window: &WindowCpu,
    lifetime: Option<&Rusage>,
    lifetime_wall_s: f64,
) -> Vec<(&'static str, u64)> {
    let mut v = vec![("cpu_window_ms", (window.wall_s * 1e3).round() as u64)];
    if let Some(r) = lifetime {
        v.extend([
            ("lifetime_user_us", (r.user_s * 1e6).round() as u64),
            ("lifetime_sys_us", (r.sys_s * 1e6).round() as u64),
            ("lifetime_vcsw", r.vcsw),
            ("lifetime_ivcsw", r.ivcsw),
            ("lifetime_wall_ms", (lifetime_wall_s * 1e3).round() as u64),
        ]);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_readable() {
        let me = std::process::id() as i32;
        assert!(read_proc_stat(me).unwrap().threads >= 1);
        assert!(process_cpu_ns(me).unwrap() > 0);
        assert!(!read_task_switches(me).is_empty());
    }

    #[test]
    fn switch_book_keeps_exited_threads_and_counts_newborns() {
        let mut b = SwitchBook::start(HashMap::from([(1, (10, 1)), (2, (5, 0))]));
        b.update(HashMap::from([(1, (15, 2)), (2, (7, 0)), (3, (4, 4))]));
        // Thread 2 exits; its counts so far stay.
        b.update(HashMap::from([(1, (20, 2)), (3, (6, 4))]));
        assert_eq!(b.totals(), (10 + 2 + 6, 1 + 4));
    }

    #[test]
    fn exit_descriptions() {
        assert_eq!(Exit::Code(3).to_string(), "exit code 3");
        assert_eq!(Exit::Signal(9).to_string(), "killed by SIGKILL");
        assert!(Exit::Code(0).success());
    }
}
