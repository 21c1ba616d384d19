//! The settings a binary's command line reads, for the tests that hold every duration setting
//! to one convention and the table of deprecated names (`sluice_shared::config::renamed`) to the
//! settings that exist.

use std::ffi::OsStr;

use clap::{Command, builder::ValueParser};
use sluice_shared::config::{parse_duration, renamed::LEGACY};

/// Every setting of `cmd` and its subcommands: (variable, whether it is a duration).
pub fn of(cmd: &Command) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    collect(cmd, &mut out);
    out
}

fn collect(cmd: &Command, out: &mut Vec<(String, bool)>) {
    let duration = ValueParser::new(parse_duration).type_id();
    for arg in cmd.get_arguments() {
        if let Some(env) = arg.get_env().and_then(OsStr::to_str) {
            out.push((env.to_owned(), arg.get_value_parser().type_id() == duration));
        }
    }
    for sub in cmd.get_subcommands() {
        collect(sub, out);
    }
}

/// The variables a `--help` text names (`[env: NAME=]`): another binary's settings, read from
/// the real binary where its crate may not be linked.
pub fn in_help(help: &str) -> Vec<String> {
    help.split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split_once('=').map(|(name, _)| name.to_owned()))
        .collect()
}

/// Checks one binary's settings (`own`) against the deprecated-names table: no duration names
/// its unit, no old name is still a setting, and a row's new name, where it is a setting here,
/// is a duration. With `others` (every other binary's variables), each row's new name must also
/// exist somewhere. Panics naming the first offence.
pub fn check_deprecated_table(own: &[(String, bool)], others: Option<&[String]>) {
    let here = |name: &str| own.iter().find(|(n, _)| n == name);
    for row in LEGACY {
        match here(row.new) {
            Some((_, duration)) => assert!(duration, "{} is no duration setting", row.new),
            None => {
                if let Some(others) = others {
                    assert!(
                        others.iter().any(|n| n == row.new),
                        "{} is no setting of any binary",
                        row.new
                    );
                }
            }
        }
        if row.old != row.new {
            assert!(
                here(row.old).is_none(),
                "{} is deprecated but still a setting",
                row.old
            );
        }
    }
    for (name, duration) in own {
        if *duration {
            assert!(!name.ends_with("_MS") && !name.ends_with("_S"), "{name}");
        }
    }
}
