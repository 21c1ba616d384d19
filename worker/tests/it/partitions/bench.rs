//! The figures of docs/performance.md, "Retention" and "Migration": slow (minutes), so ignored;
//! run them with
//! `cargo test -p sluice-worker --test it partitions::bench -- --ignored --nocapture --test-threads=1`.

use std::time::Instant;

use chrono::{Duration, Utc};
use sluice_shared::db::MIGRATOR;
use sluice_testkit::TestDb;
use sluice_worker::partitions::{
    Table, ahead,
    expire::{self, Outcome, When},
};

use super::migration::{BEFORE, fill_old_schema};

fn rows(var: &str, default: i64) -> i64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A day of 5 million rows (with their keys) is dropped in under a second.
#[tokio::test]
#[ignore = "fills 5 million rows: minutes"]
async fn bench_drop_a_day_of_5_million_rows() {
    let n = rows("DROP_BENCH_ROWS", 5_000_000);
    let db = TestDb::fresh().await.unwrap();
    let now = Utc::now();
    let day = now - Duration::days(35);
    ahead::ensure(&db.pool, day, 0).await.unwrap();
    let p = Table::Updates.partition(day.date_naive());
    let fill = Instant::now();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id, received_at)
         SELECT 'bench', g, 'message', g % 10000, g % 10000, 'normal',
                jsonb_build_object('update_id', g, 'text', repeat('x', 300)), 'job' || g,
                '{from}'::timestamptz + (g % 86400) * interval '1 second'
           FROM generate_series(1, {n}) g;
         INSERT INTO update_keys (bot, update_id, received_at)
         SELECT bot, update_id, received_at FROM {name};
         ANALYZE {name};",
        from = p.from().to_rfc3339(),
        name = p.name()
    )))
    .execute(&db.pool)
    .await
    .unwrap();
    let filled = fill.elapsed();
    let Outcome::Done {
        dropped,
        drop_time,
        keys_forgotten,
    } = expire::run(&db.pool, now, "30d".parse().unwrap(), When::Now)
        .await
        .unwrap()
    else {
        panic!("the run was not locked");
    };
    let total = fill.elapsed() - filled;
    let updates = dropped
        .iter()
        .find(|e| e.partition == p)
        .expect("the day was dropped");
    println!(
        "drop bench: {n} rows ({} bytes) filled in {:.1}s; DROP of {} partition(s) took {} ms; \
         the whole run (with {keys_forgotten} keys forgotten) {:.1}s",
        updates.bytes,
        filled.as_secs_f64(),
        dropped.len(),
        drop_time.as_millis(),
        total.as_secs_f64()
    );
    assert_eq!(keys_forgotten, n as u64);
    assert!(
        drop_time < std::time::Duration::from_secs(1),
        "{drop_time:?}"
    );
    db.drop_db().await;
}

/// How long the migration takes per million rows of the old `updates` (plus a tenth as many
/// events).
#[tokio::test]
#[ignore = "fills a million rows: minutes"]
async fn bench_migration_per_million_rows() {
    let n = rows("MIGRATION_BENCH_ROWS", 1_000_000);
    let db = TestDb::unmigrated().await.unwrap();
    MIGRATOR.run_to(BEFORE, &db.pool).await.unwrap();
    fill_old_schema(&db.pool, n).await;
    sqlx::query("ANALYZE").execute(&db.pool).await.unwrap();
    let started = Instant::now();
    MIGRATOR.run(&db.pool).await.unwrap();
    let took = started.elapsed().as_secs_f64();
    println!(
        "migration bench: {n} updates + {} events migrated in {took:.1}s: {:.1}s per million updates",
        n / 10,
        took * 1e6 / n as f64
    );
    db.drop_db().await;
}
