//! The console's dead-letter questions at scale (issue 18): 1 000 000 queued jobs and 100 000
//! dead letters over 50 bots and 3 lanes, each question asked 20 times; prints a table of the
//! median and the slowest. A benchmark, not a timed test: it asserts nothing about time.
//!
//! ```sh
//! TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test --release -p sluice-shared \
//!   --test dead_letters_bench -- --ignored --nocapture
//! # DLQ_BENCH_JOBS / DLQ_BENCH_LETTERS change the sizes (e.g. 10000 / 5000 for a quick run)
//! ```

use std::time::{Duration, Instant};

use redis::{AsyncCommands, aio::ConnectionManager};
use sluice_shared::{
    dlq::{DeadLetterFilter, DeadLetters, OriginFilter, Target},
    lanes::Lane,
    queue::connect,
};
use sluice_testkit::scale::{NOON, fill_jobs, fill_letters, ms, size, time20 as time};
use ulid::Ulid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: fills Redis with 1 000 000 jobs; run by hand (see the file's doc)"]
async fn console_questions_at_scale() {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let conn = connect(&url, Duration::from_secs(5)).unwrap();
    let prefix = format!(
        "sluice-dlq-bench-{}",
        Ulid::generate().to_string().to_lowercase()
    );
    let (jobs, letters) = (
        size("DLQ_BENCH_JOBS", 1_000_000),
        size("DLQ_BENCH_LETTERS", 100_000),
    );
    let dead = DeadLetters::new(conn.clone(), &prefix);
    let t = Instant::now();
    fill_jobs(&conn, &prefix, jobs).await.unwrap();
    let fill_jobs_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let sample = fill_letters(&dead, letters).await.unwrap();
    println!(
        "filled {jobs} jobs in {fill_jobs_s:.1} s and {letters} dead letters in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut c = conn.clone();
    let used: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut c)
        .await
        .unwrap();
    let used = used
        .lines()
        .find(|l| l.starts_with("used_memory_human"))
        .unwrap_or("")
        .to_owned();
    println!("redis {used}");

    let any = DeadLetterFilter::default();
    let bot = DeadLetterFilter {
        origin: Some(OriginFilter::Bot("bot07".into())),
        ..Default::default()
    };
    let bot_since_noon = DeadLetterFilter {
        since_ms: Some(NOON),
        ..bot.clone()
    };
    let reason = DeadLetterFilter {
        reason: Some("410 gone".into()),
        ..Default::default()
    };
    let rare = DeadLetterFilter {
        reason: Some("(RARE)".into()),
        ..Default::default()
    };
    let bot_reason = DeadLetterFilter {
        reason: Some("timed out".into()),
        ..bot.clone()
    };
    let lane_range = DeadLetterFilter {
        lane: Some(Lane::Low),
        since_ms: Some(NOON - 3_600_000),
        until_ms: Some(NOON),
        ..Default::default()
    };
    let deep = dead.list(&any, None, 50).await.unwrap();
    let mut cursor = deep.next.clone();
    for _ in 0..(letters / 100).min(999) {
        cursor = dead.list(&any, cursor.as_ref(), 50).await.unwrap().next;
    }
    let one = sample[sample.len() / 2].clone();

    let page = |f: DeadLetterFilter| {
        let dead = dead.clone();
        move || {
            let (dead, f) = (dead.clone(), f.clone());
            async move {
                let p = dead.list(&f, None, 50).await.unwrap();
                format!(
                    "{} letters, scanned {}, next: {}",
                    p.letters.len(),
                    p.scanned,
                    p.next.is_some()
                )
            }
        }
    };
    let count = |f: DeadLetterFilter, budget: u64| {
        let dead = dead.clone();
        move || {
            let (dead, f) = (dead.clone(), f.clone());
            async move {
                let n = dead.count(&f, budget).await.unwrap();
                match n.exact {
                    true => format!("{} (exact)", n.matching),
                    false => format!("≥ {}, scanned {}", n.matching, n.scanned),
                }
            }
        }
    };
    let mut rows: Vec<(&str, (Duration, Duration, String))> = Vec::new();
    rows.push(("first page (50, no filter)", time(page(any.clone())).await));
    rows.push(("page by bot", time(page(bot.clone())).await));
    rows.push((
        "page by bot since noon",
        time(page(bot_since_noon.clone())).await,
    ));
    rows.push((
        "page by lane and hour",
        time(page(lane_range.clone())).await,
    ));
    rows.push(("page by reason (1 in 5)", time(page(reason.clone())).await));
    rows.push((
        "page by rare reason (1 in 10 000)",
        time(page(rare.clone())).await,
    ));
    rows.push((
        "page by bot and reason",
        time(page(bot_reason.clone())).await,
    ));
    let deep_cursor = cursor.clone();
    let d = dead.clone();
    rows.push((
        "a page deep in the list (cursor)",
        time(move || {
            let (d, c) = (d.clone(), deep_cursor.clone());
            async move {
                let p = d
                    .list(&DeadLetterFilter::default(), c.as_ref(), 50)
                    .await
                    .unwrap();
                format!("{} letters", p.letters.len())
            }
        })
        .await,
    ));
    rows.push(("count all", time(count(any.clone(), 100_000)).await));
    rows.push(("count by bot", time(count(bot.clone(), 100_000)).await));
    rows.push((
        "count by reason (budget 100 000)",
        time(count(reason.clone(), 100_000)).await,
    ));
    rows.push((
        "count by reason (budget 5 000 = SCAN_BUDGET)",
        time(count(reason.clone(), 5_000)).await,
    ));
    let d = dead.clone();
    rows.push((
        "get one (payload and attempts)",
        time(move || {
            let (d, id) = (d.clone(), one.id.clone());
            async move {
                let l = d.get(None, &id).await.unwrap().unwrap();
                format!("{} bytes of payload", l.envelope.payload.get().len())
            }
        })
        .await,
    ));
    let d = dead.clone();
    let pinned = Target::Filter(bot_since_noon.clone().pinned(NOON + 3_600_000));
    rows.push((
        "dry-run count: bot since noon, pinned",
        time(move || {
            let (d, t) = (d.clone(), pinned.clone());
            async move { format!("{}", d.count_target(&t, 100_000).await.unwrap().matching) }
        })
        .await,
    ));

    println!("\n| question | median ms | max ms (of 20) | answer |\n|---|---|---|---|");
    for (name, (median, max, said)) in &rows {
        println!("| {name} | {} | {} | {said} |", ms(*median), ms(*max));
    }
    let mut c = conn.clone();
    for lane in Lane::ALL {
        let active: u64 = c.llen(format!("{prefix}:{lane}:active")).await.unwrap();
        let due: u64 = c.zcard(format!("{prefix}:{lane}:scheduled")).await.unwrap();
        println!("queued in {lane}: {}", active + due);
    }
    clear(&mut c, &prefix).await;
}

async fn clear(conn: &mut ConnectionManager, prefix: &str) {
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(10_000)
            .query_async(conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(conn)
                .await
                .unwrap();
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}
