//! Coalesces the requests of concurrent callers into batches for one round trip each.
//!
//! Callers send items (each carrying its own reply channel) to a channel; one task takes
//! whatever is waiting, up to a batch, and flushes it, with up to `parallel` flushes in flight.
//! Under load one round trip serves many callers; with a single caller nothing waits for a batch
//! to fill, so a lone request pays no extra latency.

use std::future::Future;

use futures::{StreamExt, stream::FuturesUnordered};
use tokio::sync::mpsc;

/// Starts the batching task and returns the channel to send items to. The task ends when every
/// sender is dropped, after flushing what it holds.
pub fn spawn<T, F, Fut>(max_batch: usize, parallel: usize, flush: F) -> mpsc::Sender<T>
where
    T: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (max_batch, parallel) = (max_batch.max(1), parallel.max(1));
    let (tx, mut rx) = mpsc::channel::<T>(max_batch * parallel * 2);
    tokio::spawn(async move {
        let mut inflight = FuturesUnordered::new();
        let mut batch = Vec::with_capacity(max_batch);
        loop {
            tokio::select! {
                // Take more only while a flush slot is free: the rest wait in the channel and
                // form the next, larger batch.
                n = rx.recv_many(&mut batch, max_batch), if inflight.len() < parallel => {
                    if n == 0 {
                        break;
                    }
                    inflight.push(flush(std::mem::replace(&mut batch, Vec::with_capacity(max_batch))));
                }
                Some(()) = inflight.next(), if !inflight.is_empty() => {}
            }
        }
        while inflight.next().await.is_some() {}
    });
    tx
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::oneshot;

    use super::*;

    #[tokio::test]
    async fn concurrent_items_share_flushes_and_all_get_answers() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let tx = spawn(16, 1, move |batch: Vec<(u32, oneshot::Sender<u32>)>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(batch.len());
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                for (n, reply) in batch {
                    let _ = reply.send(n * 2);
                }
            }
        });
        let calls = (0..100u32).map(|n| {
            let tx = tx.clone();
            async move {
                let (reply, rx) = oneshot::channel();
                tx.send((n, reply)).await.unwrap();
                rx.await.unwrap()
            }
        });
        let answers = futures::future::join_all(calls).await;
        assert_eq!(answers, (0..100).map(|n| n * 2).collect::<Vec<_>>());
        let sizes = sizes.lock().unwrap();
        assert!(sizes.len() < 100, "items were coalesced: {sizes:?}");
        assert!(sizes.iter().all(|&s| s <= 16));
    }
}
