//! `esbench run --export-json FILE --export-csv FILE --export-markdown FILE`: a run's figures
//! in files a user names, in the formats hyperfine users know (`-` is stdout). Each export
//! holds every figure of the registry (`metrics::figures`, a superset of the terminal table's)
//! per model, with its interval over the rounds and whether the verdict stars it; one small
//! module per format.

pub(crate) mod csv;
pub(crate) mod json;
pub(crate) mod markdown;

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::metrics::figures::{Figure, FIGURES};
use crate::metrics::results::{ModelResult, Results};
use crate::metrics::rounds::Interval;
use crate::metrics::verdict;

/// One model's value of one figure, as every export writes it.
pub struct Cell<'a> {
    pub model: &'a ModelResult,
    pub figure: &'static Figure,
    /// `None` where the row has no such figure (a failed row, a counter never counted).
    pub value: Option<f64>,
    /// The 95 % interval of the median over the rounds (a range under 5 rounds).
    pub interval: Option<Interval>,
    /// The verdict's ★: this model is best on this figure, or in the best group.
    pub starred: bool,
}

/// Every figure of every model, figures in the registry's order within a model.
pub fn cells(r: &Results) -> Vec<Cell<'_>> {
    let mut out = Vec::new();
    for figure in FIGURES {
        let value = |m: &ModelResult| figure.of_model(m, r.scenario.duration_s);
        // The report table's ★: none where a run with rounds gives the figure no interval.
        let stars = verdict::stars(r, figure, value);
        for m in &r.models {
            out.push(Cell {
                model: m,
                figure,
                value: value(m),
                interval: figure.interval(m),
                starred: stars.contains(&m.name),
            });
        }
    }
    let order = |c: &Cell| r.models.iter().position(|m| std::ptr::eq(m, c.model));
    out.sort_by_key(order);
    out
}

/// The formats, as the flags name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Markdown,
}

/// `r` in `format`.
pub fn render(r: &Results, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => json::render(r)?,
        Format::Csv => csv::render(r),
        Format::Markdown => markdown::render(r),
    })
}

/// Writes `r` in `format` to `dest`: `-` is stdout, anything else a file written whole
/// (temp file and rename), so a reader never sees half an export.
pub fn write(r: &Results, format: Format, dest: &Path) -> anyhow::Result<()> {
    let text = render(r, format)?;
    if dest == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .context("cannot write the export to stdout")?;
        return Ok(());
    }
    crate::metrics::results::write_atomic(dest, text.as_bytes())
        .with_context(|| format!("cannot write the export {}", dest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn baseline() -> Results {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/baseline/results-1.json"
        );
        Results::load(Path::new(path)).unwrap()
    }

    #[test]
    fn every_model_has_every_figure_in_order() {
        let r = baseline();
        let c = cells(&r);
        assert_eq!(c.len(), r.models.len() * FIGURES.len());
        assert_eq!(c[0].model.name, r.models[0].name);
        assert_eq!(c[0].figure.key, FIGURES[0].key);
        assert_eq!(c[FIGURES.len()].model.name, r.models[1].name);
        let cpu = c
            .iter()
            .find(|c| c.model.name == "threads" && c.figure.key == "cpu.percent")
            .unwrap();
        assert!(cpu.starred, "threads is the cheapest in this run");
        let i = cpu.interval.unwrap();
        assert!(i.lo <= cpu.value.unwrap() && cpu.value.unwrap() <= i.hi + 1e-9);
    }
}
