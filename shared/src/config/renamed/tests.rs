//! The deprecated names: read, warned about, and never silently overriding the new ones.

use std::time::Duration;

use clap::{Parser, Subcommand};

use super::{super::parse_with, *};
use crate::config::{duration_at_least, duration_between, one_line};

const MS: Duration = Duration::from_millis(1);

#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Subcommand, Debug)]
enum Sub {
    Serve(Serve),
    /// A command that reads none of the durations.
    Other,
}

#[derive(clap::Args, Debug)]
struct Serve {
    #[arg(long = "shutdown-grace", env = "SLUICE_SHUTDOWN_GRACE", value_name = "SLUICE_SHUTDOWN_GRACE",
          default_value = "30s", value_parser = duration_at_least(Duration::ZERO))]
    grace: Duration,
    #[arg(long = "enqueue-timeout", env = "SLUICE_ENQUEUE_TIMEOUT", value_name = "SLUICE_ENQUEUE_TIMEOUT",
          default_value = "250ms", value_parser = duration_between(MS, Duration::from_secs(60)))]
    enqueue: Duration,
    #[arg(long = "poll-interval", env = "SLUICE_POLL_INTERVAL", value_name = "SLUICE_POLL_INTERVAL",
          default_value = "50ms", value_parser = duration_at_least(MS))]
    poll: Duration,
}

fn steps(env: &[(&str, &str)]) -> Vec<Step> {
    plan(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
}

/// `serve` with `args` in the environment `env` (only the deprecated sources come from `env`:
/// none of the new names is set in the test process).
fn serve(args: &[&str], env: &[(&str, &str)]) -> Result<(Serve, Vec<String>), String> {
    let steps = steps(env);
    let argv = ["t", "serve"].iter().chain(args);
    let (cli, notices) = parse_with::<Cli>(argv, &steps).map_err(|e| one_line(&e))?;
    let Sub::Serve(s) = cli.command else {
        panic!("serve")
    };
    Ok((s, notices.iter().map(|n| n.to_string()).collect()))
}

#[test]
fn nothing_deprecated_set_changes_nothing() {
    assert!(steps(&[]).is_empty());
    let (s, notices) = serve(&[], &[]).unwrap();
    assert_eq!(
        (s.grace, s.enqueue, s.poll),
        (Duration::from_secs(30), 250 * MS, 50 * MS)
    );
    assert!(notices.is_empty());
}

#[test]
fn an_old_name_is_read_in_its_old_unit_with_a_warning_naming_both() {
    let (s, notices) = serve(
        &[],
        &[
            ("SLUICE_SHUTDOWN_GRACE_S", "45"),
            ("SLUICE_ENQUEUE_TIMEOUT_MS", "100"),
        ],
    )
    .unwrap();
    assert_eq!((s.grace, s.enqueue), (Duration::from_secs(45), 100 * MS));
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices
            .iter()
            .any(|n| n.contains("SLUICE_ENQUEUE_TIMEOUT_MS is deprecated")
                && n.contains("set SLUICE_ENQUEUE_TIMEOUT=100ms")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("SLUICE_SHUTDOWN_GRACE=45s"))
    );
}

#[test]
fn an_old_seconds_name_keeps_taking_a_unit_too() {
    let (s, _) = serve(&[], &[("SLUICE_SHUTDOWN_GRACE_S", "500ms")]).unwrap();
    assert_eq!(s.grace, 500 * MS);
}

#[test]
fn a_flag_still_beats_an_old_name() {
    let (s, _) = serve(
        &["--shutdown-grace=5s"],
        &[("SLUICE_SHUTDOWN_GRACE_S", "45")],
    )
    .unwrap();
    assert_eq!(s.grace, Duration::from_secs(5));
}

#[test]
fn an_old_value_out_of_bounds_names_the_old_variable_on_one_line() {
    let e = serve(&[], &[("SLUICE_ENQUEUE_TIMEOUT_MS", "0")]).unwrap_err();
    assert_eq!(
        e,
        "error: invalid value '0ms' for SLUICE_ENQUEUE_TIMEOUT_MS (the deprecated name of \
         SLUICE_ENQUEUE_TIMEOUT): must be at least 1ms"
    );
    let e = serve(&[], &[("SLUICE_ENQUEUE_TIMEOUT_MS", "soon")]).unwrap_err();
    assert!(
        e.contains("SLUICE_ENQUEUE_TIMEOUT_MS") && !e.contains('\n'),
        "{e}"
    );
    // A bad flag given by hand is the flag's error, whatever the old variable says.
    let e = serve(
        &["--enqueue-timeout=0s"],
        &[("SLUICE_ENQUEUE_TIMEOUT_MS", "100")],
    )
    .unwrap_err();
    assert!(
        e.contains("'--enqueue-timeout <SLUICE_ENQUEUE_TIMEOUT>'"),
        "{e}"
    );
    assert!(!e.contains("_MS"), "{e}");
}

#[test]
fn both_names_set_the_new_one_wins_and_a_disagreement_is_said() {
    let disagree = steps(&[
        ("SLUICE_SHUTDOWN_GRACE_S", "10"),
        ("SLUICE_SHUTDOWN_GRACE", "20s"),
    ]);
    assert_eq!(disagree.len(), 1);
    assert_eq!(
        disagree[0].value, None,
        "no default from the old name: the new one is read"
    );
    let said = disagree[0].notice.to_string();
    assert!(
        said.contains("SLUICE_SHUTDOWN_GRACE_S=10 and SLUICE_SHUTDOWN_GRACE=20s disagree")
            && said.contains("SLUICE_SHUTDOWN_GRACE wins"),
        "{said}"
    );
    let agree = steps(&[
        ("SLUICE_SHUTDOWN_GRACE_S", "30"),
        ("SLUICE_SHUTDOWN_GRACE", "30s"),
    ]);
    assert!(matches!(
        agree[0].notice,
        Notice::BothSet { agree: true, .. }
    ));
    assert!(
        agree[0]
            .notice
            .to_string()
            .contains("remove the deprecated SLUICE_SHUTDOWN_GRACE_S")
    );
    // An old value that does not parse never "agrees".
    let junk = steps(&[
        ("SLUICE_SHUTDOWN_GRACE_S", "x"),
        ("SLUICE_SHUTDOWN_GRACE", "x"),
    ]);
    assert!(matches!(
        junk[0].notice,
        Notice::BothSet { agree: false, .. }
    ));
}

#[test]
fn a_bare_number_where_the_name_stayed_is_read_as_seconds_with_a_warning() {
    let (s, notices) = serve(&[], &[("SLUICE_POLL_INTERVAL", "2")]).unwrap();
    assert_eq!(s.poll, Duration::from_secs(2));
    assert_eq!(
        notices,
        [
            "SLUICE_POLL_INTERVAL=2 has no unit: read as 2s now, refused after this release; \
          set SLUICE_POLL_INTERVAL=2s"
        ]
    );
    // With a unit, or 0, it is not deprecated at all.
    assert!(steps(&[("SLUICE_POLL_INTERVAL", "2s")]).is_empty());
    assert!(steps(&[("SLUICE_DLQ_RETENTION", "0")]).is_empty());
}

#[test]
fn a_command_that_reads_no_duration_warns_about_none() {
    let steps = steps(&[("SLUICE_SHUTDOWN_GRACE_S", "45")]);
    let (cli, notices) = parse_with::<Cli>(["t", "other"], &steps).unwrap();
    assert!(matches!(cli.command, Sub::Other));
    assert!(notices.is_empty(), "{notices:?}");
}

#[test]
fn the_table_maps_unit_suffixes_away() {
    let mut olds = std::collections::BTreeSet::new();
    for row in LEGACY {
        assert!(olds.insert(row.old), "{} twice", row.old);
        assert!(
            !row.new.ends_with("_MS") && !row.new.ends_with("_S"),
            "{}",
            row.new
        );
        if row.old != row.new {
            let suffix = format!("_{}", row.unit.to_uppercase());
            assert_eq!(row.old.strip_suffix(&suffix), Some(row.new), "{row:?}");
        } else {
            assert_eq!(row.unit, "s");
        }
    }
}
