//! CPU % against the events each model actually served per second, one colour per model,
//! with its fitted line (fixed + marginal × events/s): the picture behind the cost table.
//! Points the fit left out (driver-limited, not coping) are drawn hollow, so a reader
//! sees both what the line was fitted to and what it was not.

use plotters::prelude::*;

use crate::render::chart::{self, err, LegendEntry};

use super::cost::{self, events, ModelFit};
use super::manifest::LoadedSweep;
use super::plot::{HEIGHT, WIDTH};

/// One model's points: (events/s, CPU %, used by the fit).
fn points(sweep: &LoadedSweep, fit: &ModelFit) -> Vec<(f64, f64, bool)> {
    (sweep.points.iter())
        .filter_map(|p| {
            let m = p.results.as_ref()?.model(&fit.model)?;
            let e = events(m).filter(|_| m.is_ok() && m.cpu.percent.is_finite())?;
            let used = !fit.left_out.iter().any(|(v, _)| *v == p.value);
            Some((e.per_s(), m.cpu.percent, used))
        })
        .collect()
}

/// The SVG, or None when no model has a point with an event count.
pub fn plot(sweep: &LoadedSweep) -> anyhow::Result<Option<String>> {
    let models = sweep.models();
    let fits = cost::fits(sweep);
    let per_model: Vec<Vec<(f64, f64, bool)>> = fits.iter().map(|f| points(sweep, f)).collect();
    let all: Vec<(f64, f64)> = per_model.iter().flatten().map(|p| (p.0, p.1)).collect();
    if all.is_empty() {
        return Ok(None);
    }
    let x_hi = all.iter().map(|p| p.0).fold(0.0, f64::max).max(1.0) * 1.08;
    let y_hi = all.iter().map(|p| p.1).fold(0.0, f64::max).max(0.1) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (area, legend_area) = root.split_horizontally(WIDTH - chart::LEGEND_WIDTH);
        let label_style = (chart::FONT, chart::LABEL_SIZE);
        let mut c = ChartBuilder::on(&area)
            .caption(
                "CPU against the work served, with each model's fitted line",
                (chart::FONT, chart::TITLE_SIZE),
            )
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_hi, 0.0..y_hi)
            .map_err(err)?;
        c.configure_mesh()
            .disable_x_mesh()
            .x_desc("events served per second (frames parsed + polls answered)")
            .y_desc("CPU % of one core")
            .label_style(label_style)
            .axis_desc_style(label_style)
            .draw()
            .map_err(err)?;
        let mut legend = Vec::new();
        for (f, pts) in fits.iter().zip(&per_model) {
            let Some(index) = models.iter().position(|m| *m == f.model) else {
                continue;
            };
            let colour = chart::color(index);
            legend.push(LegendEntry::model(index, &f.model));
            for &(x, y, used) in pts {
                let style = if used {
                    colour.filled()
                } else {
                    colour.stroke_width(2)
                };
                c.draw_series(std::iter::once(Circle::new((x, y), 5, style)))
                    .map_err(err)?;
            }
            if let Some(fit) = &f.fit {
                let used: Vec<f64> = pts.iter().filter(|p| p.2).map(|p| p.0).collect();
                let lo = used.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = used.iter().cloned().fold(0.0, f64::max);
                let line =
                    |x: f64| fit.fixed_percent.value + fit.marginal_percent_per_1k.value * x / 1e3;
                if lo.is_finite() && hi > lo {
                    chart::draw_line(
                        c.plotting_area(),
                        [(lo, line(lo)), (hi, line(hi))],
                        colour.stroke_width(2),
                    )?;
                }
            }
        }
        if per_model.iter().flatten().any(|p| !p.2) {
            legend.push(super::plot::note_entry(
                "hollow: left out of the fit",
                Some(chart::Marker::Circle),
            ));
        }
        chart::draw_legend(&legend_area, &legend)?;
        root.present().map_err(err)?;
    }
    Ok(Some(svg))
}
