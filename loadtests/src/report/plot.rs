//! Draws one line chart over the seconds of a run into an SVG string with plotters.
//!
//! Text goes out as SVG `<text>` (plotters' built-in "naive" font layout, no font files): the
//! browser picks the font, so the report renders the same on a machine without any fonts.

use plotters::prelude::*;
use plotters::style::text_anchor;

/// Width and height of every chart, in SVG user units (the page scales it down to fit).
const SIZE: (u32, u32) = (1000, 380);
/// The legend's column on the right: beside the plot, so it never hides a line.
const LEGEND_WIDTH: u32 = 190;

/// One line of a chart: `points` are (second, value); `None` leaves a gap (no sample that
/// second) rather than drawing a misleading zero.
pub(super) struct Series {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, Option<f64>)>,
}

/// A chart: title, y axis description (with its unit) and its lines.
pub(super) struct Chart {
    pub title: &'static str,
    pub y_desc: &'static str,
    /// The values are counts: the y axis then has whole-number ticks only.
    pub counts: bool,
    pub series: Vec<Series>,
}

impl Chart {
    /// The chart as a standalone `<svg>` element.
    pub(super) fn svg(&self) -> anyhow::Result<String> {
        let mut out = String::new();
        self.draw(&mut out)?;
        Ok(out)
    }

    fn draw(&self, out: &mut String) -> anyhow::Result<()> {
        let known = || self.series.iter().flat_map(|s| s.points.iter());
        let x_max = known().map(|(t, _)| *t).fold(1.0, f64::max);
        let y_max = known()
            .filter_map(|(_, v)| v.filter(|v| v.is_finite()))
            .fold(0.0, f64::max);
        let y_top = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
        // plotters picks the finest 1-2-5 step that fits this many labels: for counts, allowing
        // no more labels than whole numbers in range keeps the step at 1 or above.
        let y_labels = if self.counts {
            (y_top.floor() as usize + 1).clamp(2, 10)
        } else {
            10
        };
        let y_decimals = match (self.counts, y_top) {
            (true, _) => 0,
            (false, top) if top >= 20.0 => 0,
            (false, top) if top >= 2.0 => 1,
            _ => 2,
        };
        let x_fmt = |v: &f64| format!("{v:.0}");
        let y_fmt = |v: &f64| format!("{v:.y_decimals$}");

        let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(self.title, ("sans-serif", 24))?;
        let (plot, legend) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(76)
            .build_cartesian_2d(0.0..x_max, 0.0..y_top)?;
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc(self.y_desc)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .y_labels(y_labels)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 17))
            .bold_line_style(RGBColor(220, 220, 220))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;

        let label = TextStyle::from(("sans-serif", 17).into_font()).pos(text_anchor::Pos::new(
            text_anchor::HPos::Left,
            text_anchor::VPos::Center,
        ));
        for (i, s) in self.series.iter().enumerate() {
            let style = s.color.stroke_width(2);
            for run in runs(&s.points) {
                if run.len() == 1 {
                    // A lone sample between gaps: a line of one point would draw nothing.
                    chart.draw_series(std::iter::once(Circle::new(run[0], 3, s.color.filled())))?;
                } else {
                    chart.draw_series(LineSeries::new(run, style))?;
                }
            }
            let y = 24 + 26 * i as i32;
            legend.draw(&PathElement::new(
                vec![(4, y), (30, y)],
                s.color.stroke_width(3),
            ))?;
            legend.draw_text(&s.name, &label, (38, y))?;
        }
        root.present()?;
        Ok(())
    }
}

/// Splits a series at its gaps into runs of consecutive samples.
fn runs(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for &(t, v) in points {
        match v {
            Some(v) if v.is_finite() => current.push((t, v)),
            _ if !current.is_empty() => out.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
