//! `sluice-worker` as a library: a bot's own handler with the same machinery.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};
use sluice_worker::{
    handler::{HandlerContext, HandlerError, Origin, Update, UpdateHandler},
    startup::Worker,
};

use crate::common::{enqueuer, envelope, worker_config};

/// Records each update it sees with the attempt number; fails update 13 once.
struct Recorder;

impl UpdateHandler for Recorder {
    async fn handle(&self, ctx: &HandlerContext, u: &Update) -> Result<(), HandlerError> {
        let Origin::Telegram { update_id, .. } = u.origin else {
            return Err(HandlerError::permanent(
                "only Telegram updates are queued here",
            ));
        };
        sqlx::query("INSERT INTO seen (update_id, attempt, raw) VALUES ($1, $2, $3)")
            .bind(update_id)
            .bind(u.attempt as i32)
            .bind(u.raw.get())
            .execute(&ctx.db)
            .await?;
        if update_id == 13 && u.attempt == 0 {
            return Err(HandlerError::transient("unlucky"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_custom_handler_runs_with_retries_and_one_row_per_update() {
    let db = TestDb::fresh().await.unwrap();
    sqlx::query("CREATE TABLE seen (update_id bigint, attempt int, raw text)")
        .execute(&db.pool)
        .await
        .unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let cfg = worker_config(&db.url, &redis, &prefix, &["--retry-base=100ms"]);
    let worker = Worker::build(cfg, Recorder).await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(admin, async {
        let _ = stopped.await;
    }));
    let enq = enqueuer(&redis, &prefix);
    for id in 10..15 {
        enq.enqueue(&envelope("lib", id, Lane::Normal))
            .await
            .unwrap();
    }
    let seen = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let done = wait_until(Duration::from_secs(30), || async {
        seen("SELECT count(*) FROM seen").await == 6
    })
    .await;
    assert!(done, "5 updates, one of them twice");
    assert_eq!(
        seen("SELECT count(*) FROM seen WHERE update_id = 13 AND attempt = 1").await,
        1
    );
    assert_eq!(
        seen("SELECT count(*) FROM seen WHERE raw LIKE '{\"update_id\":%'").await,
        6,
        "raw bytes reach the handler"
    );
    assert_eq!(
        db.update_rows().await,
        5,
        "one updates row per update, whatever the handler did"
    );
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
