//! The operator console end to end, in a real browser against a real deployment: the
//! `sluice-api` binary (console on) and the `sluice-worker` binary on real Redis and a fresh
//! Postgres database, and headless Chromium (Debian's chromium through chromedriver) doing what an
//! operator does: sign in with the token, watch a lane fill while no worker runs and drain when
//! one starts, open the update that died, replay it and find its row in Postgres, rotate the bot's
//! secret and see the api refuse the old one. Each page's screenshot from this run is saved in
//! docs/console/run/.
//!
//! The dead letter is made the way production makes one: Postgres refuses the update's row with a
//! data error (a trigger the test installs stands in for a payload Postgres cannot store), which
//! the worker never retries. Dropping the trigger is the "fix" before the replay.

use std::{path::PathBuf, time::Duration};

use sha2::{Digest, Sha256};
use sluice_testkit::{TestDb, browser::Browser, free_port, prefix, redis_url, wait_until};

use crate::{
    api::{add_bot, spawn_api},
    common::spawn_worker,
};

/// The console token the browser signs in with (only its SHA-256 is configured).
const TOKEN: &str = "console-browser-e2e-token-5a1c9f0e7d";
const BOT: &str = "shop_bot";
const OLD_SECRET: &str = "shop-bot-secret-before-rotation";
/// Updates queued before any worker runs: the lane visibly fills.
const FILL: i64 = 240;
/// The update whose row Postgres refuses until the trigger is dropped.
const POISON: i64 = 7_700_000;
const WAIT: Duration = Duration::from_secs(30);

fn screenshot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/console/run")
        .join(name)
}

fn update(id: i64) -> String {
    // One chat per update: the lane's numbers, not per-chat ordering, are what is watched.
    format!(
        r#"{{"update_id":{id},"message":{{"message_id":{id},"from":{{"id":{id},"is_bot":false,"first_name":"U"}},"chat":{{"id":{id},"type":"private"}},"date":1764000000,"text":"hello {id}"}}}}"#
    )
}

async fn post(http: &reqwest::Client, url: &str, secret: &str, id: i64) -> u16 {
    http.post(url)
        .header("X-Telegram-Bot-Api-Secret-Token", secret)
        .body(update(id))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn rows(db: &TestDb, id: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM updates WHERE bot = $1 AND update_id = $2")
        .bind(BOT)
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn no_browser_errors(browser: &Browser, page: &str) {
    let errors = browser.console_errors().await.unwrap();
    assert!(
        errors.is_empty(),
        "{page}: browser console errors: {errors:#?}"
    );
}

/// The `waiting` of the normal lane's history samples (30 s apart), oldest first.
async fn normal_history(http: &reqwest::Client, console: &str) -> Vec<i64> {
    let lanes: serde_json::Value = http
        .get(format!("{console}/api/v1/lanes"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    lanes["lanes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["lane"] == "normal")
        .flat_map(|l| l["history"].as_array().cloned().unwrap_or_default())
        .map(|h| h["waiting"].as_i64().unwrap_or(-1))
        .collect()
}

/// Waits for the page's next live refresh (its "Sampled" time changes).
async fn next_refresh(browser: &Browser) {
    let before = browser.text("#sampled-at").await.unwrap();
    browser
        .wait_for_text("#sampled-at", WAIT, |t| t != before)
        .await
        .unwrap();
}

fn number(text: &str) -> i64 {
    text.replace(',', "").trim().parse().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_watches_a_lane_replays_a_dead_letter_and_rotates_a_secret_in_chromium() {
    let db = TestDb::fresh().await.unwrap();
    add_bot(&db.url, BOT, OLD_SECRET).await;
    let (prefix, redis) = (prefix(), redis_url());
    let console_addr = format!("127.0.0.1:{}", free_port());
    let digest = hex::encode(Sha256::digest(TOKEN));
    let mut api = spawn_api(
        &db.url,
        &redis,
        &prefix,
        &[
            ("SLUICE_CONSOLE_ADDR", &console_addr),
            ("SLUICE_CONSOLE_TOKEN_SHA256", &digest),
            ("SLUICE_CONSOLE_SECURE_COOKIE", "false"),
            ("SLUICE_REGISTRY_REFRESH", "200ms"),
            // The lane is filled faster than the default per-chat and per-bot limits allow.
            ("SLUICE_RATE_SCOPE", "off"),
        ],
    )
    .await;
    let console = format!("http://{console_addr}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let up = wait_until(WAIT, || async {
        http.get(format!("{console}/login"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "the console answers /login");
    let webhook = format!("{}/webhook/telegram/{BOT}", api.base);
    let browser = Browser::start().await.unwrap();

    // Sign in with the token: the form lands on the lanes page.
    browser.open(&format!("{console}/")).await.unwrap();
    browser
        .wait_for("form[action='/login'] input[name=token]", WAIT)
        .await
        .unwrap();
    browser
        .client()
        .execute("document.activeElement.blur()", vec![])
        .await
        .unwrap();
    browser.screenshot(&screenshot("login.png")).await.unwrap();
    browser
        .fill_and_submit("form[action='/login']", &[("token", TOKEN)])
        .await
        .unwrap();
    browser.wait_for("#lanes-live", WAIT).await.unwrap();
    assert!(browser.current_url().await.unwrap().ends_with("/lanes"));
    no_browser_errors(&browser, "sign-in").await;

    // Postgres will refuse the poison's row (a data error: never retried, dead at once).
    // The id is this file's constant: nothing from outside reaches the statement.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.update_id = {POISON} THEN
                 RAISE EXCEPTION 'the test refuses update %', NEW.update_id USING ERRCODE = '22023';
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_poison BEFORE INSERT ON update_keys
             FOR EACH ROW EXECUTE FUNCTION refuse_poison();"
    )))
    .execute(&db.pool)
    .await
    .unwrap();

    // Fill: no worker yet, every update is acknowledged only once queued, and the page's live
    // numbers (htmx, every 5 s) climb to all of them without a reload.
    for id in (1..=FILL - 1).chain([POISON]) {
        assert_eq!(
            post(&http, &webhook, OLD_SECRET, id).await,
            200,
            "update {id}"
        );
    }
    browser
        .client()
        .execute("window.sluiceMark = 1", vec![])
        .await
        .unwrap();
    let pending = "tr[data-lane=normal] td[data-state=pending]";
    let filled = browser
        .wait_for_text(pending, WAIT, |t| number(t) == FILL)
        .await
        .unwrap();
    assert_eq!(number(&filled), FILL);
    let mark = browser
        .client()
        .execute("return window.sluiceMark", vec![])
        .await
        .unwrap();
    assert_eq!(mark.as_u64(), Some(1), "numbers swapped in place");
    // The charts draw the lane's 30 s samples: wait for one that saw the lane full.
    let sampled = wait_until(Duration::from_secs(75), || async {
        normal_history(&http, &console).await.contains(&FILL)
    })
    .await;
    assert!(sampled, "a history sample of the full lane");
    next_refresh(&browser).await;
    browser
        .screenshot(&screenshot("lanes-filled.png"))
        .await
        .unwrap();

    // Drain: a worker starts; the lane empties, all rows but the poison's are stored, and the
    // poison is the lane's one dead letter.
    let mut worker = spawn_worker(&db.url, &redis, &prefix, &[]);
    browser
        .wait_for_text(pending, Duration::from_secs(60), |t| number(t) == 0)
        .await
        .unwrap();
    browser
        .wait_for_text("tr[data-lane=normal] td[data-state=dead]", WAIT, |t| {
            number(t) == 1
        })
        .await
        .unwrap();
    let stored = wait_until(WAIT, || async { db.update_rows().await == FILL - 1 }).await;
    assert!(
        stored,
        "{} rows, {} expected",
        db.update_rows().await,
        FILL - 1
    );
    assert_eq!(rows(&db, POISON).await, 0);
    // And for a sample of the drained lane after the full one, so the chart shows both.
    let drained = wait_until(Duration::from_secs(75), || async {
        let h = normal_history(&http, &console).await;
        h.iter()
            .position(|w| *w == FILL)
            .is_some_and(|full| h[full..].contains(&0))
    })
    .await;
    assert!(drained, "a history sample of the drained lane");
    next_refresh(&browser).await;
    no_browser_errors(&browser, "lanes").await;
    browser
        .screenshot(&screenshot("lanes-drained.png"))
        .await
        .unwrap();

    // The dead letters: one, from the bot, with Postgres's reason.
    browser
        .open(&format!("{console}/dead-letters"))
        .await
        .unwrap();
    browser.wait_for("#dead-letters", WAIT).await.unwrap();
    assert_eq!(browser.count("#dead-letters tbody tr").await.unwrap(), 1);
    let row = browser.text("#dead-letters tbody tr").await.unwrap();
    assert!(row.contains(BOT), "{row}");
    assert!(row.contains("the test refuses update"), "{row}");
    no_browser_errors(&browser, "dead letters").await;
    browser
        .screenshot(&screenshot("dead-letters.png"))
        .await
        .unwrap();

    // The letter: its payload is the update as received.
    browser
        .click("#dead-letters tbody tr:first-child td:last-child a")
        .await
        .unwrap();
    browser.wait_for("#payload", WAIT).await.unwrap();
    let payload = browser.text("#payload").await.unwrap();
    assert!(
        payload.contains(&format!("\"update_id\": {POISON}")),
        "{payload}"
    );
    assert!(
        !browser
            .client()
            .source()
            .await
            .unwrap()
            .contains(OLD_SECRET)
    );
    no_browser_errors(&browser, "dead letter").await;
    browser
        .screenshot(&screenshot("dead-letter.png"))
        .await
        .unwrap();

    // Replay: the count first, then the confirmed POST; with the fault fixed (the trigger
    // dropped) the worker stores the row.
    browser.click("a#replay").await.unwrap();
    browser.wait_for("#confirm-form", WAIT).await.unwrap();
    assert_eq!(browser.text("#dry-run-count").await.unwrap(), "1");
    browser
        .screenshot(&screenshot("confirm.png"))
        .await
        .unwrap();
    sqlx::raw_sql("DROP TRIGGER refuse_poison ON update_keys; DROP FUNCTION refuse_poison();")
        .execute(&db.pool)
        .await
        .unwrap();
    browser.fill_and_submit("#confirm-form", &[]).await.unwrap();
    let flash = browser
        .wait_for_text(".flash", WAIT, |t| !t.is_empty())
        .await
        .unwrap();
    assert!(flash.contains("Replayed 1"), "{flash}");
    let replayed = wait_until(WAIT, || async { rows(&db, POISON).await == 1 }).await;
    assert!(replayed, "the replayed update's row is in Postgres");
    assert_eq!(db.update_rows().await, FILL);
    browser
        .open(&format!("{console}/dead-letters"))
        .await
        .unwrap();
    browser.wait_for("#dead-letters", WAIT).await.unwrap();
    assert_eq!(
        browser.text("#dead-letters tbody").await.unwrap(),
        "No dead letters match."
    );

    // Rotate the bot's secret: shown once; within the registry refresh the api refuses the old
    // secret and takes the new one.
    browser.open(&format!("{console}/bots")).await.unwrap();
    let form = format!("tr[data-bot={BOT}] td.actions form");
    browser.wait_for(&form, WAIT).await.unwrap();
    browser.fill_and_submit(&form, &[]).await.unwrap();
    let secret = browser
        .wait_for_text("#one-time-secret", WAIT, |t| !t.is_empty())
        .await
        .unwrap();
    assert_ne!(secret, OLD_SECRET);
    browser.screenshot(&screenshot("bots.png")).await.unwrap();
    let refused = wait_until(WAIT, || async {
        post(&http, &webhook, OLD_SECRET, FILL + 1).await == 401
    })
    .await;
    assert!(refused, "the old secret is refused after the rotation");
    assert_eq!(post(&http, &webhook, &secret, FILL + 2).await, 200);
    browser.open(&format!("{console}/bots")).await.unwrap();
    browser.wait_for("#bots", WAIT).await.unwrap();
    let page = browser.client().source().await.unwrap();
    assert!(!page.contains(&secret), "the secret is shown only once");
    no_browser_errors(&browser, "bots").await;

    // Workers: the running worker's lane consumers, heartbeating.
    browser.open(&format!("{console}/workers")).await.unwrap();
    browser.wait_for("#workers", WAIT).await.unwrap();
    assert!(browser.count("#workers tbody tr").await.unwrap() >= 3);
    let table = browser.text("#workers").await.unwrap();
    assert_eq!(
        browser.count("#workers tr.stale").await.unwrap(),
        0,
        "{table}"
    );
    no_browser_errors(&browser, "workers").await;
    browser
        .screenshot(&screenshot("workers.png"))
        .await
        .unwrap();

    browser.close().await.unwrap();
    worker.kill9().await;
    api.kill().await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
