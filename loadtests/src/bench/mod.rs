//! Benchmarks run from `sluice-load bench ...`: each starts the processes it measures as its
//! children, samples Redis and Postgres itself and writes its figures as JSON (the scripts
//! under `loadtests/bench/` only build the binaries and run these).

pub mod drain;
