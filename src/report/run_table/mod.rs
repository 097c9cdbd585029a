//! The summary table `esbench run` prints at the end: one line per model, the figures a
//! reader compares first. Poll latency is per planned slot (stalls weigh what they lasted),
//! poll service is the model's own response time (send → answer); the watchdog's lateness is
//! also shown as a multiple of the timer floor measured alongside that model, a plain timer
//! thread with the model's settings (the run's idle floor for results from before there was
//! one). The child's timer slack, read back from /proc, is in its row.
//!
//! By default it fits 100 columns: the figures the verdicts use (`columns::COMPACT`), the
//! notes wrapped; `--wide` has every column, as the table always had (`columns::WIDE`).
//!
//! It renders only the results (`metrics`), like every renderer; `esbench run` prints it.

pub(crate) mod columns;
pub(crate) mod costs;
pub(crate) mod grid;
pub(crate) mod health;
mod notes;
pub(crate) mod remote;

use std::fmt::Write;

use crate::metrics::results::{ModelResult, Results};
use crate::metrics::summary::Summary;
use crate::metrics::verdict::{self, HEADLINE};

/// The width the default table and its notes fit in.
pub(crate) const WIDTH: usize = 100;

/// Which columns the table has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Layout {
    /// The figures the verdicts use, in [`WIDTH`] columns.
    #[default]
    Compact,
    /// Every column, as wide as they make it.
    Wide,
}

/// The headline's verdicts in words, one line each (empty without ok rows).
pub(crate) fn verdict_lines(r: &Results) -> String {
    let mut out = String::new();
    let eligible = verdict::eligible_count(r);
    for q in HEADLINE {
        let v = q.verdict(r);
        if v != verdict::Verdict::Nobody {
            let _ = writeln!(
                out,
                "  {}: {}",
                q.question,
                v.headline_sentence(eligible, q.best_word, q.figure)
            );
        }
    }
    out
}

/// Microseconds in a short human form: `850µs`, `1.25ms`, `2.30s` (the report's digits).
pub(crate) use crate::units::us_compact as fmt_us;

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
pub(crate) fn fmt_ns(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns.is_multiple_of(1_000) {
        fmt_us(ns / 1_000)
    } else {
        format!("{:.1}µs", ns as f64 / 1e3)
    }
}

/// A distribution-free 95 % interval for the median of `s`'s samples: the values at ranks
/// n/2 ± 0.98·√n (the normal approximation of the binomial order statistics), read from the
/// stored histogram. `None` without a histogram or with fewer than 10 samples.
pub(crate) fn median_interval(s: &Summary) -> Option<(u64, u64)> {
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
pub(crate) fn ratio_with_interval(value: &Summary, floor: &Summary) -> String {
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
pub(crate) fn ratio(value: u64, floor: u64) -> String {
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
pub(crate) fn thin(count: u64, q: f64) -> bool {
    (count as f64) * (1.0 - q) < 1.0
}

/// `n/m` where the row's model cannot have figure `key` (an external bridge's
/// self-statistics), else the cell.
pub(super) fn nm_or(m: &ModelResult, key: &str, cell: impl FnOnce() -> String) -> String {
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
pub(crate) fn switches_per_s(m: &ModelResult) -> f64 {
    crate::metrics::figures::context_switches_per_s(m, 0.0).unwrap_or(0.0)
}

/// The default table (fits [`WIDTH`] columns), ready to print.
pub fn render(r: &Results) -> String {
    render_as(r, Layout::Compact)
}

/// The table with every column (`esbench run --wide`).
pub fn render_wide(r: &Results) -> String {
    render_as(r, Layout::Wide)
}

/// The table in `layout`, with the lines under it.
pub(crate) fn render_as(r: &Results, layout: Layout) -> String {
    let mut out = String::new();
    if !r.injected.is_empty() {
        let _ = writeln!(
            out,
            "INJECTED FAULTS: {} (checks the machinery; not a measurement of the models)",
            r.injected.join(", ")
        );
    }
    let (table, mut lines) = match layout {
        Layout::Wide => {
            let table = grid::lay_out(&columns::rows(r, columns::WIDE));
            let lines = notes::lines(r, &table, true);
            (table, lines)
        }
        Layout::Compact => compact(r),
    };
    if layout == Layout::Compact {
        lines = lines.iter().flat_map(|l| grid::wrap(l, WIDTH, 4)).collect();
    }
    out.push_str(&table);
    for line in costs::block(r).lines() {
        match layout {
            // The costs' own table fits (and keeps its alignment); its long notes wrap like
            // the run's.
            Layout::Compact if line.chars().count() > WIDTH => {
                for l in grid::wrap(line, WIDTH, 4) {
                    let _ = writeln!(out, "{l}");
                }
            }
            _ => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The compact table and its notes: a status too long for the width left is shortened in
/// its cell and given whole under the table.
fn compact(r: &Results) -> (String, Vec<String>) {
    let mut rows = columns::rows(r, columns::COMPACT);
    let status = rows[0].len() - 1;
    let others: usize = (0..status)
        .map(|i| {
            rows.iter()
                .map(|row| grid::width(&row[i]))
                .max()
                .unwrap_or(0)
                + 2
        })
        .sum();
    let room = WIDTH.saturating_sub(others).max("ok DRIVER-LIMITED".len());
    let mut whole = Vec::new();
    for row in rows.iter_mut().skip(1) {
        if grid::width(&row[status]) > room {
            whole.push(format!("{}: {}", row[0], row[status]));
            row[status] = grid::shorten(&row[status], room);
        }
    }
    let table = grid::lay_out(&rows);
    let mut lines = notes::lines(r, &table, false);
    lines.splice(0..0, whole);
    lines.push(
        "every column: esbench run --wide, the HTML report, or --export-csv/--export-markdown"
            .to_string(),
    );
    (table, lines)
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
        let t = render_wide(&r);
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

    #[test]
    fn the_default_table_fits_100_columns_and_keeps_what_the_verdicts_use() {
        let baseline = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/baseline/results-1.json"
        );
        let mut r = Results::load(std::path::Path::new(baseline)).unwrap();
        r.models[0].name = "esp4s-threads".into();
        r.models[1].status = Status::parse(&format!(
            "crashed: serve killed by SIGKILL {}",
            "x".repeat(80)
        ));
        let t = render(&r);
        for line in t.lines() {
            assert!(
                line.chars().count() <= WIDTH,
                "{} wide: {line}",
                line.chars().count()
            );
        }
        let header = t.lines().next().unwrap();
        for title in ["CPU %", "poll p50", "poll p99", "wd p50", "status"] {
            assert!(header.contains(title), "{header}");
        }
        assert!(
            !header.contains("svc p50") && !header.contains("wd/floor"),
            "{header}"
        );
        assert!(
            t.contains("DRIVER-LIMITED") && t.contains("verdicts:"),
            "{t}"
        );
        assert!(
            t.contains("★0.68 [0.66–0.68]"),
            "CPU with its interval: {t}"
        );
        assert!(t.contains("crashed: serve killed by SIGKILL"), "{t}");
        assert!(
            t.contains(&"x".repeat(40)),
            "the whole status under the table: {t}"
        );
        // --wide has every column, each judged cell with its ★ where the verdict puts it.
        let w = render_wide(&r);
        assert!(
            w.lines()
                .next()
                .unwrap()
                .contains("svc p50  svc p99  stale p99"),
            "{w}"
        );
        assert!(w.lines().any(|l| l.chars().count() > WIDTH), "{w}");
    }
}
