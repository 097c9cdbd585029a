//! The trend view of the history: headline figures across runs, one line per model, as a
//! self-contained `history.html` with inline SVG (plus each plot as its own `.svg`). Where a
//! run had rounds, each point carries its interval over them as a shaded band (and a bar), so
//! a move of the line that stays inside the bands is visibly noise.

use std::path::{Path, PathBuf};

use anyhow::Result;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{column_name, RunRow};
use crate::metrics::figures::{self, Figure, Unit};
use crate::metrics::results::write_atomic;
use crate::render::chart::{self, err, LegendEntry};
use crate::render::figures::show;
use crate::render::format::{esc, short_commit, utc};
use crate::render::page;

/// Figures plotted across runs: the registry's [`figures::TREND`].
pub use figures::TREND as TREND_FIGURES;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 420;

/// Model names in first-seen order: a model keeps its colour in every trend plot.
pub(crate) fn model_names(runs: &[RunRow]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in runs {
        for m in &r.models {
            if !names.contains(&m.model) {
                names.push(m.model.clone());
            }
        }
    }
    names
}

/// The trend of figure `f` as SVG, or `None` when no run has the figure.
pub(crate) fn plot(runs: &[RunRow], f: &Figure) -> Result<Option<String>> {
    let names = model_names(runs);
    let is_micros = f.unit == Unit::Micros;
    let scale = if is_micros { 1000.0 } else { 1.0 };
    let lines: Vec<chart::Line> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let pts: Vec<(f64, f64)> = runs
                .iter()
                .enumerate()
                .filter_map(|(x, r)| {
                    let m = r.models.iter().find(|m| &m.model == name)?;
                    if !m.status.is_ok() {
                        return None;
                    }
                    m.get(f).filter(|v| *v > 0.0).map(|v| (x as f64, v / scale))
                })
                .collect();
            (i, name.as_str(), pts)
        })
        .filter(|l| !l.2.is_empty())
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let bands: Vec<(usize, Vec<Band>)> = lines
        .iter()
        .map(|(i, name, _)| (*i, bands_of(runs, name, f, scale)))
        .collect();
    let all = || lines.iter().flat_map(|l| l.2.iter());
    let band_values = || {
        bands
            .iter()
            .flat_map(|b| b.1.iter().flat_map(|p| [p.1, p.2]))
    };
    let lo = all()
        .map(|p| p.1)
        .chain(band_values())
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let hi = all().map(|p| p.1).chain(band_values()).fold(0.0, f64::max);
    let x_hi = (runs.len().max(2) - 1) as f64;
    let unit = if is_micros {
        format!("{} (ms)", f.label)
    } else if f.unit == Unit::CpuPercent {
        "CPU % of one core".to_string()
    } else {
        f.label.to_string()
    };
    let title = format!("{} across runs", f.label);
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let x_label = |x: &f64| {
        let r = x.round();
        if (x - r).abs() > 1e-6 || r < 0.0 {
            return String::new();
        }
        ids.get(r as usize)
            .map(|id| format!("#{id}"))
            .unwrap_or_default()
    };
    chart::svg((WIDTH, HEIGHT), |root| {
        let (area, legend_area) = root.split_horizontally(WIDTH - chart::LEGEND_WIDTH);
        let mut builder = ChartBuilder::on(&area);
        builder
            .caption(&title, (chart::FONT, chart::TITLE_SIZE))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64);
        let x_range = -0.2..x_hi + 0.2;
        let x_axis = (runs.len().clamp(2, 12), &x_label as &dyn Fn(&f64) -> String);
        if lo > 0.0 && hi / lo > 8.0 {
            let c = builder
                .build_cartesian_2d(x_range, (lo / 1.5..hi * 1.5).log_scale())
                .map_err(err)?;
            draw_trend(
                c,
                true,
                x_axis,
                format!("{unit} (log scale)"),
                &bands,
                &lines,
            )?;
        } else {
            let c = builder
                .build_cartesian_2d(x_range, 0.0..hi * 1.15)
                .map_err(err)?;
            draw_trend(c, false, x_axis, unit.clone(), &bands, &lines)?;
        }
        let legend: Vec<LegendEntry> = lines
            .iter()
            .map(|(i, name, _)| LegendEntry::model(*i, name))
            .collect();
        chart::draw_legend(&legend_area, &legend)
    })
    .map(Some)
}

/// The axes and series of a trend plot, the same on a log y axis (`log`) and a linear one:
/// x is the run (`x_axis`: how many labels, and the label of a position), each model's
/// bands under its line.
fn draw_trend<DB, Y>(
    mut c: ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    log: bool,
    x_axis: (usize, &dyn Fn(&f64) -> String),
    y_desc: String,
    bands: &[(usize, Vec<Band>)],
    lines: &[chart::Line],
) -> Result<()>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = c.configure_mesh();
    mesh.x_labels(x_axis.0)
        .x_label_formatter(x_axis.1)
        .x_desc("run (oldest → newest)")
        .y_desc(y_desc);
    if log {
        chart::log_y_axis(&mut mesh);
    }
    chart::draw_mesh(&mut mesh, chart::LABEL_SIZE)?;
    let area = c.plotting_area();
    // Bands: a translucent area over each stretch of consecutive runs with intervals, and a
    // bar at every point (a lone point has no area to fill); under every line.
    for (i, band) in bands {
        let col = chart::color(*i);
        for stretch in stretches(band).into_iter().filter(|s| s.len() > 1) {
            let mut outline: Vec<(f64, f64)> = stretch.iter().map(|b| (b.0, b.2)).collect();
            outline.extend(stretch.iter().rev().map(|b| (b.0, b.1)));
            area.draw(&Polygon::new(outline, col.mix(0.15).filled()))
                .map_err(err)?;
        }
        for b in band {
            area.draw(&PathElement::new(
                vec![(b.0, b.1), (b.0, b.2)],
                col.mix(0.6).stroke_width(1),
            ))
            .map_err(err)?;
        }
    }
    for (i, _, pts) in lines {
        let col = chart::color(*i);
        area.draw(&PathElement::new(pts.to_vec(), col.stroke_width(2)))
            .map_err(err)?;
        for p in pts {
            chart::draw_marker(area, chart::marker(*i), *p, col)?;
        }
    }
    Ok(())
}

/// One point's interval over its run's rounds: (x, lo, hi), in the plot's units.
type Band = (f64, f64, f64);

/// Model `name`'s intervals of figure `f`, run by run (ok rows with an interval only).
fn bands_of(runs: &[RunRow], name: &str, f: &Figure, scale: f64) -> Vec<Band> {
    runs.iter()
        .enumerate()
        .filter_map(|(x, r)| {
            let m = r.models.iter().find(|m| m.model == name)?;
            if !m.status.is_ok() {
                return None;
            }
            let (lo, hi) = m.interval(f)?;
            (lo > 0.0 && hi >= lo).then(|| (x as f64, lo / scale, hi / scale))
        })
        .collect()
}

/// The stretches of consecutive runs in `band` (a gap in the runs ends a stretch).
fn stretches(band: &[Band]) -> Vec<&[Band]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < band.len() {
        let mut end = start + 1;
        while end < band.len() && band[end].0 - band[end - 1].0 == 1.0 {
            end += 1;
        }
        out.push(&band[start..end]);
        start = end;
    }
    out
}

/// The runs as an HTML table (one row per run and model).
pub(crate) fn table_html(runs: &[RunRow]) -> String {
    let mut s = String::from(
        "<div class=\"scroll\"><table class=\"summary\"><thead><tr><th>run</th><th>started</th>\
         <th>commit</th><th>scenario</th><th>model</th>",
    );
    for f in TREND_FIGURES {
        s.push_str(&format!("<th>{}</th>", esc(f.label)));
    }
    s.push_str("<th>status</th><th>results</th></tr></thead><tbody>\n");
    for r in runs.iter().rev() {
        for m in &r.models {
            s.push_str(&format!(
                "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><th scope=\"row\">{}</th>",
                r.id,
                esc(&utc(r.started_unix)),
                esc(&short_commit(r.commit.as_deref())),
                esc(&r.scenario),
                esc(&m.model)
            ));
            for f in TREND_FIGURES {
                let cell = match m.interval(f) {
                    Some((lo, hi)) => format!(
                        "{} [{}, {}]",
                        show(f, m.get(f)),
                        show(f, Some(lo)),
                        show(f, Some(hi))
                    ),
                    None => show(f, m.get(f)),
                };
                s.push_str(&format!("<td>{}</td>", esc(&cell)));
            }
            s.push_str(&format!(
                "<td>{}</td><td><code>{}</code></td></tr>\n",
                esc(&m.status.to_string()),
                esc(&m.results_path)
            ));
        }
    }
    s.push_str("</tbody></table></div>\n");
    s
}

/// Writes `history.html` and one `history_<figure>.svg` per plotted figure into `out_dir`;
/// returns the page's path.
pub(crate) fn write_html(runs: &[RunRow], db: &Path, out_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out_dir)?;
    let mut body = String::from("<h1>esbench history</h1>\n");
    body.push_str(&format!(
        "<p class=\"sub\">{} runs from <code>{}</code>. Failed models are left out of the \
         plots. Figures are defined in the report's \"how to read this\". A shaded band \
         (and a bar) around a point is the interval of that figure's median over the run's \
         rounds (95 %; with fewer than 5 rounds only their range); a run measured without \
         rounds has none. A move of the line that stays inside the bands is noise.</p>\n",
        runs.len(),
        esc(&db.display().to_string())
    ));
    if runs.is_empty() {
        body.push_str("<p class=\"warn\">No runs match.</p>\n");
    }
    // A trend only means something within one scenario: plot each scenario on its own.
    let mut scenarios: Vec<&str> = Vec::new();
    for r in runs {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    for (n, scenario) in scenarios.iter().enumerate() {
        let these: Vec<RunRow> = runs
            .iter()
            .filter(|r| r.scenario == *scenario)
            .cloned()
            .collect();
        body.push_str(&format!(
            "<h2>Scenario {} ({} runs)</h2>\n",
            esc(scenario),
            these.len()
        ));
        for f in TREND_FIGURES {
            let key = column_name(f);
            if let Some(svg) = plot(&these, f)? {
                let file = if scenarios.len() == 1 {
                    format!("history_{key}.svg")
                } else {
                    format!("history_{}_{key}.svg", n + 1)
                };
                write_atomic(&out_dir.join(&file), svg.as_bytes())?;
                body.push_str(&format!(
                    "<figure>{svg}<figcaption><a href=\"{file}\">{file}</a></figcaption></figure>\n"
                ));
            }
        }
    }
    body.push_str("<h2>Runs, newest first</h2>\n");
    body.push_str(&table_html(runs));
    let path = out_dir.join("history.html");
    write_atomic(&path, page::document("esbench history", &body).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record_run;
    use crate::history::tests::{all_runs, scratch_db};
    use crate::metrics::fixture::{add_rounds, fabricate_results, FIXTURE_MODELS};

    #[test]
    fn trend_page_has_a_plot_per_figure_and_a_row_per_model_run() {
        let (dir, db) = scratch_db("h.sqlite");
        for seed in 1..=3 {
            record_run(&db, &fabricate_results(seed), Path::new("r.json")).unwrap();
        }
        let runs = all_runs(&db);
        let page = write_html(&runs, &db, &dir.path().join("out")).unwrap();
        let html = std::fs::read_to_string(page).unwrap();
        assert_eq!(html.matches("<svg").count(), TREND_FIGURES.len());
        assert_eq!(html.matches("<tr><td>#").count(), 3 * FIXTURE_MODELS.len());
        assert!(html.contains("#3"));
        assert!(dir.path().join("out/history_poll_p99.svg").exists());

        // Two scenarios: plotted apart, never on one line.
        let mut other = fabricate_results(9);
        other.scenario.name = "stress".into();
        record_run(&db, &other, Path::new("s.json")).unwrap();
        let runs = all_runs(&db);
        let page = write_html(&runs, &db, &dir.path().join("out2")).unwrap();
        let html = std::fs::read_to_string(page).unwrap();
        assert_eq!(html.matches("<svg").count(), 2 * TREND_FIGURES.len());
        assert!(html.contains("Scenario stress (1 runs)"));
        assert!(dir.path().join("out2/history_2_poll_p99.svg").exists());
    }

    #[test]
    fn runs_with_rounds_get_a_band_and_runs_without_none() {
        let (_dir, db) = scratch_db("h.sqlite");
        // Two runs from before rounds, then three with rounds.
        for seed in 1..=5 {
            let mut r = fabricate_results(seed);
            if seed > 2 {
                add_rounds(&mut r, 6, seed, 0.1);
            }
            record_run(&db, &r, Path::new("r.json")).unwrap();
        }
        let runs = all_runs(&db);
        let svg = plot(&runs, &figures::CPU_PERCENT).unwrap().unwrap();
        // One area per model over the three runs with rounds.
        let areas = |svg: &str| svg.matches("<polygon opacity=\"0.15\"").count();
        assert_eq!(areas(&svg), FIXTURE_MODELS.len());
        // The old runs alone: no band.
        let old = plot(&runs[..2], &figures::CPU_PERCENT).unwrap().unwrap();
        assert_eq!(areas(&old), 0);
        // Figures rounds do not keep have no band either.
        let p999 = bands_of(&runs, "smol", &figures::POLL_LATENCY_P999, 1000.0);
        assert!(p999.is_empty());
        let cpu = bands_of(&runs, "smol", &figures::CPU_PERCENT, 1.0);
        assert_eq!(cpu.iter().map(|b| b.0).collect::<Vec<_>>(), [2.0, 3.0, 4.0]);
        assert!(cpu.iter().all(|b| b.1 <= b.2));
        let html = table_html(&runs);
        assert!(html.contains(" ["), "intervals in the table");
    }
}
