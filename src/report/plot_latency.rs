//! Latency percentile distributions, HdrHistogram style: the x axis is the "nines" of the
//! percentile (log scale of 1/(1−q): 90 %, 99 %, 99.9 % equally spaced), the y axis is the
//! latency on a log scale, one line per model and the floor dashed for reference. The tail
//! gets as much room as the median, which is where models differ.

use hdrhistogram::Histogram;
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::metrics::results::Results;
use crate::metrics::summary::Summary;
use crate::render::chart::{self, err, LegendEntry};

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 480;

/// The deepest percentile drawn: 99.9999 %.
const MAX_NINES: f64 = 6.0;
/// Marked percentiles: p50, p90, p99, p99.9.
const MARKED: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// What a plot of one metric is called and what its floor is.
pub struct MetricPlot {
    pub metric: &'static str,
    pub title: &'static str,
    pub floor_label: &'static str,
}

/// The metrics plotted, in report order. Watchdog lateness is a timer wake-up, so its floor
/// is the reference timer's lateness; the figures timed by the driver have the driver's own
/// send error; staleness excess (a difference of frame times) has none (empty label).
pub const METRIC_PLOTS: [MetricPlot; 7] = [
    MetricPlot {
        metric: "poll_latency",
        title: "Poll latency, every planned slot (intended send → answer that freed the client)",
        floor_label: "floor: driver send error",
    },
    MetricPlot {
        metric: "poll_service",
        title: "Poll service time (actual send → answer read)",
        floor_label: "floor: driver send error",
    },
    MetricPlot {
        metric: "staleness",
        title: "Staleness (frame written → served in a poll answer)",
        floor_label: "floor: driver send error",
    },
    MetricPlot {
        metric: "staleness_excess",
        title: "Staleness excess (newest frame complete at send → frame served)",
        floor_label: "",
    },
    MetricPlot {
        metric: "ingest_latency",
        title: "Ingest latency (frame written → parsed by the bridge)",
        floor_label: "floor: driver send error",
    },
    MetricPlot {
        metric: "command_latency",
        title: "Command latency (intended send → written to the board)",
        floor_label: "floor: driver send error",
    },
    MetricPlot {
        metric: "watchdog_lateness",
        title: "Watchdog timer lateness (wake-up − deadline)",
        floor_label: "floor: idle timer lateness",
    },
];

/// The nines of quantile `q`: log10(1/(1−q)).
pub fn nines(q: f64) -> f64 {
    if q >= 1.0 {
        MAX_NINES
    } else {
        (1.0 / (1.0 - q)).log10().min(MAX_NINES)
    }
}

/// `90%`, `99%`, `99.9%` … for integer nines; other ticks stay unlabelled.
pub fn nines_label(x: &f64) -> String {
    let r = x.round();
    if (x - r).abs() > 1e-6 || r < 0.0 {
        return String::new();
    }
    let q = 100.0 * (1.0 - 10f64.powf(-r));
    let digits = (r as usize).saturating_sub(2);
    format!("{q:.digits$}%")
}

/// The percentile curve of `h` in (nines, milliseconds), ending at the max; the x reach is
/// limited by the sample count (a percentile beyond 1 − 1/n is just the max).
pub fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let reach = (h.len() as f64).log10().clamp(0.5, MAX_NINES);
    let steps = (reach / 0.02).ceil() as usize;
    let mut pts: Vec<(f64, f64)> = (0..=steps)
        .map(|k| {
            let x = (k as f64 * 0.02).min(reach);
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q).max(1) as f64 / 1000.0)
        })
        .collect();
    pts.push((reach, h.max().max(1) as f64 / 1000.0));
    pts
}

/// The axes of a percentile plot: x in nines up to `x_max` (a label on each whole nine), y in
/// milliseconds on a log scale (the A-vs-B panels use the same).
pub fn nines_axes<'m, 'a, 'b, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, RangedCoordf64, LogCoord<f64>, DB>,
    x_max: f64,
) -> &'m mut MeshStyle<'a, 'b, RangedCoordf64, LogCoord<f64>, DB> {
    chart::log_y_axis(
        mesh.x_labels(x_max as usize + 1)
            .x_label_formatter(&nines_label),
    )
}

/// The SVG for one metric, or `None` when no model recorded it.
pub fn plot(results: &Results, mp: &MetricPlot) -> anyhow::Result<Option<String>> {
    let mut curves = Vec::new();
    for (i, m) in results.models.iter().enumerate() {
        let Some(s) = m.metric(mp.metric) else {
            continue;
        };
        if s.count == 0 {
            continue;
        }
        // A summary without its histogram (count but no `hist`) has nothing to draw.
        let c = curve(&s.histogram()?);
        if !c.is_empty() {
            curves.push((i, m.name.as_str(), c));
        }
    }
    if curves.is_empty() {
        return Ok(None);
    }
    let floor: &Summary = if mp.metric == "watchdog_lateness" {
        &results.floor.timer_lateness
    } else {
        &results.floor.driver_error
    };
    let floor_curve = if floor.count > 0 && !mp.floor_label.is_empty() {
        curve(&floor.histogram()?)
    } else {
        Vec::new()
    };
    let all = || {
        curves
            .iter()
            .flat_map(|c| c.2.iter())
            .chain(floor_curve.iter())
    };
    let x_max = all().map(|p| p.0).fold(1.0, f64::max).ceil().min(MAX_NINES);
    let y_lo = all().map(|p| p.1).fold(f64::INFINITY, f64::min).max(0.001) / 1.5;
    let y_hi = all().map(|p| p.1).fold(0.0, f64::max).max(y_lo * 10.0) * 1.5;

    chart::svg((WIDTH, HEIGHT), |root| {
        let (plot_area, legend_area) = root.split_horizontally(WIDTH - chart::LEGEND_WIDTH);
        let mut c = ChartBuilder::on(&plot_area)
            .caption(mp.title, (chart::FONT, chart::TITLE_SIZE))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, (y_lo..y_hi).log_scale())
            .map_err(err)?;
        chart::draw_mesh(
            nines_axes(&mut c.configure_mesh(), x_max)
                .x_desc("percentile (log scale of 1/(1−q): the tail gets equal room)")
                .y_desc("latency (ms, log scale)"),
            chart::LABEL_SIZE,
        )?;
        if !floor_curve.is_empty() {
            c.draw_series(DashedLineSeries::new(
                floor_curve.iter().cloned(),
                8,
                5,
                chart::FLOOR_COLOR.stroke_width(2),
            ))
            .map_err(err)?;
        }
        for (i, _, pts) in &curves {
            let col = chart::color(*i);
            chart::draw_line(c.plotting_area(), pts.iter().cloned(), col.stroke_width(2))?;
            let reach = pts.last().map(|p| p.0).unwrap_or(0.0);
            let area = c.plotting_area();
            for q in MARKED {
                let x = nines(q);
                if x <= reach + 1e-9 {
                    if let Some(p) = pts.iter().find(|p| p.0 >= x - 1e-9) {
                        chart::draw_marker(area, chart::marker(*i), *p, col)?;
                    }
                }
            }
        }
        let mut legend: Vec<LegendEntry> = curves
            .iter()
            .map(|(i, name, _)| LegendEntry::model(*i, name))
            .collect();
        if !floor_curve.is_empty() {
            legend.push(LegendEntry::floor(mp.floor_label));
        }
        chart::draw_legend(&legend_area, &legend)
    })
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;
    use crate::metrics::summary::{new_histogram, record_clamped};

    #[test]
    fn nines_axis() {
        assert!((nines(0.9) - 1.0).abs() < 1e-9);
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        for (x, label) in [
            (0.0, "0%"),
            (1.0, "90%"),
            (2.0, "99%"),
            (3.0, "99.9%"),
            (4.0, "99.99%"),
            (1.5, ""),
        ] {
            assert_eq!(nines_label(&x), label, "{x}");
        }
    }

    #[test]
    fn curve_recovers_known_percentiles_and_ends_at_the_max() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            record_clamped(&mut h, v);
        }
        let c = curve(&h);
        let at = |x: f64| c.iter().find(|p| (p.0 - x).abs() < 1e-9).unwrap().1;
        assert!((at(0.0) - 0.001).abs() < 1e-6, "min is 1 µs");
        assert!((at(1.0) - 9.0).abs() < 0.02, "p90 ≈ 9 ms, got {}", at(1.0));
        assert!(
            (at(2.0) - 9.9).abs() < 0.02,
            "p99 ≈ 9.9 ms, got {}",
            at(2.0)
        );
        let last = c.last().unwrap();
        assert_eq!(last.0, 4.0);
        assert!((last.1 - 10.0).abs() < 0.02, "max ≈ 10 ms, got {}", last.1);
        // Monotone: a percentile curve never goes down.
        assert!(c.windows(2).all(|w| w[1].1 >= w[0].1));
    }

    #[test]
    fn summaries_without_histograms_are_skipped_not_fatal() {
        let mut r = fabricate_results(4);
        for m in &mut r.models {
            m.poll_latency.hist.clear();
        }
        assert!(plot(&r, &METRIC_PLOTS[0]).unwrap().is_none());
        r.models[0].poll_latency = fabricate_results(5).models[0].poll_latency.clone();
        assert!(plot(&r, &METRIC_PLOTS[0]).unwrap().is_some());
        r.floor.driver_error.hist.clear();
        assert!(plot(&r, &METRIC_PLOTS[0]).unwrap().is_some());
    }

    #[test]
    fn every_metric_plots_with_eight_models_and_a_floor() {
        let r = fabricate_results(4);
        for mp in &METRIC_PLOTS {
            let svg = plot(&r, mp).unwrap().unwrap();
            assert!(svg.contains(mp.floor_label), "{}", mp.metric);
            for m in &r.models {
                assert!(svg.contains(&m.name));
            }
            assert!(svg.contains("99.9%"));
        }
    }
}
