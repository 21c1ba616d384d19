//! Signed-webhook sources as the api serves them: the cached registry and how a verified
//! delivery becomes its event. What a source is, its SQL and its validated changes live in
//! [`sluice_shared::registry::sources`] (shared with the console) and are re-exported here.
//!
//! # Layout
//! - [`SourceRegistry`]: the `sources` table cached like the bots ([`crate::registry`]).
//! - [`store`]: how the registry loads it (the SQL itself is shared).
//! - [`extract`]: a source's options applied to a verified delivery → the queued event.
//!
//! The `sluice-api sources` commands are [`crate::cli::sources`].

pub mod extract;
pub mod store;

pub use sluice_shared::registry::sources::{
    DEFAULT_TOLERANCE, Locator, Pointer, Source, header_name, manage, valid_name,
};

use crate::registry::Cache;

/// The source registry: the `sources` table, cached in memory and re-read every few seconds.
pub type SourceRegistry = Cache<Source>;
