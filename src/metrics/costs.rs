//! Costs per handled event: the model's CPU time, wake-ups, counted system calls and
//! instructions divided by the events it handled in the same window, so two builds (or two
//! models) are compared per unit of work rather than per second of a machine whose speed
//! drifts.
//!
//! A *handled event* is what the bridge did work for in the measured window: a `/poll`
//! answered (200), a frame parsed from a board, a command that reached a board — the same
//! three the profiling pass counts (`metrics::profile::EventCounts`), here read from the
//! window's own summaries (`poll_answered`, `ingest_latency`, `command_latency`), so rounds
//! have them too. Watchdog ticks are not events: they come from the model's own timer, at a
//! fixed rate whatever the load.

use super::results::ModelResult;
use super::rounds::RoundResult;

/// The summaries whose sample counts are the handled events.
pub const EVENT_SUMMARIES: [&str; 3] = ["poll_answered", "ingest_latency", "command_latency"];

/// Events `m` handled in its measured window; `None` when none (nothing to divide by).
pub fn events(m: &ModelResult) -> Option<u64> {
    let n: u64 = EVENT_SUMMARIES
        .iter()
        .filter_map(|k| m.metric(k))
        .map(|s| s.count)
        .sum();
    (n > 0).then_some(n)
}

/// Events one round handled; `None` when none.
pub fn round_events(r: &RoundResult) -> Option<u64> {
    let n: u64 = EVENT_SUMMARIES
        .iter()
        .filter_map(|k| r.figures.get(*k))
        .map(|f| f.count)
        .sum();
    (n > 0).then_some(n)
}

/// The four per-event costs of one window, each `None` where its count was not taken.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PerEvent {
    /// CPU µs (user + system, all threads).
    pub cpu_us: Option<f64>,
    /// Voluntary context switches over all threads: each is the thread going to sleep,
    /// so one per wake-up that found work.
    pub wakeups: Option<f64>,
    /// Read- plus write-family system calls (`metrics::proc_io`).
    pub syscalls: Option<f64>,
    /// User-space instructions.
    pub instructions: Option<f64>,
}

impl PerEvent {
    /// From a window's totals.
    pub fn of(
        events: Option<u64>,
        cpu_s: f64,
        vcsw: Option<u64>,
        syscalls: Option<u64>,
        instructions: Option<u64>,
    ) -> PerEvent {
        let Some(n) = events.map(|n| n as f64) else {
            return PerEvent::default();
        };
        PerEvent {
            cpu_us: Some(cpu_s * 1e6 / n),
            wakeups: vcsw.map(|v| v as f64 / n),
            syscalls: syscalls.map(|v| v as f64 / n),
            instructions: instructions.map(|v| v as f64 / n),
        }
    }

    /// A model's row over its whole window.
    pub fn of_model(m: &ModelResult) -> PerEvent {
        let syscalls = match (m.cpu.syscalls_read, m.cpu.syscalls_write) {
            (Some(r), Some(w)) => Some(r + w),
            _ => None,
        };
        // A row from before the window's CPU split was recorded has no CPU seconds: none.
        let cpu_s = m.cpu.user_s + m.cpu.sys_s;
        let mut p = PerEvent::of(
            events(m),
            cpu_s,
            Some(m.cpu.vcsw),
            syscalls,
            m.cpu.instructions,
        );
        if cpu_s <= 0.0 {
            p.cpu_us = None;
        }
        p
    }

    /// One round.
    pub fn of_round(r: &RoundResult) -> PerEvent {
        let cpu_s = r.cpu_percent / 100.0 * r.duration_s;
        let mut p = PerEvent::of(round_events(r), cpu_s, r.vcsw, r.syscalls, r.instructions);
        if r.duration_s <= 0.0 {
            p.cpu_us = None;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::rounds::RoundFigure;
    use crate::metrics::summary::{new_histogram, record_clamped, Summary};

    fn summary(n: u64) -> Summary {
        let mut h = new_histogram();
        for _ in 0..n {
            record_clamped(&mut h, 100);
        }
        Summary::from_histogram(&h)
    }

    #[test]
    fn costs_are_per_handled_event_and_absent_when_not_counted() {
        let mut m = ModelResult {
            poll_answered: summary(120),
            ingest_latency: summary(160),
            command_latency: summary(20),
            watchdog_lateness: summary(400),
            ..ModelResult::default()
        };
        m.cpu.user_s = 0.02;
        m.cpu.sys_s = 0.01;
        m.cpu.vcsw = 600;
        m.cpu.syscalls_read = Some(900);
        m.cpu.syscalls_write = Some(300);
        assert_eq!(events(&m), Some(300), "watchdog ticks are not events");
        let p = PerEvent::of_model(&m);
        assert!((p.cpu_us.unwrap() - 100.0).abs() < 1e-9);
        assert_eq!(p.wakeups, Some(2.0));
        assert_eq!(p.syscalls, Some(4.0));
        assert_eq!(p.instructions, None, "not counted is not zero");
        m.cpu.syscalls_write = None;
        assert_eq!(PerEvent::of_model(&m).syscalls, None);
        assert_eq!(
            PerEvent::of_model(&ModelResult::default()),
            PerEvent::default()
        );

        let mut r = RoundResult {
            cpu_percent: 1.0,
            duration_s: 2.0,
            vcsw: Some(50),
            instructions: Some(1_000_000),
            ..RoundResult::default()
        };
        for k in EVENT_SUMMARIES {
            r.figures.insert(
                k.into(),
                RoundFigure {
                    count: 50,
                    ..RoundFigure::default()
                },
            );
        }
        let p = PerEvent::of_round(&r);
        assert!((p.cpu_us.unwrap() - 20_000.0 / 150.0).abs() < 1e-9);
        assert_eq!(p.wakeups, Some(50.0 / 150.0));
        assert_eq!(p.syscalls, None);
        assert_eq!(p.instructions, Some(1e6 / 150.0));
    }
}
