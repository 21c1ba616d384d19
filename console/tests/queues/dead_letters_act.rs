//! Acting on dead letters: the dry-run count, then replay (the job is back in its lane's queue
//! and the letter gone) or purge, through the JSON API and the pages' confirm-then-post steps;
//! who may do it (401 without credentials, 403 without the CSRF token).

use reqwest::Method;
use serde_json::json;
use sluice_shared::lanes::Lane;

use crate::support::{FormBody, From, TestConsole, letter, spawn};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn put(c: &TestConsole, id: &str, from: From, lane: Lane, reason: &str, dead_at_ms: i64) {
    let l = letter(id, from, lane, reason, dead_at_ms, r#"{"update_id":1}"#);
    c.dead_letters().put(&l).await.unwrap();
}

async fn exists(c: &TestConsole, id: &str) -> bool {
    let (status, _) = c.get_json(&format!("/api/v1/dead-letters/{id}")).await;
    status == 200
}

/// The value of the hidden field `name` in a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

#[tokio::test]
async fn a_dry_run_counts_then_a_replay_puts_the_job_back_in_its_lane_and_removes_the_letter() {
    let c = spawn().await;
    let t = now_ms() - 60_000;
    put(
        &c,
        "01KAREPLAYA",
        From::Bot("alpha", 1),
        Lane::Normal,
        "boom",
        t,
    )
    .await;
    put(
        &c,
        "01KAREPLAYB",
        From::Bot("alpha", 2),
        Lane::Normal,
        "boom",
        t + 1,
    )
    .await;
    put(
        &c,
        "01KAREPLAYC",
        From::Source("stripe", "e"),
        Lane::Low,
        "bad",
        t + 2,
    )
    .await;

    // The API: count first, then act.
    let body = json!({"ids": ["01KAREPLAYA", "01KANOSUCH"], "dry_run": true});
    let (status, v) = c.post_json("/api/v1/dead-letters/replay", body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"dry_run": true, "matching": 1, "exact": true, "scanned": 2})
    );
    assert!(exists(&c, "01KAREPLAYA").await, "a dry run changes nothing");
    assert_eq!(c.queue_len(Lane::Normal).await, 0);
    let body = json!({"ids": ["01KAREPLAYA", "01KANOSUCH"]});
    let (status, v) = c.post_json("/api/v1/dead-letters/replay", body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!({"dry_run": false, "done": 1, "not_found": 1}));
    assert!(!exists(&c, "01KAREPLAYA").await);
    assert_eq!(
        c.queue_len(Lane::Normal).await,
        1,
        "the job is back in its lane"
    );

    // The pages: the confirmation counts alpha's letters and pins the filter's end to now.
    let s = c.sign_in().await;
    let (status, html) = c
        .page(&s, "/dead-letters/confirm?action=replay&origin=alpha")
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"dry-run-count\">1<"), "{html}");
    let until = hidden(&html, "until").expect("the pinned end");
    assert_eq!(hidden(&html, "origin").as_deref(), Some("alpha"));
    // A letter that dies after the count is not swept up by the confirmed replay.
    put(
        &c,
        "01KAREPLAYLATE",
        From::Bot("alpha", 3),
        Lane::Normal,
        "boom",
        now_ms() + 2_000,
    )
    .await;

    let fields = [("origin", "alpha"), ("until", until.as_str())];
    let forged = c
        .with(&s, Method::POST, "/dead-letters/replay")
        .form_body(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF field");
    assert!(exists(&c, "01KAREPLAYB").await);
    let csrf = ("csrf_token", s.csrf.as_str());
    let done = c
        .with(&s, Method::POST, "/dead-letters/replay")
        .form_body(&[fields[0], fields[1], csrf])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let to = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/dead-letters?done=replay&n=1"), "{to}");
    let (_, list) = c.page(&s, &to).await;
    assert!(list.contains("Replayed 1 dead letter."), "{list}");
    assert!(!exists(&c, "01KAREPLAYB").await);
    assert!(
        exists(&c, "01KAREPLAYLATE").await,
        "it died after the count"
    );
    assert!(
        exists(&c, "01KAREPLAYC").await,
        "another sender's letter stays"
    );
    assert_eq!(c.queue_len(Lane::Normal).await, 2);
    assert_eq!(c.queue_len(Lane::Low).await, 0);
    c.stop().await;
}

#[tokio::test]
async fn a_purge_by_filter_removes_only_what_matches_and_requeues_nothing() {
    let c = spawn().await;
    let t = now_ms() - 60_000;
    put(
        &c,
        "01KAPURGE1",
        From::Bot("alpha", 1),
        Lane::Normal,
        "Timeout after 10s",
        t,
    )
    .await;
    put(
        &c,
        "01KAPURGE2",
        From::Source("stripe", "e"),
        Lane::Low,
        "timeout",
        t + 1,
    )
    .await;
    put(
        &c,
        "01KAPURGE3",
        From::Bot("alpha", 2),
        Lane::Normal,
        "boom",
        t + 2,
    )
    .await;

    // Nothing, both, or a misspelt field is refused, never read as "every letter".
    for body in [
        json!({}),
        json!({"ids": ["01KAPURGE3"], "filter": {"lane": "low"}}),
        json!({"filter": {"lanes": "low"}}),
        json!({"filter": {"reason": "timeout"}, "dryrun": true}),
    ] {
        let (status, v) = c
            .post_json("/api/v1/dead-letters/purge", body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"], "bad_request");
    }
    let (_, all) = c.get_json("/api/v1/dead-letters").await;
    assert_eq!(all["matching"], 3, "nothing was purged");

    let filter = json!({"reason": "TIMEOUT"});
    let dry = json!({"filter": filter, "dry_run": true});
    let (status, v) = c.post_json("/api/v1/dead-letters/purge", dry).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["matching"].as_u64(), v["exact"].as_bool()),
        (Some(2), Some(true))
    );
    let (status, v) = c
        .post_json("/api/v1/dead-letters/purge", json!({"filter": filter}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!({"dry_run": false, "done": 2, "not_found": 0}));
    let (_, left) = c.get_json("/api/v1/dead-letters").await;
    assert_eq!(left["letters"].as_array().unwrap().len(), 1);
    assert_eq!(left["letters"][0]["id"], "01KAPURGE3");
    for lane in Lane::ALL {
        assert_eq!(c.queue_len(lane).await, 0, "a purge requeues nothing");
    }

    // A page's purge of one letter, confirmed.
    let s = c.sign_in().await;
    let (_, html) = c
        .page(&s, "/dead-letters/confirm?action=purge&id=01KAPURGE3")
        .await;
    assert!(html.contains("id=\"dry-run-count\">1<"), "{html}");
    let done = c
        .with(&s, Method::POST, "/dead-letters/purge")
        .form_body(&[("id", "01KAPURGE3"), ("csrf_token", s.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert!(!exists(&c, "01KAPURGE3").await);
    c.stop().await;
}

#[tokio::test]
async fn without_credentials_or_csrf_nothing_is_read_or_changed() {
    let c = spawn().await;
    put(
        &c,
        "01KAGUARD",
        From::Bot("alpha", 1),
        Lane::High,
        "boom",
        now_ms() - 1_000,
    )
    .await;
    for (method, path) in [
        (Method::GET, "/api/v1/dead-letters"),
        (Method::GET, "/api/v1/dead-letters/01KAGUARD"),
        (Method::POST, "/api/v1/dead-letters/replay"),
        (Method::POST, "/api/v1/dead-letters/purge"),
        (Method::GET, "/api/v1/workers"),
    ] {
        let resp = c
            .http
            .request(method.clone(), c.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{method} {path}");
    }
    for (method, path) in [
        (Method::GET, "/dead-letters"),
        (Method::GET, "/dead-letters/01KAGUARD"),
        (
            Method::GET,
            "/dead-letters/confirm?action=purge&id=01KAGUARD",
        ),
        (Method::POST, "/dead-letters/purge"),
        (Method::GET, "/workers"),
    ] {
        let resp = c
            .http
            .request(method.clone(), c.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "{method} {path}");
        assert_eq!(resp.headers()["location"], "/login");
    }
    // The API with the browser's cookie: a change needs the X-CSRF-Token header.
    let s = c.sign_in().await;
    let body = json!({"ids": ["01KAGUARD"]});
    let forged = c
        .with(&s, Method::POST, "/api/v1/dead-letters/purge")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(exists(&c, "01KAGUARD").await);
    let ok = c
        .with(&s, Method::POST, "/api/v1/dead-letters/purge")
        .header("x-csrf-token", &s.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(!exists(&c, "01KAGUARD").await);
    c.stop().await;
}
