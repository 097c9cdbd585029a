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

impl ValgrindPass {
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

    /// Side A's and side B's rows of a paired run whose passes gave `a[k]` and `b[k]`.
    fn paired_rows(a: &[f64], b: &[f64]) -> Vec<crate::metrics::results::ModelResult> {
        let row = |name: &str, v: &[f64]| crate::metrics::results::ModelResult {
            name: name.into(),
            status: crate::metrics::status::Status::Ok,
            valgrind: Some(ValgrindReport {
                passes: v
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| ValgrindPass {
                        index: k as u32,
                        per_event: Some(x),
                        ..ValgrindPass::default()
                    })
                    .collect(),
                ..ValgrindReport::default()
            }),
            ..Default::default()
        };
        vec![row("threads", a), row("threads", b)]
    }

    #[test]
    fn a_paired_run_takes_the_ratio_per_pass_and_judges_it() {
        use crate::check::compare::{compare_paired, Verdict};
        use crate::metrics::figures::CPU_VALGRIND_INSTRUCTIONS_PER_EVENT as VG;
        let a = [8_000.0, 8_010.0, 7_990.0, 8_005.0, 8_000.0];
        let plus10: Vec<f64> = a.iter().map(|x| x * 1.1).collect();
        let rows = paired_rows(&a, &plus10);
        let ratios = crate::metrics::paired::per_round(&VG, &rows[0], &rows[1]);
        assert_eq!(ratios.len(), 5);
        assert!(ratios.iter().all(|r| (r.unwrap() - 1.1).abs() < 1e-9));
        let judge = |a: &[f64], b: &[f64]| {
            let rows = paired_rows(a, b);
            let side = |m: &crate::metrics::results::ModelResult| {
                let mut r = crate::metrics::results::Results::default();
                r.scenario.name = "fixture".into();
                r.models.push(m.clone());
                (std::path::PathBuf::from("x"), r)
            };
            let opts = crate::check::compare::Options {
                thresholds: crate::check::Thresholds::default().for_paired(),
                mode: crate::check::Mode::Gross,
                allow_missing_models: false,
                allow_mixed: false,
            };
            let o = compare_paired(&side(&rows[0]), &side(&rows[1]), &opts).unwrap();
            o.rows.into_iter().find(|r| r.metric == VG.key)
        };
        let row = judge(&a, &plus10).expect("a row for the figure");
        assert_eq!(row.verdict, Verdict::Regressed, "{row:?}");
        assert_eq!(row.method, "passes, paired (5)");
        // A/A within ±0.2 %: no verdict either way.
        let same = [8_010.0, 7_995.0, 8_000.0, 8_012.0, 7_990.0];
        assert_eq!(judge(&a, &same).unwrap().verdict, Verdict::Unchanged);
        // Three passes give a range, not an interval: not judged, even at +10 %.
        let row = judge(&a[..3], &plus10[..3]).unwrap();
        assert_eq!(row.verdict, Verdict::NotJudged, "{row:?}");
        // Neither side ran the pass: no row at all.
        let none = [];
        assert!(judge(&none, &none).is_none());
    }
}
