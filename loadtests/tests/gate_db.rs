//! db-snapshot, the lock-wait sampler and delivery verification against a real Postgres (a
//! fresh, migrated database per test).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sluice_loadtests::dbsnap::{self, DbSnapshot, DbSnapshotArgs, WaitTally};
use sluice_loadtests::delivery::{self, DeliveryReport};
use sluice_loadtests::gate::{self, GateArgs, Status, Verdict};
use sluice_loadtests::summary::{LedgerEntry, Summary, write_ledger};
use sluice_testkit::{TestDb, wait_until};
use sqlx::{Connection, PgConnection, PgPool};

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-gate-{}", ulid::Ulid::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn code(c: u8) -> String {
    format!("{:?}", ExitCode::from(c))
}

async fn insert_rows(pool: &PgPool, bot: &str, ids: &[i64]) {
    sqlx::query(
        "INSERT INTO updates (bot, update_id, kind, lane, payload, received_at)
         SELECT $1, u, 'message', 'normal', '{}'::jsonb, now() FROM UNNEST($2::int8[]) AS u",
    )
    .persistent(false)
    .bind(bot)
    .bind(ids)
    .execute(pool)
    .await
    .unwrap();
}

fn entry(bot: &str, update_id: i64, status: u16, resend: bool) -> LedgerEntry {
    LedgerEntry {
        bot: bot.into(),
        update_id,
        status,
        resend,
        sent_us: None,
        answered_us: None,
    }
}

#[tokio::test]
async fn delivery_counts_every_class() {
    let db = TestDb::fresh().await.unwrap();
    let (a, b) = ("load-t-0", "load-t-1");
    // The check must not rely on the constraint it checks: drop it to make a duplicate row.
    sqlx::query("ALTER TABLE updates DROP CONSTRAINT updates_bot_update_id_key")
        .execute(&db.pool)
        .await
        .unwrap();
    let mut ledger: Vec<LedgerEntry> = (1..=100).map(|u| entry(a, u, 200, false)).collect();
    insert_rows(&db.pool, a, &(1..=100).collect::<Vec<_>>()).await;
    ledger.extend([
        entry(a, 101, 200, false), // acknowledged, never stored: lost
        entry(a, 102, 200, false), // re-sent and acknowledged twice, one row: fine
        entry(a, 102, 200, true),
        entry(a, 103, 429, false), // refused, absent: fine
        entry(a, 104, 429, false), // refused, yet stored
        entry(b, 105, 503, false), // 503 and stored: maybe queued
        entry(b, 106, 0, false),   // transport error, absent
        entry(b, 107, 429, false), // refused, re-sent and accepted
        entry(b, 107, 200, true),
    ]);
    insert_rows(&db.pool, a, &[1, 102, 104]).await; // 1 twice: a duplicate row
    insert_rows(&db.pool, b, &[105, 107, 999]).await; // 999: not in the ledger
    insert_rows(&db.pool, "another-run", &[101]).await; // another bot's row is not ours

    let r = delivery::verify(&db.pool, &ledger, &[], Duration::from_millis(600))
        .await
        .unwrap();
    assert_eq!(
        r,
        DeliveryReport {
            ledger_lines: 109,
            keys: 107,
            acked: 103,
            present: 102,
            lost: 1,
            duplicate_rows: 1,
            refused: 2,
            refused_present: 1,
            uncertain: 2,
            maybe_queued: 1,
            unexpected: 1,
            waited_s: r.waited_s,
        }
    );
    assert!(
        r.waited_s >= 0.5,
        "waited {} s for the lost update",
        r.waited_s
    );
    db.drop_db().await;
}

#[tokio::test]
async fn delivery_waits_for_the_queue_to_drain() {
    let db = TestDb::fresh().await.unwrap();
    let ledger: Vec<LedgerEntry> = (1..=20).map(|u| entry("load-d-0", u, 200, false)).collect();
    insert_rows(&db.pool, "load-d-0", &(1..=10).collect::<Vec<_>>()).await;
    let pool = db.pool.clone();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        insert_rows(&pool, "load-d-0", &(11..=20).collect::<Vec<_>>()).await;
    });
    let r = delivery::verify(&db.pool, &ledger, &[], Duration::from_secs(30))
        .await
        .unwrap();
    late.await.unwrap();
    assert_eq!((r.acked, r.present, r.lost), (20, 20, 0));
    assert!(r.waited_s >= 1.0 && r.waited_s < 10.0, "{}", r.waited_s);
    db.drop_db().await;
}

#[tokio::test]
async fn delivery_handles_a_large_ledger() {
    let db = TestDb::fresh().await.unwrap();
    let bots: Vec<String> = (0..50).map(|i| format!("load-big-{i}")).collect();
    let mut ledger = Vec::new();
    for (i, bot) in bots.iter().enumerate() {
        let ids: Vec<i64> = (0..2_400).map(|u| (i as i64) << 32 | u).collect();
        insert_rows(&db.pool, bot, &ids).await;
        ledger.extend(ids.iter().map(|&u| entry(bot, u, 200, false)));
    }
    ledger.push(entry(&bots[7], 1 << 40, 200, false));
    let started = Instant::now();
    let r = delivery::verify(&db.pool, &ledger, &bots, Duration::from_millis(200))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        (r.acked, r.present, r.lost, r.unexpected),
        (120_001, 120_000, 1, 0)
    );
    assert!(took < Duration::from_secs(30), "{took:?} for 120k keys");
    eprintln!("120k-key ledger verified in {took:?}");
    db.drop_db().await;
}

/// A summary of ours in `dir`, with a ledger beside it.
fn our_run(dir: &Path, bots: &[&str], ledger: &[LedgerEntry]) -> PathBuf {
    let mut s = Summary::read(&manifest("tests/fixtures/ours-steady-pass.json")).unwrap();
    s.ledger = Some("ledger.csv".into());
    s.bots = bots.iter().map(|b| b.to_string()).collect();
    let path = dir.join("summary.json");
    s.write(&path).unwrap();
    write_ledger(&dir.join("ledger.csv"), ledger).unwrap();
    path
}

#[tokio::test]
async fn gate_verifies_delivery() {
    let db = TestDb::fresh().await.unwrap();
    let bot = "load-g-0";
    let mut ledger: Vec<LedgerEntry> = (1..=50).map(|u| entry(bot, u, 200, false)).collect();
    ledger.push(entry(bot, 51, 429, false));
    ledger.push(entry(bot, 52, 503, false));
    insert_rows(&db.pool, bot, &(1..=50).chain([52]).collect::<Vec<_>>()).await;
    let dir = temp_dir();
    let summary = our_run(&dir, &[bot, "load-g-1"], &ledger);
    let args = GateArgs {
        slo: manifest("slo.toml"),
        database_url: Some(db.url.clone()),
        drain_timeout: Duration::from_millis(300),
        ..GateArgs::new("steady", &summary)
    };

    let r = gate::evaluate(&args).await.unwrap();
    let d = r.delivery.clone().unwrap();
    assert_eq!(
        (d.acked, d.present, d.refused, d.maybe_queued),
        (50, 50, 1, 1)
    );
    let delivery: Vec<(&str, Status)> = r
        .checks
        .iter()
        .filter(|c| c.metric == "delivery")
        .map(|c| (c.threshold.as_str(), c.status))
        .collect();
    assert_eq!(
        delivery,
        [
            ("lost==0", Status::Pass),
            ("duplicate_rows==0", Status::Pass),
            ("refused_present==0", Status::Pass),
            ("unexpected==0", Status::Pass),
        ]
    );
    let text = gate::verdict::render(&Ok(r.clone()));
    assert!(text.contains("PASS delivery lost==0 (got 0)\n"), "{text}");
    assert!(text.contains("1 unanswered/5xx: 1 maybe queued"), "{text}");
    assert_eq!(format!("{:?}", gate::gate(args.clone()).await), code(0));

    // A row nobody was told about, for one of the run's bots that sent nothing.
    insert_rows(&db.pool, "load-g-1", &[7]).await;
    let r = gate::evaluate(&args).await.unwrap();
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(format!("{:?}", gate::gate(args.clone()).await), code(1));

    // --no-verify skips it; no database URL without --no-verify is unusable.
    let skip = GateArgs {
        no_verify: true,
        ..args.clone()
    };
    let r = gate::evaluate(&skip).await.unwrap();
    assert_eq!(r.verdict, Verdict::Pass);
    assert!(r.delivery.is_none());
    let no_url = GateArgs {
        database_url: None,
        ..args.clone()
    };
    assert_eq!(format!("{:?}", gate::gate(no_url).await), code(2));
    db.drop_db().await;
}

/// Two transactions take row locks in opposite order: Postgres kills one (a deadlock), and the
/// waiting session shows up in the sampler and the snapshot while it waits.
#[tokio::test]
async fn snapshots_count_a_deadlock_and_lock_waits() {
    let db = TestDb::fresh().await.unwrap();
    let dir = temp_dir();
    let before_path = dir.join("before.json");
    let exit = dbsnap::db_snapshot(DbSnapshotArgs {
        database_url: db.url.clone(),
        out: before_path.clone(),
    })
    .await;
    assert_eq!(format!("{exit:?}"), code(0));
    let before = DbSnapshot::read(&before_path).unwrap();
    assert_eq!(before.database, db.name);
    assert_eq!(before.lock_waits, 0);

    sqlx::raw_sql(
        "CREATE TABLE pair (id int PRIMARY KEY, n int); INSERT INTO pair VALUES (1, 0), (2, 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let mut a = PgConnection::connect(&db.url).await.unwrap();
    let mut b = PgConnection::connect(&db.url).await.unwrap();
    for (conn, id) in [(&mut a, 1), (&mut b, 2)] {
        sqlx::raw_sql("BEGIN").execute(&mut *conn).await.unwrap();
        sqlx::query("UPDATE pair SET n = n + 1 WHERE id = $1")
            .persistent(false)
            .bind(id)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let a_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .persistent(false)
        .fetch_one(&mut a)
        .await
        .unwrap();
    // a waits for b's row...
    let a_task = tokio::spawn(async move {
        let r = sqlx::query("UPDATE pair SET n = n + 1 WHERE id = 2")
            .persistent(false)
            .execute(&mut a)
            .await;
        (r.map(|_| ()), a)
    });
    let mut tally = WaitTally::default();
    let pool = db.pool.clone();
    let seen = wait_until(Duration::from_secs(10), || {
        let pool = pool.clone();
        async move { !dbsnap::lock_waiters(&pool).await.unwrap().is_empty() }
    })
    .await;
    assert!(seen, "the blocked update never showed as a lock wait");
    let waiters = dbsnap::lock_waiters(&db.pool).await.unwrap();
    assert_eq!(waiters.iter().map(|w| w.pid).collect::<Vec<_>>(), [a_pid]);
    assert!(waiters[0].since.is_some());
    tally.observe(&waiters);
    tally.observe(&dbsnap::lock_waiters(&db.pool).await.unwrap());
    assert_eq!(
        (tally.count(), tally.max()),
        (1, 1),
        "one wait sampled twice"
    );
    let during = dbsnap::take(&db.pool).await.unwrap();
    assert_eq!(during.lock_waits, 1);

    // ...and b now waits for a's: a deadlock, one of them is cancelled.
    let b_result = sqlx::query("UPDATE pair SET n = n + 1 WHERE id = 1")
        .persistent(false)
        .execute(&mut b)
        .await
        .map(|_| ());
    let (a_result, a) = a_task.await.unwrap();
    let failed: Vec<String> = [a_result, b_result]
        .into_iter()
        .filter_map(|r| r.err())
        .map(|e| {
            e.as_database_error()
                .and_then(|d| d.code())
                .unwrap_or_default()
                .into_owned()
        })
        .collect();
    assert_eq!(failed, ["40P01"], "exactly one deadlock victim");
    // Closing the sessions flushes their statistics at once.
    a.close().await.unwrap();
    b.close().await.unwrap();

    let after_path = dir.join("after.json");
    let counted = wait_until(Duration::from_secs(15), || {
        let (pool, after_path) = (db.pool.clone(), after_path.clone());
        async move {
            let s = dbsnap::take(&pool).await.unwrap();
            s.write(&after_path).unwrap();
            s.deadlocks == before.deadlocks + 1
        }
    })
    .await;
    assert!(counted, "pg_stat_database.deadlocks never rose by one");

    // The gate turns the two snapshots into db_deadlocks.count = 1: a FAIL for steady.
    let summary = dir.join("summary.json");
    std::fs::copy(manifest("tests/fixtures/ours-steady-pass.json"), &summary).unwrap();
    let args = GateArgs {
        slo: manifest("slo.toml"),
        db_before: Some(before_path),
        db_after: Some(after_path),
        ..GateArgs::new("steady", &summary)
    };
    let r = gate::evaluate(&args).await.unwrap();
    let deadlocks = r
        .checks
        .iter()
        .find(|c| c.metric == "db_deadlocks")
        .unwrap();
    assert_eq!((deadlocks.status, deadlocks.got), (Status::Fail, Some(1.0)));
    // The summary's own sampler saw 1 distinct wait; the after snapshot none now.
    let waits = r
        .checks
        .iter()
        .find(|c| c.metric == "db_lock_waits")
        .unwrap();
    assert_eq!((waits.status, waits.got), (Status::Pass, Some(1.0)));
    assert_eq!(format!("{:?}", gate::gate(args).await), code(1));
    db.drop_db().await;
}

#[tokio::test]
async fn db_snapshot_reports_an_unreachable_database() {
    let dir = temp_dir();
    let exit = dbsnap::db_snapshot(DbSnapshotArgs {
        database_url: format!(
            "postgres://postgres@127.0.0.1:{}/x",
            sluice_testkit::free_port()
        ),
        out: dir.join("s.json"),
    })
    .await;
    assert_eq!(format!("{exit:?}"), code(1));
    assert!(!dir.join("s.json").exists());
}
