//! The sweep as tables: rows are the knob's values, and for each model its CPU %, poll p99
//! and watchdog p99 — Markdown for `sweep.md` and CI comments, HTML for `sweep.html`, and one
//! narrow aligned table per figure for the terminal (24 columns do not fit a terminal).

use crate::metrics::results::ModelResult;
use crate::report::format::{esc, md_cell, sig3, us};

use super::manifest::LoadedSweep;

/// A figure shown per model and value.
pub struct Figure {
    /// Short column label, e.g. `poll p99`.
    pub label: &'static str,
    /// Longer title for the terminal table.
    pub title: &'static str,
    pub get: fn(&ModelResult) -> Option<f64>,
    /// True when the figure is in µs (else it is a CPU %).
    pub micros: bool,
}

fn cpu(m: &ModelResult) -> Option<f64> {
    Some(m.cpu.percent).filter(|v| v.is_finite())
}

fn poll_p99(m: &ModelResult) -> Option<f64> {
    (m.poll_latency.count > 0).then_some(m.poll_latency.p99 as f64)
}

fn watchdog_p99(m: &ModelResult) -> Option<f64> {
    (m.watchdog_lateness.count > 0).then_some(m.watchdog_lateness.p99 as f64)
}

/// The figures of the tables, in column order.
pub const FIGURES: [Figure; 3] = [
    Figure {
        label: "CPU %",
        title: "CPU % of one core (model's process)",
        get: cpu,
        micros: false,
    },
    Figure {
        label: "poll p99",
        title: "poll latency p99 (intended send → answer)",
        get: poll_p99,
        micros: true,
    },
    Figure {
        label: "watchdog p99",
        title: "watchdog lateness p99 (wake-up − deadline)",
        get: watchdog_p99,
        micros: true,
    },
];

/// What one cell holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Value(f64),
    /// A poll figure measured while the driver was the limit (`driver.limited`): shown, but
    /// marked, never called best, and left out of growth (it is not the model's).
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
pub fn cell(sweep: &LoadedSweep, p: usize, model: &str, figure: &Figure) -> Cell {
    let Some(r) = &sweep.points[p].results else {
        return Cell::Missing;
    };
    match r.model(model) {
        None => Cell::Missing,
        Some(m) if m.status.starts_with("interrupted") => Cell::Interrupted,
        Some(m) if !m.is_ok() => Cell::Failed,
        Some(m) if m.driver.limited && figure.label == "poll p99" => {
            (figure.get)(m).map_or(Cell::NoData, Cell::DriverLimited)
        }
        Some(m) => (figure.get)(m).map_or(Cell::NoData, Cell::Value),
    }
}

fn show(c: &Cell, figure: &Figure) -> String {
    match c {
        Cell::Value(v) if figure.micros => us(v.round() as u64),
        Cell::Value(v) => format!("{} %", sig3(*v)),
        Cell::DriverLimited(v) => format!("{} (drv)", us(v.round() as u64)),
        Cell::Failed => "failed".into(),
        Cell::Interrupted => "interrupted".into(),
        Cell::NoData => "n/a".into(),
        Cell::Missing => "—".into(),
    }
}

/// Lines explaining the gaps: failed points, failed models, unreadable results.
pub fn problems(sweep: &LoadedSweep) -> Vec<String> {
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
    s.push('\n');
    s.push_str(&rule);
    s.push('\n');
    for (p, point) in sweep.points.iter().enumerate() {
        s.push_str(&format!("| {} |", md_cell(&point.value)));
        for m in &models {
            for f in &FIGURES {
                s.push_str(&format!(" {} |", show(&cell(sweep, p, m, f), f)));
            }
        }
        s.push('\n');
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

/// The HTML table: a header row of models (three columns each), the lowest figure of each
/// row marked as best among the models that ran.
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
        let best: Vec<Option<f64>> = (0..FIGURES.len())
            .map(|k| {
                let vals: Vec<f64> = cells
                    .iter()
                    .filter_map(|c| match c[k] {
                        Cell::Value(v) => Some(v),
                        _ => None,
                    })
                    .collect();
                (vals.len() > 1).then(|| vals.iter().cloned().fold(f64::INFINITY, f64::min))
            })
            .collect();
        for row in &cells {
            for (k, (c, f)) in row.iter().zip(&FIGURES).enumerate() {
                let class = match c {
                    Cell::Value(v) if Some(*v) == best[k] => " class=\"best\"",
                    Cell::Failed => " class=\"bad\"",
                    Cell::DriverLimited(_) => " class=\"limited\"",
                    _ => "",
                };
                s.push_str(&format!("<td{class}>{}</td>", esc(&show(c, f))));
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
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
                    .chain(models.iter().map(|m| show(&cell(sweep, p, m, f), f)))
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
