//! The migration from the unpartitioned tables: the old schema is created from the old
//! migrations in a fresh database, filled, migrated, and every row is found again, in the
//! partition of its day, with its dedup key.

use sluice_shared::db::MIGRATOR;
use sluice_testkit::TestDb;
use sluice_worker::partitions::{Table, list};
use sqlx::PgPool;

use super::insert_update;

/// The last migration before the partitioned tables.
pub const BEFORE: i64 = 20261202000001;

/// Fills the old `updates` with `n` rows over the last 45 days (a third handled), the old
/// `events` with `n / 10`, and three rows of each whose time no daily partition covers.
pub async fn fill_old_schema(db: &PgPool, n: i64) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id,
                              received_at, processed_at, handled_at)
         SELECT 'bot' || (g % 3), g, 'message', g % 100, g, 'normal',
                jsonb_build_object('update_id', g, 'text', repeat('x', 200)), 'job' || g,
                now() - (g % 45) * interval '1 day' - (g % 997) * interval '1 second',
                now(), CASE WHEN g % 3 = 0 THEN now() END
           FROM generate_series(1, {n}) g;
         INSERT INTO updates (bot, update_id, kind, lane, payload, received_at)
         VALUES ('odd', 1, 'message', 'low', '{{}}', 'epoch'),
                ('odd', 2, 'message', 'low', '{{}}', now() - interval '500 days'),
                ('odd', 3, 'message', 'low', '{{}}', now() + interval '30 days');
         INSERT INTO events (source, idempotency_key, kind, rate_key, lane, payload, job_id,
                             received_at, handled_at)
         SELECT 'src' || (g % 2), 'evt_' || g, 'invoice.paid', NULL, 'high',
                jsonb_build_object('id', g), 'job' || g, now() - (g % 45) * interval '1 day',
                CASE WHEN g % 2 = 0 THEN now() END
           FROM generate_series(1, {m}) g;
         INSERT INTO events (source, idempotency_key, kind, lane, payload, received_at)
         VALUES ('odd', 'a', 'e', 'low', '{{}}', 'epoch');",
        m = n / 10
    )))
    .execute(db)
    .await
    .unwrap();
}

/// Count and checksum of every row, every column, in key order: equal before and after iff
/// no row was lost, added or changed.
async fn fingerprint(db: &PgPool) -> (i64, String, i64, String) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM updates),
                (SELECT md5(string_agg(concat_ws('|', id, bot, update_id, kind, chat_id, user_id,
                        lane, payload, job_id, received_at, processed_at, handled_at), ','
                        ORDER BY bot, update_id)) FROM updates),
                (SELECT count(*) FROM events),
                (SELECT md5(string_agg(concat_ws('|', id, source, idempotency_key, kind,
                        rate_key, lane, payload, job_id, received_at, processed_at, handled_at),
                        ',' ORDER BY source, idempotency_key)) FROM events)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_migration_keeps_every_row_of_the_old_tables() {
    let db = TestDb::unmigrated().await.unwrap();
    MIGRATOR.run_to(BEFORE, &db.pool).await.unwrap();
    fill_old_schema(&db.pool, 5_000).await;
    let before = fingerprint(&db.pool).await;
    assert_eq!((before.0, before.2), (5_003, 501));

    MIGRATOR.run(&db.pool).await.unwrap();

    assert_eq!(fingerprint(&db.pool).await, before, "every row, unchanged");
    let keys: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM update_keys), (SELECT count(*) FROM event_keys)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(keys, (5_003, 501), "a key for every row");
    // A partition for each of the 45 days with rows, and for the next 7 days.
    for table in Table::ALL {
        assert_eq!(
            list(&db.pool, table).await.unwrap().len(),
            45 + 7,
            "{table}"
        );
    }
    let stray: Vec<i64> = sqlx::query_scalar("SELECT update_id FROM updates_default ORDER BY 1")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        stray,
        [1, 2, 3],
        "the odd times are in the default partition"
    );
    let misplaced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM updates
          WHERE tableoid::regclass::text
                <> 'updates_p' || to_char(received_at AT TIME ZONE 'UTC', 'YYYYMMDD')
            AND tableoid::regclass::text <> 'updates_default'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(misplaced, 0, "every row in the partition of its day");

    // The migrated keys still deduplicate: update 10 delivered again today is not a new row.
    insert_update(&db.pool, "bot1", 10, chrono::Utc::now()).await;
    let tens: i64 = sqlx::query_scalar("SELECT count(*) FROM updates WHERE update_id = 10")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(tens, 1);
    let next: i64 = sqlx::query_scalar("SELECT nextval('updates_id_seq')")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(next > 5_003, "ids go on from the old table's: {next}");
    db.drop_db().await;
}
