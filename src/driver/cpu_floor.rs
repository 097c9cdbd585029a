//! The CPU floor: a minimal child process that only wakes up, at the scenario's event rate,
//! measured in the same run after the models (`esbench floor-child`, hidden).
//!
//! Every model has to wake up for each frame, each HTTP request and each watchdog tick; a
//! process that does *only* that (one `epoll_wait` return and one timerfd `read` per event,
//! no parsing, no I/O) is the cheapest way to keep that rhythm on this machine. A model's CPU
//! divided by the floor's says how many times that minimum it costs. The floor child runs
//! like a model: its own process, an explicit timer slack (the kernel's default 50 µs, not
//! the driver's 1 ns) and, under `--pin`, the models' CPUs.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

use crate::clock::now_ns;
use crate::metrics::cpu_floor::CpuFloor;
use crate::scenario::Scenario;

/// The kernel's default timer slack, what the floor child gets in the tests below (a run
/// gives it the scenario's `run.model_timer_slack_ns`, like the models).
#[cfg(test)]
const FLOOR_TIMER_SLACK_NS: u64 = crate::scenario::DEFAULT_MODEL_TIMER_SLACK_NS;

/// The events per second a scenario asks every model to wake up for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloorRates {
    /// Frames from all boards.
    pub frames_per_s: f64,
    /// HTTP requests from all clients: polls and commands.
    pub requests_per_s: f64,
    /// Watchdog ticks of all boards.
    pub ticks_per_s: f64,
}

fn per_s(period_ms: f64) -> f64 {
    if period_ms > 0.0 && period_ms.is_finite() {
        1_000.0 / period_ms
    } else {
        0.0
    }
}

impl FloorRates {
    pub fn of(s: &Scenario) -> FloorRates {
        let boards = f64::from(s.boards.count);
        let clients = boards * f64::from(s.clients.per_board);
        let commands: f64 = s.clients.commands.iter().map(|c| per_s(c.every_ms)).sum();
        FloorRates {
            frames_per_s: boards * per_s(s.boards.frame_period_ms),
            requests_per_s: clients * (per_s(s.clients.poll_period_ms) + commands),
            ticks_per_s: boards * per_s(s.workload.watchdog_period_ms),
        }
    }

    pub fn total(&self) -> f64 {
        self.frames_per_s + self.requests_per_s + self.ticks_per_s
    }
}

fn cpu_clock_ns(clock: nix::time::ClockId) -> u64 {
    let ts = nix::time::clock_gettime(clock).expect("CPU-time clocks exist on Linux");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

fn context_switches() -> (u64, u64) {
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        Ok(u) => (
            u.voluntary_context_switches() as u64,
            u.involuntary_context_switches() as u64,
        ),
        Err(_) => (0, 0),
    }
}

/// The floor child's loop (runs inside `esbench floor-child`): one timerfd per event stream
/// at its rate, the three streams out of phase, all in one epoll; for `seconds` it waits,
/// reads each ready timerfd and counts. Returns what it cost, measured from its own CPU clock
/// over the loop only (start-up is not part of any model's window either).
pub fn floor_loop(rates: &FloorRates, seconds: f64, timer_slack_ns: u64) -> Result<CpuFloor> {
    nix::sys::prctl::set_timerslack(timer_slack_ns).context("cannot set the timer slack")?;
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    let start = now_ns() + 10_000_000;
    let mut timers = Vec::new();
    for (i, (rate, phase)) in [
        (rates.frames_per_s, 0.0),
        (rates.requests_per_s, 1.0 / 3.0),
        (rates.ticks_per_s, 0.5),
    ]
    .into_iter()
    .enumerate()
    {
        if rate <= 0.0 {
            continue;
        }
        let interval_ns = (1e9 / rate) as u64;
        let first = start + (phase * interval_ns as f64) as u64;
        let tfd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        tfd.set(
            Expiration::IntervalDelayed(
                TimeSpec::from_duration(Duration::from_nanos(first)),
                TimeSpec::from_duration(Duration::from_nanos(interval_ns.max(1))),
            ),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        )?;
        epoll.add(&tfd, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))?;
        timers.push(tfd);
    }
    if timers.is_empty() {
        bail!("the scenario asks for no events at all: no CPU floor to measure");
    }
    let proc_clock = nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID;
    let end = start + (seconds * 1e9) as u64;
    let mut events = [EpollEvent::empty(); 4];
    let mut wakeups = 0u64;
    let mut slices = Vec::new();
    let (mut cpu0, mut slice_cpu, mut slice_end) = (None, 0, 0);
    let (mut sw0, mut t0) = ((0, 0), 0);
    loop {
        let n = match epoll.wait(&mut events, nix::sys::epoll::EpollTimeout::NONE) {
            Ok(n) => n,
            // A signal or a tracer attaching (strace -p) interrupts the wait: not an event.
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let now = now_ns();
        if cpu0.is_none() {
            // The measured loop starts at the first wake-up.
            let c = cpu_clock_ns(proc_clock);
            (cpu0, slice_cpu, slice_end, sw0, t0) =
                (Some(c), c, now + 1_000_000_000, context_switches(), now);
            continue;
        }
        wakeups += 1;
        for ev in &events[..n] {
            let Some(tfd) = timers.get(ev.data() as usize) else {
                continue;
            };
            let mut buf = [0u8; 8];
            // SAFETY: reading 8 bytes into a local buffer from our own timerfd.
            unsafe { libc::read(tfd.as_fd().as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
        }
        if now >= slice_end {
            let c = cpu_clock_ns(proc_clock);
            slices
                .push(100.0 * (c - slice_cpu) as f64 / (now - (slice_end - 1_000_000_000)) as f64);
            (slice_cpu, slice_end) = (c, slice_end + 1_000_000_000);
        }
        if now >= end {
            break;
        }
    }
    let cpu_ns = cpu_clock_ns(proc_clock) - cpu0.unwrap_or(0);
    let wall_ns = now_ns().saturating_sub(t0).max(1);
    let sw = context_switches();
    Ok(CpuFloor {
        cpu_percent: 100.0 * cpu_ns as f64 / wall_ns as f64,
        cpu_us_per_wakeup: cpu_ns as f64 / 1e3 / wakeups.max(1) as f64,
        wakeups_per_s: wakeups as f64 * 1e9 / wall_ns as f64,
        events_per_s: rates.total(),
        frames_per_s: rates.frames_per_s,
        requests_per_s: rates.requests_per_s,
        ticks_per_s: rates.ticks_per_s,
        seconds: wall_ns as f64 / 1e9,
        slices_percent: slices,
        vcsw: sw.0.saturating_sub(sw0.0),
        ivcsw: sw.1.saturating_sub(sw0.1),
        cpus: Vec::new(),
        timer_slack_ns: nix::sys::prctl::get_timerslack().unwrap_or(0) as u64,
    })
}

/// Runs `exe floor-child` for `seconds` (on `cpus` when given) and returns its measurement.
pub fn measure_cpu_floor(
    exe: &Path,
    rates: &FloorRates,
    seconds: f64,
    cpus: Option<&[usize]>,
    timer_slack_ns: u64,
) -> Result<CpuFloor> {
    let mut c = Command::new(exe);
    c.arg("floor-child")
        .arg("--frames-per-s")
        .arg(rates.frames_per_s.to_string())
        .arg("--requests-per-s")
        .arg(rates.requests_per_s.to_string())
        .arg("--ticks-per-s")
        .arg(rates.ticks_per_s.to_string())
        .arg("--seconds")
        .arg(seconds.to_string())
        .arg("--timer-slack-ns")
        .arg(timer_slack_ns.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    {
        use std::os::unix::process::CommandExt;
        let cpus = cpus.map(<[usize]>::to_vec);
        // Runs in the child before exec: only async-signal-safe calls.
        unsafe {
            c.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(cpus) = &cpus {
                    crate::load::child::set_affinity(0, cpus).map_err(std::io::Error::other)?;
                }
                Ok(())
            });
        }
    }
    let mut child = c
        .spawn()
        .with_context(|| format!("cannot start {} floor-child", exe.display()))?;
    let deadline = now_ns() + ((seconds + 15.0) * 1e9) as u64;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if now_ns() > deadline || super::interrupt::interrupted() {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the CPU floor child did not finish in {:.0} s",
                seconds + 15.0
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out)?;
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err)?;
    }
    if !status.success() {
        bail!("the CPU floor child failed ({status}): {}", err.trim());
    }
    let mut floor: CpuFloor = serde_json::from_str(out.trim()).with_context(|| {
        format!(
            "the CPU floor child printed {:?}, not its figures",
            out.trim()
        )
    })?;
    floor.cpus = cpus.map(<[usize]>::to_vec).unwrap_or_default();
    Ok(floor)
}

/// Measures the CPU floor for scenario `s` into `floor` (`cpu_percent` and `cpu`), on the
/// models' CPUs when `cpus` is given. A floor that cannot be measured leaves both empty and
/// says why in `notes`: the models' figures stand without it.
pub fn record_in(
    floor: &mut crate::metrics::results::Floor,
    exe: &Path,
    s: &Scenario,
    seconds: f64,
    cpus: Option<&[usize]>,
    notes: &mut Vec<String>,
) {
    // The model's slack, as the scenario sets it: the floor is what a model with the same
    // settings could not go below.
    let slack = s.run.model_timer_slack_ns;
    match measure_cpu_floor(exe, &FloorRates::of(s), seconds.max(1.0), cpus, slack) {
        Ok(f) => {
            floor.cpu_percent = Some(f.cpu_percent);
            floor.cpu = Some(f);
        }
        Err(e) => notes.push(format!("no CPU floor: {e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(frames_per_s: f64, requests_per_s: f64, ticks_per_s: f64) -> FloorRates {
        FloorRates {
            frames_per_s,
            requests_per_s,
            ticks_per_s,
        }
    }

    #[test]
    fn the_classroom_asks_for_111_events_a_second() {
        let s = Scenario::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/classroom.toml"
        )))
        .unwrap();
        let r = FloorRates::of(&s);
        assert!((r.frames_per_s - 40.0).abs() < 1e-9);
        assert!((r.requests_per_s - (1000.0 / 33.0 + 1.0)).abs() < 1e-9);
        assert!((r.ticks_per_s - 40.0).abs() < 1e-9);
        assert!((r.total() - 111.3).abs() < 0.1, "{}", r.total());
    }

    #[test]
    fn the_loop_wakes_at_the_asked_rate_and_measures_its_cpu() {
        let f = floor_loop(&rates(100.0, 50.0, 0.0), 1.2, FLOOR_TIMER_SLACK_NS).unwrap();
        // 150 events/s with the two streams out of phase: about 150 wake-ups a second; a
        // loaded machine can merge or delay some, never add any.
        assert!(
            (60.0..=160.0).contains(&f.wakeups_per_s),
            "{} wake-ups/s",
            f.wakeups_per_s
        );
        assert!(f.cpu_percent > 0.0 && f.cpu_us_per_wakeup > 0.0);
        assert_eq!(f.slices_percent.len(), 1, "one whole second measured");
        assert_eq!(f.timer_slack_ns, FLOOR_TIMER_SLACK_NS);
        assert!((f.events_per_s - 150.0).abs() < 1e-9);
    }

    #[test]
    fn no_events_is_an_error_not_a_zero_floor() {
        let e = floor_loop(&rates(0.0, 0.0, 0.0), 1.0, FLOOR_TIMER_SLACK_NS).unwrap_err();
        assert!(format!("{e:#}").contains("no events"));
    }
}
