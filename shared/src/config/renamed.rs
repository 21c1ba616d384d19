//! The deprecated names and spellings of duration settings, still read for one release.
//!
//! Until issue 13 durations came in three conventions: integers of milliseconds (`_MS` names),
//! seconds that also took "500ms" (`_S` names), and humantime values that also took a bare
//! number of seconds. Now every one is a humantime value under a name without a unit, and a bare
//! number is refused ([`super::duration`]). For one release, from the environment:
//! - an old name is read when its new name is unset, a bare number in the old name's unit;
//! - a bare number in a setting that kept its name is read as seconds;
//! - when an old and a new name are both set, the new one wins.
//!
//! Each case is printed once to stderr, naming what to set instead (the log subscriber is not
//! set up yet: its own settings are being parsed). Old flags (`--enqueue-timeout-ms`) are not
//! kept: a person typing one gets clap's "a similar argument exists" at once.
//!
//! The environment is not rewritten (edition 2024 makes `set_var` unsafe, and sluice forbids
//! unsafe code): the value read from a deprecated source becomes the setting's default in the
//! clap `Command` before it parses, so flags and the new name still take precedence.

use std::{collections::BTreeSet, ffi::OsStr, fmt, sync::Mutex};

use clap::{
    ArgMatches, Command,
    error::{ContextKind, ContextValue, ErrorKind},
};

use super::duration::parse_duration;

/// One deprecated way of setting a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Legacy {
    /// The variable as it was set before.
    pub old: &'static str,
    /// The variable that holds the setting now: `old` itself when only the spelling changed.
    pub new: &'static str,
    /// The unit a bare number in `old` was read in.
    pub unit: &'static str,
}

const fn renamed(old: &'static str, new: &'static str, unit: &'static str) -> Legacy {
    Legacy { old, new, unit }
}

const fn bare_seconds(name: &'static str) -> Legacy {
    Legacy {
        old: name,
        new: name,
        unit: "s",
    }
}

/// Every deprecated name and spelling; remove the table in the release after the one that
/// introduced it (README, "Deprecated names").
pub const LEGACY: &[Legacy] = &[
    renamed("SLUICE_ENQUEUE_TIMEOUT_MS", "SLUICE_ENQUEUE_TIMEOUT", "ms"),
    renamed(
        "SLUICE_RATE_REDIS_TIMEOUT_MS",
        "SLUICE_RATE_REDIS_TIMEOUT",
        "ms",
    ),
    renamed("SLUICE_RETRY_BASE_MS", "SLUICE_RETRY_BASE", "ms"),
    renamed("SLUICE_RETRY_MAX_MS", "SLUICE_RETRY_MAX", "ms"),
    renamed(
        "DB_POOL_ACQUIRE_TIMEOUT_MS",
        "DB_POOL_ACQUIRE_TIMEOUT",
        "ms",
    ),
    renamed("SLUICE_ORPHAN_TIMEOUT_S", "SLUICE_ORPHAN_TIMEOUT", "s"),
    renamed("SLUICE_SHUTDOWN_GRACE_S", "SLUICE_SHUTDOWN_GRACE", "s"),
    renamed("SLUICE_MAX_DELAY_S", "SLUICE_MAX_DELAY", "s"),
    renamed("SLUICE_SHED_RETRY_AFTER_S", "SLUICE_SHED_RETRY_AFTER", "s"),
    // Same names; a bare number was seconds.
    bare_seconds("SLUICE_DEDUP_TTL"),
    bare_seconds("SLUICE_REGISTRY_REFRESH"),
    bare_seconds("SLUICE_DEPTH_INTERVAL"),
    bare_seconds("SLUICE_POLL_INTERVAL"),
    bare_seconds("SLUICE_VACUUM_INTERVAL"),
    bare_seconds("SLUICE_FORWARD_TIMEOUT"),
    bare_seconds("SLUICE_DLQ_RETENTION"),
    bare_seconds("SLUICE_HEADER_READ_TIMEOUT"),
    bare_seconds("SLUICE_IDLE_TIMEOUT"),
];

/// What one row of [`LEGACY`] does in this environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub row: Legacy,
    /// The value the setting takes from the deprecated source; `None` when the new name wins.
    pub value: Option<String>,
    pub notice: Notice,
}

/// What the operator is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Only the old name is set: it is read as the new one.
    Renamed {
        old: &'static str,
        new: &'static str,
        read_as: String,
    },
    /// A bare number in a setting that kept its name: read in seconds.
    BareNumber {
        name: &'static str,
        value: String,
        read_as: String,
    },
    /// Both names are set: the new one wins. `agree` when they mean the same duration.
    BothSet {
        old: &'static str,
        old_value: String,
        new: &'static str,
        new_value: String,
        agree: bool,
    },
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Renamed { old, new, read_as } => write!(
                f,
                "{old} is deprecated and will not be read after this release: set \
                 {new}={read_as} instead (read as that now)"
            ),
            Notice::BareNumber {
                name,
                value,
                read_as,
            } => write!(
                f,
                "{name}={value} has no unit: read as {read_as} now, refused after this release; \
                 set {name}={read_as}"
            ),
            Notice::BothSet {
                old,
                old_value,
                new,
                new_value,
                agree: true,
            } => write!(
                f,
                "{old}={old_value} and {new}={new_value} are both set: {new} is used; remove \
                 the deprecated {old}"
            ),
            Notice::BothSet {
                old,
                old_value,
                new,
                new_value,
                agree: false,
            } => write!(
                f,
                "{old}={old_value} and {new}={new_value} disagree: {new} wins and the \
                 deprecated {old} is ignored; remove it"
            ),
        }
    }
}

/// The steps [`LEGACY`] takes in the environment `env` gives.
pub fn plan(env: impl Fn(&str) -> Option<String>) -> Vec<Step> {
    LEGACY
        .iter()
        .filter_map(|&row| {
            let given = env(row.old)?.trim().to_owned();
            let bare = !given.is_empty() && given.bytes().all(|b| b.is_ascii_digit());
            let read_as = if bare {
                format!("{given}{}", row.unit)
            } else {
                given.clone()
            };
            if row.old == row.new {
                // "0" is zero in any unit: only other bare numbers were read in seconds.
                return (bare && given != "0").then(|| Step {
                    row,
                    value: Some(read_as.clone()),
                    notice: Notice::BareNumber {
                        name: row.old,
                        value: given,
                        read_as,
                    },
                });
            }
            let notice = match env(row.new) {
                Some(new_value) => {
                    let (a, b) = (parse_duration(&read_as), parse_duration(&new_value));
                    return Some(Step {
                        row,
                        value: None,
                        notice: Notice::BothSet {
                            old: row.old,
                            old_value: given,
                            new: row.new,
                            new_value,
                            agree: a.is_ok() && a == b,
                        },
                    });
                }
                None => Notice::Renamed {
                    old: row.old,
                    new: row.new,
                    read_as: read_as.clone(),
                },
            };
            Some(Step {
                row,
                value: Some(read_as),
                notice,
            })
        })
        .collect()
}

/// `cmd` (and its subcommands) with the values of `steps` as the defaults of their settings. A
/// setting that kept its name stops reading its variable, whose bare number is the default now.
pub fn apply(cmd: Command, steps: &[Step]) -> Command {
    cmd.mut_args(|arg| {
        let from_old = steps.iter().find_map(|s| {
            let v = s.value.as_ref()?;
            (arg.get_env() == Some(OsStr::new(s.row.new))).then(|| (s.row, v.clone()))
        });
        match from_old {
            Some((row, v)) if row.old == row.new => arg.env(None::<&'static str>).default_value(v),
            Some((_, v)) => arg.default_value(v),
            None => arg,
        }
    })
    .mut_subcommands(|sc| apply(sc, steps))
}

/// A value from a deprecated source that its setting refuses: the error names the variable the
/// operator actually set, on one line.
pub fn name_the_old(e: clap::Error, steps: &[Step]) -> clap::Error {
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return e;
    };
    // The same setting with the same value: a flag given by hand has precedence and would differ.
    let Some(step) = steps
        .iter()
        .find(|s| s.value.as_ref() == Some(value) && arg.ends_with(&format!("<{}>", s.row.new)))
    else {
        return e;
    };
    let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), |c| c.to_string());
    let (old, new) = (step.row.old, step.row.new);
    let source = if old == new {
        format!("{old} (a bare number, read in seconds)")
    } else {
        format!("{old} (the deprecated name of {new})")
    };
    clap::Error::raw(
        ErrorKind::ValueValidation,
        format!("invalid value '{value}' for {source}: {cause}\n"),
    )
}

/// The notices of `steps` about settings the parsed command (`matches` of `cmd`, before
/// [`apply`]) reads: `sluice-api bots list` says nothing about the server's settings.
pub fn relevant<'a>(steps: &'a [Step], cmd: &Command, matches: &ArgMatches) -> Vec<&'a Notice> {
    let mut envs = BTreeSet::new();
    let (mut cmd, mut matches) = (cmd, matches);
    loop {
        envs.extend(cmd.get_arguments().filter_map(|a| a.get_env()));
        let Some((name, sub)) = matches.subcommand() else {
            break;
        };
        let Some(sc) = cmd.find_subcommand(name) else {
            break;
        };
        (cmd, matches) = (sc, sub);
    }
    steps
        .iter()
        .filter(|s| envs.contains(OsStr::new(s.row.new)))
        .map(|s| &s.notice)
        .collect()
}

/// Prints each notice once per process (the worker parses its command line twice).
pub fn warn_once(notices: &[&Notice]) {
    static SAID: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut said = SAID.lock().unwrap_or_else(|p| p.into_inner());
    for n in notices {
        let line = n.to_string();
        if said.insert(line.clone()) {
            eprintln!("warning: {line}");
        }
    }
}

#[cfg(test)]
mod tests;
