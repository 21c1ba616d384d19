//! The console's dead-letter and workers views against real Redis (a fresh key prefix per
//! test): the console served on port 0 by `sluice_console::serve`, as the api serves it.

mod at_scale;
mod dead_letters;
mod dead_letters_act;
mod support;
mod workers;
