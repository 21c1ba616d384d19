use clap::Parser;

use super::*;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: DrainArgs,
}

#[test]
fn phases_and_worker_counts_parse_as_the_script_took_them() {
    let p: Phases = "a  b e".parse().unwrap();
    assert!(p.has('a') && p.has('e') && !p.has('c'));
    assert!("a x".parse::<Phases>().unwrap_err().contains("'x'"));
    assert_eq!("1 2 3".parse::<WorkerCounts>().unwrap().0, vec![1, 2, 3]);
    assert!("1 4".parse::<WorkerCounts>().is_err());
}

#[test]
fn a_bad_value_names_its_variable() {
    let err = Cli::try_parse_from(["x", "--backlog", "lots"])
        .err()
        .unwrap();
    assert!(err.to_string().contains("BENCH_BACKLOG"), "{err}");
    let err = Cli::try_parse_from(["x", "--db", "a-b"]).err().unwrap();
    assert!(err.to_string().contains("BENCH_DB"), "{err}");
}

#[test]
fn the_defaults_are_the_scripts() {
    let a = Cli::try_parse_from(["x"]).unwrap().args;
    assert_eq!(a.backlog, 100_000);
    assert_eq!(a.workers.0, vec![1, 2, 3]);
    assert_eq!(a.pgbench_mode, "prepared");
    assert!(a.scrape && !a.keep);
    assert_eq!(a.api_admin.to_string(), "127.0.0.1:19190");
}
