//! A vs B as pictures: for one metric, a small panel per model with both runs' percentile
//! curves on the "nines" axis (A dashed grey, B in the model's colour). A shift of the whole
//! distribution and a change in the tail only look alike in a table; here they do not.

use plotters::prelude::*;

use super::plot_latency::{curve, nines_axes};
use crate::metrics::results::Results;
use crate::render::chart::{self, err};

pub const WIDTH: u32 = 1000;
const PANEL_HEIGHT: u32 = 220;
const HEADER: u32 = 64;

/// The SVG comparing `metric` between `a` and `b` for the models both have, or `None` when no
/// such model recorded the metric in both runs.
pub fn plot(a: &Results, b: &Results, metric: &str, title: &str) -> anyhow::Result<Option<String>> {
    let mut panels = Vec::new();
    for (i, mb) in b.models.iter().enumerate() {
        let Some(ma) = a.model(&mb.name) else {
            continue;
        };
        let (Some(sa), Some(sb)) = (ma.metric(metric), mb.metric(metric)) else {
            continue;
        };
        if sa.count == 0 || sb.count == 0 {
            continue;
        }
        let (ca, cb) = (curve(&sa.histogram()?), curve(&sb.histogram()?));
        if !ca.is_empty() && !cb.is_empty() {
            panels.push((i, mb.name.as_str(), ca, cb));
        }
    }
    if panels.is_empty() {
        return Ok(None);
    }
    let all = || panels.iter().flat_map(|p| p.2.iter().chain(p.3.iter()));
    let x_max = all().map(|p| p.0).fold(1.0, f64::max).ceil();
    let y_lo = all().map(|p| p.1).fold(f64::INFINITY, f64::min).max(0.001) / 1.5;
    let y_hi = all().map(|p| p.1).fold(0.0, f64::max).max(y_lo * 10.0) * 1.5;

    let grid = chart::PanelGrid {
        width: WIDTH,
        header_height: HEADER,
        panel_height: PANEL_HEIGHT,
        title,
        note: "A dashed grey, B solid in the model's colour; x: percentile (nines), y: ms (log)",
    };
    grid.svg(panels.len(), |k, area| {
        let (i, name, ca, cb) = &panels[k];
        let mut c = ChartBuilder::on(area)
            .caption(
                chart::truncate(name, 30),
                (chart::FONT, chart::PANEL_TITLE_SIZE),
            )
            .margin(8)
            .margin_right(28)
            .x_label_area_size(30)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..x_max, (y_lo..y_hi).log_scale())
            .map_err(err)?;
        chart::draw_mesh(
            nines_axes(&mut c.configure_mesh(), x_max).y_desc("ms"),
            chart::PANEL_LABEL_SIZE,
        )?;
        c.draw_series(DashedLineSeries::new(
            ca.iter().cloned(),
            6,
            4,
            RGBColor(110, 110, 110).stroke_width(2),
        ))
        .map_err(err)?;
        chart::draw_line(
            c.plotting_area(),
            cb.iter().cloned(),
            chart::color(*i).stroke_width(2),
        )?;
        Ok(())
    })
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::{fabricate_results, fabricate_results_with};

    #[test]
    fn one_panel_per_shared_model() {
        let a = fabricate_results(1);
        let b = fabricate_results_with(2, &["smol", "coop", "newcomer"], 4.0);
        let svg = plot(&a, &b, "poll_latency", "Poll latency, A vs B")
            .unwrap()
            .unwrap();
        assert!(svg.contains(">\nsmol\n<") && svg.contains(">\ncoop\n<"));
        assert!(!svg.contains("newcomer"), "only in B: nothing to compare");
        let none = fabricate_results_with(3, &["newcomer"], 4.0);
        assert!(plot(&a, &none, "poll_latency", "x").unwrap().is_none());
    }
}
