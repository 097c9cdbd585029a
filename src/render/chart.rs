//! What every plot shares: the SVG canvas, the palette, marker shapes, the legend panel
//! drawn beside the plot (so eight models never cover the data), the log axis and the mesh's
//! text, and plotters' errors turned into anyhow.
//!
//! Plots are SVG strings from plotters' SVG backend: text stays SVG text, so no system font
//! is needed to draw them and the browser renders the glyphs.

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Ten colours distinguishable from each other on white (the "tab10" set, colour-blind
/// friendlier than a rainbow); a model keeps its colour in every plot of a report.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The reference line (the floor) is black and dashed: never a model's colour.
pub(crate) const FLOOR_COLOR: RGBColor = RGBColor(0, 0, 0);

pub(crate) const FONT: &str = "sans-serif";
pub(crate) const TITLE_SIZE: u32 = 22;
pub(crate) const LABEL_SIZE: u32 = 15;
pub(crate) const LEGEND_WIDTH: u32 = 230;
/// A panel's title and tick labels in a grid of small panels (one per model).
pub(crate) const PANEL_TITLE_SIZE: u32 = LABEL_SIZE + 1;
pub(crate) const PANEL_LABEL_SIZE: u32 = LABEL_SIZE - 2;

/// One model's line: its index (for colour and marker), its name and its points.
pub(crate) type Line<'a> = (usize, &'a str, Vec<(f64, f64)>);

/// The colour of the `i`-th model.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Marker shapes cycle alongside colours so lines stay apart in greyscale too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

pub(crate) fn marker(i: usize) -> Marker {
    [
        Marker::Circle,
        Marker::Triangle,
        Marker::Square,
        Marker::Cross,
    ][i % 4]
}

/// Draws marker `m` at `at` (in the area's own coordinates).
pub(crate) fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    m: Marker,
    at: CT::From,
    c: RGBColor,
) -> anyhow::Result<()> {
    let r = 4;
    match m {
        Marker::Circle => area.draw(&Circle::new(at, r, c.filled())),
        Marker::Triangle => area.draw(&TriangleMarker::new(at, r + 1, c.filled())),
        Marker::Cross => area.draw(&Cross::new(at, r, c.stroke_width(2))),
        Marker::Square => {
            area.draw(&(EmptyElement::at(at) + Rectangle::new([(-r, -r), (r, r)], c.filled())))
        }
    }
    .map_err(err)
}

/// Draws the polyline through `points` on a plot's area: what a `LineSeries` draws, without
/// the series' own legend bookkeeping (legends are drawn apart, by [`draw_legend`]).
pub(crate) fn draw_line<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    points: impl IntoIterator<Item = CT::From>,
    style: impl Into<ShapeStyle>,
) -> anyhow::Result<()> {
    let points: Vec<CT::From> = points.into_iter().collect();
    area.draw(&PathElement::new(points, style)).map_err(err)
}

/// One legend entry: a label, its colour and marker; `dashed` for reference lines.
pub(crate) struct LegendEntry {
    pub label: String,
    pub color: RGBColor,
    pub marker: Option<Marker>,
    pub dashed: bool,
}

impl LegendEntry {
    pub(crate) fn model(i: usize, name: &str) -> LegendEntry {
        LegendEntry {
            label: name.to_string(),
            color: color(i),
            marker: Some(marker(i)),
            dashed: false,
        }
    }

    pub(crate) fn floor(label: &str) -> LegendEntry {
        LegendEntry {
            label: label.to_string(),
            color: FLOOR_COLOR,
            marker: None,
            dashed: true,
        }
    }
}

/// Draws the legend as a column in its own area, beside the plot.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> anyhow::Result<()> {
    let style = (FONT, LABEL_SIZE).into_font().color(&BLACK);
    let top = 50;
    let step = 24;
    area.draw(&Text::new("legend", (8, top - 22), style.clone()))
        .map_err(err)?;
    for (i, e) in entries.iter().enumerate() {
        let y = top + step * i as i32;
        if e.dashed {
            area.draw(&DashedPathElement::new(
                vec![(8, y), (40, y)],
                6,
                4,
                e.color.stroke_width(2),
            ))
            .map_err(err)?;
        } else {
            area.draw(&PathElement::new(
                vec![(8, y), (40, y)],
                e.color.stroke_width(3),
            ))
            .map_err(err)?;
        }
        if let Some(m) = e.marker {
            draw_marker(area, m, (24, y), e.color)?;
        }
        let label = truncate(&e.label, 30);
        area.draw(&Text::new(
            label,
            (48, y),
            style.clone().pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Shortens a label that would run off the legend.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// plotters' drawing errors carry the backend's error type; the report only needs a message.
pub(crate) fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot failed: {e:?}")
}

/// A plot drawn by `draw` on a white canvas of `size`, as SVG text: the one place a plot's
/// backend is made and finished, so every plot in a page is the same kind of document.
pub(crate) fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Small multiples: one panel per model in two columns (one for a single panel) under a
/// header `header_height` high with a centred title and note, as one SVG.
pub(crate) struct PanelGrid<'a> {
    pub width: u32,
    pub header_height: u32,
    pub panel_height: u32,
    pub title: &'a str,
    pub note: &'a str,
}

impl PanelGrid<'_> {
    /// The SVG of `n` panels, `draw(k, area)` drawing the `k`-th in reading order.
    pub(crate) fn svg(
        &self,
        n: usize,
        mut draw: impl FnMut(usize, &DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
    ) -> anyhow::Result<String> {
        let cols = if n > 1 { 2 } else { 1 };
        let rows = n.div_ceil(cols);
        let height = self.header_height + self.panel_height * rows as u32;
        svg((self.width, height), |root| {
            let (header, body) = root.split_vertically(self.header_height);
            for (text, y, size) in [(self.title, 8, TITLE_SIZE), (self.note, 38, LABEL_SIZE)] {
                let style = (FONT, size)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top));
                header
                    .draw(&Text::new(text, (self.width as i32 / 2, y), style))
                    .map_err(err)?;
            }
            for (k, area) in body.split_evenly((rows, cols)).iter().take(n).enumerate() {
                draw(k, area)?;
            }
            Ok(())
        })
    }
}

/// Makes `mesh`'s y axis read as a log axis (in milliseconds or percent): grid lines on up to
/// 20 steps, none between them, and text only on the 1-2-5 steps ([`log_label`]), so labels
/// never collide however many decades the data spans.
pub(crate) fn log_y_axis<'m, 'a, 'b, X, XT, Y, DB>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    DB: DrawingBackend,
{
    mesh.y_labels(20)
        .y_max_light_lines(0)
        .y_label_formatter(&log_label)
}

/// Draws `mesh` with its tick labels and axis descriptions in the plots' font at `size`
/// points ([`LABEL_SIZE`], or smaller in a grid of small panels).
pub(crate) fn draw_mesh<X, XT, Y, YT, DB>(
    mesh: &mut MeshStyle<'_, '_, X, Y, DB>,
    size: u32,
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
    DB: DrawingBackend,
{
    let style = (FONT, size);
    mesh.label_style(style)
        .axis_desc_style(style)
        .draw()
        .map_err(err)
}

/// Labels for a log axis in milliseconds: only 1-2-5 steps get text so labels never
/// collide; the other grid lines stay unlabelled.
pub(crate) fn log_label(v: &f64) -> String {
    let v = *v;
    if v <= 0.0 {
        return String::new();
    }
    let exp = v.log10().floor();
    let mant = v / 10f64.powf(exp);
    let near = |m: f64| (mant - m).abs() < 0.02;
    if near(1.0) || near(2.0) || near(5.0) || near(10.0) {
        if v >= 1.0 {
            format!("{v:.0}")
        } else {
            let digits = (-exp) as usize;
            format!("{v:.digits$}")
        }
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_labels_only_on_1_2_5() {
        for (v, label) in [
            (0.1, "0.1"),
            (0.2, "0.2"),
            (0.3, ""),
            (5.0, "5"),
            (20.0, "20"),
            (0.05, "0.05"),
        ] {
            assert_eq!(log_label(&v), label, "{v}");
        }
    }

    #[test]
    fn a_panel_grid_draws_each_panel_once_in_order_and_fits_them() {
        let grid = PanelGrid {
            width: 400,
            header_height: 60,
            panel_height: 100,
            title: "T & t",
            note: "n",
        };
        for (n, height) in [(1, 160), (3, 260), (4, 260)] {
            let mut drawn = Vec::new();
            let svg = grid
                .svg(n, |k, area| {
                    drawn.push((k, area.dim_in_pixel()));
                    Ok(())
                })
                .unwrap();
            let width = if n == 1 { 400 } else { 200 };
            let want: Vec<(usize, (u32, u32))> = (0..n).map(|k| (k, (width, 100))).collect();
            assert_eq!(drawn, want, "{n} panels");
            assert!(svg.contains(&format!("height=\"{height}\"")), "{svg}");
            assert!(svg.contains("T &amp; t"), "the title is SVG text");
        }
        let e = grid
            .svg(2, |k, _| {
                anyhow::ensure!(k == 0, "panel {k}");
                Ok(())
            })
            .unwrap_err();
        assert_eq!(e.to_string(), "panel 1", "a panel's error is the plot's");
    }

    #[test]
    fn palette_has_distinct_colours_for_eight_models() {
        for i in 0..8 {
            for j in 0..i {
                assert_ne!(color(i), color(j));
            }
        }
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
