//! Load profiles, SLO gates and benchmarks for sluice (the ingress benchmark lives in
//! `loadtests/bench/ingress`).

pub mod report;
pub mod summary;
