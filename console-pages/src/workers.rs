//! The workers page: live consumers, their heartbeats and what they hold in flight.

use std::time::Duration;

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::{
    format,
    layout::{self, PageContext, Section},
};

#[derive(Debug, Clone)]
pub struct WorkersView {
    pub workers: Vec<WorkerRow>,
    /// A heartbeat older than this is shown as stale.
    pub stale_after: Duration,
}

#[derive(Debug, Clone)]
pub struct WorkerRow {
    /// The consumer's unique name (apalis worker name).
    pub name: String,
    pub lane: String,
    /// The pod or host it runs on.
    pub host: String,
    pub started_at: Option<DateTime<Utc>>,
    pub last_heartbeat: DateTime<Utc>,
    pub in_flight: u64,
    /// Its concurrency, when known: shown as `in_flight / concurrency`.
    pub concurrency: Option<u64>,
}

/// The whole workers page.
pub fn render_workers(ctx: &PageContext, view: &WorkersView) -> Markup {
    let stale = |w: &WorkerRow| {
        (ctx.now - w.last_heartbeat).to_std().unwrap_or_default() > view.stale_after
    };
    let stale_count = view.workers.iter().filter(|w| stale(w)).count();
    let in_flight: u64 = view.workers.iter().map(|w| w.in_flight).sum();
    // apalis-redis keeps no start time: the column appears only when a row has one.
    let started = view.workers.iter().any(|w| w.started_at.is_some());
    let body = html! {
        p.meta {
            (view.workers.len()) " consumers · " (stale_count) " stale (no heartbeat for "
            (format::age(view.stale_after)) ") · " (format::count(in_flight)) " jobs in flight"
        }
        table.grid #workers {
            thead { tr {
                th { "Consumer" } th { "Lane" } th { "Host" } @if started { th { "Started" } }
                th { "Last heartbeat" } th.num { "In flight" }
            } }
            tbody {
                @for w in &view.workers {
                    tr.stale[stale(w)] data-worker=(w.name) {
                        td.mono { (w.name) }
                        td { (w.lane) }
                        td.mono { (w.host) }
                        @if started {
                            td { (w.started_at.map(|t| format::ago(ctx.now, t) + " ago").unwrap_or_else(|| "–".into())) }
                        }
                        td title=(format::timestamp(w.last_heartbeat)) {
                            (format::ago(ctx.now, w.last_heartbeat)) " ago"
                            @if stale(w) { " " span.tag.warn { "stale" } }
                        }
                        td.num {
                            (format::count(w.in_flight))
                            @if let Some(c) = w.concurrency { span.dim { " / " (format::count(c)) } }
                        }
                    }
                }
                @if view.workers.is_empty() { tr { td.empty colspan=(if started { "6" } else { "5" }) { "No live consumers." } } }
            }
        }
    };
    layout::page(ctx, Section::Workers, "Workers", body)
}
