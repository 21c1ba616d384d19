//! The public routes, one module per route family, and what they share.

mod admit;
mod answer;
mod body;
pub mod budget;
pub mod hooks;
mod name;
pub mod telegram;
