//! The report's first picture: the verdicts at a glance. Small multiples, one panel per
//! headline figure (CPU, poll p99, watchdog p50); in each, one row per model with the median
//! over the rounds as a dot and its 95 % interval as a bar, the floor as a dashed reference
//! line, and the models the verdict stars marked ★ (filled dots). Who separates and who
//! ties is read off which bars overlap.

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::metrics::figures::{self, Figure};
use crate::metrics::results::{ModelResult, Results};
use crate::metrics::verdict;
use crate::render::chart::{self, err};

pub const WIDTH: u32 = 1100;

/// One panel: the registry figure, its heading, and the run's floor for it.
struct Panel {
    figure: Figure,
    title: &'static str,
    unit: &'static str,
    floor: fn(&Results) -> Option<(f64, &'static str)>,
}

const PANELS: [Panel; 3] = [
    Panel {
        figure: figures::CPU_PERCENT,
        title: "CPU (% of one core)",
        unit: "%",
        floor: |r| r.floor.cpu.as_ref().map(|f| (f.cpu_percent, "CPU floor")),
    },
    Panel {
        figure: figures::POLL_LATENCY_P99,
        title: "poll latency p99 (µs)",
        unit: "µs",
        floor: |r| {
            let f = &r.floor.timer_lateness;
            (f.count > 0).then_some((f.p99 as f64, "timer floor p99"))
        },
    },
    Panel {
        figure: figures::WATCHDOG_LATENESS_P50,
        title: "watchdog lateness p50 (µs)",
        unit: "µs",
        floor: |r| {
            let f = &r.floor.timer_lateness;
            (f.count > 0).then_some((f.p50 as f64, "timer floor p50"))
        },
    },
];

/// A model's point in a panel: the median (over the rounds when there are some), the
/// interval's ends, and whether the verdict stars it.
struct Point {
    mid: f64,
    lo: f64,
    hi: f64,
    starred: bool,
}

fn points(r: &Results, figure: &Figure) -> Vec<Option<Point>> {
    let key = figure.legacy.unwrap_or(figure.key);
    let value = |m: &ModelResult| figure.of_model(m, r.scenario.duration_s);
    let stars = verdict::stars(r, key, value);
    r.models
        .iter()
        .map(|m| {
            let whole = value(m).filter(|_| m.is_ok())?;
            let i = figure.interval(m);
            Some(Point {
                mid: i.map_or(whole, |i| i.mid),
                lo: i.map_or(whole, |i| i.lo),
                hi: i.map_or(whole, |i| i.hi),
                starred: stars.contains(&m.name),
            })
        })
        .collect()
}

/// The SVG, or `None` when no model finished ok with these figures.
pub fn plot(r: &Results) -> anyhow::Result<Option<String>> {
    let all: Vec<Vec<Option<Point>>> = PANELS.iter().map(|p| points(r, &p.figure)).collect();
    if all.iter().all(|ps| ps.iter().all(Option::is_none)) {
        return Ok(None);
    }
    let n = r.models.len();
    let height = 110 + 34 * n as u32;
    let names: Vec<String> = r
        .models
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let starred = all
                .iter()
                .any(|ps| ps[k].as_ref().is_some_and(|p| p.starred));
            let mark = if starred { "★ " } else { "" };
            format!("{mark}{}", chart::truncate(&m.name, 16))
        })
        .collect();
    chart::svg((WIDTH, height), |root| {
        let (names_area, panels) = root.split_horizontally(130);
        let body_top = 40;
        for (k, name) in names.iter().enumerate() {
            let y = body_top + row_y(k, n, height - body_top - 50);
            let style = (chart::FONT, chart::LABEL_SIZE)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            names_area
                .draw(&Text::new(name.as_str(), (124, y as i32), style))
                .map_err(err)?;
        }
        for ((panel, pts), area) in PANELS.iter().zip(&all).zip(panels.split_evenly((1, 3))) {
            draw_panel(&area, panel, pts, (panel.floor)(r), n)?;
        }
        Ok(())
    })
    .map(Some)
}

/// The vertical centre of row `k` of `n` in a plot body `body` pixels high.
fn row_y(k: usize, n: usize, body: u32) -> u32 {
    ((k as f64 + 0.5) / n as f64 * body as f64) as u32
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
    pts: &[Option<Point>],
    floor: Option<(f64, &str)>,
    n: usize,
) -> anyhow::Result<()> {
    let top = pts
        .iter()
        .flatten()
        .map(|p| p.hi)
        .chain(floor.map(|f| f.0))
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    let mut c = ChartBuilder::on(area)
        .caption(panel.title, (chart::FONT, chart::PANEL_TITLE_SIZE))
        .margin_left(6)
        .margin_right(14)
        .margin_top(4)
        .x_label_area_size(44)
        .y_label_area_size(0)
        .build_cartesian_2d(0.0..top, (n as f64 - 0.5)..-0.5)
        .map_err(err)?;
    c.configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(5)
        .x_desc(panel.unit)
        .label_style((chart::FONT, chart::PANEL_LABEL_SIZE))
        .draw()
        .map_err(err)?;
    let plot = c.plotting_area();
    if let Some((v, label)) = floor {
        plot.draw(&DashedPathElement::new(
            vec![(v, -0.5), (v, n as f64 - 0.5)],
            5,
            4,
            chart::FLOOR_COLOR.stroke_width(1),
        ))
        .map_err(err)?;
        let style = (chart::FONT, chart::PANEL_LABEL_SIZE)
            .into_font()
            .color(&BLACK);
        plot.draw(&Text::new(label.to_string(), (v, -0.45), style))
            .map_err(err)?;
    }
    for (k, p) in pts.iter().enumerate() {
        let Some(p) = p else { continue };
        let y = k as f64;
        let color = chart::color(k);
        plot.draw(&PathElement::new(
            vec![(p.lo, y), (p.hi, y)],
            color.stroke_width(3),
        ))
        .map_err(err)?;
        let dot = if p.starred {
            color.filled()
        } else {
            color.stroke_width(2)
        };
        plot.draw(&Circle::new((p.mid, y), 6, dot)).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_model_in_three_panels_with_floors_and_stars() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/baseline/results-1.json"
        );
        let r = Results::load(std::path::Path::new(path)).unwrap();
        let svg = plot(&r).unwrap().unwrap();
        for title in [
            "CPU (% of one core)",
            "poll latency p99",
            "watchdog lateness p50",
        ] {
            assert!(svg.contains(title), "{title}");
        }
        for m in &r.models {
            assert!(svg.contains(&m.name), "{}", m.name);
        }
        assert!(svg.contains("★ threads"), "threads is starred on CPU");
        assert!(svg.contains("CPU floor") && svg.contains("timer floor p99"));
        // A dot per model per panel.
        assert!(svg.matches("<circle").count() >= 3 * r.models.len());
    }

    #[test]
    fn no_ok_model_means_no_chart() {
        let mut r = crate::metrics::fixture::fabricate_results(3);
        for m in &mut r.models {
            m.status = crate::metrics::status::Status::parse("crashed: killed");
        }
        assert!(plot(&r).unwrap().is_none());
    }
}
