//! `sluice-load traffic export`: the model rendered for the tools that cannot link it, so that
//! k6 and wrk send the model's traffic instead of keeping models of their own.
//!
//! Both files hold pre-rendered updates without their update_id: an update is
//! `{"update_id":` + a fresh id + `rest` (see [`Update::rest`]), so any number of distinct
//! updates come from a few thousand bodies. They are generated from fixed seeds and a fixed date,
//! so the same model always gives the same bytes; they are checked in (the benches and k6 need no
//! build step) and `tests/traffic_fixtures.rs` fails when they are stale.
//!
//! - [`JSON_PATH`] (k6): `mixed` (the model's traffic: chats by popularity, kinds by the chat's
//!   mix, all to one bot; k6 picks the bot), `quiet` (one update per quiet chat of the flood
//!   profile), `flooding` (the flooding chat's) and `people` (the users profile: each person's
//!   actions).
//! - [`LUA_PATH`] (wrk, both benches): the `mixed` updates as a Lua table.

mod lua;

use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::{SeedableRng, rngs::StdRng};
use serde::Serialize;
use sluice_shared::lanes::Lane;

use super::streams::{self, Behaviour, FLOOD_CHAT, FLOOD_KIND, QUIET_KIND};
use super::{BotCred, Kind, Population, Update};

/// Where the k6 fixture goes, under the loadtests directory.
pub const JSON_PATH: &str = "k6/lib/model.generated.json";
/// Where the wrk fixture goes, under the loadtests directory.
pub const LUA_PATH: &str = "bench/updates.generated.lua";
/// How to write both again (from the repository root).
pub const REGENERATE: &str = "cargo run -p sluice-loadtests --bin sluice-load -- traffic export";

/// Updates of the mixed traffic: enough that the busiest chats and the rare kinds show up in
/// their proportions (the rarest, 1 %, about ten times).
pub const MIXED: usize = 1000;
/// Quiet chats of the flood profile (it uses 50 by default).
pub const QUIET: u32 = 100;
/// Updates of the flooding chat.
pub const FLOODING: usize = 20;
/// People of the users profile (it simulates 100 by default) and actions of each.
pub const PEOPLE: u64 = 100;
pub const ACTIONS: usize = 8;
/// The date of every exported update (2025-11-24): fixed, so that exports are repeatable.
pub const DATE: i64 = 1_764_000_000;
/// Chats per bot, as `sluice-load run` has them.
pub const CHATS_PER_BOT: u64 = 2000;
/// The seed of the export's population and draws.
pub const SEED: u64 = 1;

/// The export's population: one bot (the tools choose their own bots), the model's chats.
pub fn population() -> Population {
    let bot = BotCred {
        name: "sluice-load".into(),
        secret: "unused".into(),
    };
    Population::new(vec![bot], CHATS_PER_BOT, &mut StdRng::seed_from_u64(SEED))
}

/// One pre-rendered update, with what the model says about it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub kind: Kind,
    pub field: &'static str,
    pub lane: Lane,
    pub chat: Option<i64>,
    pub user: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<Behaviour>,
    /// The body after `{"update_id":N`.
    pub rest: String,
}

impl Entry {
    fn of(update: &Update, behaviour: Option<Behaviour>) -> Entry {
        Entry {
            kind: update.kind,
            field: update.kind.field(),
            lane: update.kind.lane(),
            chat: Some(update.chat.id()),
            user: update.chat.user(),
            behaviour,
            rest: update.rest().to_owned(),
        }
    }

    /// The whole body with this update_id.
    pub fn body(&self, update_id: i64) -> String {
        format!("{{\"update_id\":{update_id}{}", self.rest)
    }
}

/// Everything the fixtures hold.
pub struct Fixtures {
    pub mixed: Vec<Entry>,
    pub quiet: Vec<Entry>,
    pub flooding: Vec<Entry>,
    pub people: Vec<Vec<Entry>>,
}

/// The fixtures, drawn from the model (the same every time).
pub fn fixtures() -> Fixtures {
    let pop = population();
    let mut rng = StdRng::seed_from_u64(SEED);
    let mixed = (0..MIXED)
        .map(|_| Entry::of(&pop.random_at(DATE, &mut rng), None))
        .collect();
    let quiet = (0..QUIET)
        .map(|i| {
            let chat = streams::quiet_chat(i);
            let id = pop.next_update_id(0);
            Entry::of(&pop.render(0, id, chat, QUIET_KIND, DATE, &mut rng), None)
        })
        .collect();
    let flooding = (0..FLOODING)
        .map(|_| {
            let id = pop.next_update_id(0);
            Entry::of(
                &pop.render(0, id, FLOOD_CHAT, FLOOD_KIND, DATE, &mut rng),
                None,
            )
        })
        .collect();
    let people = (1..=PEOPLE)
        .map(|person| {
            (0..ACTIONS)
                .map(|_| {
                    let action = pop.act(person, DATE, &mut rng);
                    Entry::of(&action.update, Some(action.behaviour))
                })
                .collect()
        })
        .collect();
    Fixtures {
        mixed,
        quiet,
        flooding,
        people,
    }
}

/// The generated files: (path under the loadtests directory, contents).
pub fn render() -> Vec<(&'static str, String)> {
    let f = fixtures();
    vec![(JSON_PATH, json(&f)), (LUA_PATH, lua::table(&f.mixed))]
}

/// The header every generated file carries (after the comment marker of its language).
pub fn header() -> String {
    format!(
        "generated by `sluice-load traffic export` from loadtests/src/traffic; do not edit. Regenerate: {REGENERATE}"
    )
}

/// The k6 fixture: one entry a line, so that a change to the model reads as a diff.
fn json(f: &Fixtures) -> String {
    let line = |e: &Entry| serde_json::to_string(e).expect("entries serialize");
    let list = |entries: &[Entry]| entries.iter().map(line).collect::<Vec<_>>().join(",\n");
    let people = f
        .people
        .iter()
        .map(|p| format!("[{}]", p.iter().map(line).collect::<Vec<_>>().join(",\n ")))
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        "{{\"_generated\": {},\n\"mixed\": [\n{}\n],\n\"quiet\": [\n{}\n],\n\"flooding\": [\n{}\n],\n\"people\": [\n{}\n]}}\n",
        serde_json::Value::from(header()),
        list(&f.mixed),
        list(&f.quiet),
        list(&f.flooding),
        people,
    )
}

/// Options of `sluice-load traffic`.
#[derive(clap::Args)]
pub struct TrafficArgs {
    #[command(subcommand)]
    command: TrafficCommand,
}

#[derive(clap::Subcommand)]
enum TrafficCommand {
    /// Write the fixtures k6 and wrk read (k6/lib/model.generated.json,
    /// bench/updates.generated.lua) from the model.
    Export {
        /// The loadtests directory to write them under.
        #[arg(long, default_value = "loadtests")]
        out: PathBuf,
    },
}

/// Runs `sluice-load traffic …`.
pub fn traffic(args: TrafficArgs) -> anyhow::Result<()> {
    let TrafficCommand::Export { out } = args.command;
    for path in write(&out)? {
        println!("wrote {}", path.display());
    }
    let mixed = fixtures().mixed;
    let share = |keep: &dyn Fn(&Entry) -> bool| {
        100.0 * mixed.iter().filter(|e| keep(e)).count() as f64 / mixed.len() as f64
    };
    let lanes: Vec<String> = Lane::ALL
        .iter()
        .map(|l| format!("{l} {:.1} %", share(&|e| e.lane == *l)))
        .collect();
    let kinds: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("{} {:.1} %", k.name(), share(&|e| e.kind == *k)))
        .collect();
    println!("mixed traffic: lanes {}", lanes.join(", "));
    println!("               kinds {}", kinds.join(", "));
    Ok(())
}

/// Writes the generated files under `dir` (the loadtests directory); returns their paths.
pub fn write(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(
        dir.join("k6").is_dir() && dir.join("bench").is_dir(),
        "{} is not the loadtests directory (no k6/ and bench/ in it)",
        dir.display()
    );
    render()
        .into_iter()
        .map(|(rel, text)| {
            let path = dir.join(rel);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        })
        .collect()
}
