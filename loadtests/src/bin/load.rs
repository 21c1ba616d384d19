//! `sluice-load`: realistic bot traffic against a running sluice, and the SLO gate.

fn main() {}
