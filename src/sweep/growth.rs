//! How each figure of each model grows across the sweep, in one line: from the first value
//! that has it to the last (and the ratio), and the first value where it had doubled — the
//! knee a reader is looking for, stated rather than left to the eye.

use crate::render::format::{md_cell, sig3};
use crate::render::table::TextTable;

use super::manifest::LoadedSweep;
use crate::metrics::rounds::Interval;

use super::table::{cell, interval, show_interval, show_value, Cell, Figure, FIGURES};

/// One figure of one model across the sweep.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Growth {
    pub first: f64,
    pub last: f64,
    /// last / first, when first is not zero.
    pub ratio: Option<f64>,
    /// The first value at which the figure was at least twice its first one.
    pub doubled_at: Option<String>,
    /// The intervals of the first and last figures' medians over rounds, when the points
    /// have rounds.
    pub first_interval: Option<Interval>,
    pub last_interval: Option<Interval>,
}

/// The growth of `figure` for `model`, or None with fewer than two measured values.
pub(crate) fn growth(sweep: &LoadedSweep, model: &str, figure: &Figure) -> Option<Growth> {
    let vals: Vec<(usize, f64)> = (0..sweep.points.len())
        .filter_map(|p| match cell(sweep, p, model, figure) {
            Cell::Value(v) => Some((p, v)),
            _ => None,
        })
        .collect();
    if vals.len() < 2 {
        return None;
    }
    let (p0, first) = vals[0];
    let (pn, last) = *vals.last().expect("two or more");
    let doubled_at = vals
        .iter()
        .skip(1)
        .find(|(_, v)| first > 0.0 && *v >= 2.0 * first)
        .map(|(p, _)| sweep.points[*p].value.clone());
    Some(Growth {
        first,
        last,
        ratio: (first > 0.0).then(|| last / first),
        doubled_at,
        first_interval: interval(sweep, p0, model, figure),
        last_interval: interval(sweep, pn, model, figure),
    })
}

fn show(v: f64, figure: &Figure) -> String {
    show_value(v, figure.unit)
}

/// `3.23 ms → 25.0 ms (×7.74, doubled at 5000)`.
pub(crate) fn describe(g: &Growth, figure: &Figure) -> String {
    let with = |v: f64, i: &Option<Interval>| match i {
        Some(i) => format!("{} {}", show(v, figure), show_interval(i, figure.unit)),
        None => show(v, figure),
    };
    let mut s = format!(
        "{} → {}",
        with(g.first, &g.first_interval),
        with(g.last, &g.last_interval)
    );
    let mut extra = Vec::new();
    if let Some(r) = g.ratio {
        extra.push(format!("×{}", sig3(r)));
    }
    if let Some(at) = &g.doubled_at {
        extra.push(format!("doubled at {at}"));
    }
    if !extra.is_empty() {
        s.push_str(&format!(" ({})", extra.join(", ")));
    }
    s
}

fn rows(sweep: &LoadedSweep) -> Vec<(String, Vec<String>)> {
    sweep
        .models()
        .into_iter()
        .map(|m| {
            let cells = FIGURES
                .iter()
                .map(|f| growth(sweep, &m, f).map_or("—".to_string(), |g| describe(&g, f)))
                .collect();
            (m, cells)
        })
        .collect()
}

/// Markdown table: one row per model, one column per figure. Empty with under two values.
pub fn markdown(sweep: &LoadedSweep) -> String {
    if sweep.points.len() < 2 || sweep.models().is_empty() {
        return String::new();
    }
    let first = &sweep.manifest.values[0];
    let last = sweep.manifest.values.last().expect("two or more");
    let mut s = format!(
        "\nEach model from its first to its last measured value (`{k}={first}` … \
         `{k}={last}`), the ratio, and the first value where the figure had doubled:\n\n",
        k = md_cell(&sweep.manifest.key)
    );
    s.push_str(&table(sweep).markdown());
    s
}

/// The same as an HTML table.
pub(crate) fn html(sweep: &LoadedSweep) -> String {
    if sweep.points.len() < 2 || sweep.models().is_empty() {
        return String::new();
    }
    table(sweep).html()
}

/// One row per model, one column per figure.
fn table(sweep: &LoadedSweep) -> TextTable {
    let headings = std::iter::once("model".to_string())
        .chain(FIGURES.iter().map(|f| f.label.to_string()))
        .collect();
    let mut t = TextTable::new(headings);
    for (m, cells) in rows(sweep) {
        t.rows.push(std::iter::once(m).chain(cells).collect());
    }
    t
}

/// For the terminal: one line per model and figure.
pub(crate) fn text(sweep: &LoadedSweep) -> String {
    if sweep.points.len() < 2 || sweep.models().is_empty() {
        return String::new();
    }
    let mut s = format!("\ngrowth across {}:\n", sweep.manifest.key);
    let width = sweep
        .models()
        .iter()
        .map(|m| m.chars().count())
        .max()
        .unwrap_or(0);
    for (m, cells) in rows(sweep) {
        let parts: Vec<String> = FIGURES
            .iter()
            .zip(cells)
            .map(|(f, c)| format!("{} {c}", f.label))
            .collect();
        s.push_str(&format!("  {m:>width$}  {}\n", parts.join("; ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results_with;
    use crate::metrics::results::Results;
    use crate::sweep::manifest::{LoadedPoint, PointStatus, SweepManifest};

    fn sweep(cpus: &[f64]) -> LoadedSweep {
        let values: Vec<String> = (0..cpus.len()).map(|i| (i * 10).to_string()).collect();
        let manifest = SweepManifest::new("s.toml", "k", &values, &[]);
        let points = cpus
            .iter()
            .zip(&values)
            .map(|(c, v)| {
                let mut r: Results = fabricate_results_with(1, &["smol"], 1.0);
                r.models[0].cpu.percent = *c;
                LoadedPoint {
                    value: v.clone(),
                    status: PointStatus::Done,
                    results: Some(r),
                    problem: None,
                    dir: None,
                }
            })
            .collect();
        LoadedSweep { manifest, points }
    }

    #[test]
    fn ratio_and_knee() {
        let s = sweep(&[1.0, 1.5, 2.5, 4.0]);
        let g = growth(&s, "smol", &FIGURES[0]).unwrap();
        assert_eq!((g.first, g.last, g.ratio), (1.0, 4.0, Some(4.0)));
        assert_eq!(g.doubled_at.as_deref(), Some("20"));
        assert_eq!(
            describe(&g, &FIGURES[0]),
            "1.00 % → 4.00 % (×4.00, doubled at 20)"
        );
        assert!(markdown(&s).contains("| smol | 1.00 % → 4.00 % (×4.00, doubled at 20) |"));
        let flat = sweep(&[2.0, 2.1]);
        let g = growth(&flat, "smol", &FIGURES[0]).unwrap();
        assert_eq!(g.doubled_at, None);
        assert!(growth(&sweep(&[2.0]), "smol", &FIGURES[0]).is_none());
        assert!(markdown(&sweep(&[2.0])).is_empty());
        let zero = sweep(&[0.0, 3.0]);
        assert_eq!(growth(&zero, "smol", &FIGURES[0]).unwrap().ratio, None);
    }
}
