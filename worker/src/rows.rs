//! Batches the `updates` inserts of concurrent jobs into one statement.
//!
//! Each job hands its row to the writer and waits for the commit; the writer inserts whatever
//! rows are waiting together (see `sluice_shared::coalesce`), so under load one round trip and
//! one commit serve many jobs.

use std::{sync::Arc, time::Duration};

use sluice_shared::{coalesce, envelope::UpdateEnvelope, metrics as m};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::store::{self, Row};

type Reply = oneshot::Sender<Result<(), Arc<sqlx::Error>>>;

struct Pending {
    env: Arc<UpdateEnvelope>,
    job_id: Arc<str>,
    reply: Reply,
}

#[derive(Clone)]
pub struct RowWriter {
    tx: mpsc::Sender<Pending>,
}

impl RowWriter {
    /// Starts the writer: up to `max_batch` rows per statement, `parallel` statements at once.
    pub fn spawn(db: PgPool, max_batch: usize, parallel: usize) -> RowWriter {
        let tx = coalesce::spawn(max_batch, parallel, move |batch| insert(db.clone(), batch));
        RowWriter { tx }
    }

    /// Writes the update's row and returns once it is committed (or the insert failed).
    pub async fn write(
        &self,
        env: Arc<UpdateEnvelope>,
        job_id: Arc<str>,
    ) -> Result<(), Arc<sqlx::Error>> {
        let (reply, rx) = oneshot::channel();
        let closed = || Arc::new(sqlx::Error::PoolClosed);
        self.tx
            .send(Pending { env, job_id, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.unwrap_or_else(|_| Err(closed()))
    }
}

async fn insert(db: PgPool, batch: Vec<Pending>) {
    let mut rows: Vec<Row<'_>> = batch
        .iter()
        .map(|p| Row {
            env: &p.env,
            job_id: &p.job_id,
        })
        .collect();
    metrics::histogram!(m::DB_BATCH_ROWS).record(rows.len() as f64);
    let result = store::insert_updates(&db, &mut rows)
        .await
        .map(|_| ())
        .map_err(Arc::new);
    drop(rows);
    for p in batch {
        let _ = p.reply.send(result.clone());
    }
}

/// How long a job keeps retrying a failing database before it counts as a failed attempt.
pub const RIDE_OUT: Duration = Duration::from_secs(30);
