//! The profile object of a model's row in results.json (`"schema": "esbench.profile/1"`): what
//! `esbench profile` and `esbench run --profile` write and the report renders.
//!
//! The types live with the results schema, not with the profiling pass (`profile/`, which
//! runs /proc sampling, strace and perf), so that a reader of results files depends only on
//! what it reads.

use serde::{Deserialize, Serialize};

pub use super::status::PassStatus;

/// Schema of [`ProfileReport`]; bump the number on an incompatible change.
pub const PROFILE_SCHEMA: &str = "esbench.profile/1";

/// Events the bridge handled, so costs can be put per event. Cumulative counters when read
/// through the `events` callback of `profile::profile_with`; deltas inside a report.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventCounts {
    /// `/poll` (and other HTTP) requests answered.
    pub polls: u64,
    /// Serial frames decoded.
    pub frames: u64,
    /// Commands sent to the board.
    pub commands: u64,
}

impl EventCounts {
    pub fn total(&self) -> u64 {
        self.polls + self.frames + self.commands
    }

    /// `self - earlier`, for cumulative counters read at the start and end of a window.
    pub(crate) fn since(&self, earlier: &EventCounts) -> EventCounts {
        EventCounts {
            polls: self.polls.saturating_sub(earlier.polls),
            frames: self.frames.saturating_sub(earlier.frames),
            commands: self.commands.saturating_sub(earlier.commands),
        }
    }
}

/// The profiling pass over one process (one model). Stored as the `profile` value of a
/// model's row in results.json (`serde_json::to_value`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ProfileReport {
    /// [`PROFILE_SCHEMA`].
    pub schema: String,
    /// What was profiled (the model name); also the stem of the files written.
    pub label: String,
    pub pid: u32,
    /// Directory the flamegraph files were written to, as given by the caller.
    #[serde(default)]
    pub out_dir: String,
    /// Length of each window: /proc + perf share the first, strace has the second.
    pub window_s: f64,
    /// Per-thread CPU and wake-ups (first window). `None` if the process was gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<ThreadProfile>,
    /// Events handled during the first window, when the caller could count them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventCounts>,
    /// Voluntary context switches of all threads per handled event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wakeups_per_event: Option<f64>,
    /// CPU microseconds of all threads per handled event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_event: Option<f64>,
    pub syscalls: SyscallProfile,
    pub flamegraph: FlameProfile,
    /// Anything a reader must know (a tool missing, the process ending early).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl ProfileReport {
    /// Reads a `profile` value back from results.json; `None` for another schema.
    pub(crate) fn from_value(v: &serde_json::Value) -> Option<ProfileReport> {
        let schema = v.get("schema")?.as_str()?;
        let major = PROFILE_SCHEMA.rsplit('/').next()?;
        let ok = schema
            .strip_prefix("esbench.profile/")
            .is_some_and(|ver| ver.split('.').next() == Some(major));
        if !ok {
            return None;
        }
        serde_json::from_value(v.clone()).ok()
    }

    /// The value to store in `ModelResult::profile`.
    #[cfg(test)]
    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

// Per-thread CPU and wake-ups, from /proc (`profile::threads`).

/// CPU and wake-ups of all threads sharing one (normalised) name, over the window.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ThreadGroup {
    /// Normalised thread name (trailing pool index removed); the main thread is `NAME (main)`.
    pub name: String,
    /// Distinct threads seen with this name during the window.
    pub threads: u32,
    /// CPU seconds (user + sys) in the window.
    pub cpu_s: f64,
    /// Share of `cpu_s` in user mode / kernel mode, from 10 ms ticks (coarse).
    pub user_s: f64,
    pub sys_s: f64,
    /// `cpu_s` / window, in % of one core.
    pub cpu_percent: f64,
    /// Seconds runnable but waiting for a CPU (`schedstat`): CPU the threads wanted and did
    /// not get because the machine was busy. A spinning thread has `cpu_s + wait_s` ≈ window.
    #[serde(default)]
    pub wait_s: f64,
    /// Voluntary context switches per second: the thread blocked and was woken again.
    pub wakeups_per_s: f64,
    /// Involuntary context switches per second: the thread was preempted while runnable.
    pub preemptions_per_s: f64,
}

/// Result of sampling one process's threads over a window.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ThreadProfile {
    pub window_s: f64,
    /// How many times /proc was read (more readings catch short-lived threads).
    pub readings: u32,
    /// True when CPU time is from `schedstat` (ns); false when only from 10 ms ticks.
    pub precise_cpu: bool,
    /// Busiest first.
    pub groups: Vec<ThreadGroup>,
    /// All threads together.
    pub total: ThreadGroup,
}

// The syscall table, from `strace -c -f` (`profile::syscalls`).

/// One row of strace's `-c` table.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SyscallRow {
    pub syscall: String,
    pub calls: u64,
    pub errors: u64,
    /// Time strace accounts to this syscall (kernel time, inflated by tracing).
    pub seconds: f64,
    /// Calls of this syscall per handled event (poll + frame + command), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_event: Option<f64>,
}

/// The whole syscall pass: `status` is ok, unavailable (no strace), failed (e.g. ptrace not
/// permitted) or skipped; `note` explains anything but ok.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SyscallProfile {
    pub status: PassStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub window_s: f64,
    /// Most-called first.
    pub rows: Vec<SyscallRow>,
    pub total_calls: u64,
    pub total_errors: u64,
    pub total_seconds: f64,
    pub calls_per_s: f64,
    /// Events the bridge handled during this pass, when the caller could count them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventCounts>,
    /// `total_calls / events.total()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_per_event: Option<f64>,
}

/// `not_done` for a pass type with a `status` and a `note`: the two passes (syscalls and CPU
/// samples) report "did not run, and why" the same way.
macro_rules! impl_not_done {
    ($($pass:ident),+) => {$(
        impl $pass {
            /// A pass that produced nothing, with its status and the reason.
            pub fn not_done(status: PassStatus, note: impl Into<String>) -> $pass {
                $pass {
                    status,
                    note: Some(note.into()),
                    ..Default::default()
                }
            }
        }
    )+};
}
impl_not_done!(SyscallProfile, FlameProfile);

impl SyscallProfile {
    /// Fills in the per-event figures from the events handled during this pass.
    pub fn set_events(&mut self, events: EventCounts) {
        let n = events.total();
        self.events = Some(events);
        if n == 0 {
            self.calls_per_event = None;
            for r in &mut self.rows {
                r.per_event = None;
            }
            return;
        }
        self.calls_per_event = Some(self.total_calls as f64 / n as f64);
        for r in &mut self.rows {
            r.per_event = Some(r.calls as f64 / n as f64);
        }
    }
}

// The CPU samples, from `perf record` (`profile::flamegraph`).

/// A function and the share of samples it holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FnShare {
    pub function: String,
    pub samples: u64,
    /// % of all samples in the profile.
    pub percent: f64,
}

/// The sampling pass: `status` is ok, unavailable (no working perf), failed or skipped.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FlameProfile {
    pub status: PassStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub window_s: f64,
    /// Sampling frequency (Hz of CPU time: an idle thread yields no samples).
    pub frequency_hz: u32,
    /// How stacks were unwound (`dwarf` or `fp`).
    pub call_graph: String,
    pub samples: u64,
    /// File name of the flamegraph SVG, relative to the profile's output directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svg: Option<String>,
    /// File name of the folded stacks (one `frame;frame;... count` per line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folded: Option<String>,
    /// Samples per thread name (the flamegraph's root frames).
    #[serde(default)]
    pub by_thread: Vec<FnShare>,
    /// Functions where the samples were taken (leaf frames), most first.
    pub top_self: Vec<FnShare>,
    /// Per sample, the innermost function outside core/std/alloc, libc and the kernel:
    /// "whose code was running", which a debug build's tiny core helpers would otherwise hide.
    #[serde(default)]
    pub top_code: Vec<FnShare>,
    /// Leaf samples by crate (`kernel`, `native` for C/libc, `std`, `tokio`, `esbench`, ...).
    #[serde(default)]
    pub by_crate: Vec<FnShare>,
    /// Functions on the stack when the samples were taken (inclusive), most first.
    pub top_total: Vec<FnShare>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_through_a_json_value() {
        let r = ProfileReport {
            schema: PROFILE_SCHEMA.into(),
            label: "smol".into(),
            ..Default::default()
        };
        assert_eq!(ProfileReport::from_value(&r.to_value()), Some(r));
        let other = serde_json::json!({"schema": "esbench.profile/9"});
        assert_eq!(ProfileReport::from_value(&other), None);
    }
}
