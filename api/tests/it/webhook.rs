//! The webhook contract: what is answered, and what is (not) queued.

use serde_json::Value;

use crate::common::{BOT, message, spawn_app};

#[tokio::test]
async fn accepted_update_is_queued_with_its_raw_bytes() {
    let app = spawn_app().await;
    // Odd spacing and key order: the queued payload must be these exact bytes.
    let body = r#"{"update_id": 5001, "callback_query": {"id":"4382","from":{"id":7123456789,"is_bot":false,"first_name":"Ada"},"message":{"message_id":9,"date":1764000000,"chat":{"id":-1001234567890,"type":"supergroup","title":"G"}},"chat_instance":"-1","data":"buy"}}"#;
    let resp = app.post_update(BOT, body).await;
    assert_eq!(resp.status(), 200);
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json["ok"], true);
    let id = json["id"].as_str().expect("job id").to_owned();

    // The job sits in the high lane (a callback query) and carries the body verbatim.
    assert_eq!(
        sluice_testkit::queue_len(&app.redis_url, &app.prefix, "high")
            .await
            .unwrap(),
        1
    );
    let client = redis::Client::open(app.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let raw: Vec<u8> = redis::cmd("HGET")
        .arg(format!("{}:high:data", app.prefix))
        .arg(&id)
        .query_async(&mut conn)
        .await
        .unwrap();
    let job: sluice_shared::job::Job = serde_json::from_slice(&raw).unwrap();
    assert_eq!(job.payload.get(), body);
    assert_eq!(job.kind, "callback_query");
    assert_eq!(
        job.origin,
        sluice_shared::job::Origin::Telegram {
            bot: BOT.into(),
            update_id: 5001,
            chat: Some(-1001234567890),
            user: Some(7123456789),
        }
    );
    app.stop().await;
}

#[tokio::test]
async fn the_same_update_five_times_makes_one_job() {
    let app = spawn_app().await;
    let body = message(42, 1001, "hello");
    let mut ids = 0;
    for _ in 0..5 {
        let resp = app.post_update(BOT, body.clone()).await;
        assert_eq!(resp.status(), 200);
        let json: Value = resp.json().await.unwrap();
        if json["id"].is_string() {
            ids += 1;
        } else {
            assert_eq!(json["duplicate"], true, "{json}");
        }
    }
    assert_eq!(ids, 1);
    assert_eq!(app.jobs().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_duplicates_make_one_job() {
    let app = spawn_app().await;
    let body = message(43, 1001, "hello");
    let sends = (0..5).map(|_| app.post_update(BOT, body.clone()));
    let responses = futures::future::join_all(sends).await;
    let mut ids = 0;
    for resp in responses {
        assert_eq!(resp.status(), 200);
        let json: Value = resp.json().await.unwrap();
        ids += usize::from(json["id"].is_string());
    }
    assert_eq!(ids, 1, "exactly one delivery creates the job");
    assert_eq!(app.jobs().await, 1);
    app.stop().await;
}

/// Asserts the status and the stable error code, and that nothing was queued.
async fn refused(resp: reqwest::Response, status: u16, code: &str) {
    assert_eq!(resp.status(), status);
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"], code, "{json}");
    assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn refusals_have_the_right_status_and_queue_nothing() {
    let app = spawn_app().await;
    let ok = message(7, 1, "hi");
    refused(
        app.post_with_secret(BOT, Some("wrong"), ok.clone()).await,
        401,
        "unauthorized",
    )
    .await;
    refused(
        app.post_with_secret(BOT, None, ok.clone()).await,
        401,
        "unauthorized",
    )
    .await;
    refused(
        app.post_update("nobody", ok.clone()).await,
        404,
        "unknown_bot",
    )
    .await;
    refused(
        app.post_update(BOT, "{\"update_id\": 7, ").await,
        400,
        "bad_request",
    )
    .await;
    refused(
        app.post_update(BOT, r#"{"message":{"text":"x"}}"#).await,
        400,
        "bad_request",
    )
    .await;
    refused(
        app.post_update(BOT, r#"{"update_id":"7","message":{}}"#)
            .await,
        400,
        "bad_request",
    )
    .await;
    refused(app.post_update(BOT, "[1,2]").await, 400, "bad_request").await;
    let huge = message(8, 1, &"x".repeat(1024 * 1024));
    refused(app.post_update(BOT, huge.clone()).await, 413, "too_large").await;
    // Without Content-Length (chunked), the limit still holds while reading.
    let stream = futures::stream::iter(
        huge.into_bytes()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    refused(
        app.post_update(BOT, reqwest::Body::wrap_stream(stream))
            .await,
        413,
        "too_large",
    )
    .await;
    assert_eq!(app.jobs().await, 0);
    app.stop().await;
}

/// Paths the routes do not take are refused in our JSON format too: an unknown path (404), and a
/// name whose percent-escape is not UTF-8, which was a plain-text 400 from axum (found by the fuzz
/// test, worker/tests/it/fuzz), on both webhook routes.
#[tokio::test]
async fn unknown_and_malformed_paths_answer_json() {
    let app = spawn_app().await;
    let cases = [
        (reqwest::Method::GET, "/nope", 404, "not_found"),
        (
            reqwest::Method::POST,
            "/webhook/telegram/%aa%ff",
            400,
            "bad_request",
        ),
        (
            reqwest::Method::POST,
            "/webhook/hooks/%aa%ff",
            400,
            "bad_request",
        ),
    ];
    for (method, path, status, code) in cases {
        let url = format!("http://{}{path}", app.addr);
        let resp = app
            .client
            .request(method, url)
            .body("{}")
            .send()
            .await
            .unwrap();
        refused(resp, status, code).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_bot_added_while_running_is_seen_within_seconds() {
    let app = spawn_app().await;
    assert_eq!(
        app.post_update("latecomer", message(1, 1, "x"))
            .await
            .status(),
        404
    );
    sluice_api::bots::add(&app.db.pool, "latecomer", crate::common::SECRET)
        .await
        .unwrap();
    let seen = sluice_testkit::wait_until(std::time::Duration::from_secs(5), || async {
        app.post_update("latecomer", message(1, 1, "x"))
            .await
            .status()
            == 200
    })
    .await;
    assert!(seen, "the registry picked up the new bot within 5 s");
    sluice_api::bots::remove(&app.db.pool, "latecomer")
        .await
        .unwrap();
    let gone = sluice_testkit::wait_until(std::time::Duration::from_secs(5), || async {
        app.post_update("latecomer", message(2, 1, "x"))
            .await
            .status()
            == 404
    })
    .await;
    assert!(gone, "a removed bot answers 404 within 5 s");
    app.stop().await;
}

#[tokio::test]
async fn answers_keep_the_documented_field_order() {
    let app = spawn_app().await;
    let text = app
        .post_update(BOT, message(77, 1, "hi"))
        .await
        .text()
        .await
        .unwrap();
    assert!(text.starts_with(r#"{"ok":true,"id":""#), "{text}");
    let text = app
        .post_update(BOT, message(77, 1, "hi"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text, r#"{"ok":true,"duplicate":true}"#);
    let text = app
        .post_update("ghost", message(78, 1, "hi"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.starts_with(r#"{"ok":false,"error":"unknown_bot","detail":"#),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_refuses_new_ones() {
    let mut app = spawn_app().await;
    // A request whose body is still arriving when shutdown starts.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = message(90, 1, "slow");
    let (head, tail) = body.split_at(10);
    let (head, tail) = (head.as_bytes().to_vec(), tail.as_bytes().to_vec());
    let stream = tokio_stream_from(rx);
    let req = app
        .client
        .post(app.webhook_url(BOT))
        .header("X-Telegram-Bot-Api-Secret-Token", crate::common::SECRET)
        .body(reqwest::Body::wrap_stream(stream));
    let in_flight = tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
    tx.send(Ok(head)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.begin_shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tx.send(Ok(tail)).await.unwrap();
    drop(tx);
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        200,
        "the in-flight request completed"
    );
    let refused = app
        .client
        .post(app.webhook_url(BOT))
        .body(message(91, 1, "late"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "new connections are refused after shutdown"
    );
    assert_eq!(app.jobs().await, 1);
    app.stop().await;
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
