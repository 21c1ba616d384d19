//! The updates `sluice-backlog` queues: the traffic model's ([`sluice_loadtests::traffic`]),
//! of the kinds that belong in the lane, each derived from its update_id alone (the same id
//! gives the same body in every run).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::{SeedableRng, rngs::StdRng};
use serde_json::value::RawValue;
use sluice_loadtests::traffic::{BotCred, Population};
use sluice_shared::{
    job::{Job, Origin},
    telegram::classify,
};

use crate::Args;

/// One bot (`--bot`) and its `--chats` chats, the same in every run.
fn population(args: &Args) -> &'static Population {
    static POPULATION: OnceLock<Population> = OnceLock::new();
    POPULATION.get_or_init(|| {
        let bot = BotCred {
            name: args.bot.clone(),
            secret: String::new(),
        };
        Population::new(vec![bot], args.chats, &mut StdRng::seed_from_u64(0))
    })
}

/// The update `update_id` of the lane's kinds, with the envelope sluice-api would queue for it
/// (kind, chat and user as its classification reads them).
pub(crate) fn envelope(args: &Args, update_id: i64) -> Job {
    let pop = population(args);
    let mut rng = StdRng::seed_from_u64(update_id as u64);
    let (chat, kind) = pop.pick_in_lane(0, args.lane, &mut rng);
    // A fixed day, spread by id: repeatable, and a plausible date.
    let date = 1_764_000_000 + update_id % 86_400;
    let update = pop.render(0, update_id, chat, kind, date, &mut rng);
    let found = classify(update.body.as_bytes()).expect("the model makes valid updates");
    Job {
        origin: Origin::Telegram {
            bot: args.bot.clone(),
            update_id,
            chat: found.chat_id,
            user: found.user_id,
        },
        kind: found.kind,
        lane: args.lane,
        received_at_ms: now_ms(),
        payload: RawValue::from_string(update.body).expect("the body is valid JSON"),
        attempt: 0,
        traceparent: None,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
