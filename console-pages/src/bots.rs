//! Bots and sources: tables, the add forms, rotate-secret, limits, remove with confirmation.
//!
//! No view model here can hold a secret except [`OneTimeSecret`], the answer to an add or a
//! rotation: it is not `Clone`, its `Debug` is redacted, and [`render_bots`] takes it by value.
//! The console renders it straight into the `POST`'s answer (never behind a redirect, never
//! stored), with `Cache-Control: no-store`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    format,
    layout::{self, PageContext, Section},
    paths,
};

#[derive(Debug, Clone)]
pub struct BotsView {
    pub bots: Vec<BotRow>,
    pub sources: Vec<SourceRow>,
    /// Set from `?remove_bot=` / `?remove_source=`: shows the confirmation box.
    pub confirm_remove: Option<Subject>,
    /// Lanes a new source may be put in.
    pub lanes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct BotRow {
    pub name: String,
    /// `None`: the default limits apply.
    pub limits: Option<Limits>,
    /// Whether a Bot API token is on file (sealed); never the token.
    pub has_token: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub rate_per_sec: f64,
    pub burst: u32,
}

#[derive(Debug, Clone)]
pub struct SourceRow {
    pub name: String,
    /// `github`, `stripe` or `plain`.
    pub scheme: String,
    pub lane: String,
    pub tolerance: Duration,
    /// A second secret is accepted while a rotation is under way.
    pub rotating: bool,
    pub created_at: DateTime<Utc>,
}

/// A bot or a source, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Bot(String),
    Source(String),
}

impl Subject {
    fn words(&self) -> (&'static str, &str) {
        match self {
            Subject::Bot(n) => ("bot", n),
            Subject::Source(n) => ("source", n),
        }
    }
}

/// A secret just made by an add or a rotation: shown on this one page, then gone.
pub struct OneTimeSecret {
    subject: Subject,
    secret: String,
}

impl OneTimeSecret {
    pub fn new(subject: Subject, secret: String) -> OneTimeSecret {
        OneTimeSecret { subject, secret }
    }
}

impl std::fmt::Debug for OneTimeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OneTimeSecret({:?}, <redacted>)", self.subject)
    }
}

/// `POST` [`paths::BOTS_ADD`]. The webhook secret is made by the console and shown once.
#[derive(Deserialize)]
pub struct AddBotForm {
    pub name: String,
    /// The Bot API token; blank for a bot that only receives.
    #[serde(default)]
    pub token: String,
}

impl std::fmt::Debug for AddBotForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AddBotForm({:?}, token: <redacted>)", self.name)
    }
}

/// `POST` [`paths::BOTS_LIMITS`]: both blank restores the defaults.
#[derive(Debug, Deserialize)]
pub struct LimitsForm {
    pub name: String,
    #[serde(default)]
    pub rate_per_sec: String,
    #[serde(default)]
    pub burst: String,
}

/// `POST` [`paths::BOTS_ROTATE`], [`paths::BOTS_REMOVE`], [`paths::SOURCES_ROTATE`],
/// [`paths::SOURCES_REMOVE`].
#[derive(Debug, Deserialize)]
pub struct NameForm {
    pub name: String,
}

/// `POST` [`paths::SOURCES_ADD`]. The HMAC secret is made by the console and shown once.
#[derive(Debug, Deserialize)]
pub struct AddSourceForm {
    pub name: String,
    pub scheme: String,
    pub lane: String,
}

const SCHEMES: [&str; 3] = ["github", "stripe", "plain"];

/// The bots and sources page, with `secret` shown at the top when there is one.
pub fn render_bots(ctx: &PageContext, view: &BotsView, secret: Option<OneTimeSecret>) -> Markup {
    let body = html! {
        @if let Some(s) = secret { (one_time(&s)) }
        @if let Some(subject) = &view.confirm_remove { (confirm_remove(ctx, subject)) }
        section #bots {
            h2 { "Bots" }
            table.grid {
                thead { tr {
                    th { "Name" } th { "Bot API token" } th { "Limits (rate/s, burst)" }
                    th { "Updated" } th { "Created" } th.actions { "" }
                } }
                tbody {
                    @for bot in &view.bots { (bot_row(ctx, bot)) }
                    @if view.bots.is_empty() { tr { td.empty colspan="6" { "No bots yet." } } }
                }
            }
            form.inline.add #add-bot method="post" action=(paths::BOTS_ADD) {
                (ctx.csrf.field())
                strong { "Add a bot" }
                input type="text" name="name" placeholder="name" required pattern="[A-Za-z0-9_\\-]{1,64}" size="16";
                input type="password" name="token" placeholder="Bot API token (optional)" autocomplete="off" size="28";
                button type="submit" { "Add bot" }
            }
        }
        section #sources {
            h2 { "Sources" }
            table.grid {
                thead { tr {
                    th { "Name" } th { "Scheme" } th { "Lane" } th.num { "Tolerance" }
                    th { "Secret" } th { "Created" } th.actions { "" }
                } }
                tbody {
                    @for source in &view.sources { (source_row(ctx, source)) }
                    @if view.sources.is_empty() { tr { td.empty colspan="7" { "No sources yet." } } }
                }
            }
            form.inline.add #add-source method="post" action=(paths::SOURCES_ADD) {
                (ctx.csrf.field())
                strong { "Add a source" }
                input type="text" name="name" placeholder="name" required pattern="[A-Za-z0-9_\\-]{1,64}" size="16";
                select name="scheme" { @for s in SCHEMES { option { (s) } } }
                select name="lane" { @for l in &view.lanes { option selected[l == "normal"] { (l) } } }
                button type="submit" { "Add source" }
            }
        }
    };
    layout::page(ctx, Section::Bots, "Bots & sources", body)
}

fn bot_row(ctx: &PageContext, bot: &BotRow) -> Markup {
    let rate = bot.limits.map(|l| l.rate_per_sec.to_string());
    let burst = bot.limits.map(|l| l.burst.to_string());
    html! {
        tr data-bot=(bot.name) {
            th scope="row" { (bot.name) }
            td { @if bot.has_token { "on file" } @else { span.dim { "none" } } }
            td {
                form.inline.limits method="post" action=(paths::BOTS_LIMITS) {
                    (ctx.csrf.field())
                    input type="hidden" name="name" value=(bot.name);
                    input type="number" name="rate_per_sec" value=[rate] placeholder="default" min="0.001" step="any" aria-label="rate per second";
                    input type="number" name="burst" value=[burst] placeholder="default" min="1" step="1" aria-label="burst";
                    button.small type="submit" { "Save" }
                }
            }
            td title=(format::timestamp(bot.updated_at)) { (format::ago(ctx.now, bot.updated_at)) " ago" }
            td { (bot.created_at.format("%Y-%m-%d")) }
            td.actions { (row_actions(ctx, paths::BOTS_ROTATE, "remove_bot", &bot.name)) }
        }
    }
}

fn source_row(ctx: &PageContext, source: &SourceRow) -> Markup {
    html! {
        tr data-source=(source.name) {
            th scope="row" { (source.name) }
            td { (source.scheme) }
            td { (source.lane) }
            td.num { (format::age(source.tolerance)) }
            td { @if source.rotating { span.tag.warn { "rotating" } } @else { "one" } }
            td { (source.created_at.format("%Y-%m-%d")) }
            td.actions { (row_actions(ctx, paths::SOURCES_ROTATE, "remove_source", &source.name)) }
        }
    }
}

fn row_actions(ctx: &PageContext, rotate: &str, remove_param: &str, name: &str) -> Markup {
    let remove = paths::with_query(paths::BOTS, &[(remove_param, name)]);
    html! {
        form.inline method="post" action=(rotate) {
            (ctx.csrf.field())
            input type="hidden" name="name" value=(name);
            button.small type="submit" { "Rotate secret" }
        }
        a.button.small.danger href=(remove) { "Remove…" }
    }
}

fn confirm_remove(ctx: &PageContext, subject: &Subject) -> Markup {
    let (kind, name) = subject.words();
    let action = match subject {
        Subject::Bot(_) => paths::BOTS_REMOVE,
        Subject::Source(_) => paths::SOURCES_REMOVE,
    };
    html! {
        div.card.confirm #confirm-remove {
            p { "Remove " (kind) " " strong { (name) } "? Its deliveries will be refused from now on; stored history stays." }
            form.inline method="post" action=(action) {
                (ctx.csrf.field())
                input type="hidden" name="name" value=(name);
                button.danger type="submit" { "Remove " (kind) }
                " " a href=(paths::BOTS) { "Cancel" }
            }
        }
    }
}

fn one_time(s: &OneTimeSecret) -> Markup {
    let (kind, name) = s.subject.words();
    html! {
        div.card.secret #one-time role="status" {
            p { "New secret for " (kind) " " strong { (name) } ". Copy it now: it will not be shown again." }
            code #one-time-secret { (s.secret) }
            @if let Subject::Bot(_) = s.subject {
                p.hint { "Give it to Telegram as " code { "secret_token" } " in " code { "setWebhook" } "." }
            }
        }
    }
}
