//! The model's own process settings: set explicitly before exec, read back from `/proc`.
//!
//! Timer slack, CPU affinity and niceness pass from parent to child through fork and exec.
//! The driver tunes its own pacing threads (1 ns timer slack, see `pace`) and may pin itself;
//! a child that simply inherited that would be measured in a configuration nobody deploys
//! (`nanosleep`/`epoll_wait`/futex wake-ups of threads, rayon and tokio depend on the slack).
//! So the child gets its own values here, and what it actually ran with is read back from
//! `/proc/<pid>` during the measured window and recorded in its row.

use serde::{Deserialize, Serialize};

use crate::metrics::proc_stat::StatLine;
use crate::metrics::results::ModelResult;

/// The kernel's default timer slack for a normal (SCHED_OTHER) process (defined with the
/// scenario, whose default it is).
pub(crate) use crate::scenario::DEFAULT_MODEL_TIMER_SLACK_NS;

/// What the child is started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildSettings {
    /// `PR_SET_TIMERSLACK` for the child's first thread (every thread it starts inherits it).
    pub timer_slack_ns: u64,
    /// CPUs the child may run on (`--pin`); `None` leaves the inherited set.
    pub cpus: Option<Vec<usize>>,
}

impl Default for ChildSettings {
    fn default() -> Self {
        ChildSettings {
            timer_slack_ns: DEFAULT_MODEL_TIMER_SLACK_NS,
            cpus: None,
        }
    }
}

impl ChildSettings {
    /// Arranges for `cmd`'s child to apply these settings right before exec.
    #[cfg(test)]
    pub fn install(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let me = self.clone();
        // Runs in the forked child before exec: only async-signal-safe calls (prctl and
        // sched_setaffinity are plain system calls).
        unsafe {
            cmd.pre_exec(move || me.apply_to_calling_thread());
        }
    }

    /// Applies the settings to the calling thread (in the child: its only thread).
    pub fn apply_to_calling_thread(&self) -> std::io::Result<()> {
        // A slack of 0 would mean "back to the thread's default", which is itself
        // inherited: always pass the explicit value.
        let slack = self.timer_slack_ns.max(1) as libc::c_ulong;
        if unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if let Some(cpus) = &self.cpus {
            super::child::set_affinity(0, cpus).map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

/// What a running process reports about itself in `/proc`: `None` where a file could not be
/// read (the process is gone, or the kernel hides it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildReadback {
    /// `/proc/<pid>/timerslack_ns` (the main thread's slack).
    pub timerslack_ns: Option<u64>,
    /// `Cpus_allowed_list` from `/proc/<pid>/status`, e.g. `0-1`.
    pub cpus_allowed: Option<String>,
    /// Field 19 of `/proc/<pid>/stat`.
    pub nice: Option<i64>,
}

impl ChildReadback {
    /// Writes what the model process reported into its row (local and remote alike).
    pub fn record_in(&self, row: &mut ModelResult) {
        row.timerslack_ns = self.timerslack_ns;
        row.cpus_allowed.clone_from(&self.cpus_allowed);
        row.nice = self.nice;
    }
}

/// Reads `pid`'s timer slack, allowed CPUs and nice value from `/proc`.
pub fn read_back(pid: i32) -> ChildReadback {
    let read = |file: &str| std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok();
    ChildReadback {
        timerslack_ns: read("timerslack_ns").and_then(|t| t.trim().parse().ok()),
        cpus_allowed: read("status").and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_string())
        }),
        nice: read("stat").and_then(|t| nice_from_stat(&t)),
    }
}

/// The nice value (field 19, may be negative) of a `/proc/<pid>/stat` line, read with the one
/// stat reader (`metrics::proc_stat`).
fn nice_from_stat(stat: &str) -> Option<i64> {
    StatLine::parse(stat).ok()?.field(19).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_is_field_19_even_with_a_strange_name() {
        let stat = "4242 (a b) c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 7 3 0 \
                    12345 0 0";
        assert_eq!(nice_from_stat(stat), Some(7));
        assert_eq!(nice_from_stat("garbage"), None);
    }

    #[test]
    fn our_own_settings_read_back() {
        let me = read_back(std::process::id() as i32);
        assert!(me.timerslack_ns.is_some_and(|n| n >= 1), "{me:?}");
        assert!(me.cpus_allowed.is_some(), "{me:?}");
        assert!(me.nice.is_some(), "{me:?}");
        let gone = read_back(i32::MAX);
        assert_eq!(gone, ChildReadback::default());
    }

    #[test]
    fn the_cpus_are_applied_to_the_calling_thread() {
        let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
        let first = (0..nix::sched::CpuSet::count())
            .find(|&c| allowed.is_set(c).unwrap_or(false))
            .unwrap();
        std::thread::spawn(move || {
            ChildSettings {
                timer_slack_ns: 50_000,
                cpus: Some(vec![first]),
            }
            .apply_to_calling_thread()
            .unwrap();
            let now = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
            let on: Vec<usize> = (0..nix::sched::CpuSet::count())
                .filter(|&c| now.is_set(c).unwrap_or(false))
                .collect();
            assert_eq!(on, [first]);
            assert_eq!(nix::sys::prctl::get_timerslack().unwrap(), 50_000);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_child_gets_the_slack_it_is_given_not_the_spawning_threads() {
        // The spawning thread runs with the driver's 1 ns (as the pacing threads do); the
        // child must come up with what it was given.
        std::thread::spawn(|| {
            nix::sys::prctl::set_timerslack(1).unwrap();
            for wanted in [DEFAULT_MODEL_TIMER_SLACK_NS, 123_457] {
                let mut cmd = std::process::Command::new("/bin/sleep");
                cmd.arg("5");
                ChildSettings {
                    timer_slack_ns: wanted,
                    cpus: None,
                }
                .install(&mut cmd);
                let mut child = cmd.spawn().unwrap();
                let got = read_back(child.id() as i32);
                let _ = child.kill();
                let _ = child.wait();
                assert_eq!(got.timerslack_ns, Some(wanted));
            }
        })
        .join()
        .unwrap();
    }
}
