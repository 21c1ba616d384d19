//! Ordering with the handler that only stores: the row is the whole handling, so a chat's order
//! is the order its rows commit in (`handled_at`, the inserting transaction's time). A worker
//! writes the updates of a chat that wait in it in successive runs under one hold and finishes
//! them with one `finish.lua` (`job::write_more_runs`); a crash between such a run's commit and
//! that finish must neither lose nor reorder a row.

use std::time::Duration;

use sluice_testkit::wait_until;

use super::{Stack, message, next_total};
use crate::common::handled_rows;

const CHATS: i64 = 12;
const PER_CHAT: i64 = 80;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stores_only_worker_killed_between_runs_loses_and_reorders_no_row() {
    // Every fetched update of a chat waits in the worker (64 > what one fetch brings of a chat),
    // so the chats are written in runs.
    let mut stack = Stack::start(
        "chat",
        0,
        &[
            ("SLUICE_HANDLER", "store"),
            ("SLUICE_ORDER_LOCAL_WAIT", "64"),
            ("SLUICE_FETCH_BATCH", "40"),
        ],
    )
    .await;
    // Each chat's in order, all chats at once, before any worker runs; ids interleave across
    // chats as Telegram's do.
    let stack_ref = &stack;
    futures::future::join_all((0..CHATS).map(|c| async move {
        for i in 0..PER_CHAT {
            stack_ref.post(&message(i * CHATS + c + 1, 500 + c)).await;
        }
    }))
    .await;
    let db = stack.db.pool.clone();
    let total = CHATS * PER_CHAT;

    let mut victim = stack.spawn_worker();
    let third = wait_until(Duration::from_secs(60), || async {
        handled_rows(&db).await >= total / 3
    })
    .await;
    assert!(third, "a third never ran: {}", handled_rows(&db).await);
    let ran_in_runs = next_total(&victim, "run").await;
    victim.kill9().await;
    eprintln!(
        "killed at {} of {total} rows, {ran_in_runs} written in their chat's run",
        handled_rows(&db).await
    );
    let heir = stack.spawn_worker();
    let all = wait_until(Duration::from_secs(90), || async {
        handled_rows(&db).await == total
    })
    .await;
    assert!(all, "{} of {total} rows", handled_rows(&db).await);
    assert!(
        ran_in_runs + next_total(&heir, "run").await > 0.0,
        "no update was written in its chat's run"
    );
    stack.workers.push(heir);

    // Per chat, by update_id: the rows committed in that order.
    let rows: Vec<(i64, i64, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT chat_id, update_id, handled_at FROM updates ORDER BY chat_id, update_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(rows.len() as i64, total);
    for pair in rows.windows(2) {
        let ((c1, u1, t1), (c2, u2, t2)) = (pair[0], pair[1]);
        assert!(
            c1 != c2 || t1 <= t2,
            "chat {c1}: update {u2} committed at {t2} before update {u1} at {t1}"
        );
    }
}
