//! The console's routes, one module per family, and the table of every route with who may reach
//! it (tests walk it, so a new route cannot escape the authentication test).

pub mod admission;
pub mod assets;
pub mod bots;
pub mod bots_page;
pub mod dead_letter_pages;
pub mod dead_letters;
pub mod lanes;
pub mod login;
pub mod workers;

use axum::http::Method;

/// Who may reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed: the sign-in form and the static files.
    Public,
    /// A session cookie (else a redirect to sign-in); a change also needs the CSRF field.
    Page,
    /// A bearer token or a session cookie (else 401); a change with the cookie needs the CSRF
    /// header.
    Api,
}

/// One route of the console.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    /// The route template (`{id}` for a parameter).
    pub path: String,
    pub access: Access,
}
