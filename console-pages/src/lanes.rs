//! The lanes page: depth by state, oldest age, in and out rates per lane, charts of the last
//! hour, admission decisions; and its live part, which htmx swaps every [`REFRESH_SECONDS`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::{
    chart::{self, Chart, Series},
    format,
    layout::{self, PageContext, Section},
    paths,
};

/// How often the live part is fetched again.
pub const REFRESH_SECONDS: u32 = 5;

#[derive(Debug, Clone)]
pub struct LanesView {
    pub lanes: Vec<LaneView>,
    /// The charts' span, normally one hour.
    pub window: Duration,
    /// When the numbers were read (shown, so a stalled refresh is visible).
    pub sampled_at: DateTime<Utc>,
    /// Admission over the recent past; `None` hides the section.
    pub admission: Option<AdmissionView>,
}

#[derive(Debug, Clone)]
pub struct LaneView {
    pub name: String,
    pub depth: Depth,
    /// Age of the oldest pending job; `None` when the lane is empty.
    pub oldest_age: Option<Duration>,
    pub in_per_sec: f64,
    pub out_per_sec: f64,
    /// Samples over the window, any order; drawn as the lane's two charts.
    pub history: Vec<LanePoint>,
}

/// Jobs by state, as `sluice_queue_depth_jobs` labels them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depth {
    pub pending: u64,
    pub scheduled: u64,
    pub inflight: u64,
    pub dead: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct LanePoint {
    pub at: DateTime<Utc>,
    /// Pending plus scheduled: what is waiting.
    pub waiting: u64,
    pub in_per_sec: f64,
    pub out_per_sec: f64,
}

#[derive(Debug, Clone)]
pub struct AdmissionView {
    /// The span the counts cover, e.g. the last five minutes.
    pub window: Duration,
    /// Decisions by lane and outcome (`admitted`, `limited_chat`, `shed`, …).
    pub decisions: Vec<Decision>,
    /// The most limited chats and bots right now, most refused first.
    pub most_limited: Vec<Limited>,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub lane: String,
    pub outcome: String,
    pub count: u64,
}

#[derive(Debug, Clone)]
pub struct Limited {
    /// What the key names: `chat`, `bot`, `source`.
    pub kind: String,
    pub key: String,
    pub refused: u64,
}

/// The whole lanes page.
pub fn render_lanes(ctx: &PageContext, view: &LanesView) -> Markup {
    let body = html! {
        (render_lanes_live(view))
    };
    layout::page(ctx, Section::Lanes, "Lanes", body)
}

/// The part htmx replaces: the numbers table, the charts and admission. It carries its own trigger, so a
/// swapped-in copy keeps polling; without JavaScript the page is simply not live.
pub fn render_lanes_live(view: &LanesView) -> Markup {
    html! {
        div #lanes-live hx-get=(paths::LANES_LIVE) hx-swap="outerHTML"
            hx-trigger={ "every " (REFRESH_SECONDS) "s" } {
            p.meta {
                "Sampled " span #sampled-at { (format::timestamp(view.sampled_at)) }
                " · refreshes every " (REFRESH_SECONDS) "s"
            }
            (numbers(view))
            div.charts {
                @for lane in &view.lanes {
                    (lane_charts(lane, view))
                }
            }
            @if let Some(admission) = &view.admission {
                (admission_section(admission))
            }
        }
    }
}

fn numbers(view: &LanesView) -> Markup {
    html! {
        table.grid #lane-numbers {
            thead { tr {
                th { "Lane" } th.num { "Pending" } th.num { "Scheduled" } th.num { "In flight" }
                th.num { "Dead" } th.num { "Oldest" } th.num { "In" } th.num { "Out" }
            } }
            tbody {
                @for lane in &view.lanes {
                    tr data-lane=(lane.name) {
                        th scope="row" { (lane.name) }
                        td.num data-state="pending" { (format::count(lane.depth.pending)) }
                        td.num data-state="scheduled" { (format::count(lane.depth.scheduled)) }
                        td.num data-state="inflight" { (format::count(lane.depth.inflight)) }
                        td.num.dead[lane.depth.dead > 0] data-state="dead" {
                            (format::count(lane.depth.dead))
                        }
                        td.num { (lane.oldest_age.map(format::age).unwrap_or_else(|| "–".into())) }
                        td.num { (format::rate(lane.in_per_sec)) }
                        td.num { (format::rate(lane.out_per_sec)) }
                    }
                }
                @if view.lanes.is_empty() {
                    tr { td.empty colspan="8" { "No lanes reported yet." } }
                }
            }
        }
    }
}

fn lane_charts(lane: &LaneView, view: &LanesView) -> Markup {
    let points = |f: fn(&LanePoint) -> f64| lane.history.iter().map(|p| (p.at, f(p))).collect();
    let depth = Chart {
        title: "Waiting",
        window: view.window,
        now: view.sampled_at,
        y_label: format::axis,
        series: vec![Series {
            label: "pending + scheduled",
            class: "s1",
            points: points(|p| p.waiting as f64),
        }],
    };
    let rates = Chart {
        title: "Rates",
        window: view.window,
        now: view.sampled_at,
        y_label: |v| format!("{}/s", format::axis(v)),
        series: vec![
            Series {
                label: "in",
                class: "s2",
                points: points(|p| p.in_per_sec),
            },
            Series {
                label: "out",
                class: "s3",
                points: points(|p| p.out_per_sec),
            },
        ],
    };
    html! {
        section.lane-charts data-lane=(lane.name) {
            h2 { (lane.name) }
            (chart::render(&depth))
            (chart::render(&rates))
        }
    }
}

fn admission_section(admission: &AdmissionView) -> Markup {
    html! {
        section.admission {
            h2 { "Admission, last " (format::age(admission.window)) }
            div.split {
                table.grid {
                    thead { tr { th { "Lane" } th { "Decision" } th.num { "Count" } } }
                    tbody {
                        @for d in &admission.decisions {
                            tr { td { (d.lane) } td { (d.outcome) } td.num { (format::count(d.count)) } }
                        }
                    }
                }
                table.grid {
                    thead { tr { th { "Most limited" } th { "Key" } th.num { "Refused" } } }
                    tbody {
                        @for l in &admission.most_limited {
                            tr { td { (l.kind) } td.mono { (l.key) } td.num { (format::count(l.refused)) } }
                        }
                        @if admission.most_limited.is_empty() {
                            tr { td.empty colspan="3" { "Nothing is being limited." } }
                        }
                    }
                }
            }
        }
    }
}
