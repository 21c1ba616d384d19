//! The operator console's HTML: plain view models in, server-rendered pages out.
//!
//! Nothing here does I/O: no Redis, no Postgres, no clock, no axum state. The console crate
//! fills the view models from its service functions and hands the [`maud::Markup`] (or its
//! `String`) to its router. Every value is escaped by maud; the only secret a view model can hold
//! is [`bots::OneTimeSecret`], the result of an add or a rotation, shown once.
//!
//! # Layout
//! - [`paths`]: every URL the pages link or post to, and the names of the form fields.
//! - [`query`]: what the dead-letter pages send back (filter, replay/purge target), parsed by the
//!   console from the same structs.
//! - [`assets`]: embedded static files (htmx, the stylesheet) at content-hashed paths.
//! - [`layout`]: the page shell (nav, flash message, sign-out), the CSRF field, the CSP.
//! - [`format`]: counts, ages, rates and timestamps as an operator reads them.
//! - [`chart`]: inline SVG line charts drawn from series of points.
//! - [`login`], [`lanes`], [`dead_letters`], [`dead_letter`], [`bots`], [`workers`]: one page
//!   (and its fragments or confirmation steps) each.

pub mod assets;
pub mod bots;
pub mod chart;
pub mod dead_letter;
pub mod dead_letters;
pub mod format;
pub mod lanes;
pub mod layout;
pub mod login;
pub mod paths;
pub mod query;
pub mod workers;

pub use layout::{CsrfToken, Flash, FlashKind, PageContext};
pub use maud::Markup;
