//! Every console route refuses a client without credentials (401 for the API, the sign-in page
//! for pages), sessions and their cookie, CSRF, and the limit on failed sign-ins.

use reqwest::Method;
use sluice_console::routes::Access;

use super::{Console, FormBody, TOKEN, spawn_console};

/// Every route of the console's table, unauthenticated, GET and POST alike.
#[tokio::test]
async fn every_route_without_credentials_is_refused() {
    let (app, c) = spawn_console(&[]).await;
    let routes = sluice_console::router::route_table();
    assert!(routes.iter().any(|r| r.access == Access::Page));
    for r in &routes {
        let path = r
            .path
            .replace("{id}", "01JTESTID")
            .replace("{name}", "some-name")
            .replace("{*file}", "x");
        let resp = c
            .http
            .request(r.method.clone(), c.url(&path))
            .send()
            .await
            .unwrap();
        match r.access {
            Access::Public => continue,
            Access::Page => {
                assert_eq!(resp.status(), 303, "{} {path}", r.method);
                assert_eq!(resp.headers()["location"], "/login", "{} {path}", r.method);
            }
            Access::Api => {
                assert_eq!(resp.status(), 401, "{} {path}", r.method);
                assert!(resp.headers().contains_key("www-authenticate"));
                let body: serde_json::Value = resp.json().await.unwrap();
                assert_eq!(body["error"], "unauthorized", "{} {path}", r.method);
            }
        }
    }
    // htmx's polling gets a redirect it follows itself, not the sign-in page swapped in.
    let live = c
        .http
        .get(c.url("/"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 401);
    assert_eq!(live.headers()["hx-redirect"], "/login");
    app.stop().await;
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_expiring_cookie_and_signing_out_ends_it() {
    let (app, c) = spawn_console(&["--console-session-ttl=2h"]).await;
    let bad = c.login("not-the-token").await;
    assert_eq!(bad.status(), 401);
    assert!(bad.headers().get("set-cookie").is_none());
    let page = bad.text().await.unwrap();
    assert!(page.contains("That token was not accepted."), "{page}");
    assert!(
        !page.contains("not-the-token"),
        "the page echoes what was typed"
    );

    let ok = c.login(TOKEN).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/lanes");
    let cookie = ok.headers()["set-cookie"].to_str().unwrap();
    for attr in [
        "; HttpOnly",
        "; SameSite=Strict",
        "; Path=/",
        "; Max-Age=7200",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(
        !cookie.contains("Secure"),
        "turned off for the test: {cookie}"
    );

    let s = c.sign_in().await;
    let root = c.with(&s, Method::GET, "/").send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/lanes");
    assert_eq!(root.headers()["cache-control"], "no-store");
    assert!(
        root.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );

    // Sign-out is a change: without the session's CSRF token it is refused.
    let forged = c.with(&s, Method::POST, "/logout").send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let wrong = c
        .with(&s, Method::POST, "/logout")
        .form_body(&[("csrf_token", &"0".repeat(64))]);
    assert_eq!(wrong.send().await.unwrap().status(), 403);
    let out = c
        .with(&s, Method::POST, "/logout")
        .form_body(&[("csrf_token", &s.csrf)]);
    let out = out.send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "/login");
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie names no session any more: the sign-in page says it ended.
    let after = c.with(&s, Method::GET, "/").send().await.unwrap();
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()["location"], "/login?expired=1");
    let expired = c.http.get(c.url("/login?expired=1")).send().await.unwrap();
    assert!(
        expired
            .text()
            .await
            .unwrap()
            .contains("Your session has ended")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_cookie_is_secure_by_default() {
    let digest = format!(
        "--console-token-sha256={}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(TOKEN))
    );
    let app = crate::common::spawn_app_with(&sluice_testkit::redis_url(), &[&digest]).await;
    let c = Console::new(&app);
    let ok = c.login(TOKEN).await;
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    app.stop().await;
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_client_even_for_the_right_token() {
    let (app, c) = spawn_console(&["--console-login-attempts=3"]).await;
    for _ in 0..3 {
        assert_eq!(c.login("guess").await.status(), 401);
    }
    let limited = c.login(TOKEN).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.text().await.unwrap().contains("Too many attempts"));
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_digest_the_console_does_not_listen_and_the_api_serves() {
    let app = crate::common::spawn_app().await;
    assert!(app.console_addr.is_none());
    let health = app.admin_get("/healthz").await;
    assert_eq!(health.status(), 200);
    app.stop().await;
}
