//! The bots and sources page and its forms: each change answers with the page and a flash; an
//! add or a rotation shows its secret on that answer only, and the real ingress takes it.

use reqwest::Method;

use super::{Console, FormBody, KEY, Signed, spawn_console};
use crate::common::message;

/// A Bot API token of the real shape (never shown back).
const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-TOPSECRET";

impl Console {
    /// A form of the bots page, posted with the session's CSRF field; (status, HTML).
    async fn post_form(&self, s: &Signed, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut all = vec![("csrf_token", s.csrf.as_str())];
        all.extend_from_slice(fields);
        let resp = self
            .with(s, Method::POST, path)
            .form_body(&all)
            .send()
            .await;
        let resp = resp.unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }

    async fn bots_page(&self, s: &Signed, query: &str) -> String {
        let resp = self
            .with(s, Method::GET, &format!("/bots{query}"))
            .send()
            .await;
        let resp = resp.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }
}

/// The secret in a page's one-time box.
fn one_time_secret(html: &str) -> String {
    let start = html
        .find(r#"id="one-time-secret">"#)
        .expect("a one-time secret")
        + 21;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].to_owned()
}

#[tokio::test]
async fn bots_are_added_limited_rotated_and_removed_with_the_pages_forms() {
    let (app, c) = spawn_console(&[KEY]).await;
    let s = c.sign_in().await;
    let page = c.bots_page(&s, "").await;
    assert!(
        page.contains(r#"id="add-bot""#) && page.contains("testbot"),
        "{page}"
    );

    let add = [("name", "alpha"), ("token", BOT_TOKEN)];
    let (status, html) = c.post_form(&s, "/bots/add", &add).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Added bot alpha."));
    let first = one_time_secret(&html);
    assert!(html.contains(r#"data-bot="alpha""#) && html.contains("on file"));
    assert!(!html.contains("TOPSECRET"), "the token is never shown back");
    // Shown once: the page read again has neither the secret nor the token.
    let page = c.bots_page(&s, "").await;
    assert!(!page.contains(&first) && !page.contains("one-time-secret"));
    assert!(!page.contains("TOPSECRET"));
    let seen = sluice_testkit::wait_until(std::time::Duration::from_secs(5), || async {
        let body = message(2, 1, "hi");
        app.post_with_secret("alpha", Some(&first), body)
            .await
            .status()
            == 200
    });
    assert!(seen.await, "the ingress takes the page's secret");

    let fields = [("name", "alpha"), ("rate_per_sec", "4"), ("burst", "9")];
    let (status, html) = c.post_form(&s, "/bots/limits", &fields).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Bot alpha: 4/s, burst 9."), "{html}");
    assert!(html.contains(r#"name="burst" value="9""#), "{html}");
    let half = [("name", "alpha"), ("rate_per_sec", "4"), ("burst", "")];
    let (status, html) = c.post_form(&s, "/bots/limits", &half).await;
    assert_eq!(status, 400);
    assert!(html.contains("flash error"), "{html}");

    let (status, html) = c.post_form(&s, "/bots/rotate", &[("name", "alpha")]).await;
    assert_eq!(status, 200);
    let second = one_time_secret(&html);
    assert_ne!(first, second);
    assert!(!html.contains(&first));

    let page = c.bots_page(&s, "?remove_bot=alpha").await;
    assert!(page.contains(r#"id="confirm-remove""#), "{page}");
    let (status, html) = c.post_form(&s, "/bots/remove", &[("name", "alpha")]).await;
    assert_eq!(status, 200);
    assert!(html.contains("Removed bot alpha.") && !html.contains(r#"data-bot="alpha""#));
    let (status, html) = c.post_form(&s, "/bots/remove", &[("name", "alpha")]).await;
    assert_eq!(status, 404);
    assert!(html.contains("flash error"), "{html}");
    for secret in [&first, &second] {
        assert!(!c.bots_page(&s, "").await.contains(secret.as_str()));
    }

    // A form without the CSRF field changes nothing.
    let resp = c
        .with(&s, Method::POST, "/bots/add")
        .form_body(&[("name", "beta")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(!c.bots_page(&s, "").await.contains(r#"data-bot="beta""#));
    app.stop().await;
}

#[tokio::test]
async fn sources_are_added_rotated_and_removed_with_the_pages_forms() {
    let (app, c) = spawn_console(&[KEY]).await;
    let s = c.sign_in().await;
    let add = [("name", "stripe1"), ("scheme", "stripe"), ("lane", "high")];
    let (status, html) = c.post_form(&s, "/sources/add", &add).await;
    assert_eq!(status, 200, "{html}");
    let first = one_time_secret(&html);
    assert!(html.contains(r#"data-source="stripe1""#));
    let (status, html) = c.post_form(&s, "/sources/add", &add).await;
    assert_eq!(status, 409);
    assert!(html.contains("flash error") && !html.contains("one-time-secret"));

    let (status, html) = c
        .post_form(&s, "/sources/rotate", &[("name", "stripe1")])
        .await;
    assert_eq!(status, 200);
    let second = one_time_secret(&html);
    assert_ne!(first, second);
    let page = c.bots_page(&s, "?remove_source=stripe1").await;
    assert!(!page.contains(&first) && !page.contains(&second));
    assert!(page.contains(r#"id="confirm-remove""#));

    let (status, html) = c
        .post_form(&s, "/sources/remove", &[("name", "stripe1")])
        .await;
    assert_eq!(status, 200);
    assert!(!html.contains(r#"data-source="stripe1""#));
    app.stop().await;
}
