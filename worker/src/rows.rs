//! Batches the `updates` inserts of concurrent jobs into one statement.
//!
//! Each job hands its row to the writer and waits for the commit. The writer takes whatever rows
//! are waiting (up to a batch) and inserts them together, so under load one round trip and one
//! commit serve many jobs, and with a single job in flight nothing waits for a batch to fill.

use std::{sync::Arc, time::Duration};

use futures::{StreamExt, stream::FuturesUnordered};
use sluice_shared::{envelope::UpdateEnvelope, metrics as m};
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
        let (tx, rx) = mpsc::channel(max_batch * parallel * 2);
        tokio::spawn(run(db, rx, max_batch.max(1), parallel.max(1)));
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

async fn run(db: PgPool, mut rx: mpsc::Receiver<Pending>, max_batch: usize, parallel: usize) {
    let mut inflight = FuturesUnordered::new();
    let mut batch = Vec::with_capacity(max_batch);
    loop {
        tokio::select! {
            // Only take more rows while a statement slot is free: the rest wait in the channel
            // and form the next, larger batch.
            n = rx.recv_many(&mut batch, max_batch), if inflight.len() < parallel => {
                if n == 0 {
                    break;
                }
                inflight.push(insert(db.clone(), std::mem::replace(&mut batch, Vec::with_capacity(max_batch))));
            }
            Some(()) = inflight.next(), if !inflight.is_empty() => {}
        }
    }
    while inflight.next().await.is_some() {}
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
