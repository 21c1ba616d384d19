//! The `bots` table's writers live in [`sluice_shared::registry::bots`], shared with the console;
//! this path stays for the api's commands and tests.

pub use sluice_shared::registry::bots::*;
