//! The dead-letter list: a filter form whose fields are GET parameters, a table of one page, and
//! cursor links. The filter is parsed by the console from the same struct that renders it.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::{
    format,
    layout::{self, PageContext, Section},
    paths::{self, with_query},
    query::{Action, ConfirmQuery, DeadLetterFilter, DeadLettersQuery},
};

/// Where a dead letter came from.
#[derive(Debug, Clone)]
pub enum Origin {
    Bot { name: String, update_id: i64 },
    Source { name: String, key: String },
}

impl Origin {
    pub(crate) fn render(&self) -> Markup {
        match self {
            Origin::Bot { name, update_id } => html! {
                span.tag { "bot" } " " (name) " " span.dim.mono { "#" (update_id) }
            },
            Origin::Source { name, key } => html! {
                span.tag { "source" } " " (name) " " span.dim.mono { (format::truncate(key, 16)) }
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeadLettersView {
    pub query: DeadLettersQuery,
    /// The lanes offered in the filter's select.
    pub lanes: Vec<String>,
    pub rows: Vec<DeadLetterRow>,
    /// The cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
    /// How many match, when the console can count cheaply; `None` hides the number.
    pub matching: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct DeadLetterRow {
    pub id: String,
    pub lane: String,
    pub origin: Origin,
    pub kind: String,
    pub reason: String,
    pub attempts: u32,
    pub dead_at: DateTime<Utc>,
}

/// The whole dead-letter list page.
pub fn render_dead_letters(ctx: &PageContext, view: &DeadLettersView) -> Markup {
    let filter = &view.query.filter;
    let body = html! {
        (filter_form(filter, &view.lanes))
        div.toolbar {
            span.meta {
                @if let Some(n) = view.matching { (format::count(n)) " matching · " }
                (view.rows.len()) " on this page"
            }
            @if !view.rows.is_empty() {
                a.button href=(confirm_href(Action::Replay, filter)) { "Replay matching…" }
                a.button.danger href=(confirm_href(Action::Purge, filter)) { "Purge matching…" }
            }
        }
        table.grid #dead-letters {
            thead { tr {
                th { "Died" } th { "Lane" } th { "From" } th { "Kind" } th { "Reason" }
                th.num { "Attempts" } th { "Id" }
            } }
            tbody {
                @for row in &view.rows {
                    tr data-id=(row.id) {
                        td title=(format::timestamp(row.dead_at)) { (format::ago(ctx.now, row.dead_at)) " ago" }
                        td { (row.lane) }
                        td { (row.origin.render()) }
                        td.mono { (row.kind) }
                        td.reason title=(row.reason) { (format::truncate(&row.reason, 90)) }
                        td.num { (row.attempts) }
                        td.mono title=(row.id) { a href=(paths::dead_letter(&row.id)) { (format::truncate(&row.id, 12)) } }
                    }
                }
                @if view.rows.is_empty() {
                    tr { td.empty colspan="7" { "No dead letters match." } }
                }
            }
        }
        nav.pager {
            @if view.query.cursor.is_some() {
                a href=(list_href(filter, None)) { "« First page" }
            }
            @if let Some(cursor) = &view.next_cursor {
                a rel="next" href=(list_href(filter, Some(cursor))) { "Next page »" }
            }
        }
    };
    layout::page(ctx, Section::DeadLetters, "Dead letters", body)
}

fn filter_form(filter: &DeadLetterFilter, lanes: &[String]) -> Markup {
    html! {
        form.filters #dead-letter-filter method="get" action=(paths::DEAD_LETTERS) {
            label { "Lane"
                select name="lane" {
                    option value="" { "any" }
                    @for lane in lanes {
                        option value=(lane) selected[filter.lane.as_deref() == Some(lane)] { (lane) }
                    }
                }
            }
            label { "Bot or source"
                input type="text" name="origin" value=[filter.origin.as_deref()] maxlength="64" size="14";
            }
            label { "Reason contains"
                input type="search" name="reason" value=[filter.reason.as_deref()] maxlength="200" size="22";
            }
            label { "Died since (UTC)"
                input type="datetime-local" name="since" value=[filter.since.as_deref()];
            }
            label { "until"
                input type="datetime-local" name="until" value=[filter.until.as_deref()];
            }
            button type="submit" { "Filter" }
            @if !filter.is_empty() { a.reset href=(paths::DEAD_LETTERS) { "Clear" } }
        }
    }
}

fn list_href(filter: &DeadLetterFilter, cursor: Option<&str>) -> String {
    let query = DeadLettersQuery {
        filter: filter.clone(),
        cursor: cursor.map(str::to_owned),
    };
    with_query(paths::DEAD_LETTERS, &query)
}

fn confirm_href(action: Action, filter: &DeadLetterFilter) -> String {
    let query = ConfirmQuery {
        action,
        id: None,
        filter: filter.clone(),
    };
    with_query(paths::DEAD_LETTERS_CONFIRM, &query)
}
