//! The bridge's own statistics (the `serve-stats` file its child writes at exit) merged into
//! a model's row, kept to the measured window like the driver's figures. Used by the local
//! and the remote run alike (the remote one first puts the agent's timestamps on the
//! driver's clock).

use hdrhistogram::Histogram;

use super::join::{BoardRecord, Window};
use super::measured::frame_times;
use crate::bridge::stats::ServeStats;
use crate::load::floor::phase_after_frames;
use crate::metrics::results::ModelResult;
use crate::metrics::summary::{new_histogram, record_clamped, Summary};

/// Adds what the bridge measured about itself: watchdog lateness, frame inter-arrival,
/// counters, and ingest latency (its parse times joined with the boards' write times).
///
/// Every figure is kept to the measured window `w`, like the driver's own: a watchdog tick
/// counts when its scheduled deadline is in the window, an inter-arrival gap when its later
/// frame arrived in it. A stats file without the tick log (an older bridge) or without the
/// ingest log falls back to the bridge's whole-life summaries and says so in the
/// `watchdog_whole_life` / `interarrival_whole_life` counters (boards affected).
pub(super) fn merge_serve_stats(
    row: &mut ModelResult,
    stats: &ServeStats,
    boards: &[BoardRecord],
    w: Window,
) {
    let mut watchdog = new_histogram();
    let mut inter = new_histogram();
    let mut ingest = new_histogram();
    let mut longest_late_run = None; // worst board; absent without tick logs
    let mut add = |k: &str, v: u64| *row.counters.entry(k.to_string()).or_insert(0) += v;
    for k in [
        "ingest_negative",
        "ingest_unmatched",
        "ingest_log_dropped",
        "watchdog_log_dropped",
    ] {
        add(k, 0);
    }
    for (i, b) in stats.boards.iter().enumerate() {
        match &b.watchdog_log {
            Some(log) => {
                record_ticks_in_window(&mut watchdog, log, w);
                let run = crate::bridge::watchdog::longest_late_run(log, |t| w.contains(t));
                longest_late_run = Some(longest_late_run.unwrap_or(0).max(run));
            }
            None => {
                merge_into(&mut watchdog, &b.watchdog_lateness);
                add("watchdog_whole_life", 1);
            }
        }
        if b.ingest.is_empty() && b.frames_accepted > 0 {
            merge_into(&mut inter, &b.frame_interarrival);
            add("interarrival_whole_life", 1);
        } else {
            record_gaps_in_window(&mut inter, &b.ingest, w);
        }
        add("ingest_log_dropped", b.ingest_log_dropped);
        add("watchdog_log_dropped", b.watchdog_log_dropped);
        add("frames_accepted", b.frames_accepted);
        add("frames_rejected", b.frames_rejected);
        add("frames_coalesced", b.coalesced);
        add("serve_polls", b.polls);
        add("serve_commands", b.commands);
        add("commands_rejected", b.commands_rejected);
        add("serial_reconnects", b.reconnects);
        for (reason, n) in &b.rejected_by_reason {
            add(&format!("rejected_{reason}"), *n);
        }
        let written: std::collections::HashMap<u32, u64> = boards
            .get(i)
            .map(|r| r.frames.iter().copied().collect())
            .unwrap_or_default();
        for &(seq, parsed_ns) in &b.ingest {
            match written.get(&seq) {
                Some(&wr) if w.contains(wr) => {
                    if parsed_ns < wr {
                        // The board stamps just before the write that completes the
                        // frame, so this cannot happen unless the clocks disagree; it is
                        // counted (and recorded as the histogram's floor, 1 µs) so a
                        // broken join or clock shows up instead of vanishing.
                        add("ingest_negative", 1);
                    }
                    record_clamped(&mut ingest, parsed_ns.saturating_sub(wr) / 1_000);
                }
                Some(_) => {}
                None => add("ingest_unmatched", 1),
            }
        }
    }
    if let Some(n) = longest_late_run {
        row.counters.insert("watchdog_longest_late_run".into(), n);
    }
    row.watchdog_lateness = Summary::from_histogram(&watchdog);
    if let Some(log) = stats.boards.first().and_then(|b| b.watchdog_log.as_ref()) {
        row.watchdog_phase_us = phase_after_frames(
            log.iter().map(|t| t.0).filter(|&d| w.contains(d)),
            &frame_times(boards),
        );
    }
    row.frame_interarrival = Summary::from_histogram(&inter);
    row.ingest_latency = Summary::from_histogram(&ingest);
    row.runtime = stats.runtime.clone();
}

/// Records the lateness (µs) of each logged watchdog tick whose deadline is in `w`.
fn record_ticks_in_window(h: &mut Histogram<u64>, log: &[(u64, u64)], w: Window) {
    for &(due_ns, late_us) in log {
        if w.contains(due_ns) {
            record_clamped(h, late_us);
        }
    }
}

/// Records the gap (µs) before each frame that arrived in `w`, from the bridge's
/// arrival-ordered `(seq, arrival ns)` log; the gap into the window's first frame counts.
fn record_gaps_in_window(h: &mut Histogram<u64>, arrivals: &[(u32, u64)], w: Window) {
    for pair in arrivals.windows(2) {
        let (prev, next) = (pair[0].1, pair[1].1);
        if w.contains(next) {
            record_clamped(h, next.saturating_sub(prev) / 1_000);
        }
    }
}

fn merge_into(h: &mut Histogram<u64>, s: &Summary) {
    if let Ok(other) = s.histogram() {
        let _ = h.add(&other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::stats::BoardStats;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    /// A whole-life summary of `n` samples of `us`, distinct from anything windowed.
    fn whole_life(us: u64, n: u64) -> Summary {
        let mut h = new_histogram();
        for _ in 0..n {
            record_clamped(&mut h, us);
        }
        Summary::from_histogram(&h)
    }

    fn window() -> Window {
        Window {
            start_ns: 10 * S,
            end_ns: 20 * S,
        }
    }

    /// The row after merging a bridge's statistics with these boards over `window()`.
    fn merged(boards: Vec<BoardStats>) -> ModelResult {
        let stats = ServeStats {
            model: "threads".into(),
            boards,
            runtime: None,
        };
        let mut row = ModelResult::default();
        merge_serve_stats(&mut row, &stats, &[], window());
        row
    }

    fn near(got: u64, want: u64) -> bool {
        got.abs_diff(want) <= want / 500 + 1
    }

    #[test]
    fn only_ticks_and_frames_inside_the_window_are_counted() {
        let board = BoardStats {
            frames_accepted: 7,
            watchdog_lateness: whole_life(777, 100),
            frame_interarrival: whole_life(888, 100),
            watchdog_log: Some(vec![
                (9 * S, 50_000),      // before: a start-up stall
                (10 * S - 1, 40_000), // due just before the window, late into it
                (10 * S, 2_000),      // first deadline inside
                (15 * S, 3_000),
                (20 * S - 1, 2_000), // last inside
                (20 * S, 60_000),    // the window's end is exclusive
                (25 * S, 70_000),    // after
            ]),
            ingest: vec![
                (1, 5 * S),
                (2, 9 * S),
                (3, 10 * S + 500 * MS), // 1.5 s gap, its later frame inside: counted
                (4, 10 * S + 525 * MS),
                (5, 10 * S + 550 * MS),
                (6, 19 * S + 550 * MS), // 9 s gap (a stall inside the window)
                (7, 21 * S),            // after
            ],
            ingest_log_dropped: 3,
            watchdog_log_dropped: 4,
            ..BoardStats::default()
        };
        let row = merged(vec![board.clone(), board]);

        let wd = &row.watchdog_lateness;
        assert_eq!(wd.count, 6, "three ticks in the window, two boards");
        assert!(near(wd.max, 3_000), "max {}", wd.max);
        assert!(near(wd.p50, 2_000), "p50 {}", wd.p50);
        let fi = &row.frame_interarrival;
        assert_eq!(fi.count, 8, "four gaps end in the window, two boards");
        assert!(near(fi.p50, 25_000), "p50 {}", fi.p50);
        assert!(near(fi.max, 9_000_000), "max {}", fi.max);
        assert!(
            fi.histogram().unwrap().count_between(1_000_000, 2_000_000) == 2,
            "the gap into the window's first frame is counted"
        );

        let c = &row.counters;
        assert_eq!(c["ingest_log_dropped"], 6);
        assert_eq!(c["watchdog_log_dropped"], 8);
        assert_eq!(
            c["watchdog_longest_late_run"], 0,
            "no tick is a period late"
        );
        assert_eq!(c["frames_accepted"], 14);
        assert!(!c.contains_key("watchdog_whole_life"));
        assert!(!c.contains_key("interarrival_whole_life"));
    }

    #[test]
    fn stats_without_logs_fall_back_to_whole_life_and_say_so() {
        let old = BoardStats {
            frames_accepted: 40,
            watchdog_lateness: whole_life(777, 100),
            frame_interarrival: whole_life(25_000, 39),
            ..BoardStats::default()
        };
        let row = merged(vec![old]);
        assert_eq!(row.watchdog_lateness.count, 100);
        assert!(near(row.watchdog_lateness.p50, 777));
        assert_eq!(row.frame_interarrival.count, 39);
        assert_eq!(row.counters["watchdog_whole_life"], 1);
        assert_eq!(row.counters["interarrival_whole_life"], 1);
        assert_eq!(row.counters["ingest_log_dropped"], 0);
    }

    #[test]
    fn a_tick_log_with_nothing_in_the_window_gives_an_empty_figure_not_the_whole_life() {
        let b = BoardStats {
            watchdog_lateness: whole_life(777, 100),
            watchdog_log: Some(vec![(S, 777)]),
            ..BoardStats::default()
        };
        let row = merged(vec![b]);
        assert_eq!(row.watchdog_lateness.count, 0);
        assert_eq!(row.frame_interarrival.count, 0);
        assert!(!row.counters.contains_key("watchdog_whole_life"));
        assert!(!row.counters.contains_key("interarrival_whole_life"));
    }
}
