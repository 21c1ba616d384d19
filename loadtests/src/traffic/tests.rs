use super::*;
use rand::{SeedableRng, rngs::StdRng};
use serde_json::Value;

fn population(bots: usize) -> Population {
    let creds = (0..bots)
        .map(|i| BotCred {
            name: format!("load-t-{i}"),
            secret: "s".into(),
        })
        .collect();
    Population::new(creds, 2000, &mut StdRng::seed_from_u64(1))
}

#[test]
fn bodies_are_bot_api_updates_of_realistic_size() {
    let pop = population(50);
    let mut rng = StdRng::seed_from_u64(7);
    let mut sizes = Vec::new();
    let mut kinds = std::collections::BTreeMap::new();
    for _ in 0..5000 {
        let u = pop.random(&mut rng);
        let v: Value = serde_json::from_str(&u.body).unwrap();
        assert_eq!(v["update_id"].as_i64(), Some(u.update_id));
        let field = v
            .as_object()
            .unwrap()
            .keys()
            .find(|k| *k != "update_id")
            .unwrap()
            .clone();
        *kinds.entry(field).or_insert(0) += 1;
        sizes.push(u.body.len());
    }
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    assert!((250..1200).contains(&median), "median body {median} B");
    assert!(
        *sizes.last().unwrap() <= 8 * 1024,
        "largest {} B",
        sizes.last().unwrap()
    );
    assert!(
        sizes[sizes.len() * 99 / 100] > 1000,
        "the tail has large bodies"
    );
    for kind in [
        "message",
        "callback_query",
        "edited_message",
        "my_chat_member",
    ] {
        assert!(kinds.contains_key(kind), "{kind} missing from {kinds:?}");
    }
    assert!(kinds["message"] > kinds["callback_query"]);
}

#[test]
fn popularity_is_skewed_and_update_ids_unique() {
    let pop = population(50);
    let mut rng = StdRng::seed_from_u64(9);
    let mut per_bot = [0u32; 50];
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20_000 {
        let u = pop.random(&mut rng);
        per_bot[u.bot] += 1;
        assert!(ids.insert((u.bot, u.update_id)));
    }
    // Zipf(1.0) over 50: the top bot gets ~22 %, the last ~0.4 %.
    assert!(per_bot[0] > 3000, "top bot {}", per_bot[0]);
    assert!(per_bot[49] < 400, "last bot {}", per_bot[49]);
}

#[test]
fn chats_have_telegram_shaped_ids() {
    let pop = population(3);
    let mut rng = StdRng::seed_from_u64(3);
    let (mut private, mut group, mut big) = (0, 0, 0);
    for rank in 0..2000 {
        match pop.chat(0, rank, &mut rng) {
            Chat::Private(id) => {
                private += 1;
                assert!(id > 0);
                if id > u32::MAX as i64 {
                    big += 1;
                }
            }
            Chat::Group { chat, user } => {
                group += 1;
                assert!(chat < -1_000_000_000_000 && user > 0);
            }
            Chat::Channel(id) => assert!(id < -1_000_000_000_000),
        }
    }
    assert!((1000..1400).contains(&private), "{private} private of 2000");
    assert!(group > 600 && big > 0);
}

#[test]
fn a_body_without_its_update_id_completes_any_other() {
    let pop = population(3);
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..200 {
        let u = pop.random(&mut rng);
        assert!(
            u.body
                .starts_with(&format!("{{\"update_id\":{},", u.update_id))
        );
        let other: Value =
            serde_json::from_str(&format!("{{\"update_id\":42{}", u.rest())).unwrap();
        assert_eq!(other["update_id"], 42);
        assert!(other.get(u.kind.field()).is_some(), "{}", u.body);
    }
}

#[test]
fn lane_picks_keep_to_the_lane_and_reach_every_kind_of_it() {
    let pop = population(1);
    let mut rng = StdRng::seed_from_u64(12);
    for lane in Lane::ALL {
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..3000 {
            let (chat, kind) = pop.pick_in_lane(0, lane, &mut rng);
            assert_eq!(kind.lane(), lane);
            assert!(
                kind::mix(chat).iter().any(|(k, _)| *k == kind),
                "{kind:?} in {chat:?}"
            );
            kinds.insert(kind);
        }
        let all: std::collections::BTreeSet<Kind> =
            Kind::ALL.into_iter().filter(|k| k.lane() == lane).collect();
        assert_eq!(kinds, all, "{lane}");
    }
}
