//! The settings parsed from the environment, and the rounding the summaries use.

use clap::Parser;
use sluice_loadtests::bench::BenchCommand;
use sluice_loadtests::bench::knobs::{WrkDuration, parse_db_name, random_secret, round_to};

#[test]
fn wrk_durations_are_whole_seconds() {
    let secs = |s: &str| s.parse::<WrkDuration>().map(|d| d.secs());
    assert_eq!(secs("15s"), Ok(15));
    assert_eq!(secs("2m"), Ok(120));
    assert_eq!(secs("30"), Ok(30));
    assert_eq!("2m".parse::<WrkDuration>().unwrap().to_string(), "120s");
    assert!(
        secs("1500ms")
            .unwrap_err()
            .contains("whole number of seconds")
    );
    assert!(secs("0s").is_err());
    assert!(secs("soon").is_err());
}

#[test]
fn database_names_are_safe_in_sql() {
    assert_eq!(parse_db_name("sluice_bench_2"), Ok("sluice_bench_2".into()));
    for bad in ["", "a-b", "x\"; DROP", "b c"] {
        assert!(parse_db_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn secrets_are_fresh_and_header_safe() {
    let (a, b) = (random_secret(), random_secret());
    assert_ne!(a, b);
    assert_eq!(a.len(), "bench-".len() + 24);
    assert!(
        a.strip_prefix("bench-")
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    );
}

#[test]
fn rounding_is_jqs() {
    assert_eq!(round_to(17.394_53, 2), 17.39);
    assert_eq!(round_to(0.285_96, 3), 0.286);
    assert_eq!(round_to(-1.005_1, 2), -1.01);
}

/// The benches' settings as `sluice-load bench` parses them.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    which: BenchCommand,
}

/// Parses flags only: the tests must not depend on the environment they run in.
fn parse(args: &[&str]) -> Result<BenchCommand, clap::Error> {
    Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|c| c.which)
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let BenchCommand::Ingress(i) = parse(&["ingress", "--bin-dir", "/b"]).unwrap() else {
        panic!()
    };
    assert_eq!((i.wrk_threads, i.wrk_connections), (2, 64));
    assert_eq!((i.wrk_duration.secs(), i.wrk_warmup.secs()), (15, 3));
    assert_eq!(i.bench_db, "sluice_bench");
    assert_eq!(i.bench_redis_port, 16379);
    assert_eq!(i.bench_api_addr.to_string(), "127.0.0.1:18081");
    assert_eq!(
        (
            i.bench_backlog,
            i.bench_drain_timeout_s,
            i.bench_quiet_wait_s
        ),
        (100_000, 900, 120)
    );
    assert_eq!(i.sluice_rate_scope, "off");
    assert!(!i.bench_keep);
    let BenchCommand::Admission(a) = parse(&["admission", "--bin-dir", "/b"]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (a.wrk_slice.secs(), a.slices, a.wrk_warmup.secs()),
        (3, 10, 2)
    );
}

#[test]
fn a_bad_value_names_its_variable() {
    let err = parse(&["ingress", "--bin-dir", "/b", "--wrk-threads", "two"]).unwrap_err();
    assert!(err.to_string().contains("WRK_THREADS"), "{err}");
    let err = parse(&["ingress", "--bin-dir", "/b", "--bench-backlog", "0"]).unwrap_err();
    assert!(err.to_string().contains("BENCH_BACKLOG"), "{err}");
    let err = parse(&["admission", "--bin-dir", "/b", "--wrk-slice", "1500ms"]).unwrap_err();
    assert!(err.to_string().contains("WRK_SLICE"), "{err}");
}

#[test]
fn the_ordering_bench_defaults_are_the_issues_sizes() {
    let BenchCommand::Ordering(o) = parse(&["ordering"]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (o.updates, o.chats, o.hot, o.rounds),
        (100_000, 10_000, 10_000, 3)
    );
    let ms = std::time::Duration::from_millis;
    assert_eq!(o.handler_time, [ms(1), ms(10)]);
    let BenchCommand::Ordering(o) = parse(&["ordering", "--handler-time", "2ms,20ms,5ms"]).unwrap()
    else {
        panic!()
    };
    assert_eq!(o.handler_time, [ms(2), ms(20), ms(5)]);
    assert_eq!((o.concurrency, o.connections), (16, 64));
    let err = parse(&["ordering", "--updates", "many"]).unwrap_err();
    assert!(err.to_string().contains("BENCH_ORDER_UPDATES"), "{err}");
    let err = parse(&["ordering", "--handler-time", "1"]).unwrap_err();
    assert!(
        err.to_string().contains("BENCH_ORDER_HANDLER_TIME"),
        "{err}"
    );
}
