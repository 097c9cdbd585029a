//! Metric vs knob value, one line per model (SVG via plotters, with the report's palette,
//! markers and side legend so a model has the same colour here as in its run report).
//!
//! The x axis carries one labelled tick per swept value. Numeric values sit at their value,
//! on a log axis when they span a factor of 8 or more (1, 2, 4, 8, 16 clients is a doubling
//! sequence, and growth that is linear in the knob then shows as a straight slope); other
//! values (`true`/`false`, `synth`/`replay`) are evenly spaced categories. The y axis turns
//! logarithmic when the lines span more than a factor of 8, so a cheap model is not
//! flattened onto zero by one that blows up. The floor of the same run is drawn dashed when
//! the figure has one; a model that failed at a value gets a cross on the top edge there.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::metrics::results::{ModelResult, Results};
use crate::metrics::rounds::{Interval, RoundResult};
use crate::render::chart::{self, err, LegendEntry};
use crate::render::format::sig3;

use super::cost;
use super::manifest::LoadedSweep;
use super::table::{round_of, whole};
use crate::metrics::figures as registry;

pub(crate) const WIDTH: u32 = 1000;
pub(crate) const HEIGHT: u32 = 440;

/// The floor's counterpart of a figure, read from one run's results.
pub(crate) type FloorFigure = fn(&Results) -> Option<f64>;

/// One plot: what it shows and where its figure comes from (in plot units: % or ms).
pub struct PlotSpec {
    /// File name stem (`cpu`, `poll_p99`, ...).
    pub file: &'static str,
    pub title: &'static str,
    pub y_desc: &'static str,
    pub get: fn(&ModelResult) -> Option<f64>,
    /// The same figure of the run's floor, and its legend label.
    pub floor: Option<(&'static str, FloorFigure)>,
    /// The figure in one round (plot units), for the interval of its median over rounds,
    /// drawn as a bar.
    pub round: Option<fn(&RoundResult) -> Option<f64>>,
}

fn ms(s: &crate::metrics::summary::Summary, p: u64) -> Option<f64> {
    (s.count > 0).then_some(p as f64 / 1000.0)
}

/// A latency percentile plot in ms with its floor counterpart: the latency rows of
/// [`PLOTS`] differ only in these names. `$figure` is the registry's figure (its value and
/// its rounds, a p99 round only with `table::MIN_P99_SAMPLES` behind it); `$p` the same
/// percentile of the floor summary `$floor`.
macro_rules! latency_plot {
    ($file:literal, $title:literal, $y_desc:literal, $figure:ident, $floor:ident . $p:ident, $floor_label:literal) => {
        PlotSpec {
            file: $file,
            title: $title,
            y_desc: $y_desc,
            get: |m| whole(&registry::$figure, m).map(|us| us / 1000.0),
            floor: Some(($floor_label, |r| ms(&r.floor.$floor, r.floor.$floor.$p))),
            round: Some(|r| round_of(&registry::$figure, r).map(|us| us / 1000.0)),
        }
    };
}

/// The plots of a sweep, in page order.
pub const PLOTS: [PlotSpec; 5] = [
    PlotSpec {
        file: "cpu",
        title: "CPU of the model's process",
        y_desc: "CPU % of one core",
        get: |m| whole(&registry::CPU_PERCENT, m),
        floor: None,
        round: Some(|r| round_of(&registry::CPU_PERCENT, r)),
    },
    PlotSpec {
        file: "cpu_per_1k",
        title: "CPU per 1,000 events served (frames parsed + polls answered)",
        y_desc: "CPU ms per 1,000 events",
        get: cost::cpu_ms_per_1k,
        floor: None,
        round: Some(cost::round_cpu_ms_per_1k),
    },
    latency_plot!(
        "poll_p50",
        "Poll latency p50 (intended send → answer)",
        "poll latency p50 (ms)",
        POLL_LATENCY_P50,
        driver_error.p50,
        "floor: driver send error p50"
    ),
    latency_plot!(
        "poll_p99",
        "Poll latency p99 (intended send → answer)",
        "poll latency p99 (ms)",
        POLL_LATENCY_P99,
        driver_error.p99,
        "floor: driver send error p99"
    ),
    latency_plot!(
        "watchdog_p99",
        "Watchdog timer lateness p99 (wake-up − deadline)",
        "watchdog lateness p99 (ms)",
        WATCHDOG_LATENESS_P99,
        timer_lateness.p99,
        "floor: timer lateness p99"
    ),
];

/// Where the swept values sit on the x axis.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct XAxis {
    /// Position of each value (its value, its log10, or its index).
    pub positions: Vec<f64>,
    pub log: bool,
    pub categorical: bool,
}

/// Numeric values at their value (log when they span ×8 or more), anything else evenly.
pub(crate) fn x_axis(values: &[String]) -> XAxis {
    let nums: Option<Vec<f64>> = values
        .iter()
        .map(|v| {
            v.replace('_', "")
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
        })
        .collect();
    match nums {
        Some(n) if !n.is_empty() => {
            let lo = n.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = n.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let log = lo > 0.0 && hi / lo >= 8.0;
            XAxis {
                positions: n.iter().map(|&x| if log { x.log10() } else { x }).collect(),
                log,
                categorical: false,
            }
        }
        _ => XAxis {
            positions: (0..values.len()).map(|i| i as f64).collect(),
            log: false,
            categorical: true,
        },
    }
}

/// One model's values at each point (None where there is none) and where it failed.
struct ModelLine {
    index: usize,
    name: String,
    values: Vec<Option<f64>>,
    failed: Vec<bool>,
    /// Points measured while the driver was the limit: ringed.
    limited: Vec<bool>,
    /// The interval of the median over rounds at each point (lo, hi), drawn as a bar.
    bars: Vec<Option<(f64, f64)>>,
}

/// The SVG of `spec` for `sweep`, or None when no point has a value for it.
pub fn plot(sweep: &LoadedSweep, spec: &PlotSpec) -> anyhow::Result<Option<String>> {
    let xa = x_axis(&sweep.manifest.values);
    let lines = model_lines(sweep, spec);
    let floor: Vec<Option<f64>> = match spec.floor {
        Some((_, f)) => sweep
            .points
            .iter()
            .map(|p| p.results.as_ref().and_then(f))
            .collect(),
        None => vec![None; sweep.points.len()],
    };
    let all: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .chain(
            lines
                .iter()
                .flat_map(|l| l.bars.iter().flatten().flat_map(|b| [&b.0, &b.1])),
        )
        .chain(floor.iter().flatten())
        .cloned()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    if lines.iter().all(|l| l.values.iter().all(Option::is_none)) {
        return Ok(None);
    }
    let hi = all.iter().cloned().fold(0.0, f64::max).max(1e-3);
    let lo_pos = all
        .iter()
        .cloned()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let log_y = lo_pos.is_finite() && hi / lo_pos > 8.0;

    let (x_lo, x_hi) = {
        let lo = xa.positions.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = xa
            .positions
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let pad = if hi > lo { (hi - lo) * 0.06 } else { 0.5 };
        (lo - pad, hi + pad)
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot_area, legend_area) = root.split_horizontally(WIDTH - chart::LEGEND_WIDTH);
        let mut builder = ChartBuilder::on(&plot_area);
        builder
            .caption(spec.title, (chart::FONT, chart::TITLE_SIZE))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(64);
        let x_desc = format!(
            "{}{}",
            sweep.manifest.key,
            if xa.log { " (log scale)" } else { "" }
        );
        let label_style = (chart::FONT, chart::LABEL_SIZE);
        if log_y {
            // Start at a power of ten: plotters labels a log axis from the first power of
            // ten inside the range, so a range starting at 0.13 would show no label below 1.
            // (A hair below it, or rounding in plotters skips that power.)
            let y_lo = 10f64.powf((lo_pos / 1.2).log10().floor()) * 0.999;
            let mut c = builder
                .build_cartesian_2d(x_lo..x_hi, (y_lo..hi * 1.5).log_scale())
                .map_err(err)?;
            c.configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .x_desc(x_desc)
                .y_desc(format!("{} (log scale)", spec.y_desc))
                .y_labels(20)
                .y_max_light_lines(0)
                .y_label_formatter(&chart::log_label)
                .label_style(label_style)
                .axis_desc_style(label_style)
                .draw()
                .map_err(err)?;
            draw_lines(&root, &mut c, sweep, &xa, &lines, &floor, y_lo, hi * 1.5)?;
        } else {
            let top = hi * 1.1;
            let mut c = builder
                .build_cartesian_2d(x_lo..x_hi, 0.0..top)
                .map_err(err)?;
            c.configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .x_desc(x_desc)
                .y_desc(spec.y_desc)
                .y_max_light_lines(1)
                .label_style(label_style)
                .axis_desc_style(label_style)
                .draw()
                .map_err(err)?;
            draw_lines(&root, &mut c, sweep, &xa, &lines, &floor, 0.0, top)?;
        }
        let legend = legend(&lines, spec, &floor);
        chart::draw_legend(&legend_area, &legend)?;
        root.present().map_err(err)?;
    }
    Ok(Some(svg))
}

/// One line per model: its value at each point, whether it failed there, whether the driver
/// limited it, and the interval of its median over the point's rounds.
fn model_lines(sweep: &LoadedSweep, spec: &PlotSpec) -> Vec<ModelLine> {
    sweep
        .models()
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            let per_point: Vec<(Option<f64>, bool)> = sweep
                .points
                .iter()
                .map(|p| match p.results.as_ref().and_then(|r| r.model(&name)) {
                    Some(m) if m.is_ok() => ((spec.get)(m), false),
                    Some(m) => (None, !m.status.is_interrupted()),
                    None => (None, false),
                })
                .collect();
            let limited = (sweep.points.iter())
                .map(|p| p.results.as_ref().and_then(|r| r.model(&name)))
                .map(|m| m.is_some_and(|m| m.is_ok() && m.driver.limited))
                .collect();
            let bars = (sweep.points.iter())
                .map(|p| p.results.as_ref().and_then(|r| r.model(&name)))
                .map(|m| {
                    let (m, round) = (m.filter(|m| m.is_ok())?, spec.round?);
                    let v: Vec<f64> = m.rounds.iter().filter_map(round).collect();
                    let i = (v.len() >= 2).then(|| Interval::of_median(&v))??;
                    Some((i.lo, i.hi))
                })
                .collect();
            ModelLine {
                index,
                name,
                values: per_point.iter().map(|v| v.0).collect(),
                failed: per_point.iter().map(|v| v.1).collect(),
                limited,
                bars,
            }
        })
        .collect()
}

/// The legend: the models, the floor when drawn, and a note for each mark the plot uses.
fn legend(lines: &[ModelLine], spec: &PlotSpec, floor: &[Option<f64>]) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = lines
        .iter()
        .map(|l| LegendEntry::model(l.index, &l.name))
        .collect();
    if let Some((label, _)) = spec.floor {
        if floor.iter().any(Option::is_some) {
            legend.push(LegendEntry::floor(label));
        }
    }
    if lines.iter().any(|l| l.failed.iter().any(|f| *f)) {
        legend.push(note_entry(
            "× on top: model failed",
            Some(chart::Marker::Cross),
        ));
    }
    if lines.iter().any(|l| l.bars.iter().any(Option::is_some)) {
        legend.push(note_entry(
            "bar: 95 % interval of the median over rounds",
            None,
        ));
    }
    if lines.iter().any(|l| l.limited.iter().any(|f| *f)) {
        legend.push(note_entry(
            "ringed: driver-limited",
            Some(chart::Marker::Circle),
        ));
    }
    legend
}

/// A legend line that explains a mark rather than naming a series: in grey, with the
/// mark's `marker` (or none, for the interval bars).
pub(super) fn note_entry(label: &str, marker: Option<chart::Marker>) -> LegendEntry {
    LegendEntry {
        label: label.into(),
        color: RGBColor(90, 90, 90),
        marker,
        dashed: false,
    }
}

/// Draws the model lines (broken where a point is missing), markers, failure crosses, the
/// dashed floor and one x tick label per swept value.
#[allow(clippy::too_many_arguments)]
fn draw_lines<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    root: &DrawingArea<DB, Shift>,
    c: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, Y>>,
    sweep: &LoadedSweep,
    xa: &XAxis,
    lines: &[ModelLine],
    floor: &[Option<f64>],
    y_bottom: f64,
    y_top: f64,
) -> anyhow::Result<()> {
    let clamp = |v: f64| v.max(y_bottom);
    for l in lines {
        let colour = chart::color(l.index);
        for run in runs(&xa.positions, &l.values) {
            let pts: Vec<(f64, f64)> = run.iter().map(|&(x, y)| (x, clamp(y))).collect();
            if pts.len() > 1 {
                chart::draw_line(c.plotting_area(), pts.clone(), colour.stroke_width(2))?;
            }
            for p in pts {
                chart::draw_marker(c.plotting_area(), chart::marker(l.index), p, colour)?;
            }
        }
        for (i, bar) in l.bars.iter().enumerate() {
            if let (Some((lo, hi)), Some(_)) = (bar, l.values[i]) {
                let x = xa.positions[i];
                let (top, bottom) = (
                    c.backend_coord(&(x, clamp(*hi))),
                    c.backend_coord(&(x, clamp(*lo))),
                );
                let style = colour.stroke_width(1);
                root.draw(&PathElement::new(vec![top, bottom], style))
                    .map_err(err)?;
                for y in [top.1, bottom.1] {
                    root.draw(&PathElement::new(
                        vec![(top.0 - 4, y), (top.0 + 4, y)],
                        style,
                    ))
                    .map_err(err)?;
                }
            }
        }
        for (i, v) in l.values.iter().enumerate() {
            if let (Some(v), true) = (v, l.limited[i]) {
                let ring = Circle::new((xa.positions[i], clamp(*v)), 9, colour.stroke_width(2));
                c.draw_series(std::iter::once(ring)).map_err(err)?;
            }
        }
        for (i, failed) in l.failed.iter().enumerate() {
            if *failed {
                let at = (xa.positions[i], y_top);
                let px = c.backend_coord(&at);
                root.draw(&Cross::new((px.0, px.1 + 6), 6, colour.stroke_width(3)))
                    .map_err(err)?;
            }
        }
    }
    for run in runs(&xa.positions, floor) {
        let pts: Vec<(f64, f64)> = run.iter().map(|&(x, y)| (x, clamp(y))).collect();
        if pts.len() > 1 {
            c.draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                pts,
                6,
                4,
                chart::FLOOR_COLOR.stroke_width(2),
            )))
            .map_err(err)?;
        } else if let Some(p) = pts.first() {
            c.draw_series(std::iter::once(Circle::new(
                *p,
                3,
                chart::FLOOR_COLOR.filled(),
            )))
            .map_err(err)?;
        }
    }
    // One tick and label per swept value, skipping labels that would collide.
    let style = (chart::FONT, chart::LABEL_SIZE)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    let mut last_right = i32::MIN;
    for (i, value) in sweep.manifest.values.iter().enumerate() {
        let (px, py) = c.backend_coord(&(xa.positions[i], y_bottom));
        root.draw(&PathElement::new(vec![(px, py), (px, py + 5)], BLACK))
            .map_err(err)?;
        let label = chart::truncate(&tick_label(value), 14);
        let half = (label.chars().count() as i32 * 8) / 2;
        if px - half > last_right + 4 {
            root.draw(&Text::new(label, (px, py + 8), style.clone()))
                .map_err(err)?;
            last_right = px + half;
        }
    }
    Ok(())
}

/// A value as a tick label: numbers in three significant digits, text as written.
fn tick_label(value: &str) -> String {
    match value.replace('_', "").parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e9 => format!("{v:.0}"),
        Ok(v) if v.is_finite() => sig3(v),
        _ => value.to_string(),
    }
}

/// Consecutive points that have a value, as separate runs (a line never bridges a gap).
fn runs(xs: &[f64], ys: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for (x, y) in xs.iter().zip(ys) {
        match y {
            Some(v) if v.is_finite() => cur.push((*x, *v)),
            _ => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let a = x_axis(&s(&["1", "2", "4", "8", "16"]));
        assert!(a.log && !a.categorical);
        assert!((a.positions[4] - 16f64.log10()).abs() < 1e-12);
        let a = x_axis(&s(&["0", "1000", "20_000"]));
        assert!(!a.log && !a.categorical);
        assert_eq!(a.positions, [0.0, 1000.0, 20000.0]);
        let a = x_axis(&s(&["false", "true"]));
        assert!(a.categorical);
        assert_eq!(a.positions, [0.0, 1.0]);
        assert_eq!(tick_label("20_000"), "20000");
        assert_eq!(tick_label("2.5"), "2.50");
        assert_eq!(tick_label("synth"), "synth");
    }

    #[test]
    fn gaps_break_lines() {
        let r = runs(
            &[1.0, 2.0, 3.0, 4.0],
            &[Some(1.0), None, Some(3.0), Some(4.0)],
        );
        assert_eq!(r, vec![vec![(1.0, 1.0)], vec![(3.0, 3.0), (4.0, 4.0)]]);
    }
}
