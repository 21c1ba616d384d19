//! Bots and sources through the console's JSON API: add, list (no secret, token or sealed value
//! in any answer), rotate (the real ingress refuses the old secret and takes the new), limits,
//! remove; the same for a signed-webhook source.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Console, KEY, TOKEN, spawn_console};
use crate::{
    common::{TestApp, message},
    sign::{github, post_hook},
};

/// A Bot API token of the real shape (never shown back).
const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-TOPSECRET";

impl Console {
    /// An API call with the bearer token.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// `GET path`: its status 200, its text, and the text as JSON.
    async fn listing(&self, path: &str) -> (String, Value) {
        let resp = self.api(Method::GET, path, None).await;
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap();
        (text, v)
    }
}

/// Until the api's registry (reloaded every 200 ms) answers a delivery to bot `name` carrying
/// `secret` with `status`.
async fn bot_answers(app: &TestApp, name: &str, secret: &str, status: u16) -> bool {
    sluice_testkit::wait_until(Duration::from_secs(5), || async {
        let body = message(7000, 1, "hi");
        let resp = app.post_with_secret(name, Some(secret), body).await;
        resp.status() == status
    })
    .await
}

/// Until a delivery to source `name` signed with `secret` gets `status`.
async fn source_answers(app: &TestApp, name: &str, secret: &str, status: u16) -> bool {
    static SENT: AtomicU64 = AtomicU64::new(0);
    sluice_testkit::wait_until(Duration::from_secs(5), || async {
        // A new body each time: no answer can come from an earlier delivery's record.
        let n = SENT.fetch_add(1, Ordering::Relaxed);
        let body = format!(r#"{{"id":"evt_{n}","kind":"push"}}"#);
        let resp = post_hook(app, name, &[github(secret, body.as_bytes())], body.clone()).await;
        resp.status() == status
    })
    .await
}

fn find<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|b| b["name"] == name)
}

#[tokio::test]
async fn a_bot_added_rotated_limited_and_removed_through_the_api() {
    let (app, c) = spawn_console(&[KEY]).await;

    let resp = c
        .api(
            Method::POST,
            "/api/v1/bots",
            Some(json!({"name": "alpha", "token": BOT_TOKEN})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let added: Value = resp.json().await.unwrap();
    let first = added["secret"].as_str().unwrap().to_owned();
    assert!(first.len() >= 32, "{first}");
    assert_eq!(added["webhook_path"], "/webhook/telegram/alpha");

    // Listed, with its token on file, and no secret, token or sealed value anywhere.
    let (text, list) = c.listing("/api/v1/bots").await;
    for hidden in [first.as_str(), BOT_TOKEN, "TOPSECRET", "sealed", "sha256"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    let alpha = find(&list, "alpha").expect("alpha listed");
    assert_eq!(alpha["has_token"], true);
    assert!(alpha["rate_per_sec"].is_null() && alpha["burst"].is_null());
    let keys: Vec<&String> = alpha.as_object().unwrap().keys().collect();
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("secret") && *k != "forward_secret")
    );
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("token") && *k != "has_token")
    );

    // The real ingress takes the secret; after a rotation it refuses it and takes the new one.
    assert!(bot_answers(&app, "alpha", &first, 200).await);
    let resp = c.api(Method::POST, "/api/v1/bots/alpha/rotate", None).await;
    assert_eq!(resp.status(), 200);
    let rotated: Value = resp.json().await.unwrap();
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert!(bot_answers(&app, "alpha", &first, 401).await);
    assert!(bot_answers(&app, "alpha", &second, 200).await);
    let (text, _) = c.listing("/api/v1/bots").await;
    assert!(!text.contains(&second));

    // Limits: set as a pair (shown in the list), a half is refused, null gives the defaults.
    let limits = json!({"rate_per_sec": 2.5, "burst": 7});
    let resp = c
        .api(Method::PUT, "/api/v1/bots/alpha/limits", Some(limits))
        .await;
    assert_eq!(resp.status(), 200);
    let (_, list) = c.listing("/api/v1/bots").await;
    let alpha = find(&list, "alpha").unwrap();
    assert_eq!(
        (alpha["rate_per_sec"].as_f64(), alpha["burst"].as_i64()),
        (Some(2.5), Some(7))
    );
    let half = json!({"rate_per_sec": 3});
    let resp = c
        .api(Method::PUT, "/api/v1/bots/alpha/limits", Some(half))
        .await;
    assert_eq!(resp.status(), 400);
    let none = json!({"rate_per_sec": null, "burst": null});
    let resp = c
        .api(Method::PUT, "/api/v1/bots/alpha/limits", Some(none))
        .await;
    assert_eq!(resp.status(), 200);
    let (_, list) = c.listing("/api/v1/bots").await;
    assert!(find(&list, "alpha").unwrap()["burst"].is_null());

    // A name in use is a conflict (its secret is not replaced); a bad name is refused.
    let again = json!({"name": "alpha"});
    let resp = c.api(Method::POST, "/api/v1/bots", Some(again)).await;
    assert_eq!(resp.status(), 409);
    assert!(bot_answers(&app, "alpha", &second, 200).await);
    let bad = json!({"name": "no spaces"});
    let resp = c.api(Method::POST, "/api/v1/bots", Some(bad)).await;
    assert_eq!(resp.status(), 400);

    // Removed: gone from the list, its webhook unknown, a second removal not found.
    let resp = c.api(Method::DELETE, "/api/v1/bots/alpha", None).await;
    assert_eq!(resp.status(), 204);
    let (_, list) = c.listing("/api/v1/bots").await;
    assert!(find(&list, "alpha").is_none());
    assert!(bot_answers(&app, "alpha", &second, 404).await);
    let resp = c.api(Method::DELETE, "/api/v1/bots/alpha", None).await;
    assert_eq!(resp.status(), 404);
    let resp = c.api(Method::POST, "/api/v1/bots/alpha/rotate", None).await;
    assert_eq!(resp.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_source_added_rotated_and_removed_through_the_api() {
    let (app, c) = spawn_console(&[KEY]).await;

    let add = json!({"name": "gh", "scheme": "github", "lane": "low"});
    let resp = c.api(Method::POST, "/api/v1/sources", Some(add)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let added: Value = resp.json().await.unwrap();
    let first = added["secret"].as_str().unwrap().to_owned();
    assert_eq!(added["webhook_path"], "/webhook/hooks/gh");

    let (text, list) = c.listing("/api/v1/sources").await;
    assert!(!text.contains(&first), "{text}");
    let gh = find(&list, "gh").expect("gh listed");
    assert_eq!(
        (gh["scheme"].as_str(), gh["lane"].as_str()),
        (Some("github"), Some("low"))
    );
    assert_eq!(gh["next_secret_pending"], false);
    assert!(gh["created_at"].is_string());
    // Stored sealed under the key, not in clear text.
    let clear: Option<String> = sqlx::query_scalar("SELECT secret FROM sources WHERE name = 'gh'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(clear, None);

    // The real signature check takes the secret; after a rotation only the new one.
    assert!(source_answers(&app, "gh", &first, 200).await);
    let resp = c.api(Method::POST, "/api/v1/sources/gh/rotate", None).await;
    assert_eq!(resp.status(), 200);
    let second = resp.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    assert!(source_answers(&app, "gh", &first, 401).await);
    assert!(source_answers(&app, "gh", &second, 200).await);
    let (text, _) = c.listing("/api/v1/sources").await;
    assert!(!text.contains(&second) && !text.contains(&first));

    // Refusals: a name in use, an unknown scheme or lane.
    for (body, status) in [
        (json!({"name": "gh", "scheme": "github"}), 409),
        (json!({"name": "x", "scheme": "gitlab"}), 400),
        (json!({"name": "x", "scheme": "plain", "lane": "fast"}), 400),
    ] {
        let resp = c.api(Method::POST, "/api/v1/sources", Some(body)).await;
        assert_eq!(resp.status(), status);
    }

    let resp = c.api(Method::DELETE, "/api/v1/sources/gh", None).await;
    assert_eq!(resp.status(), 204);
    let (_, list) = c.listing("/api/v1/sources").await;
    assert!(find(&list, "gh").is_none());
    assert!(source_answers(&app, "gh", &second, 404).await);
    let resp = c.api(Method::DELETE, "/api/v1/sources/gh", None).await;
    assert_eq!(resp.status(), 404);
    app.stop().await;
}

/// With the session cookie, a change needs the CSRF header; the bearer token needs none.
#[tokio::test]
async fn a_change_with_the_cookie_needs_the_csrf_header() {
    let (app, c) = spawn_console(&[KEY]).await;
    let s = c.sign_in().await;
    let add = json!({"name": "beta"});
    let resp = c
        .with(&s, Method::POST, "/api/v1/bots")
        .json(&add)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = c
        .with(&s, Method::POST, "/api/v1/bots")
        .header("x-csrf-token", &s.csrf)
        .json(&add)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    app.stop().await;
}
