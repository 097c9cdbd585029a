//! The summary table `esbench run` prints at the end: one line per model, the figures a
//! reader compares first, each latency also as a multiple of the floor measured alongside
//! that model (the run's idle floor for results from before there was one).

use std::fmt::Write;

use crate::metrics::results::{ModelResult, Results};
use crate::metrics::summary::Summary;

/// Microseconds in a short human form: `850µs`, `1.25ms`, `2.3s`.
pub fn fmt_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{:.1}s", us as f64 / 1e6)
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

fn cell(s: &Summary, f: impl Fn(&Summary) -> u64) -> String {
    if s.count == 0 {
        "-".into()
    } else {
        fmt_us(f(s))
    }
}

/// Context switches per second of the measured window.
pub fn switches_per_s(m: &ModelResult) -> f64 {
    let window_s = m
        .counters
        .get("cpu_window_ms")
        .map(|&ms| ms as f64 / 1e3)
        .unwrap_or(0.0);
    if window_s > 0.0 {
        (m.cpu.vcsw + m.cpu.ivcsw) as f64 / window_s
    } else {
        0.0
    }
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
        "stale p99",
        "wd p50",
        "wd p99",
        "wd/floor",
        "poll/floor",
        "status",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    super::health_table::insert_header(&mut rows[0]);
    for m in &r.models {
        let status = if m.is_ok() {
            "ok".to_string()
        } else {
            m.status.chars().take(60).collect()
        };
        rows.push(vec![
            m.name.clone(),
            format!("{:.2}", m.cpu.percent),
            format!("{:.0}", switches_per_s(m)),
            cell(&m.poll_latency, |s| s.p50),
            cell(&m.poll_latency, |s| s.p99),
            cell(&m.poll_latency, |s| s.p999),
            cell(&m.poll_latency, |s| s.max),
            cell(&m.staleness, |s| s.p99),
            cell(&m.watchdog_lateness, |s| s.p50),
            cell(&m.watchdog_lateness, |s| s.p99),
            ratio(m.watchdog_lateness.p50, r.timer_floor_for(m).p50),
            ratio(m.poll_latency.p50, r.timer_floor_for(m).p50),
            status,
        ]);
        super::health_table::insert_cells(rows.last_mut().expect("just pushed"), m);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
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
            "       timer lateness alongside each model p50 {}–{} (the ×floor ratios use these; \
             an idle machine wakes up more slowly)",
            fmt_us(lo.p50),
            fmt_us(hi.p50),
        );
    }
    if let Some(line) = super::health_table::floor_line(r) {
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::{new_histogram, record_clamped};

    fn summary(v: u64) -> Summary {
        let mut h = new_histogram();
        record_clamped(&mut h, v);
        Summary::from_histogram(&h)
    }

    #[test]
    fn renders_every_model_with_ratios() {
        let mut r = Results::default();
        r.floor.timer_lateness = summary(100);
        let mut m = ModelResult {
            name: "smol".into(),
            status: "ok".into(),
            poll_latency: summary(1500),
            watchdog_lateness: summary(200),
            ..ModelResult::default()
        };
        m.cpu.percent = 0.42;
        m.cpu.vcsw = 100;
        m.counters.insert("cpu_window_ms".into(), 2000);
        r.models.push(m);
        r.models.push(ModelResult {
            name: "rayon".into(),
            status: "crashed: serve killed by SIGKILL".into(),
            ..ModelResult::default()
        });
        let t = render(&r);
        assert!(t.contains("smol"), "{t}");
        assert!(t.contains("1.50ms"), "{t}");
        assert!(t.contains("×2.0"), "{t}");
        assert!(t.contains("×15.0"), "{t}");
        assert!(t.contains("50"), "{t}");
        assert!(t.contains("crashed"), "{t}");
        assert_eq!(fmt_us(999), "999µs");
        assert_eq!(fmt_us(2_300_000), "2.3s");
    }
}
