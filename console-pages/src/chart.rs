//! Inline SVG line charts drawn on the server from series of points: no chart library, no script.
//!
//! The x axis is a fixed window ending at `now` (points outside it are dropped), the y axis
//! starts at 0 and ends at a round number above the largest value. Points are bounded
//! ([`MAX_POINTS`] per series, by striding) so a long history cannot make a page heavy.

use std::{fmt::Write, time::Duration};

use chrono::{DateTime, Utc};
use maud::{Markup, PreEscaped, html};

/// Plot area in SVG user units; the SVG scales to its container's width.
const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 120.0;
/// Room left of the plot for y labels, and below it for x labels.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 18.0;
const TOP: f64 = 6.0;
/// More points than pixels only costs bytes.
pub const MAX_POINTS: usize = 480;

/// One line: a label for the legend, a CSS class for its colour (`s1`..`s4`), and its points.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub label: &'a str,
    pub class: &'static str,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// A chart of one or more series over `window` ending at `now`.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Shown above the chart and as the SVG's accessible name.
    pub title: &'a str,
    pub window: Duration,
    pub now: DateTime<Utc>,
    /// Formats a y-axis value (a count, a rate).
    pub y_label: fn(f64) -> String,
    pub series: Vec<Series<'a>>,
}

/// The SVG, with a legend. Values that are not finite or are negative are skipped.
pub fn render(chart: &Chart<'_>) -> Markup {
    let window = chart.window.as_secs_f64().max(1.0);
    let start = chart.now - chrono::Duration::milliseconds((window * 1000.0) as i64);
    let lines: Vec<(&Series<'_>, Vec<(f64, f64)>)> = chart
        .series
        .iter()
        .map(|s| (s, in_window(&s.points, start, chart.now, window)))
        .collect();
    let top = nice_ceiling(
        lines
            .iter()
            .flat_map(|(_, pts)| pts.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    let full_w = LEFT + WIDTH + 4.0;
    let full_h = TOP + HEIGHT + BOTTOM;
    let minutes = (window / 60.0).round() as u64;
    html! {
        figure.chart {
            figcaption {
                span.title { (chart.title) }
                @for (series, _) in &lines {
                    span class={ "key " (series.class) } { (series.label) }
                }
            }
            svg viewBox={ "0 0 " (full_w) " " (full_h) } role="img" aria-label=(chart.title)
                xmlns="http://www.w3.org/2000/svg" {
                @for i in 0..=2u32 {
                    @let value = top * f64::from(i) / 2.0;
                    @let y = TOP + HEIGHT - HEIGHT * f64::from(i) / 2.0;
                    line.grid x1=(LEFT) x2=(LEFT + WIDTH) y1=(y) y2=(y) {}
                    text.ylabel x=(LEFT - 4.0) y=(y + 3.5) { ((chart.y_label)(value)) }
                }
                text.xlabel x=(LEFT) y=(full_h - 4.0) { "−" (minutes) "m" }
                text.xlabel.end x=(LEFT + WIDTH) y=(full_h - 4.0) { "now" }
                @for (series, pts) in &lines {
                    @if !pts.is_empty() {
                        polyline class={ "line " (series.class) }
                            points=(polyline(pts, window, top)) {}
                    }
                }
            }
        }
    }
}

/// Points inside the window as (seconds since its start, value), oldest first, at most
/// [`MAX_POINTS`].
fn in_window(
    points: &[(DateTime<Utc>, f64)],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    window: f64,
) -> Vec<(f64, f64)> {
    let mut kept: Vec<(f64, f64)> = points
        .iter()
        .filter(|(at, v)| *at >= start && *at <= now && v.is_finite() && *v >= 0.0)
        .map(|(at, v)| {
            (
                ((*at - start).num_milliseconds() as f64 / 1000.0).min(window),
                *v,
            )
        })
        .collect();
    kept.sort_by(|a, b| a.0.total_cmp(&b.0));
    let stride = kept.len().div_ceil(MAX_POINTS).max(1);
    kept.into_iter().step_by(stride).collect()
}

/// `x,y x,y …` in SVG units; one decimal is finer than a pixel.
fn polyline(points: &[(f64, f64)], window: f64, top: f64) -> PreEscaped<String> {
    let mut out = String::with_capacity(points.len() * 12);
    for (t, v) in points {
        let x = LEFT + WIDTH * t / window;
        let y = TOP + HEIGHT - HEIGHT * v / top;
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    // Only digits, dots, commas and spaces: nothing to escape.
    PreEscaped(out.trim_end().to_owned())
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `max` (at least 1), so grid labels are round.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= max)
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        assert_eq!(nice_ceiling(5001.0), 10000.0);
    }

    #[test]
    fn points_outside_the_window_or_not_finite_are_dropped_and_bounded() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let at = |s: i64| now - chrono::Duration::seconds(s);
        let pts = vec![
            (at(7200), 5.0),
            (at(60), f64::NAN),
            (at(30), -1.0),
            (at(0), 2.0),
        ];
        let kept = in_window(&pts, at(3600), now, 3600.0);
        assert_eq!(kept, vec![(3600.0, 2.0)]);
        let many: Vec<_> = (0..3600).map(|s| (at(s), 1.0)).collect();
        assert!(in_window(&many, at(3600), now, 3600.0).len() <= MAX_POINTS);
    }
}
