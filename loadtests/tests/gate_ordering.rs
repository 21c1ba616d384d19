//! The gate's ordering check against a real Postgres (a fresh, migrated database per test):
//! rows handled in and out of order, the mode the run recorded, and the ledger's times.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_loadtests::gate::{self, GateArgs, Status, Verdict};
use sluice_loadtests::ordering::Ordering;
use sluice_loadtests::summary::{LedgerEntry, Summary, read_ledger, write_ledger};
use sluice_testkit::TestDb;
use sqlx::PgPool;

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A row of `bot`'s `update_id` of `kind` in `chat` (from `user`), handled `handled_ms` after a
/// fixed instant.
async fn row(pool: &PgPool, bot: &str, update_id: i64, kind: &str, chat: i64, handled_ms: i64) {
    sqlx::query(
        "INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, received_at,
                              handled_at)
         VALUES ($1, $2, $3, $4, 42, 'normal', '{}'::jsonb, now(),
                 timestamptz '2026-12-01 00:00:00+00' + $5 * interval '1 millisecond')",
    )
    .bind(bot)
    .bind(update_id)
    .bind(kind)
    .bind(chat)
    .bind(handled_ms as f64)
    .execute(pool)
    .await
    .unwrap();
}

/// Acknowledged update `id`, sent at `at_ms` into the run and answered 2 ms later.
fn acked(bot: &str, update_id: i64, at_ms: u64) -> LedgerEntry {
    LedgerEntry {
        bot: bot.into(),
        update_id,
        status: 200,
        resend: false,
        sent_us: Some(at_ms * 1000),
        answered_us: Some(at_ms * 1000 + 2000),
    }
}

/// A summary of ours recording `ordering`, with the ledger beside it.
fn our_run(dir: &Path, bot: &str, ledger: &[LedgerEntry], ordering: &str) -> PathBuf {
    let mut s = Summary::read(&manifest("tests/fixtures/ours-steady-pass.json")).unwrap();
    s.ledger = Some("ledger.csv".into());
    s.bots = vec![bot.to_owned()];
    s.ordering = Some(ordering.to_owned());
    let path = dir.join("summary.json");
    s.write(&path).unwrap();
    write_ledger(&dir.join("ledger.csv"), ledger).unwrap();
    path
}

fn ordering_check(r: &gate::Report) -> (Status, Option<f64>, Option<String>) {
    let c = r
        .checks
        .iter()
        .find(|c| c.metric == "ordering_violations")
        .expect("slo.toml's steady profile has the threshold");
    (c.status, c.got, c.note.clone())
}

#[tokio::test]
async fn the_gate_fails_on_a_chat_handled_out_of_order() {
    let db = TestDb::fresh().await.unwrap();
    let bot = "load-o-0";
    // Chat -1: 1, 2, 3 sent 10 ms apart, 3 handled before 2. Chat -2: in order. A callback query
    // in chat -2 from user 42, handled before the chat's earlier message.
    for (id, chat, handled) in [(1, -1, 100), (2, -1, 300), (3, -1, 200), (4, -2, 400)] {
        row(&db.pool, bot, id, "message", chat, handled).await;
    }
    row(&db.pool, bot, 5, "message", -2, 500).await;
    row(&db.pool, bot, 6, "callback_query", -2, 450).await;
    let ledger: Vec<LedgerEntry> = (1..=6).map(|u| acked(bot, u, u as u64 * 10)).collect();
    let dir = std::env::temp_dir().join(format!("sluice-order-{}", ulid::Ulid::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = |ordering: &str, flag: Option<Ordering>| GateArgs {
        slo: manifest("slo.toml"),
        database_url: Some(db.url.clone()),
        drain_timeout: Duration::from_millis(200),
        ordering: flag,
        ..GateArgs::new("steady", our_run(&dir, bot, &ledger, ordering))
    };

    let r = gate::evaluate(&args("chat", None)).await.unwrap();
    let o = r.ordering.clone().unwrap();
    // Chat -1: 3 ran before 2. Chat -2: the callback (6) ran before message 5.
    assert_eq!((o.keys, o.updates, o.violations), (2, 6, 2), "{o:?}");
    assert_eq!(ordering_check(&r), (Status::Fail, Some(2.0), None));
    assert_eq!(r.verdict, Verdict::Fail);
    let text = gate::verdict::render(&Ok(r));
    assert!(
        text.contains("FAIL ordering_violations count==0 (got 2)\n"),
        "{text}"
    );
    assert!(
        text.contains("load-o-0 chat -1: update 3 ran 100.0 ms before update 2"),
        "{text}"
    );

    // Telegram's keys: the callback is its user's, so it may pass the chat's message.
    let r = gate::evaluate(&args("telegram", None)).await.unwrap();
    assert_eq!(
        (r.ordering.as_ref().unwrap().keys, ordering_check(&r).1),
        (3, Some(1.0))
    );
    // A flag overrides the summary; off checks nothing.
    let r = gate::evaluate(&args("chat", Some(Ordering::Off)))
        .await
        .unwrap();
    assert!(r.ordering.is_none());
    let (status, _, note) = ordering_check(&r);
    assert_eq!(
        (status, note.as_deref()),
        (Status::Skip, Some("not measured: ordering off"))
    );
    assert_eq!(r.verdict, Verdict::Pass);
    let unknown = gate::evaluate(&args("sideways", None)).await;
    assert!(
        unknown.is_err(),
        "an unknown recorded mode cannot be judged"
    );

    // Handled in order: the same run passes.
    sqlx::query("UPDATE updates SET handled_at = received_at + update_id * interval '1 second'")
        .execute(&db.pool)
        .await
        .unwrap();
    let r = gate::evaluate(&args("chat", None)).await.unwrap();
    assert_eq!(ordering_check(&r), (Status::Pass, Some(0.0), None));
    assert_eq!(r.ordering.as_ref().unwrap().comparable, 4);
    std::fs::remove_dir_all(&dir).unwrap();
    db.drop_db().await;
}

#[test]
fn ledgers_keep_their_times_and_old_ledgers_still_read() {
    let dir = std::env::temp_dir().join(format!("sluice-ledger-{}", ulid::Ulid::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.csv");
    let mut entries = vec![acked("b", 1, 5), acked("b", 2, 7)];
    entries[1].sent_us = None;
    write_ledger(&path, &entries).unwrap();
    assert_eq!(read_ledger(&path).unwrap(), entries);
    std::fs::write(&path, "bot,update_id,status,resend\nb,9,200,1\n").unwrap();
    let old = read_ledger(&path).unwrap();
    assert_eq!(
        (old[0].update_id, old[0].resend, old[0].sent_us),
        (9, true, None)
    );
    std::fs::write(
        &path,
        "bot,update_id,status,resend,sent_us,answered_us\nb,9,200\n",
    )
    .unwrap();
    assert!(read_ledger(&path).is_err(), "a short line is refused");
    std::fs::remove_dir_all(&dir).unwrap();
}
