//! The columns of the run's terminal table, each a cell function over one model's results,
//! and the two layouts: the compact one `esbench run` prints by default (the figures the
//! verdicts use, fitting 100 columns) and the wide one (`--wide`) with every column.
//!
//! A judged column names its figure from the registry (`metrics::figures`): its interval
//! over the rounds and its ★ are found by that figure, never by the column's header text.

use super::{cell, excess_cell, fmt_ns, health, nm_or, pcell, ratio_with_interval, remote};
use crate::metrics::figures::{self, Figure};
use crate::metrics::results::{ModelResult, Results};

/// How a judged column shows the verdict over the rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    /// Not judged: the cell is shown as it is.
    No,
    /// The ★ of the verdict only.
    Star,
    /// The ★ and the interval over the rounds (`±half` or `[lo–hi]`).
    Interval,
}

/// One column: its header, how a model's cell is made, and the registry figure it shows
/// when it is judged.
#[derive(Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub cell: fn(&Results, &ModelResult) -> String,
    pub figure: Option<Figure>,
    pub judged: Judged,
}

const fn plain(title: &'static str, cell: fn(&Results, &ModelResult) -> String) -> Column {
    Column {
        title,
        cell,
        figure: None,
        judged: Judged::No,
    }
}

const fn judged(
    title: &'static str,
    cell: fn(&Results, &ModelResult) -> String,
    figure: Figure,
    judged: Judged,
) -> Column {
    Column {
        title,
        cell,
        figure: Some(figure),
        judged,
    }
}

fn model(_: &Results, m: &ModelResult) -> String {
    m.name.clone()
}
fn cpu_percent(_: &Results, m: &ModelResult) -> String {
    format!("{:.2}", m.cpu.percent)
}
fn csw(_: &Results, m: &ModelResult) -> String {
    format!("{:.0}", super::switches_per_s(m))
}
fn poll_p50(_: &Results, m: &ModelResult) -> String {
    cell(&m.poll_latency, |s| s.p50)
}
fn poll_p99(_: &Results, m: &ModelResult) -> String {
    pcell(&m.poll_latency, 0.99, |s| s.p99)
}
fn poll_p999(_: &Results, m: &ModelResult) -> String {
    pcell(&m.poll_latency, 0.999, |s| s.p999)
}
fn poll_max(_: &Results, m: &ModelResult) -> String {
    cell(&m.poll_latency, |s| s.max)
}
fn svc_p50(_: &Results, m: &ModelResult) -> String {
    cell(&m.poll_service, |s| s.p50)
}
fn svc_p99(_: &Results, m: &ModelResult) -> String {
    pcell(&m.poll_service, 0.99, |s| s.p99)
}
fn stale_p99(_: &Results, m: &ModelResult) -> String {
    remote::swamped_cell(m, m.staleness.count, m.staleness.p99)
        .unwrap_or_else(|| pcell(&m.staleness, 0.99, |s| s.p99))
}
fn excess_p99(_: &Results, m: &ModelResult) -> String {
    excess_cell(&m.staleness_excess)
}
fn wd_p50(_: &Results, m: &ModelResult) -> String {
    nm_or(m, "watchdog_lateness", || {
        cell(&m.watchdog_lateness, |s| s.p50)
    })
}
fn wd_p99(_: &Results, m: &ModelResult) -> String {
    nm_or(m, "watchdog_lateness", || {
        pcell(&m.watchdog_lateness, 0.99, |s| s.p99)
    })
}
fn wd_floor(r: &Results, m: &ModelResult) -> String {
    nm_or(m, "watchdog_lateness", || {
        ratio_with_interval(&m.watchdog_lateness, r.timer_floor_for(m))
    })
}
fn slack(_: &Results, m: &ModelResult) -> String {
    m.timerslack_ns.map_or("-".into(), fmt_ns)
}
fn cpu_floor(_: &Results, m: &ModelResult) -> String {
    health::cpu_floor_cell(m)
}
fn driver_cpu(_: &Results, m: &ModelResult) -> String {
    health::driver_cpu_cell(m)
}
fn send_p99(_: &Results, m: &ModelResult) -> String {
    health::send_p99_cell(m)
}
/// The status as the wide table has always shown it: its first 60 characters.
fn status_wide(_: &Results, m: &ModelResult) -> String {
    let s: String = if m.is_ok() {
        "ok".into()
    } else {
        m.status.to_string().chars().take(60).collect()
    };
    health::mark_limited(s, m)
}
/// The whole status; the compact layout shortens it to the width left (and lists it whole
/// under the table when it had to).
fn status_full(_: &Results, m: &ModelResult) -> String {
    let s = if m.is_ok() {
        "ok".into()
    } else {
        m.status.to_string()
    };
    health::mark_limited(s, m)
}

/// Every column, in the order the table has always had them (`esbench run --wide`).
pub const WIDE: &[Column] = &[
    plain("model", model),
    judged("CPU %", cpu_percent, figures::CPU_PERCENT, Judged::Interval),
    plain("csw/s", csw),
    judged(
        "poll p50",
        poll_p50,
        figures::POLL_LATENCY_P50,
        Judged::Interval,
    ),
    judged("p99", poll_p99, figures::POLL_LATENCY_P99, Judged::Interval),
    plain("p99.9", poll_p999),
    plain("max", poll_max),
    judged("svc p50", svc_p50, figures::POLL_SERVICE_P50, Judged::Star),
    judged("svc p99", svc_p99, figures::POLL_SERVICE_P99, Judged::Star),
    plain("stale p99", stale_p99),
    plain("excess p99", excess_p99),
    judged(
        "wd p50",
        wd_p50,
        figures::WATCHDOG_LATENESS_P50,
        Judged::Star,
    ),
    judged(
        "wd p99",
        wd_p99,
        figures::WATCHDOG_LATENESS_P99,
        Judged::Star,
    ),
    plain("wd/floor", wd_floor),
    plain("slack", slack),
    plain(health::HEADER[0], cpu_floor),
    plain(health::HEADER[1], driver_cpu),
    plain(health::HEADER[2], send_p99),
    plain("status", status_wide),
];

/// The figures the verdicts use, in 100 columns (`esbench run`'s default): CPU with its
/// interval, poll p50, poll p99 with its interval (the tail the latency verdicts judge; with
/// p50 it gives the jitter), the watchdog's p50, the status with its DRIVER-LIMITED mark.
pub const COMPACT: &[Column] = &[
    plain("model", model),
    judged("CPU %", cpu_percent, figures::CPU_PERCENT, Judged::Interval),
    judged(
        "poll p50",
        poll_p50,
        figures::POLL_LATENCY_P50,
        Judged::Star,
    ),
    judged(
        "poll p99",
        poll_p99,
        figures::POLL_LATENCY_P99,
        Judged::Interval,
    ),
    judged(
        "wd p50",
        wd_p50,
        figures::WATCHDOG_LATENESS_P50,
        Judged::Star,
    ),
    plain("status", status_full),
];

/// The header row and one row of cells per model, with each judged cell's interval and ★.
pub fn rows(r: &Results, columns: &[Column]) -> Vec<Vec<String>> {
    let mut rows = vec![columns.iter().map(|c| c.title.to_string()).collect()];
    for m in &r.models {
        rows.push(columns.iter().map(|c| (c.cell)(r, m)).collect());
    }
    for (i, c) in columns.iter().enumerate() {
        if let (Some(figure), true) = (c.figure, c.judged != Judged::No) {
            mark_judged(r, &figure, c.judged == Judged::Interval, i, &mut rows[1..]);
        }
    }
    rows
}

/// Adds to column `c` the interval over the rounds (when `show_interval` and the row has
/// one) and a ★ on the rows the verdict names (the same verdict as the report's).
fn mark_judged(
    r: &Results,
    figure: &Figure,
    show_interval: bool,
    c: usize,
    rows: &mut [Vec<String>],
) {
    let key = figure.legacy.unwrap_or(figure.key);
    // The duration only matters to per-second figures, of which none is judged here.
    let value = |m: &ModelResult| figure.of_model(m, 0.0);
    let stars = crate::metrics::verdict::stars(r, key, value);
    for (m, row) in r.models.iter().zip(rows.iter_mut()) {
        if value(m).is_none() {
            continue;
        }
        if let Some(i) = crate::metrics::verdict::interval(m, key).filter(|_| show_interval) {
            row[c] = format!("{} {}", row[c], interval_text(figure, &i));
        }
        if stars.contains(&m.name) {
            row[c] = format!("★{}", row[c]);
        }
    }
}

/// An interval in the figure's own digits: CPU % with two decimals, times as `850µs`.
pub fn interval_text(figure: &Figure, i: &crate::metrics::rounds::Interval) -> String {
    use crate::metrics::verdict::compact;
    if figure.unit == figures::Unit::CpuPercent {
        compact(i, |v| format!("{v:.2}"))
    } else {
        compact(i, |v| super::fmt_us(v.round() as u64))
    }
}
