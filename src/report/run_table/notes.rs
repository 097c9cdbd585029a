//! The lines under the run's table: the footnote on thin percentiles, where a remote run ran,
//! the rounds and what ± means, the verdicts in words, and the floors.

use std::fmt::Write;

use super::{cell, fmt_us, health, remote, verdict_lines};
use crate::metrics::results::Results;
use crate::metrics::summary::Summary;

/// The lines under the table; `wd_floor` says whether the table has the wd/floor column
/// (then its note and the floors beside each model are explained).
pub fn lines(r: &Results, table: &str, wd_floor: bool) -> Vec<String> {
    let mut out = Vec::new();
    if table.contains('*') {
        out.push("* fewer than 1/(1−q) samples: that percentile is the max".to_string());
    }
    if r.models.iter().any(|m| m.external.is_some()) {
        out.push(
            "n/m: not measured (an external bridge reports no self-statistics such as its \
             watchdog; docs/bridges.md)"
                .to_string(),
        );
        out.extend(
            r.models
                .iter()
                .filter_map(crate::report::table::external_line),
        );
    }
    out.extend(remote::lines(r));
    if let Some(p) = &r.rounds {
        out.push(format!(
            "{} round(s) of {:.2} s per model, interleaved, order shuffled per round (seed {}); \
             ± is half the 95 % interval of the median over the rounds, [lo–hi] the range when \
             fewer than 5; ★ only where an interval clears the runner-up's (a tie stars the \
             group, unless all tie), never on a failed row, nor on a DRIVER-LIMITED row's latencies \
             (on its CPU only when the driver saturated)",
            p.count, p.round_s, p.seed
        ));
    }
    let verdicts = verdict_lines(r);
    if !verdicts.is_empty() {
        out.push("verdicts:".to_string());
        out.extend(verdicts.lines().map(String::from));
    }
    if wd_floor && r.models.iter().any(|m| m.watchdog_lateness.count >= 10) {
        out.push(
            "wd/floor: ratio of the medians, in brackets its 95 % interval from this run's \
             samples (one holding 1 does not separate from the floor; runs on a shared \
             machine vary more than that)"
                .to_string(),
        );
    }
    out.push(floor_line(r));
    if let Some(line) = alongside_line(r, wd_floor) {
        out.push(line);
    }
    if let Some(line) = health::floor_line(r) {
        out.extend(line.lines().map(String::from));
    }
    out
}

/// The run's own floors: the idle timer's lateness and the driver's send error.
fn floor_line(r: &Results) -> String {
    let floor = &r.floor.timer_lateness;
    let mut line = String::new();
    let _ = write!(
        line,
        "floor: timer lateness p50 {} p99 {} max {} ({} wake-ups); driver send error p50 {} p99 {}",
        cell(floor, |s| s.p50),
        cell(floor, |s| s.p99),
        cell(floor, |s| s.max),
        floor.count,
        cell(&r.floor.driver_error, |s| s.p50),
        cell(&r.floor.driver_error, |s| s.p99),
    );
    line
}

/// The range of the timer floors measured beside each model, if any were.
fn alongside_line(r: &Results, wd_floor: bool) -> Option<String> {
    let alongside: Vec<&Summary> = r
        .models
        .iter()
        .map(|m| &m.timer_floor)
        .filter(|f| f.count > 0)
        .collect();
    let lo = alongside.iter().min_by_key(|f| f.p50)?;
    let hi = alongside.iter().max_by_key(|f| f.p50)?;
    let uses = if wd_floor {
        ": wd/floor uses these"
    } else {
        ""
    };
    Some(format!(
        "       a plain timer thread beside each model (its slack, its CPUs, random phase) \
         p50 {}–{}{uses}",
        fmt_us(lo.p50),
        fmt_us(hi.p50),
    ))
}
