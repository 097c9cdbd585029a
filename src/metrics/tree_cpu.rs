//! CPU and wake-ups of a whole process tree: an external bridge's, which may be a `sh -c`
//! wrapper, an interpreter that forks workers, or anything else the user's command starts.
//!
//! [`CpuMonitor`](super::process::CpuMonitor) reads one process's CPU clock, which is right
//! for `esbench serve` (all its work is in its threads) and wrong for a tree (a worker
//! process's time is not the parent's until the parent reaps it). Two ways to count a tree:
//!
//! - **cgroup**: the bridge runs alone in a cgroup (v2) made for it, and the kernel's
//!   `cpu.stat` counts every process ever in it, exited or not, in µs. Exact.
//! - **descendants**: without a usable cgroup, every process descended from the bridge's
//!   first process is found in `/proc` at each sample (≥ 5 Hz) and its
//!   utime + stime + cutime + cstime (clock ticks) summed. A process that exits is counted
//!   through its parent's cutime/cstime once the parent reaps it; one whose parent is gone
//!   (reaped elsewhere) keeps what it was last seen with. Only an orphan's last sampling
//!   interval, and a process born and gone between two samples whose parent never reaps it,
//!   can be missed.
//!
//! Either way the wake-ups (context switches) are summed over every thread of every process
//! seen, a thread that exits keeping what it was last seen with.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use super::process::{clk_tck, read_task_switches, Sampler, SwitchBook, WindowCpu};
use super::results::CpuSample;
use crate::clock::now_ns;

/// Where a tree's processes are found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeScope {
    /// A cgroup v2 directory holding the tree and nothing else.
    Cgroup(PathBuf),
    /// The process `root` and everything descended from it.
    Descendants { root: i32 },
}

impl TreeScope {
    /// How the row says its CPU was counted.
    pub fn describe(&self) -> String {
        match self {
            TreeScope::Cgroup(_) => "a cgroup v2 of its own (cpu.stat)".into(),
            TreeScope::Descendants { .. } => {
                "sampling its process tree in /proc (no usable cgroup v2)".into()
            }
        }
    }
}

/// One process's fields from `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ProcTimes {
    ppid: i32,
    /// utime + cutime (its own and its reaped children's user time), ticks.
    user: u64,
    /// stime + cstime, ticks.
    sys: u64,
    threads: u64,
}

fn parse_times(text: &str) -> Option<ProcTimes> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name, f[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16,
    // cstime 17, num_threads 20.
    let n = |i: usize| f.get(i)?.parse::<i64>().ok();
    Some(ProcTimes {
        ppid: n(1)? as i32,
        user: (n(11)? + n(13)?).max(0) as u64,
        sys: (n(12)? + n(14)?).max(0) as u64,
        threads: n(17)?.max(0) as u64,
    })
}

fn read_times(pid: i32) -> Option<ProcTimes> {
    parse_times(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process in `/proc` with its parent.
fn all_parents() -> HashMap<i32, i32> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Some(t) = read_times(pid) {
            out.insert(pid, t.ppid);
        }
    }
    out
}

/// `root` and its descendants among `parents` (pid → ppid).
fn descendants(root: i32, parents: &HashMap<i32, i32>) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, &ppid) in parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if parents.contains_key(&p) {
            out.push(p);
        }
        todo.extend(children.get(&p).into_iter().flatten().copied());
    }
    out
}

/// The pids listed in a cgroup's `cgroup.procs`.
pub fn cgroup_pids(dir: &std::path::Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// `usage_usec`, `user_usec`, `system_usec` of a cgroup's `cpu.stat`.
fn cgroup_cpu_us(dir: &std::path::Path) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((
        field("usage_usec ")?,
        field("user_usec ")?,
        field("system_usec ")?,
    ))
}

/// One look at the tree: cumulative CPU (ns), its user part (ns), live threads and
/// processes, every live thread's switches.
#[derive(Clone, Debug, Default)]
struct TreeSnap {
    t_ns: u64,
    cpu_ns: u64,
    user_ns: u64,
    threads: u64,
    procs: usize,
}

/// The descendants bookkeeping between samples: what each live process was last seen with,
/// and the ticks of those gone without a parent in the tree to inherit them.
#[derive(Default)]
struct DescendantBook {
    last: HashMap<i32, ProcTimes>,
    gone_user: u64,
    gone_sys: u64,
}

impl DescendantBook {
    /// Records this moment's live processes; returns (user, sys) ticks of the whole tree.
    fn update(&mut self, now: HashMap<i32, ProcTimes>) -> (u64, u64) {
        let live: HashSet<i32> = now.keys().copied().collect();
        for (pid, t) in &self.last {
            if !live.contains(pid) && !live.contains(&t.ppid) {
                // Gone, and no parent of ours left to reap it: keep what it had.
                self.gone_user += t.user;
                self.gone_sys += t.sys;
            }
        }
        self.last = now;
        let (u, s) = self
            .last
            .values()
            .fold((0, 0), |(u, s), t| (u + t.user, s + t.sys));
        (u + self.gone_user, s + self.gone_sys)
    }
}

/// Samples a tree over the measured window, like `CpuMonitor` does one process.
pub struct TreeCpuMonitor {
    state: Arc<Mutex<TreeState>>,
    sampler: Sampler,
}

struct TreeState {
    scope: TreeScope,
    book: DescendantBook,
    switches: SwitchBook,
    start: TreeSnap,
    last: TreeSnap,
    series: Vec<CpuSample>,
    threads_max: u64,
    /// Whether the cgroup's own counter was readable at every sample.
    precise: bool,
}

impl TreeState {
    fn take(&mut self) -> Option<TreeSnap> {
        let t_ns = now_ns();
        let (pids, cpu_ns, user_ns, threads) = match &self.scope {
            TreeScope::Cgroup(dir) => {
                let (all, user, _sys) = cgroup_cpu_us(dir)?;
                let pids = cgroup_pids(dir);
                let threads = pids
                    .iter()
                    .filter_map(|&p| read_times(p))
                    .map(|t| t.threads)
                    .sum();
                (pids, all * 1000, user * 1000, threads)
            }
            TreeScope::Descendants { root } => {
                let pids = descendants(*root, &all_parents());
                let now: HashMap<i32, ProcTimes> = pids
                    .iter()
                    .filter_map(|&p| Some((p, read_times(p)?)))
                    .collect();
                let threads = now.values().map(|t| t.threads).sum();
                let (u, s) = self.book.update(now);
                let tick_ns = 1_000_000_000 / clk_tck();
                (pids, (u + s) * tick_ns, u * tick_ns, threads)
            }
        };
        let mut switches = HashMap::new();
        for &p in &pids {
            switches.extend(read_task_switches(p));
        }
        self.switches.update(switches);
        self.threads_max = self.threads_max.max(threads);
        Some(TreeSnap {
            t_ns,
            cpu_ns,
            user_ns,
            threads,
            procs: pids.len(),
        })
    }
}

impl TreeCpuMonitor {
    /// Starts the measured window now, sampling every `interval`.
    pub fn start(scope: TreeScope, interval: Duration) -> Result<TreeCpuMonitor> {
        let precise = matches!(scope, TreeScope::Cgroup(_));
        let mut st = TreeState {
            scope,
            book: DescendantBook::default(),
            switches: SwitchBook::default(),
            start: TreeSnap::default(),
            last: TreeSnap::default(),
            series: Vec::new(),
            threads_max: 0,
            precise,
        };
        let first = st
            .take()
            .context("cannot read the bridge's process tree at the start of the window")?;
        // Switches before the window are not the window's: start every thread's count here.
        st.switches = SwitchBook::start(st.switches.last_seen());
        st.threads_max = first.threads;
        st.start = first.clone();
        st.last = first;
        let state = Arc::new(Mutex::new(st));
        let sampler = {
            let state = state.clone();
            Sampler::start("tree-cpu-sampler", now_ns(), interval, move || {
                sample_once(&state);
                true
            })?
        };
        Ok(TreeCpuMonitor { state, sampler })
    }

    /// Ends the window now (before the bridge is stopped) and returns its figures. Not
    /// `CpuMonitor::finish`'s arithmetic on purpose: a tree's user/sys are the sums of its
    /// processes' own ticks, and it has no `/proc/PID/io` or instruction counts to keep.
    pub fn finish(mut self) -> WindowCpu {
        self.sampler.finish();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let end = st.take();
        let complete = end.as_ref().is_some_and(|e| e.procs > 0);
        if let Some(end) = end {
            st.last = end;
        }
        let (start, end) = (st.start.clone(), st.last.clone());
        let cpu_ns = end.cpu_ns.saturating_sub(start.cpu_ns);
        let user_ns = end.user_ns.saturating_sub(start.user_ns).min(cpu_ns);
        let (vcsw, ivcsw) = st.switches.totals();
        WindowCpu {
            wall_s: end.t_ns.saturating_sub(start.t_ns) as f64 / 1e9,
            cpu_s: cpu_ns as f64 / 1e9,
            user_s: user_ns as f64 / 1e9,
            sys_s: (cpu_ns - user_ns) as f64 / 1e9,
            vcsw,
            ivcsw,
            threads_max: st.threads_max,
            series: std::mem::take(&mut st.series),
            complete,
            precise: st.precise,
            // Not counted over a tree: a worker that exits takes its /proc/PID/io with it.
            io: None,
            instructions: Err("not counted for an external bridge's process tree".into()),
        }
    }
}

/// One sample of the tree into `state` (a tree that cannot be read this time marks the
/// window imprecise; the sampling goes on).
fn sample_once(state: &Mutex<TreeState>) {
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    let Some(snap) = st.take() else {
        st.precise = false;
        return;
    };
    let dt = snap.t_ns.saturating_sub(st.last.t_ns);
    if dt > 0 {
        let pct = snap.cpu_ns.saturating_sub(st.last.cpu_ns) as f64 / dt as f64 * 100.0;
        let t_s = snap.t_ns.saturating_sub(st.start.t_ns) as f64 / 1e9;
        st.series.push(CpuSample { t_s, percent: pct });
    }
    st.last = snap;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_include_reaped_children() {
        let line = "77 (py thon) S 5 77 77 0 -1 0 0 0 0 0 100 20 300 40 20 0 3 0 0 0 0";
        let t = parse_times(line).unwrap();
        assert_eq!(
            t,
            ProcTimes {
                ppid: 5,
                user: 400,
                sys: 60,
                threads: 3
            }
        );
        assert_eq!(parse_times("garbage"), None);
    }

    #[test]
    fn descendants_follow_parents_and_skip_strangers() {
        let parents = HashMap::from([(10, 1), (11, 10), (12, 11), (13, 1), (14, 12)]);
        let mut d = descendants(10, &parents);
        d.sort_unstable();
        assert_eq!(d, [10, 11, 12, 14]);
        assert!(descendants(99, &parents).is_empty());
    }

    #[test]
    fn a_reaped_child_is_not_counted_twice_and_an_orphan_is_kept() {
        let t = |ppid, user, sys| ProcTimes {
            ppid,
            user,
            sys,
            threads: 1,
        };
        let mut b = DescendantBook::default();
        assert_eq!(
            b.update(HashMap::from([(10, t(1, 5, 1)), (11, t(10, 50, 2))])),
            (55, 3)
        );
        // 11 exits and 10 reaps it: its time is now in 10's cutime, counted once.
        assert_eq!(b.update(HashMap::from([(10, t(1, 60, 3))])), (60, 3));
        // 12 is born under 10, then 10 dies (reaped by us, outside the tree) with 12 alive.
        assert_eq!(
            b.update(HashMap::from([(10, t(1, 61, 3)), (12, t(10, 7, 0))])),
            (68, 3)
        );
        assert_eq!(b.update(HashMap::from([(12, t(1, 9, 0))])), (61 + 9, 3));
        // Then 12 goes too, with nobody of ours left: its last figures stay.
        assert_eq!(b.update(HashMap::new()), (70, 3));
    }

    #[test]
    fn a_forked_worker_is_charged_to_the_tree() {
        // sh starts a busy worker (a subshell loop) and waits: the CPU is the worker's.
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("(i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done) & wait")
            .spawn()
            .unwrap();
        let root = child.id() as i32;
        let m = TreeCpuMonitor::start(TreeScope::Descendants { root }, Duration::from_millis(50))
            .unwrap();
        let _ = child.wait();
        let w = m.finish();
        // The worker's time reached the tree through sh's cutime before sh was reaped.
        assert!(w.cpu_s > 0.05, "{w:?}");
    }
}
