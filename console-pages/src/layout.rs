//! The page shell every signed-in page shares: head, nav, flash message, sign-out form.
//!
//! Pages carry no inline script and no inline style, so the console can answer with
//! [`CONTENT_SECURITY_POLICY`]; htmx's own indicator style is switched off for the same reason.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::{assets, format, paths};

/// The `Content-Security-Policy` the pages are written for: nothing but our own files.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// htmx settings: no injected `<style>` (CSP), no `eval`, history cache off (pages hold counts
/// that go stale, and a one-time secret must not be kept in `localStorage`).
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0,"selfRequestsOnly":true}"#;

/// The session's CSRF token, rendered as a hidden field in every mutating form.
#[derive(Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    pub fn new(token: impl Into<String>) -> CsrfToken {
        CsrfToken(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<input type=hidden name=csrf_token value=…>`.
    pub fn field(&self) -> Markup {
        html! { input type="hidden" name=(paths::CSRF_FIELD) value=(self.0); }
    }
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken(<redacted>)")
    }
}

/// A message shown once at the top of the next page (after a redirect, say).
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Info,
    Success,
    Error,
}

/// What every signed-in page needs besides its own view model.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// For the hidden field of every form that changes something, and the sign-out form.
    pub csrf: CsrfToken,
    pub flash: Option<Flash>,
    /// The time the page is rendered at: ages and "x ago" are computed from it, not from a clock
    /// read here, so a render is a pure function of its inputs.
    pub now: DateTime<Utc>,
}

/// The nav entries, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Lanes,
    DeadLetters,
    Bots,
    Workers,
}

const NAV: [(Section, &str, &str); 4] = [
    (Section::Lanes, paths::LANES, "Lanes"),
    (Section::DeadLetters, paths::DEAD_LETTERS, "Dead letters"),
    (Section::Bots, paths::BOTS, "Bots & sources"),
    (Section::Workers, paths::WORKERS, "Workers"),
];

/// `<head>` shared by every page, the sign-in page included.
pub(crate) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · sluice console" }
            link rel="icon" type="image/svg+xml" href=(assets::favicon().path);
            link rel="stylesheet" href=(assets::stylesheet().path);
            script src=(assets::htmx().path) defer {}
        }
    }
}

/// A whole signed-in page: head, nav with `active` marked, the flash, then `body`.
pub fn page(ctx: &PageContext, active: Section, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href=(paths::LANES) { "sluice" }
                    nav {
                        @for (section, href, label) in NAV {
                            a href=(href) aria-current=[(section == active).then_some("page")] {
                                (label)
                            }
                        }
                    }
                    form.signout method="post" action=(paths::LOGOUT) {
                        (ctx.csrf.field())
                        button.link type="submit" { "Sign out" }
                    }
                }
                main {
                    @if let Some(flash) = &ctx.flash {
                        (flash_box(flash))
                    }
                    h1 { (title) }
                    (body)
                }
                footer {
                    "Rendered " (format::timestamp(ctx.now))
                }
            }
        }
    }
}

fn flash_box(flash: &Flash) -> Markup {
    let class = match flash.kind {
        FlashKind::Info => "flash info",
        FlashKind::Success => "flash success",
        FlashKind::Error => "flash error",
    };
    let role = if flash.kind == FlashKind::Error {
        "alert"
    } else {
        "status"
    };
    html! { div class=(class) role=(role) { (flash.text) } }
}
