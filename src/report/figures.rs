//! The headline figures of one model, pulled out of a results file once so the table, the
//! headline, the comparison, `summary.md` and the history all agree on what each one means.
//!
//! Profiled figures (`ModelResult::profile`) are deliberately not read here: a profiled pass
//! runs under a sampler and must never be mixed into the measured figures.

use crate::metrics::results::{ModelResult, Results};

/// How a figure is displayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Percent of one core.
    CpuPercent,
    /// Events per second.
    PerSecond,
    /// Kibibytes.
    Kib,
    /// A plain count.
    Count,
    /// Microseconds.
    Micros,
}

/// One column of the summary: a stable key (used in history and comparisons), a heading
/// and how to read it. Lower is better in every column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub key: &'static str,
    pub heading: &'static str,
    pub unit: Unit,
    /// For percentile columns: the quantile, so a comparison can tell when too few samples
    /// back it.
    pub quantile: Option<f64>,
}

const fn col(key: &'static str, heading: &'static str, unit: Unit, q: Option<f64>) -> Column {
    Column {
        key,
        heading,
        unit,
        quantile: q,
    }
}

/// The summary table's columns, in order.
pub const COLUMNS: &[Column] = &[
    col("cpu_percent", "CPU % of a core", Unit::CpuPercent, None),
    col(
        "ctx_switches_per_s",
        "ctx switches/s",
        Unit::PerSecond,
        None,
    ),
    col("max_rss_kib", "peak RSS", Unit::Kib, None),
    col("threads", "threads", Unit::Count, None),
    col("poll_p50", "poll p50", Unit::Micros, Some(0.5)),
    col("poll_p99", "poll p99", Unit::Micros, Some(0.99)),
    col("poll_p999", "poll p99.9", Unit::Micros, Some(0.999)),
    col("poll_max", "poll max", Unit::Micros, Some(1.0)),
    col("poll_service_p50", "service p50", Unit::Micros, Some(0.5)),
    col("poll_service_p99", "service p99", Unit::Micros, Some(0.99)),
    col("staleness_p99", "staleness p99", Unit::Micros, Some(0.99)),
    col(
        "staleness_excess_p99",
        "stale excess p99",
        Unit::Micros,
        Some(0.99),
    ),
    col("command_p99", "command p99", Unit::Micros, Some(0.99)),
    col("watchdog_p50", "watchdog late p50", Unit::Micros, Some(0.5)),
    col(
        "watchdog_p99",
        "watchdog late p99",
        Unit::Micros,
        Some(0.99),
    ),
    col("frames_rejected", "frames rejected", Unit::Count, None),
    col("frames_coalesced", "frames coalesced", Unit::Count, None),
];

/// The figures of one model, `None` where the results file does not have them.
#[derive(Clone, Debug)]
pub struct ModelFigures {
    pub name: String,
    pub status: String,
    pub ok: bool,
    /// Values in `COLUMNS` order.
    pub values: Vec<Option<f64>>,
    /// Sample counts behind each value (for percentile columns), in `COLUMNS` order.
    pub samples: Vec<u64>,
}

impl ModelFigures {
    pub fn from_model(m: &ModelResult, duration_s: f64) -> ModelFigures {
        let nonzero = |count: u64, v: u64| (count > 0).then_some(v as f64);
        let per_s = if duration_s > 0.0 {
            Some((m.cpu.vcsw + m.cpu.ivcsw) as f64 / duration_s)
        } else {
            None
        };
        let p = &m.poll_latency;
        let w = &m.watchdog_lateness;
        let counter = |k: &str| m.counters.get(k).map(|v| *v as f64);
        let values = vec![
            Some(m.cpu.percent),
            per_s,
            (m.cpu.max_rss_kib > 0).then_some(m.cpu.max_rss_kib as f64),
            (m.cpu.threads > 0).then_some(m.cpu.threads as f64),
            nonzero(p.count, p.p50),
            nonzero(p.count, p.p99),
            nonzero(p.count, p.p999),
            nonzero(p.count, p.max),
            nonzero(m.poll_service.count, m.poll_service.p50),
            nonzero(m.poll_service.count, m.poll_service.p99),
            nonzero(m.staleness.count, m.staleness.p99),
            nonzero(m.staleness_excess.count, m.staleness_excess.p99),
            nonzero(m.command_latency.count, m.command_latency.p99),
            nonzero(w.count, w.p50),
            nonzero(w.count, w.p99),
            counter("frames_rejected"),
            // `esbench run` names it frames_coalesced; plain `coalesced` is the bridge's own name.
            counter("frames_coalesced").or_else(|| counter("coalesced")),
        ];
        let samples = vec![
            0,
            0,
            0,
            0,
            p.count,
            p.count,
            p.count,
            p.count,
            m.poll_service.count,
            m.poll_service.count,
            m.staleness.count,
            m.staleness_excess.count,
            m.command_latency.count,
            w.count,
            w.count,
            0,
            0,
        ];
        debug_assert_eq!(values.len(), COLUMNS.len());
        ModelFigures {
            name: m.name.clone(),
            status: m.status.clone(),
            ok: m.is_ok(),
            values,
            samples,
        }
    }

    /// A value by column key.
    pub fn get(&self, key: &str) -> Option<f64> {
        let i = COLUMNS.iter().position(|c| c.key == key)?;
        self.values[i]
    }
}

/// The figures of every model in a run, in the file's order.
pub fn all(results: &Results) -> Vec<ModelFigures> {
    results
        .models
        .iter()
        .map(|m| ModelFigures::from_model(m, results.scenario.duration_s))
        .collect()
}

/// For each column, the best (lowest) value among the models that finished `ok`; `None`
/// when no ok model has the value or all of them have the same one (nobody stands out).
pub fn best_per_column(figs: &[ModelFigures]) -> Vec<Option<f64>> {
    (0..COLUMNS.len())
        .map(|c| {
            let ok_values = || figs.iter().filter(|f| f.ok).filter_map(|f| f.values[c]);
            let best = ok_values().fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))));
            best.filter(|b| ok_values().any(|v| v != *b))
        })
        .collect()
}

/// Whether model `f`'s value in column `c` is the column's best (ties all count).
pub fn is_best(f: &ModelFigures, c: usize, best: &[Option<f64>]) -> bool {
    f.ok && best[c].is_some() && f.values[c] == best[c]
}

/// Formats a value of column `c` for people.
pub fn display(c: &Column, v: Option<f64>) -> String {
    use super::format::{mib, sig3, us};
    match v {
        None => "–".into(),
        Some(v) => match c.unit {
            Unit::CpuPercent => sig3(v),
            Unit::PerSecond => format!("{v:.0}"),
            Unit::Kib => mib(v as u64),
            Unit::Count => format!("{v:.0}"),
            Unit::Micros => us(v as u64),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fabricate_results;

    #[test]
    fn best_skips_failed_models_and_ties() {
        let mut r = fabricate_results(1);
        // rayon is the costliest in the fixture; make the cheapest one fail.
        let cheapest = r
            .models
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.cpu.percent.total_cmp(&b.1.cpu.percent))
            .unwrap()
            .0;
        r.models[cheapest].status = "crashed: boom".into();
        let figs = all(&r);
        let best = best_per_column(&figs);
        let cpu_best = figs.iter().position(|f| is_best(f, 0, &best)).unwrap();
        assert_ne!(cpu_best, cheapest);
        assert!(!is_best(&figs[cheapest], 0, &best));
        let min_ok = figs
            .iter()
            .filter(|f| f.ok)
            .map(|f| f.values[0].unwrap())
            .fold(f64::INFINITY, f64::min);
        assert_eq!(figs[cpu_best].values[0], Some(min_ok));
        // Ties are all marked; when every model ties, nobody is.
        let ti = COLUMNS.iter().position(|c| c.key == "threads").unwrap();
        for (i, m) in r.models.iter_mut().enumerate() {
            m.cpu.threads = if i < 3 { 1 } else { 4 };
        }
        let figs = all(&r);
        let best = best_per_column(&figs);
        let marked: Vec<bool> = figs.iter().map(|f| is_best(f, ti, &best)).collect();
        assert_eq!(marked.iter().filter(|m| **m).count(), 3);
        for m in &mut r.models {
            m.cpu.threads = 2;
        }
        assert_eq!(best_per_column(&all(&r))[ti], None);
    }

    #[test]
    fn context_switches_are_per_second_of_the_window() {
        let mut r = fabricate_results(2);
        r.scenario.duration_s = 10.0;
        r.models[0].cpu.vcsw = 900;
        r.models[0].cpu.ivcsw = 100;
        let f = &all(&r)[0];
        assert_eq!(f.get("ctx_switches_per_s"), Some(100.0));
        assert_eq!(f.get("poll_p99"), Some(r.models[0].poll_latency.p99 as f64));
    }
}
