//! The dead letters in Redis: filters (each and combined) against a model, cursor paging that
//! covers every letter once while letters come and go, the origin index kept equal to a scan of
//! the letters through random puts and removals, replay and purge by ids and by a pinned filter,
//! and letters written by the previous release still read (and indexed).
//!
//! Needs Redis: `TEST_REDIS_URL`, default `redis://127.0.0.1:6379`; keys under a fresh prefix,
//! removed at the end.

use std::{collections::BTreeSet, time::Duration};

use redis::{AsyncCommands, aio::ConnectionManager};
use serde_json::value::RawValue;
use sluice_shared::{
    dlq::{Cursor, DeadLetter, DeadLetterFilter, DeadLetters, OriginFilter, Requeue, Target},
    job::{Job, Origin, order::Ordering},
    lanes::Lane,
    queue::{QueueConfig, connect, lane_config},
};
use ulid::Ulid;

fn prefix() -> String {
    format!(
        "sluice-dlq-test-{}",
        Ulid::generate().to_string().to_lowercase()
    )
}

async fn redis() -> ConnectionManager {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    connect(&url, Duration::from_secs(5)).unwrap()
}

async fn keys(conn: &mut ConnectionManager, pattern: &str) -> Vec<String> {
    let (mut keys, mut cursor) = (Vec::new(), 0u64);
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            keys.sort();
            return keys;
        }
        cursor = next;
    }
}

async fn clear(conn: &mut ConnectionManager, prefix: &str) {
    for k in keys(conn, &format!("{prefix}:*")).await {
        let _: () = conn.del(k).await.unwrap();
    }
}

/// A tiny deterministic generator: the same letters every run, no extra crate.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len() as u64) as usize]
    }
}

/// `(is_bot, name)` of the senders letters come from; `a` is both a bot and a source.
const SENDERS: [(bool, &str); 4] = [(true, "a"), (true, "b"), (false, "a"), (false, "s")];
const REASONS: [&str; 4] = [
    "permanent: forward target answered 422 Unprocessable Entity",
    "Timeout after 30s",
    "held its ordering key for 300.0s (SLUICE_ORDER_MAX_HOLD): timeout",
    "PERMANENT: 410 Gone",
];

fn letter(lane: Lane, (bot, name): (bool, &str), reason: &str, ms: i64) -> DeadLetter {
    let n = ms % 100_000;
    let origin = match bot {
        true => Origin::Telegram {
            bot: name.to_owned(),
            update_id: n,
            chat: Some(n),
            user: None,
        },
        false => Origin::Signed {
            source: name.to_owned(),
            key: format!("evt-{n}"),
            rate_key: None,
        },
    };
    let payload = format!(r#"{{"update_id":{n},"message":{{"text":"hi"}}}}"#);
    DeadLetter {
        id: Ulid::generate().to_string(),
        reason: reason.to_owned(),
        dead_at_ms: ms,
        envelope: Job {
            origin,
            kind: "message".into(),
            lane,
            received_at_ms: ms - 5_000,
            payload: RawValue::from_string(payload).unwrap(),
            attempt: 4,
            traceparent: None,
        },
    }
}

fn random_letter(rng: &mut Rng, base: i64) -> DeadLetter {
    let lane = *rng.pick(&Lane::ALL);
    let sender = *rng.pick(&SENDERS);
    let reason = *rng.pick(&REASONS);
    // Few distinct times: many letters share a millisecond, which the cursor must handle.
    letter(lane, sender, reason, base + rng.below(120) as i64)
}

fn matches(f: &DeadLetterFilter, l: &DeadLetter) -> bool {
    let origin_ok = match (&f.origin, &l.envelope.origin) {
        (None, _) => true,
        (Some(OriginFilter::Bot(n) | OriginFilter::Either(n)), Origin::Telegram { bot, .. }) => {
            n == bot
        }
        (
            Some(OriginFilter::Source(n) | OriginFilter::Either(n)),
            Origin::Signed { source, .. },
        ) => n == source,
        _ => false,
    };
    let reason_ok = f.reason.as_ref().is_none_or(|r| {
        l.reason
            .to_ascii_lowercase()
            .contains(&r.trim().to_ascii_lowercase())
    });
    f.lane.is_none_or(|lane| lane == l.lane())
        && origin_ok
        && reason_ok
        && f.since_ms.is_none_or(|s| l.dead_at_ms >= s)
        && f.until_ms.is_none_or(|u| l.dead_at_ms < u)
}

/// The ids a filter should list, in the listing's order: newest first, then lane, then id.
fn expected(model: &[DeadLetter], f: &DeadLetterFilter) -> Vec<String> {
    let mut hits: Vec<&DeadLetter> = model.iter().filter(|l| matches(f, l)).collect();
    hits.sort_by(|a, b| {
        (b.dead_at_ms, b.lane().index(), &b.id).cmp(&(a.dead_at_ms, a.lane().index(), &a.id))
    });
    hits.into_iter().map(|l| l.id.clone()).collect()
}

/// Every page of a filter, `limit` at a time; no page is longer than `limit`.
async fn all_pages(dead: &DeadLetters, f: &DeadLetterFilter, limit: usize) -> Vec<String> {
    let (mut ids, mut cursor): (Vec<String>, Option<Cursor>) = (Vec::new(), None);
    for _ in 0..10_000 {
        let page = dead.list(f, cursor.as_ref(), limit).await.unwrap();
        assert!(page.letters.len() <= limit);
        ids.extend(page.letters.into_iter().map(|l| l.id));
        match page.next {
            // The cursor goes through its text form, as a link would carry it.
            Some(next) => cursor = Some(next.to_string().parse().unwrap()),
            None => return ids,
        }
    }
    panic!("paging did not end");
}

fn filters(base: i64) -> Vec<DeadLetterFilter> {
    let f = DeadLetterFilter::default;
    let bot = |n: &str| Some(OriginFilter::Bot(n.into()));
    vec![
        f(),
        DeadLetterFilter {
            lane: Some(Lane::Low),
            ..f()
        },
        DeadLetterFilter {
            origin: bot("a"),
            ..f()
        },
        DeadLetterFilter {
            origin: Some(OriginFilter::Source("a".into())),
            ..f()
        },
        DeadLetterFilter {
            origin: Some(OriginFilter::Either("a".into())),
            ..f()
        },
        DeadLetterFilter {
            origin: bot("nobody"),
            ..f()
        },
        DeadLetterFilter {
            reason: Some(" Permanent".into()),
            ..f()
        },
        DeadLetterFilter {
            reason: Some("no such reason".into()),
            ..f()
        },
        DeadLetterFilter {
            since_ms: Some(base + 40),
            ..f()
        },
        DeadLetterFilter {
            until_ms: Some(base + 70),
            ..f()
        },
        DeadLetterFilter {
            lane: Some(Lane::Normal),
            origin: bot("b"),
            reason: Some("timeout".into()),
            since_ms: Some(base + 10),
            until_ms: Some(base + 100),
        },
        DeadLetterFilter {
            origin: Some(OriginFilter::Either("a".into())),
            reason: Some("410".into()),
            until_ms: Some(base + 90),
            ..f()
        },
    ]
}

#[tokio::test]
async fn filters_each_and_combined_page_through_every_letter_once() {
    let (mut conn, prefix) = (redis().await, prefix());
    let dead = DeadLetters::new(conn.clone(), &prefix);
    let (mut rng, base) = (Rng(0x5eed), 1_796_000_000_000);
    let mut model = Vec::new();
    for _ in 0..300 {
        let l = random_letter(&mut rng, base);
        dead.put(&l).await.unwrap();
        model.push(l);
    }
    // A small budget makes reason-filtered pages stop early and continue from their cursor.
    let thrifty = DeadLetters::new(conn.clone(), &prefix).with_scan_budget(13);
    for f in filters(base) {
        let want = expected(&model, &f);
        assert_eq!(all_pages(&dead, &f, 7).await, want, "{f:?}");
        assert_eq!(all_pages(&dead, &f, 1000).await, want, "{f:?}");
        assert_eq!(all_pages(&thrifty, &f, 5).await, want, "{f:?} (budget 13)");
        let count = dead.count(&f, 1_000_000).await.unwrap();
        assert_eq!(
            (count.matching, count.exact),
            (want.len() as u64, true),
            "{f:?}"
        );
        if f.reason.is_some() {
            let bounded = dead.count(&f, 20).await.unwrap();
            assert!(
                !bounded.exact && bounded.scanned == 20,
                "{f:?}: {bounded:?}"
            );
            assert!(bounded.matching <= want.len() as u64);
        }
    }
    let one = &model[17];
    let got = dead.get(None, &one.id).await.unwrap().unwrap();
    assert_eq!(
        (got.id.as_str(), got.reason.as_str()),
        (one.id.as_str(), one.reason.as_str())
    );
    assert_eq!(got.envelope.payload.get(), one.envelope.payload.get());
    assert!(dead.get(Some(one.lane()), &one.id).await.unwrap().is_some());
    let other = Lane::ALL.into_iter().find(|&l| l != one.lane()).unwrap();
    assert!(dead.get(Some(other), &one.id).await.unwrap().is_none());
    clear(&mut conn, &prefix).await;
}

#[tokio::test]
async fn a_cursor_is_stable_while_letters_come_and_go() {
    let (mut conn, prefix) = (redis().await, prefix());
    let dead = DeadLetters::new(conn.clone(), &prefix);
    let (mut rng, base) = (Rng(42), 1_796_000_000_000);
    let mut model = Vec::new();
    for _ in 0..80 {
        let l = random_letter(&mut rng, base);
        dead.put(&l).await.unwrap();
        model.push(l);
    }
    let all = DeadLetterFilter::default();
    let order = expected(&model, &all);
    let first = dead.list(&all, None, 20).await.unwrap();
    let seen: Vec<String> = first.letters.iter().map(|l| l.id.clone()).collect();
    assert_eq!(seen, order[..20]);
    // Meanwhile: newer letters (before the cursor), older ones (after it), and removals on
    // both sides of it.
    let mut later = Vec::new();
    for i in 0..5 {
        let newer = letter(Lane::High, SENDERS[0], REASONS[0], base + 1_000 + i);
        let older = letter(Lane::Low, SENDERS[3], REASONS[1], base - 1_000 - i);
        dead.put(&newer).await.unwrap();
        dead.put(&older).await.unwrap();
        later.push(older.id.clone());
    }
    let gone: Vec<String> = [3, 11, 25, 40, 79]
        .iter()
        .map(|&i| order[i].clone())
        .collect();
    for id in &gone {
        let l = model.iter().find(|l| &l.id == id).unwrap();
        assert_eq!(dead.remove(l).await.unwrap(), 1);
    }
    let mut rest = Vec::new();
    let mut cursor = first.next;
    while let Some(c) = cursor {
        let page = dead.list(&all, Some(&c), 20).await.unwrap();
        rest.extend(page.letters.into_iter().map(|l| l.id));
        cursor = page.next;
    }
    let mut want: Vec<String> = order[20..]
        .iter()
        .filter(|id| !gone.contains(id))
        .cloned()
        .collect();
    want.extend(later);
    assert_eq!(rest, want, "every letter after the cursor once, in order");
    clear(&mut conn, &prefix).await;
}

/// Each origin index and meta hash, read back from Redis, against the letters stored.
async fn assert_index_consistent(conn: &mut ConnectionManager, prefix: &str, model: &[DeadLetter]) {
    for lane in Lane::ALL {
        let mine: Vec<&DeadLetter> = model.iter().filter(|l| l.lane() == lane).collect();
        let ids: BTreeSet<String> = mine.iter().map(|l| l.id.clone()).collect();
        let zset: BTreeSet<String> = conn
            .zrange(format!("{prefix}:{lane}:dlq"), 0, -1)
            .await
            .unwrap();
        let entries: BTreeSet<String> = conn
            .hkeys(format!("{prefix}:{lane}:dlq:entries"))
            .await
            .unwrap();
        let meta: BTreeSet<String> = conn
            .hkeys(format!("{prefix}:{lane}:dlq:meta"))
            .await
            .unwrap();
        assert_eq!((&zset, &entries, &meta), (&ids, &ids, &ids), "{lane}");
        let index_keys = keys(conn, &format!("{prefix}:{lane}:dlq:by:*")).await;
        let mut tags: BTreeSet<String> = mine.iter().map(|l| l.origin_tag()).collect();
        for key in index_keys {
            let tag = key.rsplit_once(":dlq:by:").unwrap().1.to_owned();
            assert!(
                tags.remove(&tag),
                "an index for {tag} with no letter in {lane}"
            );
            let got: Vec<(String, i64)> = conn.zrange_withscores(&key, 0, -1).await.unwrap();
            let mut want: Vec<(String, i64)> = mine
                .iter()
                .filter(|l| l.origin_tag() == tag)
                .map(|l| (l.id.clone(), l.dead_at_ms))
                .collect();
            want.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            assert_eq!(got, want, "{key}");
        }
        assert!(
            tags.is_empty(),
            "letters of {tags:?} in {lane} have no index"
        );
    }
}

#[tokio::test]
async fn the_origin_index_equals_a_scan_through_random_puts_and_removes() {
    let (mut conn, prefix) = (redis().await, prefix());
    let dead = DeadLetters::new(conn.clone(), &prefix);
    let (mut rng, base) = (Rng(7), 1_796_000_000_000);
    let mut model: Vec<DeadLetter> = Vec::new();
    for step in 0..400 {
        match rng.below(20) {
            0..12 => {
                let l = random_letter(&mut rng, base);
                dead.put(&l).await.unwrap();
                model.push(l);
            }
            12..15 if !model.is_empty() => {
                let l = model.swap_remove(rng.below(model.len() as u64) as usize);
                assert_eq!(dead.remove(&l).await.unwrap(), 1);
            }
            15..17 if !model.is_empty() => {
                // By ids, one of them not a letter (any more).
                let l = model.swap_remove(rng.below(model.len() as u64) as usize);
                let ids = [l.id.clone(), Ulid::generate().to_string()];
                let done = dead.purge(&Target::Ids(ids.to_vec()), 10).await.unwrap();
                assert_eq!((done.done, done.not_found), (1, 1));
            }
            17 => {
                let (bot, name) = *rng.pick(&SENDERS);
                let f = DeadLetterFilter {
                    origin: Some(match bot {
                        true => OriginFilter::Bot(name.into()),
                        false => OriginFilter::Source(name.into()),
                    }),
                    reason: Some(rng.pick(&["timeout", "410", ""]).to_string()),
                    ..Default::default()
                }
                .pinned(base + rng.below(120) as i64);
                let n = model.iter().filter(|l| matches(f.filter(), l)).count() as u64;
                model.retain(|l| !matches(f.filter(), l));
                assert_eq!(
                    dead.purge(&Target::Filter(f), 3).await.unwrap().done,
                    n,
                    "{step}"
                );
            }
            18 => {
                let lane = *rng.pick(&Lane::ALL);
                let owns =
                    |j: &Job| matches!(&j.origin, Origin::Signed { source, .. } if source == "s");
                let n = model
                    .iter()
                    .filter(|l| l.lane() == lane && owns(&l.envelope))
                    .count();
                model.retain(|l| !(l.lane() == lane && owns(&l.envelope)));
                assert_eq!(dead.remove_where(lane, 7, owns).await.unwrap(), n as u64);
            }
            _ => {
                let lane = *rng.pick(&Lane::ALL);
                let before = base + rng.below(120) as i64;
                let n = model
                    .iter()
                    .filter(|l| l.lane() == lane && l.dead_at_ms < before)
                    .count();
                model.retain(|l| !(l.lane() == lane && l.dead_at_ms < before));
                assert_eq!(
                    dead.purge_lane_before(lane, before, 4).await.unwrap(),
                    n as u64
                );
            }
        }
        if step % 50 == 49 {
            assert_index_consistent(&mut conn, &prefix, &model).await;
        }
    }
    assert_index_consistent(&mut conn, &prefix, &model).await;
    assert_eq!(
        all_pages(&dead, &DeadLetterFilter::default(), 50).await,
        expected(&model, &DeadLetterFilter::default())
    );
    clear(&mut conn, &prefix).await;
}

#[tokio::test]
async fn replay_and_purge_by_ids_and_by_a_pinned_filter() {
    let (mut conn, prefix) = (redis().await, prefix());
    let dead = DeadLetters::new(conn.clone(), &prefix);
    let to = Requeue::new(conn.clone(), &prefix, Ordering::Off);
    let base = 1_796_000_000_000;
    let mut r = Vec::new();
    for i in 0..10 {
        let l = letter(Lane::Normal, (true, "r"), "Timeout after 30s", base + i);
        dead.put(&l).await.unwrap();
        r.push(l);
    }
    let other = letter(Lane::Normal, (true, "q"), "Timeout after 30s", base + 3);
    dead.put(&other).await.unwrap();
    let of_r = DeadLetterFilter {
        origin: Some(OriginFilter::Bot("r".into())),
        ..Default::default()
    };
    // The confirmation counts, pinned at base + 5; a letter dying after the pin is not swept.
    let pinned = Target::Filter(of_r.clone().pinned(base + 5));
    assert_eq!(dead.count_target(&pinned, 100).await.unwrap().matching, 5);
    let late = letter(Lane::Normal, (true, "r"), "Timeout after 30s", base + 6);
    dead.put(&late).await.unwrap();
    let done = dead.replay(&pinned, &to, 2).await.unwrap();
    assert_eq!((done.done, done.not_found), (5, 0));
    let q = lane_config(
        &prefix,
        Lane::Normal,
        &QueueConfig {
            dedup_ttl: Duration::from_secs(90_000),
        },
    );
    let queued: Vec<Vec<u8>> = conn.hvals(q.job_data_hash()).await.unwrap();
    let mut update_ids: Vec<i64> = queued
        .iter()
        .map(|b| {
            let job: Job = serde_json::from_slice(b).unwrap();
            assert_eq!(job.attempt, 0, "a replayed letter starts again");
            match job.origin {
                Origin::Telegram { bot, update_id, .. } if bot == "r" => update_id,
                o => panic!("{o:?} replayed"),
            }
        })
        .collect();
    update_ids.sort();
    let want: Vec<i64> = r[..5].iter().map(|l| l.dead_at_ms % 100_000).collect();
    assert_eq!(update_ids, want);
    // Due now: in the lane's list, or in its scheduled set until the worker promotes it.
    let active: u64 = conn.llen(format!("{prefix}:normal:active")).await.unwrap();
    let scheduled: u64 = conn
        .zcard(format!("{prefix}:normal:scheduled"))
        .await
        .unwrap();
    assert_eq!(active + scheduled, 5);
    assert_eq!(
        dead.count(&of_r, 100).await.unwrap().matching,
        6,
        "5 left and the late one"
    );

    // By ids: one found, one not.
    let ids = vec![r[7].id.clone(), "01KB0000000000000000000000".to_owned()];
    let done = dead.replay(&Target::Ids(ids), &to, 10).await.unwrap();
    assert_eq!((done.done, done.not_found), (1, 1));
    let done = dead
        .purge(&Target::Ids(vec![r[8].id.clone(), r[8].id.clone()]), 10)
        .await
        .unwrap();
    assert_eq!(done.done, 1, "an id given twice is purged once");

    // A pinned purge by filter leaves the late letter and the other bot's.
    let done = dead
        .purge(&Target::Filter(of_r.clone().pinned(base + 6)), 2)
        .await
        .unwrap();
    assert_eq!(
        done.done, 1,
        "r[5] only: r[6] and the late letter died at the pin"
    );
    let left: Vec<String> = all_pages(&dead, &DeadLetterFilter::default(), 10).await;
    assert_eq!(left.len(), 4);
    assert!(left.contains(&late.id) && left.contains(&other.id));
    clear(&mut conn, &prefix).await;
}

#[tokio::test]
async fn letters_of_the_previous_release_are_read_and_indexed() {
    let (mut conn, prefix) = (redis().await, prefix());
    let dead = DeadLetters::new(conn.clone(), &prefix);
    // Written as the previous release did: the entry and the zset, no meta, no index.
    let v1 = include_str!("fixtures/jobs/v1-dead-letter.json");
    let current = letter(
        Lane::Normal,
        (false, "s"),
        "Timeout after 30s",
        1_796_279_800_001,
    );
    for (id, json, ms) in [
        (
            "01KB0000000000000000000000",
            v1.to_owned(),
            1_796_279_800_000i64,
        ),
        (
            current.id.as_str(),
            serde_json::to_string(&current).unwrap(),
            current.dead_at_ms,
        ),
    ] {
        let _: () = conn
            .hset(format!("{prefix}:normal:dlq:entries"), id, json)
            .await
            .unwrap();
        let _: () = conn
            .zadd(format!("{prefix}:normal:dlq"), id, ms)
            .await
            .unwrap();
    }
    let all = DeadLetterFilter::default();
    assert_eq!(
        all_pages(&dead, &all, 10).await,
        [current.id.clone(), "01KB0000000000000000000000".into()]
    );
    let old = dead
        .get(None, "01KB0000000000000000000000")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.envelope.attempt, 2);
    // The reason is read from the letter itself while it has no meta.
    let by_reason = DeadLetterFilter {
        reason: Some("422".into()),
        ..Default::default()
    };
    assert_eq!(
        all_pages(&dead, &by_reason, 10).await,
        ["01KB0000000000000000000000"]
    );
    let by_bot = DeadLetterFilter {
        origin: Some(OriginFilter::Bot("testbot".into())),
        ..Default::default()
    };
    assert!(
        all_pages(&dead, &by_bot, 10).await.is_empty(),
        "not indexed yet"
    );

    assert_eq!(dead.index_unindexed(1).await.unwrap(), 2);
    assert_eq!(dead.index_unindexed(1).await.unwrap(), 0, "once is enough");
    assert_eq!(
        all_pages(&dead, &by_bot, 10).await,
        ["01KB0000000000000000000000"]
    );
    assert_eq!(
        all_pages(&dead, &by_reason, 10).await,
        ["01KB0000000000000000000000"]
    );
    assert_index_consistent(&mut conn, &prefix, &[old.clone(), current.clone()]).await;
    dead.remove(&old).await.unwrap();
    assert_index_consistent(&mut conn, &prefix, &[current]).await;
    clear(&mut conn, &prefix).await;
}
