//! The page-rendering test in a real browser: the pages served by a small axum router built here
//! from fixture view models, over real HTTP, driven in headless Chromium.
//!
//! This is not the console's end-to-end test (no auth, no Redis, no service behind the pages):
//! it proves that the pages render, that htmx loads under the pages' CSP and swaps the live
//! numbers, that the forms send what the console will parse, and it saves the screenshots in
//! docs/console/.

use std::{path::PathBuf, time::Duration};

use sluice_testkit::browser::Browser;

use crate::{
    fixtures::CSRF,
    pages_server::{FIXTURE_TOKEN, Polls, ROTATED_SECRET, router},
};

const WAIT: Duration = Duration::from_secs(15);

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/console")
        .join(name)
}

async fn assert_no_console_errors(browser: &Browser, page: &str) {
    let errors = browser.console_errors().await.unwrap();
    assert!(errors.is_empty(), "{page}: console errors: {errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_and_work_in_headless_chromium() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, router(Polls::default())).into_future());
    let browser = Browser::start().await.unwrap();

    // Sign-in: a wrong token shows the fixed message, the fixture token lands on the lanes.
    browser.open(&format!("{base}/login")).await.unwrap();
    browser
        .wait_for(
            "form[action='/login'] input[type=password][name=token]",
            WAIT,
        )
        .await
        .unwrap();
    browser
        .fill_and_submit("form[action='/login']", &[("token", "<wrong>")])
        .await
        .unwrap();
    let error = browser
        .wait_for_text("[role=alert]", WAIT, |t| !t.is_empty())
        .await
        .unwrap();
    assert_eq!(error, "That token was not accepted.");
    let errors = browser.console_errors().await.unwrap();
    assert!(
        errors.len() == 1 && errors[0].ends_with("status of 401 (Unauthorized)"),
        "only the refused sign-in: {errors:#?}"
    );
    // No caret in the picture: a blinking one would change the PNG from run to run.
    browser
        .client()
        .execute("document.activeElement.blur()", vec![])
        .await
        .unwrap();
    browser
        .screenshot(&screenshot_path("login.png"))
        .await
        .unwrap();
    browser
        .fill_and_submit("form[action='/login']", &[("token", FIXTURE_TOKEN)])
        .await
        .unwrap();
    browser.wait_for("#lanes-live", WAIT).await.unwrap();
    assert!(browser.current_url().await.unwrap().ends_with("/lanes"));

    // Lanes: the SVG charts are drawn, htmx is loaded without a console error, and the fragment
    // swap replaces the numbers in place (the page itself is not reloaded: the mark survives).
    assert_eq!(
        browser
            .count("section.lane-charts svg polyline")
            .await
            .unwrap(),
        9
    );
    let htmx = browser
        .client()
        .execute("return typeof htmx === 'object' && htmx.version", vec![])
        .await
        .unwrap();
    assert_eq!(htmx.as_str(), Some("2.0.11"), "htmx is loaded");
    browser
        .client()
        .execute("window.sluiceMark = 1", vec![])
        .await
        .unwrap();
    let cell = "tr[data-lane=high] td[data-state=pending]";
    assert_eq!(browser.text(cell).await.unwrap(), "0");
    let refreshed = browser
        .wait_for_text(cell, WAIT, |t| t != "0")
        .await
        .unwrap();
    assert!(refreshed.parse::<u64>().unwrap() >= 1, "{refreshed}");
    let mark = browser
        .client()
        .execute("return window.sluiceMark", vec![])
        .await
        .unwrap();
    assert_eq!(mark.as_u64(), Some(1), "swapped in place, not reloaded");
    assert_no_console_errors(&browser, "lanes").await;
    browser
        .screenshot(&screenshot_path("lanes.png"))
        .await
        .unwrap();

    // Dead letters: the filter form sends its fields as GET parameters and echoes them back.
    browser.open(&format!("{base}/dead-letters")).await.unwrap();
    browser.wait_for("#dead-letters", WAIT).await.unwrap();
    assert_eq!(browser.count("#dead-letters tbody tr").await.unwrap(), 12);
    assert_no_console_errors(&browser, "dead letters").await;
    browser
        .screenshot(&screenshot_path("dead-letters.png"))
        .await
        .unwrap();
    let filter = [
        ("lane", "normal"),
        ("origin", "support_bot"),
        ("reason", "500 Internal"),
        ("since", "2026-12-03T12:00"),
    ];
    browser
        .fill_and_submit("form#dead-letter-filter", &filter)
        .await
        .unwrap();
    browser.wait_for("a.reset", WAIT).await.unwrap();
    let url = browser.current_url().await.unwrap();
    assert!(
        url.ends_with("/dead-letters?lane=normal&origin=support_bot&reason=500+Internal&since=2026-12-03T12%3A00&until="),
        "{url}"
    );
    assert_eq!(
        browser
            .attr("input[name=origin]", "value")
            .await
            .unwrap()
            .as_deref(),
        Some("support_bot")
    );
    assert_eq!(
        browser.count("#dead-letters tbody tr").await.unwrap(),
        1,
        "the fixture filtered by the parameters"
    );

    // One letter, then its replay confirmation (count first, the form carries the CSRF field).
    browser
        .click("#dead-letters tbody tr:first-child td:last-child a")
        .await
        .unwrap();
    browser.wait_for("#payload", WAIT).await.unwrap();
    assert!(
        browser
            .text("#payload")
            .await
            .unwrap()
            .contains("\"update_id\": 904112330")
    );
    assert_no_console_errors(&browser, "dead letter").await;
    browser
        .screenshot(&screenshot_path("dead-letter.png"))
        .await
        .unwrap();
    browser.click("a#replay").await.unwrap();
    browser.wait_for("#confirm-form", WAIT).await.unwrap();
    assert_eq!(browser.text("#dry-run-count").await.unwrap(), "1");
    assert_eq!(
        browser
            .attr("#confirm-form input[name=csrf_token]", "value")
            .await
            .unwrap()
            .as_deref(),
        Some(CSRF)
    );
    browser
        .screenshot(&screenshot_path("confirm.png"))
        .await
        .unwrap();

    // Bots: rotating shows the new secret once; the next visit does not.
    browser.open(&format!("{base}/bots")).await.unwrap();
    browser
        .wait_for("tr[data-bot=support_bot]", WAIT)
        .await
        .unwrap();
    browser
        .fill_and_submit("tr[data-bot=support_bot] td.actions form", &[])
        .await
        .unwrap();
    let secret = browser
        .wait_for_text("#one-time-secret", WAIT, |t| !t.is_empty())
        .await
        .unwrap();
    assert_eq!(secret, ROTATED_SECRET);
    assert!(
        browser
            .text(".flash")
            .await
            .unwrap()
            .contains("Secret rotated.")
    );
    browser
        .screenshot(&screenshot_path("bots.png"))
        .await
        .unwrap();
    browser.open(&format!("{base}/bots")).await.unwrap();
    browser.wait_for("#bots", WAIT).await.unwrap();
    assert_eq!(browser.count("#one-time-secret").await.unwrap(), 0);
    assert!(!browser.client().source().await.unwrap().contains(&secret));
    assert_no_console_errors(&browser, "bots").await;

    browser.open(&format!("{base}/workers")).await.unwrap();
    browser.wait_for("#workers", WAIT).await.unwrap();
    assert_eq!(browser.count("#workers tr.stale").await.unwrap(), 1);
    assert_no_console_errors(&browser, "workers").await;
    browser
        .screenshot(&screenshot_path("workers.png"))
        .await
        .unwrap();

    browser.close().await.unwrap();
}
