//! CPU over time, one line per model: the seed's CPU meter, done right (the child process's
//! own CPU, sampled during the measured window, all models on one time axis).
//!
//! When one model costs far more than the rest (rayon's spinning workers do), a linear axis
//! would flatten every other line onto zero, so the y axis turns logarithmic and says so.

use plotters::prelude::*;

use crate::metrics::results::Results;
use crate::render::chart::{self, err, LegendEntry};

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 460;

/// Lowest CPU % drawn on a log axis; a sample of 0 % is drawn there.
const LOG_FLOOR_PERCENT: f64 = 0.01;

/// The SVG, or `None` when no model has a CPU series.
pub fn plot(results: &Results) -> anyhow::Result<Option<String>> {
    let series: Vec<chart::Line> = results
        .models
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.cpu.series.is_empty())
        .map(|(i, m)| {
            let pts = m
                .cpu
                .series
                .iter()
                .filter(|s| s.t_s.is_finite() && s.percent.is_finite())
                .map(|s| (s.t_s, s.percent.max(0.0)))
                .collect();
            (i, m.name.as_str(), pts)
        })
        .collect();
    if series.iter().all(|s| s.2.is_empty()) {
        return Ok(None);
    }
    let all = || series.iter().flat_map(|s| s.2.iter());
    let t_max = all().map(|p| p.0).fold(0.0, f64::max).max(1e-3);
    let y_max = all().map(|p| p.1).fold(0.0, f64::max).max(0.1);
    let medians: Vec<f64> = series.iter().filter_map(|s| median(&s.2)).collect();
    let lo = medians.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = medians.iter().cloned().fold(0.0, f64::max);
    let log = lo > 0.0 && hi / lo > 8.0;

    chart::svg((WIDTH, HEIGHT), |root| {
        let (plot_area, legend_area) = root.split_horizontally(WIDTH - chart::LEGEND_WIDTH);
        let title = "CPU over time (model's child process, % of one core)";
        let mut builder = ChartBuilder::on(&plot_area);
        builder
            .caption(title, (chart::FONT, chart::TITLE_SIZE))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64);
        let x_desc = "time since the measured window began (s)";
        if log {
            let y_lo = all()
                .map(|p| p.1)
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min)
                .max(LOG_FLOOR_PERCENT)
                / 1.5;
            let mut c = builder
                .build_cartesian_2d(0.0..t_max, (y_lo..y_max * 1.5).log_scale())
                .map_err(err)?;
            chart::draw_mesh(
                chart::log_y_axis(&mut c.configure_mesh())
                    .x_desc(x_desc)
                    .y_desc("CPU % of one core (log scale)"),
                chart::LABEL_SIZE,
            )?;
            for (i, _, pts) in &series {
                let pts: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1.max(y_lo))).collect();
                chart::draw_line(c.plotting_area(), pts, chart::color(*i).stroke_width(2))?;
            }
        } else {
            let mut c = builder
                .build_cartesian_2d(0.0..t_max, 0.0..y_max * 1.1)
                .map_err(err)?;
            chart::draw_mesh(
                c.configure_mesh()
                    .x_desc(x_desc)
                    .y_desc("CPU % of one core"),
                chart::LABEL_SIZE,
            )?;
            for (i, _, pts) in &series {
                chart::draw_line(
                    c.plotting_area(),
                    pts.iter().cloned(),
                    chart::color(*i).stroke_width(2),
                )?;
            }
        }
        let legend: Vec<LegendEntry> = series
            .iter()
            .map(|(i, name, _)| LegendEntry {
                marker: None,
                ..LegendEntry::model(*i, name)
            })
            .collect();
        chart::draw_legend(&legend_area, &legend)
    })
    .map(Some)
}

fn median(pts: &[(f64, f64)]) -> Option<f64> {
    crate::metrics::rounds::median(&pts.iter().map(|p| p.1).collect::<Vec<f64>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;

    #[test]
    fn one_line_per_model_and_log_axis_when_one_model_dominates() {
        let r = fabricate_results(3);
        let svg = plot(&r).unwrap().unwrap();
        assert!(svg.starts_with("<svg"));
        // Each model's colour strokes its line and its legend swatch.
        for i in 0..r.models.len() {
            let c = chart::color(i);
            let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
            assert!(svg.matches(&stroke).count() >= 2, "model {i}");
        }
        assert!(
            svg.contains("log scale"),
            "rayon at 18 % vs ~1 % needs a log axis"
        );
        for m in &r.models {
            assert!(svg.contains(&m.name));
        }
    }

    #[test]
    fn no_series_means_no_plot() {
        let mut r = fabricate_results(3);
        for m in &mut r.models {
            m.cpu.series.clear();
        }
        assert!(plot(&r).unwrap().is_none());
    }
}
