//! Watchdog lateness histograms, one small panel per model (the jitter picture): log-spaced
//! bins on a log time axis shared by every panel, bar height the share of ticks, and the
//! machine's own timer lateness (the floor) outlined in black on each panel.

use hdrhistogram::Histogram;
use plotters::prelude::*;

use crate::metrics::results::Results;
use crate::render::chart::{self, err};
use crate::render::format::us;

pub const WIDTH: u32 = 1000;
const PANEL_HEIGHT: u32 = 230;
const HEADER: u32 = 64;
const BINS: usize = 40;

/// Log-spaced bin edges in µs covering `lo..=hi`.
pub fn edges(lo: u64, hi: u64) -> Vec<f64> {
    let lo = (lo.max(1) as f64) * 0.95;
    let hi = (hi.max(2) as f64 * 1.05).max(lo * 2.0);
    let step = (hi / lo).ln() / BINS as f64;
    (0..=BINS).map(|k| lo * (step * k as f64).exp()).collect()
}

/// Share of samples (in %) per bin of `edges`.
pub fn shares(h: &Histogram<u64>, edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0u64; edges.len().saturating_sub(1)];
    if h.is_empty() || counts.is_empty() {
        return vec![0.0; counts.len()];
    }
    for v in h.iter_recorded() {
        let x = h.median_equivalent(v.value_iterated_to()) as f64;
        let i = edges
            .partition_point(|e| *e <= x)
            .saturating_sub(1)
            .min(counts.len() - 1);
        counts[i] += v.count_at_value();
    }
    let total = h.len() as f64;
    counts.iter().map(|c| 100.0 * *c as f64 / total).collect()
}

/// The SVG, or `None` when no model recorded watchdog lateness.
pub fn plot(results: &Results) -> anyhow::Result<Option<String>> {
    let mut panels = Vec::new();
    for (i, m) in results.models.iter().enumerate() {
        if m.watchdog_lateness.count > 0 {
            let h = m.watchdog_lateness.histogram()?;
            if !h.is_empty() {
                panels.push((i, m, h));
            }
        }
    }
    if panels.is_empty() {
        return Ok(None);
    }
    // Each panel's outline is the floor measured alongside that model (the idle floor for
    // results from before there was one).
    let mut floors = Vec::with_capacity(panels.len());
    for (_, m, _) in &panels {
        let f = results.timer_floor_for(m);
        floors.push(if f.count > 0 {
            Some(f.histogram()?).filter(|h| !h.is_empty())
        } else {
            None
        });
    }
    let hists = || panels.iter().map(|p| &p.2).chain(floors.iter().flatten());
    let lo = hists().map(|h| h.min()).min().unwrap_or(1);
    let hi = hists().map(|h| h.max()).max().unwrap_or(2);
    let edges = edges(lo, hi);
    let floor_shares: Vec<Option<Vec<f64>>> = floors
        .iter()
        .map(|f| f.as_ref().map(|h| shares(h, &edges)))
        .collect();
    let model_shares: Vec<Vec<f64>> = panels.iter().map(|p| shares(&p.2, &edges)).collect();
    let y_max = model_shares
        .iter()
        .chain(floor_shares.iter().flatten())
        .flat_map(|s| s.iter().cloned())
        .fold(1.0, f64::max)
        * 1.1;

    let (x_lo, x_hi) = (edges[0] / 1000.0, edges[BINS] / 1000.0);
    let note = if floor_shares.iter().any(Option::is_some) {
        "bars: share of watchdog ticks; black outline: the floor (a plain timer thread's lateness alongside that model, same bins)"
    } else {
        "bars: share of watchdog ticks (no floor measured)"
    };
    let grid = chart::PanelGrid {
        width: WIDTH,
        header_height: HEADER,
        panel_height: PANEL_HEIGHT,
        title: "Watchdog timer lateness per model (the jitter picture)",
        note,
    };
    grid.svg(panels.len(), |k, area| {
        let (i, m, _) = &panels[k];
        let caption = format!(
            "{} — p50 {}, p99 {}, max {}",
            chart::truncate(&m.name, 24),
            us(m.watchdog_lateness.p50),
            us(m.watchdog_lateness.p99),
            us(m.watchdog_lateness.max)
        );
        let mut c = ChartBuilder::on(area)
            .caption(caption, (chart::FONT, chart::PANEL_TITLE_SIZE))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..y_max)
            .map_err(err)?;
        chart::draw_mesh(
            c.configure_mesh()
                .x_desc("lateness (ms, log scale)")
                .y_desc("% of ticks")
                .x_labels(20)
                .x_max_light_lines(0)
                .x_label_formatter(&chart::log_label)
                .y_labels(5),
            chart::PANEL_LABEL_SIZE,
        )?;
        let col = chart::color(*i);
        c.draw_series(
            model_shares[k]
                .iter()
                .enumerate()
                .filter(|(_, s)| **s > 0.0)
                .map(|(b, s)| {
                    Rectangle::new(
                        [(edges[b] / 1000.0, 0.0), (edges[b + 1] / 1000.0, *s)],
                        col.mix(0.75).filled(),
                    )
                }),
        )
        .map_err(err)?;
        if let Some(fs) = &floor_shares[k] {
            let mut step = Vec::with_capacity(2 * BINS + 2);
            for (b, s) in fs.iter().enumerate() {
                step.push((edges[b] / 1000.0, *s));
                step.push((edges[b + 1] / 1000.0, *s));
            }
            chart::draw_line(c.plotting_area(), step, chart::FLOOR_COLOR.stroke_width(1))?;
        }
        Ok(())
    })
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;
    use crate::metrics::summary::{new_histogram, record_clamped};

    #[test]
    fn shares_add_up_and_land_in_the_right_bins() {
        let mut h = new_histogram();
        for _ in 0..75 {
            record_clamped(&mut h, 100);
        }
        for _ in 0..25 {
            record_clamped(&mut h, 10_000);
        }
        let e = edges(h.min(), h.max());
        let s = shares(&h, &e);
        assert!((s.iter().sum::<f64>() - 100.0).abs() < 1e-9);
        assert!((s[0] - 75.0).abs() < 1e-9, "{s:?}");
        assert!((s[BINS - 1] - 25.0).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn one_panel_per_model() {
        let r = fabricate_results(5);
        let svg = plot(&r).unwrap().unwrap();
        for m in &r.models {
            assert!(svg.contains(&format!("{} — p50", m.name)), "{}", m.name);
        }
    }
}
