//! Readiness that matches what each binary needs, with the real binaries and a Postgres cluster of
//! the test's own (so it can be stopped): the api takes webhooks with Redis and its cached
//! registries, so a Postgres outage leaves it ready and acknowledging; the worker is not ready
//! without Postgres, and drains what was queued once Postgres is back.

use std::{process::Stdio, time::Duration};

use sluice_testkit::{TestDb, api_binary, prefix, redis_url, servers::PgCluster, wait_until};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::process::Command;

use crate::{
    api::{ApiProc, add_bot, spawn_api},
    common::{row_stats, spawn_worker, unfinished},
};

const SECRET: &str = "readiness-secret";

#[tokio::test]
async fn a_postgres_outage_leaves_the_api_ready_and_the_worker_not() {
    let mut pg = PgCluster::start(50).await.unwrap();
    let db = TestDb::fresh_on(&pg.admin_url()).await.unwrap();
    add_bot(&db.url, "steady_bot", SECRET).await;
    let (redis, prefix) = (redis_url(), prefix());
    // Refreshed every 200 ms: the outage below spans many failed refreshes.
    let env = [("SLUICE_REGISTRY_REFRESH", "200ms")];
    let api = spawn_api(&db.url, &redis, &prefix, &env).await;
    let worker = spawn_worker(&db.url, &redis, &prefix, &[]);
    let worker_admin = format!("http://127.0.0.1:{}", worker.admin_port);
    let both_ready = wait_until(Duration::from_secs(30), || async {
        ready(&api.admin).await.0 == 200 && ready(&worker_admin).await.0 == 200
    })
    .await;
    assert!(both_ready, "api {:?}", ready(&api.admin).await);
    assert_eq!(post(&api, 1).await, 200);
    assert!(
        wait_until(Duration::from_secs(20), || async {
            db.update_rows().await == 1
        })
        .await
    );

    pg.stop().await.unwrap();
    let (status, body) = wait_for_status(&worker_admin, 503).await;
    assert_eq!(
        status, 503,
        "the worker stays ready without Postgres: {body}"
    );
    assert!(body.contains("postgres: unavailable"), "{body}");
    for id in 2..=21 {
        assert_eq!(post(&api, id).await, 200, "update {id} during the outage");
        let (status, body) = ready(&api.admin).await;
        assert_eq!(
            status, 200,
            "the api left readiness during the outage: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, body) = ready(&api.admin).await;
    assert!(
        body.contains("bot registry: loaded") && !body.contains("postgres"),
        "{body}"
    );
    assert!(
        refresh_failures(&api.metrics().await) > 0.0,
        "no failed refresh counted"
    );
    // Acknowledged means queued: all 20 wait in Redis (pending, or released by the worker).
    let queued = wait_until(Duration::from_secs(10), || async {
        unfinished(&redis, &prefix).await == 20
    })
    .await;
    assert!(
        queued,
        "{} jobs in Redis",
        unfinished(&redis, &prefix).await
    );
    // The container health checks say the same as the probes.
    assert_eq!(healthcheck(api_binary(), &api.admin, true).await, Some(0));
    let worker_bin = std::path::Path::new(env!("CARGO_BIN_EXE_sluice-worker"));
    assert_eq!(healthcheck(worker_bin, &worker_admin, true).await, Some(1));
    assert_eq!(healthcheck(worker_bin, &worker_admin, false).await, Some(0));

    pg.resume().await.unwrap();
    let (status, body) = wait_for_status(&worker_admin, 200).await;
    assert_eq!(
        status, 200,
        "the worker is not ready after Postgres came back: {body}"
    );
    let arrived = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await == 21
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(arrived, "{rows} of 21 rows after Postgres came back");
    assert_eq!(distinct, 21);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}

/// Postgres down when the api starts: it runs, is not ready and answers 503 until Postgres
/// answers; then it applies the migrations it could not (the database is empty here), loads its
/// registries and becomes ready.
#[tokio::test]
async fn an_api_started_without_postgres_is_ready_once_its_registries_load() {
    let mut pg = PgCluster::start(50).await.unwrap();
    let mut admin = PgConnection::connect(&pg.admin_url()).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe("CREATE DATABASE late"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let url = sluice_testkit::replace_db(&pg.admin_url(), "late");
    pg.stop().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let env = [
        ("SLUICE_AUTO_MIGRATE", "true"),
        ("SLUICE_REGISTRY_REFRESH", "200ms"),
    ];
    let api = spawn_api(&url, &redis, &prefix, &env).await;
    let (status, body) = ready(&api.admin).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("bot registry: not loaded"), "{body}");
    assert_eq!(post(&api, 1).await, 503, "no registry loaded: retry later");
    assert_eq!(healthcheck(api_binary(), &api.admin, true).await, Some(1));

    pg.resume().await.unwrap();
    let (status, body) = wait_for_status(&api.admin, 200).await;
    assert_eq!(status, 200, "{body}");
    add_bot(&url, "steady_bot", SECRET).await;
    let known = wait_until(Duration::from_secs(10), || async {
        post(&api, 2).await == 200
    })
    .await;
    assert!(known, "the bot added after the start is served");
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}

/// `/readyz` of an admin base URL: status and body (0 when it does not answer).
async fn ready(admin: &str) -> (u16, String) {
    match reqwest::get(format!("{admin}/readyz")).await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

async fn wait_for_status(admin: &str, want: u16) -> (u16, String) {
    wait_until(Duration::from_secs(30), || async {
        ready(admin).await.0 == want
    })
    .await;
    ready(admin).await
}

/// Posts update `id` of `steady_bot` (a chat each, clear of the per-chat limit); the status.
async fn post(api: &ApiProc, id: i64) -> u16 {
    let body = serde_json::json!({
        "update_id": id,
        "message": {"message_id": 1, "date": 1764000000, "text": "hi",
                    "chat": {"id": 1000 + id, "type": "private"}}
    });
    reqwest::Client::new()
        .post(format!("{}/webhook/telegram/steady_bot", api.base))
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .body(body.to_string())
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// `sluice_registry_refresh_failures_total` of the bots registry in a /metrics text.
fn refresh_failures(metrics: &str) -> f64 {
    let name = sluice_shared::metrics::REGISTRY_REFRESH_FAILURES_TOTAL;
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(r#"registry="bots""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `<bin> healthcheck [--ready]` against the admin listener at `admin`; its exit code.
async fn healthcheck(bin: &std::path::Path, admin: &str, ready: bool) -> Option<i32> {
    let addr = admin.trim_start_matches("http://");
    let mut cmd = Command::new(bin);
    cmd.arg("healthcheck")
        .env("SLUICE_ADMIN_ADDR", addr)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if ready {
        cmd.arg("--ready");
    }
    cmd.status().await.unwrap().code()
}
