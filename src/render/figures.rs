//! The headline figures of one model, pulled out of a results file once so the table, the
//! headline, the comparison, `summary.md` and the history all agree on what each one means.
//!
//! Profiled figures (`ModelResult::profile`) are deliberately not read here: a profiled pass
//! runs under a sampler and must never be mixed into the measured figures.

pub(crate) use crate::metrics::figures::Unit;
use crate::metrics::figures::{self as registry, Figure, Source};
use crate::metrics::results::{ModelResult, Results};
use crate::metrics::status::Status;

/// One column of the summary: a figure of the registry (`metrics::figures`), with what the
/// tables need at hand. Lower is better in every column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The registry's key (e.g. `poll_latency.p99`).
    pub key: &'static str,
    pub heading: &'static str,
    /// For percentile columns: the quantile (1.0 for a maximum), so a table can tell when
    /// too few samples back it.
    pub quantile: Option<f64>,
    pub figure: Figure,
}

impl Column {
    /// The column showing figure `f`.
    pub const fn of(f: Figure) -> Column {
        Column {
            key: f.key,
            heading: f.label,
            quantile: match f.source {
                Source::Latency { q, .. } => Some(q),
                Source::Max { .. } => Some(1.0),
                _ => None,
            },
            figure: f,
        }
    }
}

/// The columns of `figs`, in their order (a `const` loop: `COLUMNS` is made at compile time).
const fn columns<const N: usize>(figs: &[Figure]) -> [Column; N] {
    let mut out = [Column::of(figs[0]); N];
    let mut i = 1;
    while i < N {
        out[i] = Column::of(figs[i]);
        i += 1;
    }
    out
}

const SUMMARY_COLUMNS: [Column; registry::SUMMARY.len()] = columns(registry::SUMMARY);

/// The summary table's columns: the registry's [`registry::SUMMARY`], in its order.
pub const COLUMNS: &[Column] = &SUMMARY_COLUMNS;

/// What a table shows for column `c` of `f`: its value, or "not measured".
pub fn cell_text(f: &ModelFigures, index: usize) -> String {
    if f.not_measured.get(index).copied().unwrap_or(false) {
        NOT_MEASURED_TEXT.into()
    } else {
        display(&COLUMNS[index], f.values[index])
    }
}

/// How a figure the model cannot provide is shown (never as 0).
pub const NOT_MEASURED_TEXT: &str = "not measured";

/// The position of the column showing `f`; `None` when the summary does not show it.
#[cfg(test)]
pub fn column_index(f: &Figure) -> Option<usize> {
    COLUMNS.iter().position(|c| c.key == f.key)
}

/// The figures of one model, `None` where the results file does not have them.
#[derive(Clone, Debug)]
pub struct ModelFigures {
    pub name: String,
    pub status: Status,
    pub ok: bool,
    /// Values in `COLUMNS` order.
    pub values: Vec<Option<f64>>,
    /// Sample counts behind each value (for percentile columns), in `COLUMNS` order.
    pub samples: Vec<u64>,
    /// Columns the row's model cannot provide (an external bridge's self-statistics), in
    /// `COLUMNS` order: shown as "not measured", their value `None`.
    pub not_measured: Vec<bool>,
}

impl ModelFigures {
    /// `duration_s`: the scenario's measured seconds per model (context switches of results
    /// without a recorded CPU window are per second of it).
    pub fn from_model(m: &ModelResult, duration_s: f64) -> ModelFigures {
        let not_measured: Vec<bool> = COLUMNS.iter().map(|c| m.not_measured(c.key)).collect();
        ModelFigures {
            name: m.name.clone(),
            status: m.status.clone(),
            ok: m.is_ok(),
            values: COLUMNS
                .iter()
                .zip(&not_measured)
                .map(|(c, &nm)| {
                    if nm {
                        None
                    } else {
                        c.figure.of_model(m, duration_s)
                    }
                })
                .collect(),
            samples: COLUMNS.iter().map(|c| c.figure.samples(m)).collect(),
            not_measured,
        }
    }

    /// The value of figure `f`; `None` also when the summary has no column for it.
    #[cfg(test)]
    pub fn get(&self, f: &Figure) -> Option<f64> {
        self.values[column_index(f)?]
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
#[cfg(test)]
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
#[cfg(test)]
pub fn is_best(f: &ModelFigures, c: usize, best: &[Option<f64>]) -> bool {
    f.ok && best[c].is_some() && f.values[c] == best[c]
}

/// Formats a value of column `c` for people.
pub fn display(c: &Column, v: Option<f64>) -> String {
    show(&c.figure, v)
}

/// Formats a value of figure `f` for people, in its unit.
pub fn show(f: &Figure, v: Option<f64>) -> String {
    use super::format::{mib, sig3, us};
    match v {
        // Most machines (VMs) have no instruction counter: say so rather than leave a gap
        // that reads like "nothing".
        None if f.key == registry::CPU_INSTRUCTIONS_PER_EVENT.key => "n/a".into(),
        None => "–".into(),
        Some(v) => match f.unit {
            Unit::CpuPercent => sig3(v),
            Unit::PerSecond => format!("{v:.0}"),
            Unit::Kib => mib(v as u64),
            Unit::Count | Unit::Ticks => format!("{v:.0}"),
            Unit::Micros => us(v as u64),
            Unit::MicrosPerEvent => format!("{} µs", sig3(v)),
            Unit::PerEvent => sig3(v),
            Unit::Multiple => format!("×{}", sig3(v)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;

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
        r.models[cheapest].status = Status::parse("crashed: boom");
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
        let ti = column_index(&registry::CPU_THREADS).unwrap();
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
        assert_eq!(f.get(&registry::CPU_CTX_SWITCHES_PER_S), Some(100.0));
        assert_eq!(
            f.get(&registry::POLL_LATENCY_P99),
            Some(r.models[0].poll_latency.p99 as f64)
        );
        assert_eq!(f.get(&registry::POLL_LATENCY_P90), None, "not a column");
    }
}
