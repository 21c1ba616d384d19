//! Batches the `updates` inserts of concurrent jobs into one statement.
//!
//! Each job hands its row to the writer and waits for the commit; the writer inserts whatever
//! rows are waiting together (see `sluice_shared::coalesce`), so under load one round trip and
//! one commit serve many jobs. A row Postgres refuses must not hold back the others: the batch
//! is split in halves until the refused row stands alone (see [`insert`]).

use std::{sync::Arc, time::Duration};

use sluice_shared::{
    coalesce::{self, When},
    metrics as m,
};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::store::{self, Seen, StoreError, UpdateRow};

type Reply = oneshot::Sender<Result<Vec<Seen>, StoreError>>;

/// Rows that go into one statement together (one job's, or an ordered run's: `order::local`),
/// and where their answers go, in the same order.
struct Pending {
    rows: Vec<Arc<UpdateRow>>,
    reply: Reply,
}

#[derive(Clone)]
pub struct RowWriter {
    tx: mpsc::Sender<Pending>,
}

impl RowWriter {
    /// Starts the writer: up to `max_batch` rows per statement, `parallel` statements at once,
    /// and a statement beside others in flight only once [`min_fill`] writes wait.
    /// `stores_only`: the handler does nothing beyond the row (see [`store::insert_updates`]).
    pub fn spawn(db: PgPool, max_batch: usize, parallel: usize, stores_only: bool) -> RowWriter {
        let tx = coalesce::spawn_when(
            max_batch,
            parallel,
            When::Filled(min_fill(max_batch)),
            move |batch| insert(db.clone(), batch, stores_only),
        );
        RowWriter { tx }
    }

    /// Writes the update's row and returns once it is committed (or the insert failed), with
    /// whether a handler had already finished with the update.
    pub async fn write(&self, row: Arc<UpdateRow>) -> Result<Seen, StoreError> {
        let seen = self.write_together(vec![row]).await?;
        Ok(seen.first().copied().unwrap_or(Seen::Unhandled))
    }

    /// Writes `rows` in one statement (so in one transaction: committed together, with one
    /// `now()`), answering for each in the same order. A refused row fails them all.
    pub async fn write_together(&self, rows: Vec<Arc<UpdateRow>>) -> Result<Vec<Seen>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let closed = || StoreError::Unavailable(Arc::new(sqlx::Error::PoolClosed));
        self.tx
            .send(Pending { rows, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.unwrap_or_else(|_| Err(closed()))
    }
}

/// Writes (a row, or an ordered run's rows) that a statement waits for before it starts beside
/// another in flight: an eighth of a batch (64 at `SLUICE_INSERT_BATCH=512`).
///
/// A statement costs Postgres and the worker far more than a row does (`BEGIN`, a parse, a plan
/// and a `COMMIT`, each a round trip). Fetched jobs write their rows all at once, but ordered
/// jobs come in a trickle, each after its key's turn or the run before it, and with free slots
/// each went out in a statement of its own: 2 700 statements for 100 000 rows with
/// `SLUICE_ORDERING=chat` against 1 400 without; with this, 880 (docs/performance.md, "Fewer,
/// fuller inserts").
fn min_fill(max_batch: usize) -> usize {
    (max_batch / 8).max(1)
}

/// Inserts the batch; when Postgres refuses the data of some row, halves the part that failed
/// and tries each half, so the good rows are committed at once and only the refused rows' jobs
/// get the refusal. One bad row in n costs about 2·log2(n) statements instead of n.
async fn insert(db: PgPool, batch: Vec<Pending>, stores_only: bool) {
    metrics::histogram!(m::DB_BATCH_ROWS)
        .record(batch.iter().map(|p| p.rows.len()).sum::<usize>() as f64);
    let mut parts = vec![batch];
    while let Some(mut part) = parts.pop() {
        match insert_part(&db, &part, stores_only).await {
            Ok(handled) => {
                for p in part {
                    let seen = p
                        .rows
                        .iter()
                        .map(|row| {
                            if handled.contains(&row.job_id) {
                                Seen::Handled
                            } else {
                                Seen::Unhandled
                            }
                        })
                        .collect();
                    let _ = p.reply.send(Ok(seen));
                }
            }
            Err(e) if store::is_data_error(&e) && part.len() > 1 => {
                tracing::debug!(rows = part.len(), error = %e, "postgres refused a row of the batch; inserting it in halves");
                let second = part.split_off(part.len() / 2);
                parts.push(second);
                parts.push(part);
            }
            Err(e) => {
                let e = StoreError::from(e);
                for p in part {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

async fn insert_part(
    db: &PgPool,
    part: &[Pending],
    stores_only: bool,
) -> Result<Vec<String>, sqlx::Error> {
    let mut rows: Vec<&UpdateRow> = part
        .iter()
        .flat_map(|p| p.rows.iter().map(|r| &**r))
        .collect();
    store::insert_updates(db, &mut rows, stores_only).await
}

/// How long a job keeps retrying a failing database before it counts as a failed attempt.
pub const RIDE_OUT: Duration = Duration::from_secs(30);
