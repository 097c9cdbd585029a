//! The `valgrind` object of a model's row in results.json: the valgrind instruction pass
//! (`esbench run --valgrind`, run by `crate::valgrind`), and the per-event arithmetic on it.
//!
//! Why a pass of its own: on a machine without hardware performance counters (most VMs)
//! `cpu.instructions_per_event` cannot be counted in the timed rounds. Valgrind counts the
//! instructions the child executes by emulating it, which slows it down many times, so it
//! runs on a fresh `serve` child after the timed rounds and its figures never enter theirs.
//! What it counts does not move with the machine's speed or load: the same code handling the
//! same events executes the same instructions, which makes it the steadiest cost figure a VM
//! can give.
//!
//! The types live with the results schema (like `metrics::profile`), so a reader of results
//! files depends only on what it reads.

use serde::{Deserialize, Serialize};

use super::profile::EventCounts;
use super::rounds::Interval;

/// What an external bridge's row says instead of a figure.
pub const BRIDGE_NOT_MEASURED: &str = "not measured: external bridges are not run under \
    valgrind (it would work on a Python interpreter, but it counts the interpreter's own \
    instructions and slows it down tens of times, which this load may not leave room for)";

/// The pass over one row: one entry per pass, in pass order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValgrindReport {
    /// The valgrind tool and how it counted (`callgrind`, instrumentation switched on at the
    /// window's start and dumped at its end).
    pub tool: String,
    /// What `valgrind --version` printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The window each pass counted, seconds (after start-up and warm-up).
    pub window_s: f64,
    pub passes: Vec<ValgrindPass>,
    /// What a reader must know (a pass that failed and why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One pass: a fresh `serve` child under valgrind, its counted window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValgrindPass {
    /// 0, 1, …: in a paired run side A's and side B's pass k ran next to each other, and
    /// the ratio B/A is taken per index.
    pub index: u32,
    /// Instructions executed in the window, all threads (callgrind's `Ir` total); `None`
    /// when the pass failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<u64>,
    /// Events handled in the window: each boundary's count is the midpoint of the counts
    /// read just before and just after valgrind acknowledged the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventCounts>,
    /// Events that happened while a boundary's switch was in flight (both boundaries
    /// together): the window's event count is known to ± half of this.
    #[serde(default)]
    pub events_in_flight: u64,
    /// Wall time between the two switches, seconds.
    pub window_s: f64,
    /// Polls the scenario's clients had planned in the window (every client, one per poll
    /// period): fewer answered means the child under valgrind did not keep up, so its mix of
    /// events (and the per-event figure, polls costing more than frames) is not the
    /// unhindered child's.
    #[serde(default)]
    pub polls_planned: u64,
    /// `instructions / events.total()`; `None` when either is missing or no event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_event: Option<f64>,
    /// callgrind's dump of the window (`callgrind_annotate FILE`: which functions the
    /// instructions went to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dump: Option<String>,
    /// Why the pass gave no figure, or what a reader must know about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Instructions per handled event; `None` without instructions or without an event (a
/// figure that cannot be divided is absent, never 0).
pub fn per_event(instructions: Option<u64>, events: Option<&EventCounts>) -> Option<f64> {
    let n = events?.total();
    if n == 0 {
        return None;
    }
    Some(instructions? as f64 / n as f64)
}

/// The events of a window from the cumulative counts read around its two boundaries: each
/// boundary at the midpoint of its before/after reads. Returns the window's events and how
/// many fell inside the boundaries' brackets.
pub fn window_events(
    start: (&EventCounts, &EventCounts),
    end: (&EventCounts, &EventCounts),
) -> (EventCounts, u64) {
    let mid = |a: u64, b: u64| a + b.saturating_sub(a) / 2;
    let at = |(before, after): (&EventCounts, &EventCounts)| EventCounts {
        polls: mid(before.polls, after.polls),
        frames: mid(before.frames, after.frames),
        commands: mid(before.commands, after.commands),
    };
    let in_flight = end.1.since(end.0).total() + start.1.since(start.0).total();
    (at(end).since(&at(start)), in_flight)
}

/// The share of planned polls a pass must answer for its event mix to count as the
/// unhindered child's; below it the pass says so in its note.
pub const KEEPING_UP: f64 = 0.9;

impl ValgrindPass {
    /// The note for a pass that answered too few of its planned polls, if it did.
    pub fn lagging(&self) -> Option<String> {
        let answered = self.events?.polls;
        let planned = self.polls_planned;
        (planned > 0 && (answered as f64) < KEEPING_UP * planned as f64).then(|| {
            format!(
                "answered {answered} of {planned} planned polls: the child under valgrind did \
                 not keep up with the load, so this pass's mix of events differs"
            )
        })
    }

    /// A pass that gave no figure.
    pub fn failed(index: u32, why: impl Into<String>) -> ValgrindPass {
        ValgrindPass {
            index,
            note: Some(why.into()),
            ..ValgrindPass::default()
        }
    }
}

impl ValgrindReport {
    /// The passes' figures per handled event, as (pass index, value).
    pub fn values(&self) -> Vec<(u32, f64)> {
        self.passes
            .iter()
            .filter_map(|p| p.per_event.map(|v| (p.index, v)))
            .collect()
    }

    /// The interval of the median over the passes (`None` without any).
    pub fn interval(&self) -> Option<Interval> {
        let v: Vec<f64> = self.values().into_iter().map(|(_, v)| v).collect();
        Interval::of_median(&v)
    }

    /// The row's figure: the median over the passes.
    pub fn median(&self) -> Option<f64> {
        self.interval().map(|i| i.mid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(polls: u64, frames: u64, commands: u64) -> EventCounts {
        EventCounts {
            polls,
            frames,
            commands,
        }
    }

    #[test]
    fn per_event_divides_and_never_invents_a_zero() {
        assert_eq!(per_event(Some(9_000), Some(&ev(2, 6, 1))), Some(1_000.0));
        assert_eq!(per_event(None, Some(&ev(2, 6, 1))), None);
        assert_eq!(per_event(Some(9_000), Some(&ev(0, 0, 0))), None);
        assert_eq!(per_event(Some(9_000), None), None);
    }

    #[test]
    fn a_pass_that_answered_too_few_polls_says_so() {
        let mut p = ValgrindPass {
            events: Some(ev(90, 120, 3)),
            polls_planned: 100,
            ..ValgrindPass::default()
        };
        assert_eq!(p.lagging(), None, "90 % is keeping up");
        p.events = Some(ev(63, 120, 3));
        assert!(p.lagging().unwrap().contains("63 of 100"));
        p.polls_planned = 0;
        assert_eq!(p.lagging(), None, "nothing planned, nothing to say");
    }

    #[test]
    fn window_boundaries_sit_at_the_midpoint_of_their_brackets() {
        // Start: 100 → 104 polls while the switch was in flight; end: 300 → 302.
        let (w, in_flight) = window_events(
            (&ev(100, 50, 0), &ev(104, 52, 0)),
            (&ev(300, 150, 1), &ev(302, 150, 1)),
        );
        assert_eq!(w, ev(301 - 102, 150 - 51, 1));
        assert_eq!(in_flight, 4 + 2 + 2);
        // No event in flight: the plain difference.
        let (w, in_flight) =
            window_events((&ev(7, 7, 7), &ev(7, 7, 7)), (&ev(9, 9, 9), &ev(9, 9, 9)));
        assert_eq!((w, in_flight), (ev(2, 2, 2), 0));
    }

    #[test]
    fn the_figure_is_the_median_over_the_passes_that_counted() {
        let pass = |index, per_event| ValgrindPass {
            index,
            per_event,
            ..ValgrindPass::default()
        };
        let r = ValgrindReport {
            passes: vec![
                pass(0, Some(8_000.0)),
                pass(1, None),
                pass(2, Some(8_400.0)),
                pass(3, Some(8_100.0)),
            ],
            ..ValgrindReport::default()
        };
        assert_eq!(r.values(), vec![(0, 8_000.0), (2, 8_400.0), (3, 8_100.0)]);
        assert_eq!(r.median(), Some(8_100.0));
        let i = r.interval().unwrap();
        assert!(i.is_range && i.n == 3);
        assert_eq!(ValgrindReport::default().median(), None);
    }
}
