//! The public routes, one module per route family.

pub mod telegram;
