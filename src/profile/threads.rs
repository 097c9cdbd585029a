//! Per-thread CPU and wake-ups of another process, from `/proc/<pid>/task/<tid>/*`.
//!
//! Why /proc and not a profiler: it costs nothing to the profiled process, needs no
//! privilege for our own children, and answers the first question a user asks — which
//! thread burns the CPU and which one wakes up all the time. Threads are grouped by name
//! (a pool's `smol-0`, `smol-1` become `smol ×2`) because a pool is one design decision.
//!
//! CPU time comes from `schedstat` (nanoseconds on the CPU) when the kernel has it; the
//! user/sys split comes from `stat` ticks (`_SC_CLK_TCK`, 10 ms), which are too coarse to be
//! the headline at 40 Hz but still show whether a thread lives in the kernel.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

/// One reading of one thread's cumulative counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadSample {
    pub name: String,
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    /// Nanoseconds spent on a CPU (`schedstat` field 1), when available.
    pub run_ns: Option<u64>,
    /// Nanoseconds spent runnable but waiting for a CPU (`schedstat` field 2).
    pub wait_ns: Option<u64>,
    pub vcsw: u64,
    pub ivcsw: u64,
}

use crate::metrics::proc_stat::{parse_switches, StatLine};
pub use crate::metrics::profile::{ThreadGroup, ThreadProfile};

/// Parses `/proc/<pid>/task/<tid>/stat` (`metrics::proc_stat`): the name and utime/stime
/// (fields 14 and 15).
pub fn parse_stat(text: &str) -> Option<(String, u64, u64)> {
    let s = StatLine::parse(text).ok()?;
    Some((s.name.to_string(), s.num(14).ok()?, s.num(15).ok()?))
}

/// Parses `schedstat`: "run_ns wait_ns timeslices" into (run_ns, wait_ns).
pub fn parse_schedstat(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Reads one thread; `None` when it has exited meanwhile (a normal race, not an error).
pub fn read_thread(task_dir: &Path) -> Option<ThreadSample> {
    let stat = std::fs::read_to_string(task_dir.join("stat")).ok()?;
    let (name, utime_ticks, stime_ticks) = parse_stat(&stat)?;
    let status = std::fs::read_to_string(task_dir.join("status")).ok()?;
    let (vcsw, ivcsw) = parse_switches(&status)?;
    let sched = std::fs::read_to_string(task_dir.join("schedstat"))
        .ok()
        .and_then(|s| parse_schedstat(&s));
    // `comm` is the same name as in stat; prefer it when readable (it is the source of truth
    // for names set after the thread started).
    let name = std::fs::read_to_string(task_dir.join("comm"))
        .map(|c| c.trim_end_matches('\n').to_string())
        .unwrap_or(name);
    Some(ThreadSample {
        name,
        utime_ticks,
        stime_ticks,
        run_ns: sched.map(|s| s.0),
        wait_ns: sched.map(|s| s.1),
        vcsw,
        ivcsw,
    })
}

/// Reads every thread of `pid`. An error only when the process itself is gone.
pub fn read_process(pid: u32) -> std::io::Result<HashMap<u32, ThreadSample>> {
    let dir = format!("/proc/{pid}/task");
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(s) = read_thread(&entry.path()) {
            out.insert(tid, s);
        }
    }
    Ok(out)
}

/// Removes a pool index so `smol-0`/`smol-1` and `worker 3`/`worker 4` group together.
/// Only an index after a separator counts: `python3` is a name, not thread 3 of `python`.
pub fn normalise_name(name: &str) -> String {
    const SEPARATORS: [char; 6] = ['-', '_', '#', ' ', ':', '.'];
    let digits = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if digits.len() == name.len() || !digits.ends_with(SEPARATORS) {
        return name.to_string();
    }
    let trimmed = digits.trim_end_matches(SEPARATORS);
    if trimmed.is_empty() {
        name.to_string()
    } else {
        trimmed.to_string()
    }
}

/// Samples a process's threads: a baseline, then readings every `interval` until `stop`.
pub struct ThreadSampler {
    pid: u32,
    first: HashMap<u32, ThreadSample>,
    last: HashMap<u32, ThreadSample>,
    started: Instant,
    readings: u32,
}

impl ThreadSampler {
    /// Takes the baseline reading; fails when the process does not exist.
    pub fn start(pid: u32) -> std::io::Result<ThreadSampler> {
        let first = read_process(pid)?;
        Ok(ThreadSampler {
            pid,
            last: first.clone(),
            first,
            started: Instant::now(),
            readings: 1,
        })
    }

    /// Takes one more reading; returns false once the process is gone.
    pub fn sample(&mut self) -> bool {
        match read_process(self.pid) {
            Ok(now) => {
                self.readings += 1;
                self.last.extend(now);
                true
            }
            Err(_) => false,
        }
    }

    /// Samples every `interval` for `window` (or until the process ends, or the run is
    /// interrupted), then summarises.
    pub fn run(pid: u32, window: Duration, interval: Duration) -> std::io::Result<ThreadProfile> {
        let mut s = ThreadSampler::start(pid)?;
        let end = s.started + window;
        loop {
            let now = Instant::now();
            if now >= end {
                break;
            }
            if !super::sleep(interval.min(end - now)) || !s.sample() {
                break;
            }
        }
        Ok(s.finish())
    }

    /// Summarises the readings so far.
    pub fn finish(&self) -> ThreadProfile {
        let window_s = self.started.elapsed().as_secs_f64().max(1e-9);
        summarise(self.pid, &self.first, &self.last, window_s, self.readings)
    }
}

/// Turns first/last readings into per-name groups. A thread born during the window counts
/// from zero; one that exited keeps the counts of its last reading.
pub fn summarise(
    pid: u32,
    first: &HashMap<u32, ThreadSample>,
    last: &HashMap<u32, ThreadSample>,
    window_s: f64,
    readings: u32,
) -> ThreadProfile {
    let tick_s = 1.0 / clock_ticks_per_s();
    let precise_cpu = !last.is_empty() && last.values().all(|s| s.run_ns.is_some());
    let zero = ThreadSample::default();
    let mut groups: BTreeMap<String, ThreadGroup> = BTreeMap::new();
    for (tid, end) in last {
        let start = first.get(tid).unwrap_or(&zero);
        let user_ticks = end.utime_ticks.saturating_sub(start.utime_ticks) as f64;
        let sys_ticks = end.stime_ticks.saturating_sub(start.stime_ticks) as f64;
        let tick_cpu = (user_ticks + sys_ticks) * tick_s;
        let cpu_s = if precise_cpu {
            end.run_ns
                .unwrap_or(0)
                .saturating_sub(start.run_ns.unwrap_or(0)) as f64
                / 1e9
        } else {
            tick_cpu
        };
        // Split the precise figure in the ticks' proportion; all-user when no tick fell.
        let user_share = if user_ticks + sys_ticks > 0.0 {
            user_ticks / (user_ticks + sys_ticks)
        } else {
            1.0
        };
        let name = if *tid == pid {
            format!("{} (main)", end.name)
        } else {
            normalise_name(&end.name)
        };
        let g = groups.entry(name.clone()).or_insert_with(|| ThreadGroup {
            name,
            ..Default::default()
        });
        g.threads += 1;
        g.cpu_s += cpu_s;
        g.wait_s += end
            .wait_ns
            .unwrap_or(0)
            .saturating_sub(start.wait_ns.unwrap_or(0)) as f64
            / 1e9;
        g.user_s += cpu_s * user_share;
        g.sys_s += cpu_s * (1.0 - user_share);
        g.wakeups_per_s += end.vcsw.saturating_sub(start.vcsw) as f64;
        g.preemptions_per_s += end.ivcsw.saturating_sub(start.ivcsw) as f64;
    }
    let mut total = ThreadGroup {
        name: "all threads".into(),
        ..Default::default()
    };
    let mut groups: Vec<ThreadGroup> = groups.into_values().collect();
    for g in &mut groups {
        total.threads += g.threads;
        total.cpu_s += g.cpu_s;
        total.wait_s += g.wait_s;
        total.user_s += g.user_s;
        total.sys_s += g.sys_s;
        total.wakeups_per_s += g.wakeups_per_s;
        total.preemptions_per_s += g.preemptions_per_s;
        finish_rates(g, window_s);
    }
    finish_rates(&mut total, window_s);
    groups.sort_by(|a, b| {
        b.cpu_s
            .total_cmp(&a.cpu_s)
            .then(b.wakeups_per_s.total_cmp(&a.wakeups_per_s))
            .then(a.name.cmp(&b.name))
    });
    ThreadProfile {
        window_s,
        readings,
        precise_cpu,
        groups,
        total,
    }
}

/// Counts were accumulated as totals; turn them into per-second rates and a percentage.
fn finish_rates(g: &mut ThreadGroup, window_s: f64) {
    g.cpu_percent = 100.0 * g.cpu_s / window_s;
    g.wakeups_per_s /= window_s;
    g.preemptions_per_s /= window_s;
}

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_name_parses() {
        let text = "4242 (we) ird (name)) S 1 2 3 0 -1 4194560 10 0 0 0 17 5 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_stat(text), Some(("we) ird (name)".into(), 17, 5)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn schedstat_parses() {
        assert_eq!(
            parse_schedstat("60059740 41102415 183\n"),
            Some((60059740, 41102415))
        );
    }

    #[test]
    fn pool_names_group() {
        assert_eq!(normalise_name("smol-12"), "smol");
        assert_eq!(normalise_name("tokio-runtime-w"), "tokio-runtime-w");
        assert_eq!(normalise_name("worker 3"), "worker");
        assert_eq!(normalise_name("42"), "42");
        assert_eq!(normalise_name("async-io"), "async-io");
        assert_eq!(normalise_name("python3"), "python3");
        assert_eq!(normalise_name("blocking-1"), "blocking");
    }

    fn sample(name: &str, run_ms: u64, vcsw: u64) -> ThreadSample {
        ThreadSample {
            name: name.into(),
            utime_ticks: run_ms / 10,
            stime_ticks: 0,
            run_ns: Some(run_ms * 1_000_000),
            wait_ns: Some(run_ms * 1000),
            vcsw,
            ivcsw: 0,
        }
    }

    #[test]
    fn summary_groups_pools_and_counts_new_threads_from_zero() {
        let first = HashMap::from([
            (10, sample("esbench", 100, 5)),
            (11, sample("pool-0", 0, 0)),
        ]);
        let last = HashMap::from([
            (10, sample("esbench", 300, 25)),
            (11, sample("pool-0", 500, 10)),
            (12, sample("pool-1", 500, 30)),
        ]);
        let p = summarise(10, &first, &last, 2.0, 3);
        assert!(p.precise_cpu);
        assert_eq!(p.groups[0].name, "pool");
        assert_eq!(p.groups[0].threads, 2);
        assert!((p.groups[0].cpu_s - 1.0).abs() < 1e-9);
        assert!((p.groups[0].cpu_percent - 50.0).abs() < 1e-9);
        assert!((p.groups[0].wakeups_per_s - 20.0).abs() < 1e-9);
        assert_eq!(p.groups[1].name, "esbench (main)");
        assert!((p.groups[1].cpu_s - 0.2).abs() < 1e-9);
        assert!((p.total.cpu_s - 1.2).abs() < 1e-9);
        assert_eq!(p.total.threads, 3);
    }
}
