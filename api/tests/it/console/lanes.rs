//! The lanes through the console: the JSON API with a bearer token or the session cookie, the
//! page and its live block, filled by real webhook deliveries.

use reqwest::Method;

use super::{TOKEN, spawn_console};
use crate::common::{SECRET, message};

#[tokio::test]
async fn a_lane_filled_by_deliveries_shows_in_the_api_and_the_page() {
    let (app, c) = spawn_console(&[]).await;
    for id in 0..3 {
        let resp = app
            .post_update(crate::common::BOT, message(9000 + id, 42 + id, "hi"))
            .await;
        assert_eq!(resp.status(), 200);
    }

    // A wrong bearer token is refused; the right one reads the lanes.
    let wrong = c
        .http
        .get(c.url("/api/v1/lanes"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let resp = c
        .http
        .get(c.url("/api/v1/lanes"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["window_seconds"], 3600);
    let lanes = v["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 3);
    let waiting: u64 = lanes
        .iter()
        .map(|l| l["pending"].as_u64().unwrap() + l["scheduled"].as_u64().unwrap())
        .sum();
    assert_eq!(waiting, 3, "{body}");
    let busy = lanes
        .iter()
        .find(|l| l["pending"].as_u64() > Some(0))
        .unwrap();
    assert!(
        busy["oldest_age_seconds"].as_f64().unwrap() >= 0.0,
        "{body}"
    );

    // The browser's session reads the same, as a page and as the live fragment.
    let s = c.sign_in().await;
    let lane = busy["lane"].as_str().unwrap();
    let page = c.with(&s, Method::GET, "/lanes").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("data-lane=\"{lane}\"")), "{html}");
    assert!(
        html.contains(&s.csrf),
        "the sign-out form carries the CSRF token"
    );
    let live = c.with(&s, Method::GET, "/lanes/live").send().await.unwrap();
    let fragment = live.text().await.unwrap();
    assert!(!fragment.contains("<html"), "a fragment, not a page");
    assert!(fragment.contains(&format!("data-lane=\"{lane}\"")));
    // The session also reads the API (a GET: no CSRF header needed).
    let cookie_api = c
        .with(&s, Method::GET, "/api/v1/lanes")
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_api.status(), 200);

    for answer in [&body, &html, &fragment] {
        for secret in [TOKEN, SECRET] {
            assert!(!answer.contains(secret), "an answer shows a secret");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_sampler_keeps_each_lanes_history_with_its_arrivals() {
    use sluice_console::service::lanes::{Arrivals, Lanes};
    use sluice_shared::lanes::{Lane, PerLane};

    let (app, _c) = spawn_console(&[]).await;
    let client = redis::Client::open(app.redis_url.as_str()).unwrap();
    let lanes = Lanes::new(client.get_connection_manager().await.unwrap(), &app.prefix);
    let arrivals = Arrivals::default();
    let mut last = PerLane::splat(0);
    arrivals.record(Lane::Normal, 3);
    lanes.tick(&arrivals, &mut last).await.unwrap();
    // Another replica's tick in the same bucket adds its arrivals, never a second sample.
    arrivals.record(Lane::Normal, 3);
    lanes.tick(&arrivals, &mut last).await.unwrap();
    let now = lanes.now().await.unwrap();
    let normal = now.iter().find(|l| l.lane == "normal").unwrap();
    let point = normal.history.last().expect("a sample was kept");
    let buckets: std::collections::BTreeSet<u64> = normal.history.iter().map(|p| p.at).collect();
    assert_eq!(buckets.len(), normal.history.len(), "one sample per bucket");
    // Both ticks' arrivals are kept, in one bucket or (across a boundary) two.
    let arrived: f64 = normal.history.iter().map(|p| p.in_per_sec * 30.0).sum();
    assert!((arrived - 6.0).abs() < 1e-6, "{point:?} {arrived}");
    assert!(
        now.iter()
            .find(|l| l.lane == "high")
            .unwrap()
            .history
            .iter()
            .all(|p| p.in_per_sec == 0.0)
    );
    app.stop().await;
}
