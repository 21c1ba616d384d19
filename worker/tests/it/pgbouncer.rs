//! Behind PgBouncer in transaction mode (server connections change between transactions, so no
//! named prepared statement may outlive one): the api and the worker work unchanged.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, servers::PgBouncer, wait_until};

use crate::common::{bulk_backlog, row_stats, spawn_worker};

#[tokio::test]
async fn api_and_worker_work_through_pgbouncer_in_transaction_mode() {
    const N: i64 = 2000;
    let db = TestDb::fresh().await.unwrap();
    let bouncer = PgBouncer::start(5432, 4).await.unwrap();
    let via = bouncer.url_for(&db.url);

    // The api's registry and the bots commands through the bouncer.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_lazy_with(
            via.parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap()
                .statement_cache_capacity(0),
        );
    for i in 0..20 {
        sluice_api::bots::add(&pool, &format!("bot{i}"), "tok")
            .await
            .unwrap();
    }
    let registry = sluice_api::registry::BotRegistry::default();
    for _ in 0..20 {
        assert_eq!(registry.reload(&pool).await.unwrap(), 20);
    }
    // And the signed-webhook sources.
    for i in 0..5 {
        let src = sluice_api::sources::Source::new(
            &format!("src{i}"),
            sluice_api::signature::Scheme::Plain,
            "k".parse().unwrap(),
        );
        sluice_api::sources::manage::add(&pool, &src).await.unwrap();
    }
    let sources = sluice_api::sources::SourceRegistry::default();
    for _ in 0..20 {
        assert_eq!(sources.reload(&pool).await.unwrap(), 5);
    }
    sluice_api::sources::store::remove(&pool, "src4")
        .await
        .unwrap();

    // Workers (pool 10 each, the bouncer keeps 4 server connections) drain a backlog.
    let (redis, prefix) = (redis_url(), prefix());
    bulk_backlog(&redis, &prefix, "bounced", 0..N, Lane::Normal).await;
    let env = [("DB_POOL_MAX_CONNECTIONS", "10")];
    let _workers: Vec<_> = (0..2)
        .map(|_| spawn_worker(&via, &redis, &prefix, &env))
        .collect();
    let done = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await == N
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of {N} through pgbouncer");
    assert_eq!(distinct, N);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}
