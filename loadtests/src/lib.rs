//! Load profiles, SLO gates and benchmarks for sluice (`bench`: the ingress and admission
//! benchmarks that `loadtests/bench/<name>/run` start).

pub mod bench;
pub mod bots;
pub mod dbsnap;
pub mod delivery;
pub mod gate;
pub mod ordering;
pub mod profile;
pub mod replies;
pub mod report;
pub mod run;
pub mod sample;
pub mod summary;
pub mod traffic;
