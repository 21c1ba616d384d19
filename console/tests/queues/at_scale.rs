//! Every console page and API answer at scale (issue 18): 1 000 000 queued jobs and 100 000 dead
//! letters in Redis, 50 bots and 5 sources in Postgres, the console served over HTTP as the api
//! serves it; each request made 20 times in a row, median and slowest printed as a table. A
//! benchmark, not a timed test: it asserts only that every answer is a 200.
//!
//! ```sh
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! TEST_REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo test --workspace --test queues at_scale -- --ignored --nocapture
//! # CONSOLE_BENCH_JOBS / CONSOLE_BENCH_LETTERS change the sizes (e.g. 10000 / 5000, quick)
//! ```

use std::time::Instant;

use reqwest::Method;
use serde_json::json;
use sluice_shared::registry::bots;
use sluice_testkit::{
    TestDb,
    scale::{NOON, fill_jobs, fill_letters, ms, size, time20},
};

use crate::support::{Signed, TestConsole, spawn_on};

/// `GET path` (the bearer token for the API, the session's cookie for a page) 20 times.
async fn get(c: &TestConsole, s: &Signed, path: &str) -> (String, String, String) {
    let (median, max, said) = time20(|| async {
        let req = if path.starts_with("/api/") {
            c.api(Method::GET, path)
        } else {
            c.with(s, Method::GET, path)
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        format!("{} bytes", body.len())
    })
    .await;
    (ms(median), ms(max), said)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: fills Redis with 1 000 000 jobs; run by hand (see the file's doc)"]
async fn every_page_and_api_answer_at_scale() {
    let db = TestDb::fresh().await.unwrap();
    for b in 0..50 {
        bots::add(
            &db.pool,
            &format!("bot{b:02}"),
            &format!("secret-of-bot-{b:02}-0123456789"),
        )
        .await
        .unwrap();
    }
    let c = spawn_on(db.pool.clone()).await;
    let (jobs, letters) = (
        size("CONSOLE_BENCH_JOBS", 1_000_000),
        size("CONSOLE_BENCH_LETTERS", 100_000),
    );
    let t = Instant::now();
    fill_jobs(&c.redis, &c.prefix, jobs).await.unwrap();
    let fill_jobs_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let sample = fill_letters(&c.dead_letters(), letters).await.unwrap();
    println!(
        "filled {jobs} jobs in {fill_jobs_s:.1} s and {letters} dead letters in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let s = c.sign_in().await;
    let one = &sample[sample.len() / 2].id;
    // A cursor 1 000 pages (50 000 letters) into the list.
    let mut cursor: Option<String> = None;
    for _ in 0..(letters / 100).min(1000) {
        let path = match &cursor {
            Some(cur) => format!(
                "/api/v1/dead-letters?{}",
                serde_urlencoded::to_string([("cursor", cur)]).unwrap()
            ),
            None => "/api/v1/dead-letters".to_owned(),
        };
        let (_, page) = c.get_json(&path).await;
        cursor = page["next"].as_str().map(str::to_owned);
    }
    let deep =
        serde_urlencoded::to_string([("cursor", cursor.expect("a cursor deep in the list"))])
            .unwrap();
    let since = chrono::DateTime::from_timestamp_millis(NOON)
        .unwrap()
        .format("%Y-%m-%dT%H:%M")
        .to_string();

    let paths = [
        "/lanes".to_owned(),
        "/lanes/live".to_owned(),
        "/api/v1/lanes".to_owned(),
        "/api/v1/admission".to_owned(),
        "/dead-letters".to_owned(),
        "/dead-letters?origin=bot07".to_owned(),
        format!("/dead-letters?origin=bot07&since={since}"),
        "/dead-letters?reason=410+Gone".to_owned(),
        "/dead-letters?reason=%28rare%29".to_owned(),
        format!("/dead-letters?{deep}"),
        format!("/dead-letters/{one}"),
        format!("/dead-letters/confirm?action=replay&origin=bot07&since={since}"),
        "/dead-letters/confirm?action=purge&reason=410+Gone".to_owned(),
        "/api/v1/dead-letters".to_owned(),
        "/api/v1/dead-letters?bot=bot07".to_owned(),
        "/api/v1/dead-letters?lane=low&since=2026-12-03T11:00&until=2026-12-03T12:00".to_owned(),
        "/api/v1/dead-letters?reason=410%20gone".to_owned(),
        format!("/api/v1/dead-letters?{deep}"),
        format!("/api/v1/dead-letters/{one}"),
        "/workers".to_owned(),
        "/api/v1/workers".to_owned(),
        "/bots".to_owned(),
        "/api/v1/bots".to_owned(),
        "/api/v1/sources".to_owned(),
        "/api/v1/openapi.json".to_owned(),
    ];
    let mut rows = Vec::new();
    for path in &paths {
        rows.push((format!("GET {path}"), get(&c, &s, path).await));
    }
    for (what, body) in [
        (
            "POST /api/v1/dead-letters/replay (dry run: bot since noon)",
            json!({"dry_run": true, "filter": {"bot": "bot07", "since": since}}),
        ),
        (
            "POST /api/v1/dead-letters/purge (dry run: reason)",
            json!({"dry_run": true, "filter": {"reason": "410 gone"}}),
        ),
    ] {
        let (median, max, said) = time20(|| async {
            let (status, answer) = c
                .post_json(what.split(' ').nth(1).unwrap(), body.clone())
                .await;
            assert_eq!(status, 200, "{what}: {answer}");
            format!("matching {}, exact {}", answer["matching"], answer["exact"])
        })
        .await;
        rows.push((what.to_owned(), (ms(median), ms(max), said)));
    }

    println!("\n| request | median ms | max ms (of 20) | answer |\n|---|---|---|---|");
    for (what, (median, max, said)) in &rows {
        println!("| `{what}` | {median} | {max} | {said} |");
    }
    c.stop().await;
    db.drop_db().await;
}
