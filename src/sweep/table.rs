//! The sweep as tables: rows are the knob's values, and for each model its CPU %, poll p99
//! and watchdog p99 — Markdown for `sweep.md` and CI comments, HTML for `sweep.html`, and one
//! narrow aligned table per figure for the terminal (24 columns do not fit a terminal).

use crate::metrics::figures as registry;
use crate::metrics::results::ModelResult;
use crate::metrics::rounds::{Interval, RoundResult, MIN_ROUNDS};
use crate::render::format::{esc, md_cell, sig3, us};

use super::cost;
use super::cross;
use super::manifest::LoadedSweep;

/// How a figure's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// % of one core.
    Percent,
    /// Microseconds (shown as µs or ms).
    Micros,
    /// Milliseconds of CPU per 1,000 events served.
    MsPer1k,
}

/// A figure shown per model and value.
pub struct Figure {
    /// Stable key (`cpu`, `poll_p99`, ...), used in analysis.json and plot file names.
    pub key: &'static str,
    /// Short column label, e.g. `poll p99`.
    pub label: &'static str,
    /// Longer title for the terminal table.
    pub title: &'static str,
    /// The whole-window figure (histograms merged over rounds).
    pub get: fn(&ModelResult) -> Option<f64>,
    /// The same figure in one round, for the interval of its median over rounds.
    pub round: fn(&RoundResult) -> Option<f64>,
    pub unit: Unit,
}

/// Registry figure `f` of a model's row, where finite. None of the sweep's figures is per
/// second, so the scenario's duration (which only those need) is not passed.
pub(crate) fn whole(f: &registry::Figure, m: &ModelResult) -> Option<f64> {
    f.of_model(m, 0.0).filter(|v| v.is_finite())
}

/// Registry figure `f` in one round (`Figure::of_round`), where finite; a tail percentile
/// only from a round with [`MIN_P99_SAMPLES`] behind it (some samples beyond it).
pub(crate) fn round_of(f: &registry::Figure, r: &RoundResult) -> Option<f64> {
    let v = f.of_round(r)?;
    let enough = !f.is_tail() || v.samples.is_some_and(|n| n >= MIN_P99_SAMPLES);
    enough.then_some(v.value).filter(|v| v.is_finite())
}

/// Fewest samples a round's p99 is used with (a p99 of 100 samples has one beyond it).
pub(crate) const MIN_P99_SAMPLES: u64 = 100;

/// The figures of the tables, in column order: what the model costs, what it costs per
/// unit of work, and how late it answers and wakes. CPU and the p99s are the registry's
/// (`metrics::figures`), read through it; the cost per 1,000 events is the sweep's own.
pub const FIGURES: [Figure; 4] = [
    Figure {
        key: "cpu",
        label: "CPU %",
        title: "CPU % of one core (model's process)",
        get: |m| whole(&registry::CPU_PERCENT, m),
        round: |r| round_of(&registry::CPU_PERCENT, r),
        unit: Unit::Percent,
    },
    Figure {
        key: "cpu_per_1k",
        label: "CPU/1k ev",
        title: "CPU ms per 1,000 events served (frames parsed + polls answered)",
        get: cost::cpu_ms_per_1k,
        round: cost::round_cpu_ms_per_1k,
        unit: Unit::MsPer1k,
    },
    Figure {
        key: "poll_p99",
        label: "poll p99",
        title: "poll latency p99 (intended send → answer)",
        get: |m| whole(&registry::POLL_LATENCY_P99, m),
        round: |r| round_of(&registry::POLL_LATENCY_P99, r),
        unit: Unit::Micros,
    },
    Figure {
        key: "watchdog_p99",
        label: "watchdog p99",
        title: "watchdog lateness p99 (wake-up − deadline)",
        get: |m| whole(&registry::WATCHDOG_LATENESS_P99, m),
        round: |r| round_of(&registry::WATCHDOG_LATENESS_P99, r),
        unit: Unit::Micros,
    },
];

/// The interval of `figure`'s median over the rounds of `model` at point `p`: None when the
/// point has no rounds (or fewer than two usable ones), or its row is not a model's figure
/// (failed, driver-limited).
pub fn interval(sweep: &LoadedSweep, p: usize, model: &str, figure: &Figure) -> Option<Interval> {
    let m = sweep.points[p].results.as_ref()?.model(model)?;
    let values: Vec<f64> = m.rounds.iter().filter_map(figure.round).collect();
    (values.len() >= MIN_ROUNDS).then(|| Interval::of_median(&values))?
}

/// `[lo, hi]` for an interval of the median, `range lo–hi` under 5 rounds.
pub(crate) fn show_interval(i: &Interval, unit: Unit) -> String {
    if i.is_range {
        format!(
            "range {}–{}",
            show_value(i.lo, unit),
            show_value(i.hi, unit)
        )
    } else {
        format!("[{}, {}]", show_value(i.lo, unit), show_value(i.hi, unit))
    }
}

/// One value in its figure's unit.
pub(crate) fn show_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Micros => us(v.round() as u64),
        Unit::Percent => format!("{} %", sig3(v)),
        Unit::MsPer1k => format!("{} ms", sig3(v)),
    }
}

/// What one cell holds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Value(f64),
    /// A figure measured while the driver was the limit (`driver.limited`): shown, but
    /// marked, never called best, and left out of growth, the knee and the fits (the load
    /// the model saw was not the load planned, and its latency is partly the driver's).
    DriverLimited(f64),
    /// The model ran and failed (crash, timeout, ...): the finding a sweep looks for.
    Failed,
    /// Ctrl-C stopped this model's measurement: partial, not comparable.
    Interrupted,
    /// Measured but this figure has no samples.
    NoData,
    /// Not measured at this value.
    Missing,
}

/// The cell of `figure` for `model` at point `p`.
pub(crate) fn cell(sweep: &LoadedSweep, p: usize, model: &str, figure: &Figure) -> Cell {
    let Some(r) = &sweep.points[p].results else {
        return Cell::Missing;
    };
    match r.model(model) {
        None => Cell::Missing,
        Some(m) if m.status.is_interrupted() => Cell::Interrupted,
        Some(m) if !m.is_ok() => Cell::Failed,
        Some(m) if m.driver.limited => (figure.get)(m).map_or(Cell::NoData, Cell::DriverLimited),
        Some(m) => (figure.get)(m).map_or(Cell::NoData, Cell::Value),
    }
}

fn show(c: &Cell, figure: &Figure) -> String {
    match c {
        Cell::Value(v) => show_value(*v, figure.unit),
        Cell::DriverLimited(v) => format!("{} (drv)", show_value(*v, figure.unit)),
        Cell::Failed => "failed".into(),
        Cell::Interrupted => "interrupted".into(),
        Cell::NoData => "n/a".into(),
        Cell::Missing => "—".into(),
    }
}

/// The cell as text: its value and, when the point has rounds, the interval of its median
/// over them.
pub(crate) fn show_cell(sweep: &LoadedSweep, p: usize, model: &str, figure: &Figure) -> String {
    let c = cell(sweep, p, model, figure);
    let mut s = show(&c, figure);
    if let (Cell::Value(_), Some(i)) = (&c, interval(sweep, p, model, figure)) {
        s.push(' ');
        s.push_str(&show_interval(&i, figure.unit));
    }
    s
}

/// `CPU %: smol↗threads` for each crossing completed at point `p` (the first model was
/// lower before and is higher now), `—` for none.
fn crossed_here(c: &cross::Crossings, p: usize) -> String {
    let here: Vec<String> = (c.at(p).iter())
        .map(|x| format!("{}: {} ↗ {}", x.figure, x.was_lower, x.was_higher))
        .collect();
    if here.is_empty() {
        "—".into()
    } else {
        here.join("; ")
    }
}

/// What the cells mean: intervals or not, `(drv)`, the crossing column.
fn legend(sweep: &LoadedSweep, c: &cross::Crossings) -> String {
    let mut parts = Vec::new();
    if c.judged {
        parts.push(
            "Each figure is the whole-window value; `[lo, hi]` is the 95 % interval of its \
             median over rounds (`range lo–hi` with fewer than 5 rounds). \"crossed here\" \
             names two models whose intervals were apart one way at an earlier value and the \
             other way here (A ↗ B: A was lower, is now higher)."
                .to_string(),
        );
    } else {
        parts.push(
            "The points have no rounds: figures are single values without intervals, and \
             crossings are unjudged."
                .to_string(),
        );
    }
    let limited = sweep.points.iter().any(|p| {
        (p.results.iter())
            .flat_map(|r| r.models.iter())
            .any(|m| m.is_ok() && m.driver.limited)
    });
    if limited {
        parts.push(
            "`(drv)`: the driver was the limit at this point (not judged for the knee, left \
             out of the fits)."
                .to_string(),
        );
    }
    parts.push(
        "CPU/1k ev: ms of the model's CPU per 1,000 events served (frames parsed + polls \
         answered)."
            .to_string(),
    );
    parts.join(" ")
}

/// Lines explaining the gaps: failed points, failed models, unreadable results.
pub(crate) fn problems(sweep: &LoadedSweep) -> Vec<String> {
    let key = &sweep.manifest.key;
    let mut out = Vec::new();
    for p in &sweep.points {
        let at = format!("{key}={}", p.value);
        if let Some(problem) = &p.problem {
            out.push(format!("{at}: {problem}"));
        } else if p.results.is_none() {
            out.push(format!("{at}: not run"));
        }
        if let Some(r) = &p.results {
            for m in r.models.iter().filter(|m| !m.is_ok()) {
                out.push(format!("{at}, {}: {}", m.name, m.status));
            }
            for m in r.models.iter().filter(|m| m.is_ok() && m.driver.limited) {
                let why = &m.driver.limited_why;
                out.push(format!("{at}, {}: (drv) driver-limited: {why}", m.name));
            }
            for n in r.notes.iter().filter(|n| n.starts_with("interrupted")) {
                out.push(format!("{at}: {n}"));
            }
        }
    }
    out.extend(sweep.manifest.notes.iter().cloned());
    out
}

/// The Markdown table (rows = values; per model: CPU %, poll p99, watchdog p99) and the
/// list of problems under it.
pub fn markdown(sweep: &LoadedSweep) -> String {
    let models = sweep.models();
    let mut s = format!("| {} |", md_cell(&sweep.manifest.key));
    let mut rule = String::from("|---:|");
    for m in &models {
        for f in &FIGURES {
            s.push_str(&format!(" {} {} |", md_cell(m), f.label));
            rule.push_str("---:|");
        }
    }
    let crossings = cross::crossings(sweep);
    if crossings.judged {
        s.push_str(" crossed here (intervals apart) |");
        rule.push_str("---|");
    }
    s.push('\n');
    s.push_str(&rule);
    s.push('\n');
    for (p, point) in sweep.points.iter().enumerate() {
        s.push_str(&format!("| {} |", md_cell(&point.value)));
        for m in &models {
            for f in &FIGURES {
                s.push_str(&format!(" {} |", show_cell(sweep, p, m, f)));
            }
        }
        if crossings.judged {
            s.push_str(&format!(" {} |", md_cell(&crossed_here(&crossings, p))));
        }
        s.push('\n');
    }
    if !models.is_empty() {
        s.push_str(&format!("\n{}\n", legend(sweep, &crossings)));
    }
    if models.is_empty() {
        s.push_str("\nNo point has results yet.\n");
    }
    let problems = problems(sweep);
    if !problems.is_empty() {
        s.push_str("\nGaps and failures:\n\n");
        for line in problems {
            s.push_str(&format!("- {}\n", md_cell(&line)));
        }
    }
    s
}

/// Which model (index into `models`) has the lowest figure `k` at point `p`, among two or
/// more that have it. With rounds, only when its interval clears every other model's (a
/// lowest value inside the noise is no best); without rounds, the lowest value.
fn best_model(
    sweep: &LoadedSweep,
    p: usize,
    models: &[String],
    cells: &[Vec<Cell>],
    k: usize,
) -> Option<usize> {
    let vals: Vec<(usize, f64)> = (cells.iter().enumerate())
        .filter_map(|(mi, c)| match c[k] {
            Cell::Value(v) => Some((mi, v)),
            _ => None,
        })
        .collect();
    if vals.len() < 2 {
        return None;
    }
    let (lowest, _) = *vals.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let f = &FIGURES[k];
    let ivs: Vec<Option<Interval>> = (vals.iter())
        .map(|(mi, _)| interval(sweep, p, &models[*mi], f))
        .collect();
    if ivs.iter().all(Option::is_none) {
        return Some(lowest);
    }
    let mine = ivs[vals.iter().position(|(mi, _)| *mi == lowest)?]?;
    let clears = (vals.iter().zip(&ivs))
        .filter(|((mi, _), _)| *mi != lowest)
        .all(|(_, iv)| iv.is_some_and(|o| mine.hi < o.lo));
    clears.then_some(lowest)
}

/// The HTML table: a header row of models (a column per figure each), the lowest figure of
/// each row marked as best among the models that ran (with rounds: only when it is
/// clearly lowest).
pub fn html(sweep: &LoadedSweep) -> String {
    let models = sweep.models();
    let mut s = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    s.push_str(&format!(
        "<th rowspan=\"2\">{}</th>",
        esc(&sweep.manifest.key)
    ));
    for m in &models {
        s.push_str(&format!(
            "<th colspan=\"{}\">{}</th>",
            FIGURES.len(),
            esc(m)
        ));
    }
    let crossings = cross::crossings(sweep);
    if crossings.judged {
        s.push_str("<th rowspan=\"2\">crossed here (intervals apart)</th>");
    }
    s.push_str("</tr>\n<tr>");
    for _ in &models {
        for f in &FIGURES {
            s.push_str(&format!("<th>{}</th>", esc(f.label)));
        }
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for (p, point) in sweep.points.iter().enumerate() {
        s.push_str(&format!("<tr><th>{}</th>", esc(&point.value)));
        let cells: Vec<Vec<Cell>> = models
            .iter()
            .map(|m| FIGURES.iter().map(|f| cell(sweep, p, m, f)).collect())
            .collect();
        let best: Vec<Option<usize>> = (0..FIGURES.len())
            .map(|k| best_model(sweep, p, &models, &cells, k))
            .collect();
        for (mi, row) in cells.iter().enumerate() {
            for (k, (c, f)) in row.iter().zip(&FIGURES).enumerate() {
                let class = match c {
                    Cell::Value(_) if best[k] == Some(mi) => " class=\"best\"",
                    Cell::Failed => " class=\"bad\"",
                    Cell::DriverLimited(_) => " class=\"limited\"",
                    _ => "",
                };
                let text = show_cell(sweep, p, &models[mi], f);
                s.push_str(&format!("<td{class}>{}</td>", esc(&text)));
            }
        }
        if crossings.judged {
            s.push_str(&format!("<td>{}</td>", esc(&crossed_here(&crossings, p))));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    if !models.is_empty() {
        s.push_str(&format!(
            "<p class=\"small\">{}</p>\n",
            esc(&legend(sweep, &crossings).replace('`', ""))
        ));
    }
    let problems = problems(sweep);
    if !problems.is_empty() {
        s.push_str("<ul class=\"warn\">");
        for line in problems {
            s.push_str(&format!("<li>{}</li>", esc(&line)));
        }
        s.push_str("</ul>\n");
    }
    s
}

/// For the terminal: one aligned table per figure (rows = values, columns = models).
pub fn text(sweep: &LoadedSweep) -> String {
    let models = sweep.models();
    let mut s = String::new();
    for f in &FIGURES {
        s.push_str(&format!("\n{}\n", f.title));
        let mut rows: Vec<Vec<String>> = vec![std::iter::once(sweep.manifest.key.clone())
            .chain(models.iter().cloned())
            .collect()];
        for (p, point) in sweep.points.iter().enumerate() {
            rows.push(
                std::iter::once(point.value.clone())
                    .chain(models.iter().map(|m| show_cell(sweep, p, m, f)))
                    .collect(),
            );
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:>w$}"))
                .collect();
            s.push_str(line.join("  ").trim_end());
            s.push('\n');
        }
    }
    let problems = problems(sweep);
    if !problems.is_empty() {
        s.push_str("\ngaps and failures:\n");
        for line in problems {
            s.push_str(&format!("  {line}\n"));
        }
    }
    s
}
