//! The summary table `esbench run` prints at the end: one line per model, the figures a
//! reader compares first. Poll latency is per planned slot (stalls weigh what they lasted),
//! poll service is the model's own response time (send → answer); the watchdog's lateness is
//! also shown as a multiple of the timer floor measured alongside that model, a plain timer
//! thread with the model's settings (the run's idle floor for results from before there was
//! one). The child's timer slack, read back from /proc, is in its row.
//!
//! It renders only the results (`metrics`), like every renderer; `esbench run` prints it.

pub mod costs;
pub mod health;
pub mod remote;

use std::fmt::Write;

use crate::metrics::figures::{self, Figure, Unit};
use crate::metrics::results::{ModelResult, Results};
use crate::metrics::summary::Summary;
use crate::metrics::verdict::{self, HEADLINE};

/// The columns of the table that are judged over the rounds: the header, the registry's
/// figure (its value in a row, and its name for the rounds, as in
/// `metrics::verdict::round_value`), and whether the cell shows its interval (the headline's
/// figures; the others only get the ★, so the table still fits a wide terminal).
const JUDGED: [(&str, Figure, bool); 7] = [
    ("CPU %", figures::CPU_PERCENT, true),
    ("poll p50", figures::POLL_LATENCY_P50, true),
    ("p99", figures::POLL_LATENCY_P99, true),
    ("svc p50", figures::POLL_SERVICE_P50, false),
    ("svc p99", figures::POLL_SERVICE_P99, false),
    ("wd p50", figures::WATCHDOG_LATENESS_P50, false),
    ("wd p99", figures::WATCHDOG_LATENESS_P99, false),
];

/// Adds the interval over the rounds (`±half` or `[lo–hi]`) to the judged cells that have
/// one, and a ★ to the rows the verdict names (the same verdict as the report's).
fn mark_judged(r: &Results, header: &[String], rows: &mut [Vec<String>]) {
    for (title, figure, show_interval) in JUDGED {
        let Some(c) = header.iter().position(|h| h == title) else {
            continue;
        };
        let key = figure.legacy.unwrap_or(figure.key);
        // The duration only matters to per-second figures, of which none is judged here.
        let value = |m: &ModelResult| figure.of_model(m, 0.0);
        let stars = verdict::stars(r, key, value);
        for (m, row) in r.models.iter().zip(rows.iter_mut()) {
            if value(m).is_none() {
                continue;
            }
            if let Some(i) = verdict::interval(m, key).filter(|_| show_interval) {
                let iv = if figure.unit == Unit::CpuPercent {
                    verdict::compact(&i, |v| format!("{v:.2}"))
                } else {
                    verdict::compact(&i, |v| fmt_us(v.round() as u64))
                };
                row[c] = format!("{} {iv}", row[c]);
            }
            if stars.contains(&m.name) {
                row[c] = format!("★{}", row[c]);
            }
        }
    }
}

/// The headline's verdicts in words, one line each (empty without ok rows).
pub fn verdict_lines(r: &Results) -> String {
    let mut out = String::new();
    for q in HEADLINE {
        let v = q.verdict(r);
        if v != verdict::Verdict::Nobody {
            let _ = writeln!(
                out,
                "  {}: {}",
                q.question,
                v.sentence(q.best_word, q.figure)
            );
        }
    }
    out
}

/// Microseconds in a short human form: `850µs`, `1.25ms`, `2.30s` (the report's digits).
pub use crate::units::us_compact as fmt_us;

/// A staleness excess cell: unlike latencies, 0 is its usual, good value.
fn excess_cell(s: &Summary) -> String {
    if s.count == 0 {
        "-".into()
    } else if s.p99 == 0 {
        "0".into()
    } else {
        fmt_us(s.p99)
    }
}

/// Nanoseconds in a short human form: `1ns`, `50µs`, `1.50ms`.
pub fn fmt_ns(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns % 1_000 == 0 {
        fmt_us(ns / 1_000)
    } else {
        format!("{:.1}µs", ns as f64 / 1e3)
    }
}

/// A distribution-free 95 % interval for the median of `s`'s samples: the values at ranks
/// n/2 ± 0.98·√n (the normal approximation of the binomial order statistics), read from the
/// stored histogram. `None` without a histogram or with fewer than 10 samples.
pub fn median_interval(s: &Summary) -> Option<(u64, u64)> {
    if s.count < 10 {
        return None;
    }
    let h = s.histogram().ok()?;
    let half = 0.98 / (s.count as f64).sqrt();
    Some((
        h.value_at_quantile((0.5 - half).max(0.0)),
        h.value_at_quantile((0.5 + half).min(1.0)),
    ))
}

/// `wd / floor` of the medians with its 95 % interval, `×1.2 (0.93–1.51)`: the interval is
/// the lowest over the highest and the highest over the lowest of the two medians'
/// intervals, so a ratio whose interval holds 1 does not separate from the floor.
pub fn ratio_with_interval(value: &Summary, floor: &Summary) -> String {
    let r = ratio(value.p50, floor.p50);
    match (median_interval(value), median_interval(floor)) {
        (Some((vl, vh)), Some((fl, fh))) if fl > 0 && fh > 0 && r != "-" => format!(
            "{r} ({:.2}–{:.2})",
            vl as f64 / fh as f64,
            vh as f64 / fl as f64
        ),
        _ => r,
    }
}

/// `value / floor` as `×3.2`, or `-` without a floor.
pub fn ratio(value: u64, floor: u64) -> String {
    if floor == 0 || value == 0 {
        "-".into()
    } else {
        format!("×{:.1}", value as f64 / floor as f64)
    }
}

/// A percentile cell, marked `*` when fewer than 1/(1−q) samples back it (it is then the
/// max, not a percentile).
fn pcell(s: &Summary, q: f64, f: impl Fn(&Summary) -> u64) -> String {
    let c = cell(s, f);
    if s.count > 0 && thin(s.count, q) {
        format!("{c}*")
    } else {
        c
    }
}

/// True when `count` samples leave less than one beyond quantile `q`.
pub fn thin(count: u64, q: f64) -> bool {
    (count as f64) * (1.0 - q) < 1.0
}

/// `n/m` where the row's model cannot have figure `key` (an external bridge's
/// self-statistics), else the cell.
fn nm_or(m: &ModelResult, key: &str, cell: impl FnOnce() -> String) -> String {
    if m.not_measured(key) {
        "n/m".into()
    } else {
        cell()
    }
}

fn cell(s: &Summary, f: impl Fn(&Summary) -> u64) -> String {
    if s.count == 0 {
        "-".into()
    } else {
        fmt_us(f(s))
    }
}

/// Context switches per second of the CPU window, as the registry of figures derives it
/// (`metrics::figures`), so the table, the report and `check` show one number.
pub fn switches_per_s(m: &ModelResult) -> f64 {
    crate::metrics::figures::context_switches_per_s(m, 0.0).unwrap_or(0.0)
}

/// The whole table, ready to print.
pub fn render(r: &Results) -> String {
    let floor = &r.floor.timer_lateness;
    let header = [
        "model",
        "CPU %",
        "csw/s",
        "poll p50",
        "p99",
        "p99.9",
        "max",
        "svc p50",
        "svc p99",
        "stale p99",
        "excess p99",
        "wd p50",
        "wd p99",
        "wd/floor",
        "slack",
        "status",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    health::insert_header(&mut rows[0]);
    for m in &r.models {
        let status = if m.is_ok() {
            "ok".to_string()
        } else {
            m.status.to_string().chars().take(60).collect()
        };
        rows.push(vec![
            m.name.clone(),
            format!("{:.2}", m.cpu.percent),
            format!("{:.0}", switches_per_s(m)),
            cell(&m.poll_latency, |s| s.p50),
            pcell(&m.poll_latency, 0.99, |s| s.p99),
            pcell(&m.poll_latency, 0.999, |s| s.p999),
            cell(&m.poll_latency, |s| s.max),
            cell(&m.poll_service, |s| s.p50),
            pcell(&m.poll_service, 0.99, |s| s.p99),
            remote::swamped_cell(m, m.staleness.count, m.staleness.p99)
                .unwrap_or_else(|| pcell(&m.staleness, 0.99, |s| s.p99)),
            excess_cell(&m.staleness_excess),
            nm_or(m, "watchdog_lateness", || {
                cell(&m.watchdog_lateness, |s| s.p50)
            }),
            nm_or(m, "watchdog_lateness", || {
                pcell(&m.watchdog_lateness, 0.99, |s| s.p99)
            }),
            nm_or(m, "watchdog_lateness", || {
                ratio_with_interval(&m.watchdog_lateness, r.timer_floor_for(m))
            }),
            m.timerslack_ns.map_or("-".into(), fmt_ns),
            status,
        ]);
        health::insert_cells(rows.last_mut().expect("just pushed"), m);
    }
    let (header, body) = rows.split_at_mut(1);
    mark_judged(r, &header[0], body);
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    if !r.injected.is_empty() {
        let _ = writeln!(
            out,
            "INJECTED FAULTS: {} (checks the machinery; not a measurement of the models)",
            r.injected.join(", ")
        );
    }
    for (n, row) in rows.iter().enumerate() {
        for (i, c) in row.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i == 0 || i == row.len() - 1 {
                let _ = write!(out, "{c}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{c}", " ".repeat(pad));
            }
            if i + 1 < row.len() {
                out.push_str("  ");
            }
        }
        out = out.trim_end().to_string();
        out.push('\n');
        if n == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    if out.contains('*') {
        out.push_str("* fewer than 1/(1−q) samples: that percentile is the max\n");
    }
    out.push_str(&costs::block(r));
    if r.models.iter().any(|m| m.external.is_some()) {
        out.push_str(
            "n/m: not measured (an external bridge reports no self-statistics such as its \
             watchdog; docs/bridges.md)\n",
        );
        for m in &r.models {
            if let Some(line) = crate::report::table::external_line(m) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    for line in remote::lines(r) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(p) = &r.rounds {
        let _ = writeln!(
            out,
            "{} round(s) of {:.2} s per model, interleaved, order shuffled per round (seed {}); \
             ± is half the 95 % interval of the median over the rounds, [lo–hi] the range when \
             fewer than 5; ★ only where an interval clears the runner-up's (a tie stars the \
             group, unless all tie), never on a failed row, nor on a DRIVER-LIMITED row's latencies \
             (on its CPU only when the driver saturated)",
            p.count, p.round_s, p.seed
        );
    }
    let lines = verdict_lines(r);
    if !lines.is_empty() {
        out.push_str("verdicts:\n");
        out.push_str(&lines);
    }
    if r.models.iter().any(|m| m.watchdog_lateness.count >= 10) {
        out.push_str(
            "wd/floor: ratio of the medians, in brackets its 95 % interval from this run's \
             samples (one holding 1 does not separate from the floor; runs on a shared \
             machine vary more than that)\n",
        );
    }
    let _ = writeln!(
        out,
        "floor: timer lateness p50 {} p99 {} max {} ({} wake-ups); driver send error p50 {} p99 {}",
        cell(floor, |s| s.p50),
        cell(floor, |s| s.p99),
        cell(floor, |s| s.max),
        floor.count,
        cell(&r.floor.driver_error, |s| s.p50),
        cell(&r.floor.driver_error, |s| s.p99),
    );
    let alongside: Vec<&Summary> = r
        .models
        .iter()
        .map(|m| &m.timer_floor)
        .filter(|f| f.count > 0)
        .collect();
    if let (Some(lo), Some(hi)) = (
        alongside.iter().min_by_key(|f| f.p50),
        alongside.iter().max_by_key(|f| f.p50),
    ) {
        let _ = writeln!(
            out,
            "       a plain timer thread beside each model (its slack, its CPUs, random phase) \
             p50 {}–{}: wd/floor uses these",
            fmt_us(lo.p50),
            fmt_us(hi.p50),
        );
    }
    if let Some(line) = health::floor_line(r) {
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::status::Status;
    use crate::metrics::summary::{new_histogram, record_clamped};

    fn summary(v: u64) -> Summary {
        let mut h = new_histogram();
        record_clamped(&mut h, v);
        Summary::from_histogram(&h)
    }

    #[test]
    fn the_median_interval_narrows_with_samples_and_brackets_the_median() {
        let spread = |n: u64| {
            let mut h = new_histogram();
            for i in 0..n {
                record_clamped(&mut h, 100 + (i * 7919) % 100);
            }
            Summary::from_histogram(&h)
        };
        let (small, large) = (spread(40), spread(4_000));
        let (sl, sh) = median_interval(&small).unwrap();
        let (ll, lh) = median_interval(&large).unwrap();
        assert!(sl <= small.p50 && small.p50 <= sh);
        assert!(ll <= large.p50 && large.p50 <= lh);
        assert!(lh - ll < sh - sl, "{ll}–{lh} vs {sl}–{sh}");
        assert_eq!(
            median_interval(&summary(5)),
            None,
            "one sample: no interval"
        );
        let t = ratio_with_interval(&large, &large);
        assert!(t.starts_with("×1.0 (0.") && t.contains("–1."), "{t}");
    }

    #[test]
    fn renders_every_model_with_ratios() {
        let mut r = Results::default();
        r.floor.timer_lateness = summary(100);
        let mut m = ModelResult {
            name: "smol".into(),
            status: Status::Ok,
            poll_latency: summary(1500),
            poll_service: summary(700),
            watchdog_lateness: summary(200),
            timerslack_ns: Some(50_000),
            ..ModelResult::default()
        };
        m.cpu.percent = 0.42;
        m.cpu.vcsw = 100;
        m.counters.insert("cpu_window_ms".into(), 2000);
        r.models.push(m);
        r.models.push(ModelResult {
            name: "rayon".into(),
            status: Status::parse("crashed: serve killed by SIGKILL"),
            ..ModelResult::default()
        });
        let t = render(&r);
        assert!(!t.contains("INJECTED"), "{t}");
        assert!(t.contains("smol"), "{t}");
        assert!(t.contains("1.50ms"), "{t}");
        assert!(t.contains("×2.0"), "{t}");
        assert!(
            !t.contains("poll/floor"),
            "an HTTP round trip over a timer: gone"
        );
        assert!(t.contains("50µs"), "the child's slack: {t}");
        assert!(t.contains("svc p50"), "{t}");
        assert!(t.contains("50"), "{t}");
        assert!(t.contains("crashed"), "{t}");
        assert!(t.contains("700µs"), "{t}");
        assert_eq!(fmt_us(999), "999µs");
        assert_eq!(fmt_ns(1), "1ns");
        assert_eq!(fmt_ns(50_000), "50µs");
        r.injected = vec!["freeze=1.5s@1s".into()];
        assert!(render(&r).starts_with("INJECTED FAULTS: freeze=1.5s@1s"));
        assert_eq!(fmt_us(2_300_000), "2.30s");
    }
}
