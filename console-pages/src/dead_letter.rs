//! One dead letter (its payload, pretty and escaped, and its attempts), and the confirmation step
//! every replay or purge goes through: a `GET` that counts, then a `POST` form with the CSRF field.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::{
    dead_letters::Origin,
    format,
    layout::{self, PageContext, Section},
    paths::{self, with_query},
    query::{Action, ConfirmQuery, DeadLetterFilter},
};

/// Payloads longer than this are cut on the page (the API still returns them whole).
pub const MAX_PAYLOAD_CHARS: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct DeadLetterView {
    pub id: String,
    pub lane: String,
    pub origin: Origin,
    pub kind: String,
    pub reason: String,
    pub received_at: DateTime<Utc>,
    pub dead_at: DateTime<Utc>,
    /// The job's payload as stored: JSON is shown indented, anything else as text.
    pub payload: String,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub number: u32,
    pub at: Option<DateTime<Utc>>,
    /// What went wrong, as the worker recorded it.
    pub error: String,
}

/// The dry run's answer: how many letters the action would touch.
#[derive(Debug, Clone)]
pub struct ConfirmView {
    /// The console may pin `filter.until` to the dry run's time, so that letters dying after
    /// the count are not swept up by the confirmed action.
    pub query: ConfirmQuery,
    pub count: u64,
}

/// One letter's page.
pub fn render_dead_letter(ctx: &PageContext, view: &DeadLetterView) -> Markup {
    let confirm = |action| {
        let q = ConfirmQuery {
            action,
            id: Some(view.id.clone()),
            filter: DeadLetterFilter::default(),
        };
        with_query(paths::DEAD_LETTERS_CONFIRM, &q)
    };
    let body = html! {
        div.toolbar {
            a href=(paths::DEAD_LETTERS) { "« All dead letters" }
            a.button #replay href=(confirm(Action::Replay)) { "Replay…" }
            a.button.danger #purge href=(confirm(Action::Purge)) { "Purge…" }
        }
        table.facts {
            tr { th { "Id" } td.mono #letter-id { (view.id) } }
            tr { th { "Lane" } td { (view.lane) } }
            tr { th { "From" } td { (view.origin.render()) } }
            tr { th { "Kind" } td.mono { (view.kind) } }
            tr { th { "Reason" } td.reason { (view.reason) } }
            tr { th { "Received" } td { (format::timestamp(view.received_at)) } }
            tr { th { "Died" } td {
                (format::timestamp(view.dead_at)) " (" (format::ago(ctx.now, view.dead_at)) " ago)"
            } }
        }
        h2 { "Attempts" }
        table.grid #attempts {
            thead { tr { th.num { "#" } th { "At" } th { "Error" } } }
            tbody {
                @for a in &view.attempts {
                    tr {
                        td.num { (a.number) }
                        td { (a.at.map(format::timestamp).unwrap_or_else(|| "–".into())) }
                        td.reason { (a.error) }
                    }
                }
                @if view.attempts.is_empty() { tr { td.empty colspan="3" { "No attempts recorded." } } }
            }
        }
        h2 { "Payload" }
        pre.payload #payload { code { (pretty(&view.payload)) } }
    };
    layout::page(ctx, Section::DeadLetters, "Dead letter", body)
}

/// The payload indented when it is JSON, cut at [`MAX_PAYLOAD_CHARS`]; maud escapes it.
fn pretty(payload: &str) -> String {
    let text = indent(payload).unwrap_or_else(|| payload.to_owned());
    match format::truncate(&text, MAX_PAYLOAD_CHARS) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(cut) => format!("{cut}\n(cut at {MAX_PAYLOAD_CHARS} characters)"),
    }
}

/// JSON re-indented in its own key order (a `Value` would sort the keys); `None` if not JSON.
fn indent(payload: &str) -> Option<String> {
    let mut out = Vec::with_capacity(payload.len() * 2);
    let mut from = serde_json::Deserializer::from_str(payload);
    serde_transcode::transcode(&mut from, &mut serde_json::Serializer::pretty(&mut out)).ok()?;
    from.end().ok()?;
    String::from_utf8(out).ok()
}

/// The confirmation page: the count, then a form that posts the same target with the CSRF field.
pub fn render_confirm(ctx: &PageContext, view: &ConfirmView) -> Markup {
    let q = &view.query;
    let verb = q.action.verb();
    // "(01JEX…)" for one letter, "matching lane \"low\", …" for a filter.
    let what = match &q.id {
        Some(id) => format!("({id})"),
        None if q.filter.is_empty() => "(all of them)".to_owned(),
        None => format!("matching {}", q.filter.describe()),
    };
    let back = match &q.id {
        Some(id) => paths::dead_letter(id),
        None => with_query(paths::DEAD_LETTERS, &q.filter),
    };
    let body = html! {
        div.card.confirm {
            @if view.count == 0 {
                p #dry-run { "Nothing to " (verb.to_lowercase()) ": no dead letter " (what) " is left." }
                a href=(back) { "« Back" }
            } @else {
                p #dry-run {
                    (verb) " " strong #dry-run-count { (format::count(view.count)) }
                    @if view.count == 1 { " dead letter " } @else { " dead letters " }
                    (what) "?"
                }
                @if q.action == Action::Purge { p.warn { "Purged letters are gone for good." } }
                form #confirm-form method="post" action=(q.action.path()) {
                    (ctx.csrf.field())
                    @if let Some(id) = &q.id { input type="hidden" name="id" value=(id); }
                    (hidden("lane", &q.filter.lane))
                    (hidden("origin", &q.filter.origin))
                    (hidden("reason", &q.filter.reason))
                    (hidden("since", &q.filter.since))
                    (hidden("until", &q.filter.until))
                    button.danger[q.action == Action::Purge] type="submit" { (verb) " " (format::count(view.count)) }
                    " "
                    a href=(back) { "Cancel" }
                }
            }
        }
    };
    layout::page(
        ctx,
        Section::DeadLetters,
        &format!("{verb} dead letters"),
        body,
    )
}

fn hidden(name: &str, value: &Option<String>) -> Markup {
    html! { @if let Some(v) = value { input type="hidden" name=(name) value=(v); } }
}
