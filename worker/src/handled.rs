//! Records that a handler finished with an update, so that no later job for it runs the handler
//! again: a body replayed after the Redis dedup window, a redelivery that landed in another lane,
//! a job recovered after a crash, a dead letter replayed after all.
//!
//! The key is the row's own (bot, update_id) or (source, idempotency key): one namespace per bot
//! or source across all lanes. Order within a job: the row, the handler, `handled_at`, then the
//! acknowledgement. A crash after the handler and before `handled_at` runs the handler again on
//! the retry (at least once, as the handler docs promise); once `handled_at` is set, the insert
//! of any later job reports [`Seen::Handled`](crate::store::Seen) and the handler is skipped.
//! A job that holds its ordering key does not wait for its mark: the key moves on at once and the
//! mark commits behind it (a finished job of a key is stale and never runs again; see
//! `job::execute`), so a busy chat's jobs are not a commit apart.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sluice_shared::{
    coalesce::{self, When},
    job::{Job, Origin},
};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::store::{self, StoreError};

struct Pending {
    bot: String,
    update_id: i64,
    received_at: DateTime<Utc>,
    at: DateTime<Utc>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// How long a mark that runs behind its ordered job waits for others to share its statement. A
/// hot chat behind a forward handler finishes a job every few milliseconds, and one commit per
/// job competed with the Redis round trip that hands its key on (measured: that round trip took
/// 242 µs with the marks and 162 µs without). Nobody waits for these marks, and `handled_at`
/// keeps the handler's own time.
const BEHIND_LINGER: Duration = Duration::from_millis(10);

/// Sets `handled_at`; Telegram updates of concurrent jobs share one statement, like the inserts.
#[derive(Clone)]
pub struct HandledMarks {
    db: PgPool,
    tx: mpsc::Sender<Pending>,
    /// Marks nobody waits for (`behind` in [`HandledMarks::mark`]).
    behind: mpsc::Sender<Pending>,
}

impl HandledMarks {
    pub fn spawn(db: PgPool, max_batch: usize, parallel: usize) -> HandledMarks {
        let pool = db.clone();
        let tx = coalesce::spawn(max_batch, parallel, move |batch| mark(pool.clone(), batch));
        let pool = db.clone();
        let behind = coalesce::spawn_when(
            max_batch,
            parallel,
            When::Lingered(BEHIND_LINGER),
            move |batch| mark(pool.clone(), batch),
        );
        HandledMarks { db, tx, behind }
    }

    /// Returns once `handled_at` is committed for the job's row. `behind`: the mark runs behind
    /// its job (`job::execute`) and nobody waits for it, so it may wait up to [`BEHIND_LINGER`]
    /// for others to share its statement.
    pub async fn mark(&self, job: &Job, at: DateTime<Utc>, behind: bool) -> Result<(), StoreError> {
        let tx = if behind { &self.behind } else { &self.tx };
        let closed = || StoreError::Unavailable(Arc::new(sqlx::Error::PoolClosed));
        match &job.origin {
            Origin::Telegram { bot, update_id, .. } => {
                let (reply, rx) = oneshot::channel();
                let pending = Pending {
                    bot: bot.clone(),
                    update_id: *update_id,
                    received_at: store::time_of(job.received_at_ms),
                    at,
                    reply,
                };
                tx.send(pending).await.map_err(|_| closed())?;
                rx.await.unwrap_or_else(|_| Err(closed()))
            }
            Origin::Signed { source, key, .. } => {
                // Boxed: see `job::store_row`.
                Box::pin(store::mark_event_handled(&self.db, source, key, at))
                    .await
                    .map_err(StoreError::from)
            }
        }
    }
}

async fn mark(db: PgPool, batch: Vec<Pending>) {
    let mut keys: Vec<_> = batch
        .iter()
        .map(|p| (p.bot.as_str(), p.update_id, p.received_at, p.at))
        .collect();
    let result = store::mark_updates_handled(&db, &mut keys)
        .await
        .map_err(StoreError::from);
    drop(keys);
    for p in batch {
        let _ = p.reply.send(result.clone());
    }
}
