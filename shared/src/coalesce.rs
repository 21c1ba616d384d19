//! Coalesces the requests of concurrent callers into batches for one round trip each.
//!
//! Callers send items (each carrying its own reply channel) to a channel; one task takes
//! whatever is waiting, up to a batch, and flushes it, with up to `parallel` flushes in flight.
//! Under load one round trip serves many callers; with a single caller nothing waits for a batch
//! to fill, so a lone request pays no extra latency. [`spawn_when`] can also keep a trickle of
//! items from going out in many small flushes beside one in flight ([`When::Filled`]), or hold a
//! batch for a while so that work nobody waits for goes out in fewer, larger flushes
//! ([`When::Lingered`]).

use std::{future::Future, time::Duration};

use futures::{StreamExt, stream::FuturesUnordered};
use tokio::{
    sync::mpsc,
    time::{Instant, sleep_until},
};

/// Starts the batching task and returns the channel to send items to. The task ends when every
/// sender is dropped, after flushing what it holds.
pub fn spawn<T, F, Fut>(max_batch: usize, parallel: usize, flush: F) -> mpsc::Sender<T>
where
    T: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    spawn_when(max_batch, parallel, When::Filled(1), flush)
}

/// When a batch that is neither full nor the last may go out.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// At once with no flush in flight; beside one in flight only once it holds this many
    /// items. Under load, items that come in a trickle (each caller after a round trip of its
    /// own) wait at most for one flush to end, and go out together, instead of in many small
    /// flushes that each cost a whole round trip and commit. `Filled(1)` is [`spawn`].
    Filled(usize),
    /// Once its first item has waited this long, even with nothing in flight: for work nobody
    /// waits for, where fewer flushes matter more than a few milliseconds (Kafka's
    /// `linger.ms`).
    Lingered(Duration),
}

/// As [`spawn`], with a batch going out [`When`] it may.
pub fn spawn_when<T, F, Fut>(
    max_batch: usize,
    parallel: usize,
    when: When,
    flush: F,
) -> mpsc::Sender<T>
where
    T: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (max_batch, parallel) = (max_batch.max(1), parallel.max(1));
    let when = match when {
        When::Filled(min_fill) => When::Filled(min_fill.clamp(1, max_batch)),
        lingered => lingered,
    };
    let (tx, mut rx) = mpsc::channel::<T>(max_batch * parallel * 2);
    tokio::spawn(async move {
        let mut inflight = FuturesUnordered::new();
        let mut batch = Vec::with_capacity(max_batch);
        // When the batch's first item came (`Lingered` only).
        let mut since = Instant::now();
        let mut open = true;
        loop {
            let slot = inflight.len() < parallel;
            let ready = batch.len() >= max_batch
                || !open
                || match when {
                    When::Filled(min_fill) => inflight.is_empty() || batch.len() >= min_fill,
                    When::Lingered(linger) => since.elapsed() >= linger,
                };
            if slot && !batch.is_empty() && ready {
                inflight.push(flush(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(max_batch),
                )));
                continue;
            }
            if !open && inflight.is_empty() {
                break;
            }
            let room = max_batch - batch.len();
            let deadline = match when {
                When::Lingered(linger) if slot && !batch.is_empty() => Some(since + linger),
                _ => None,
            };
            let was_empty = batch.is_empty();
            tokio::select! {
                // Take more only while a flush slot is free: the rest wait in the channel and
                // form the next, larger batch.
                n = rx.recv_many(&mut batch, room), if open && slot && room > 0 => {
                    if n == 0 {
                        open = false;
                    } else if was_empty {
                        since = Instant::now();
                    }
                }
                Some(()) = inflight.next(), if !inflight.is_empty() => {}
                // An async block, so that a batcher without a deadline builds no timer.
                () = async {
                    if let Some(deadline) = deadline {
                        sleep_until(deadline).await;
                    }
                }, if deadline.is_some() => {}
            }
        }
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

    /// Flushes recorded by the items they held, each held until `gate` gives it a permit.
    type Flushes = Arc<Mutex<Vec<Vec<u32>>>>;
    type Item = (u32, oneshot::Sender<u32>);

    /// A batcher whose flushes are recorded and wait for the returned gate.
    fn gated(
        max_batch: usize,
        parallel: usize,
        min_fill: usize,
    ) -> (mpsc::Sender<Item>, Flushes, Arc<tokio::sync::Semaphore>) {
        let sizes = Flushes::default();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (seen, held) = (sizes.clone(), gate.clone());
        let tx = spawn_when(
            max_batch,
            parallel,
            When::Filled(min_fill),
            move |batch: Vec<Item>| {
                let (seen, held) = (seen.clone(), held.clone());
                async move {
                    seen.lock()
                        .unwrap()
                        .push(batch.iter().map(|(n, _)| *n).collect());
                    held.acquire().await.unwrap().forget();
                    for (n, reply) in batch {
                        let _ = reply.send(n);
                    }
                }
            },
        );
        (tx, sizes, gate)
    }

    async fn send(tx: &mpsc::Sender<Item>, n: u32) -> oneshot::Receiver<u32> {
        let (reply, rx) = oneshot::channel();
        tx.send((n, reply)).await.unwrap();
        rx
    }

    /// Lets the batching task run until it has nothing left to do.
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_trickle_waits_beside_a_flush_in_flight_until_it_fills_or_the_flush_ends() {
        let (tx, sizes, gate) = gated(16, 4, 3);

        // Nothing in flight: a lone item goes at once.
        let one = send(&tx, 1).await;
        settle().await;
        assert_eq!(*sizes.lock().unwrap(), vec![vec![1]]);

        // One flush in flight: two items (fewer than 3) wait; a free slot is not enough.
        let two = send(&tx, 2).await;
        let three = send(&tx, 3).await;
        settle().await;
        let flushed = sizes.lock().unwrap().clone();
        assert_eq!(flushed, vec![vec![1]], "2 and 3 wait beside 1's flush");

        // A third fills the batch: it goes beside the one in flight.
        let four = send(&tx, 4).await;
        settle().await;
        assert_eq!(sizes.lock().unwrap()[1], vec![2, 3, 4]);

        // Below the fill again, but once every flush in flight ended it goes as it is.
        let five = send(&tx, 5).await;
        settle().await;
        let flushed = sizes.lock().unwrap().len();
        assert_eq!(flushed, 2, "5 waits beside two flushes");
        gate.add_permits(2);
        settle().await;
        assert_eq!(sizes.lock().unwrap()[2], vec![5]);
        gate.add_permits(1);
        for (rx, n) in [(one, 1), (two, 2), (three, 3), (four, 4), (five, 5)] {
            assert_eq!(rx.await.unwrap(), n);
        }
    }

    #[tokio::test]
    async fn items_left_below_the_fill_are_flushed_when_the_senders_are_gone() {
        let (tx, sizes, gate) = gated(16, 4, 8);
        let first = send(&tx, 1).await;
        settle().await;
        let second = send(&tx, 2).await;
        drop(tx);
        settle().await;
        assert_eq!(*sizes.lock().unwrap(), vec![vec![1], vec![2]]);
        gate.add_permits(2);
        assert_eq!((first.await.unwrap(), second.await.unwrap()), (1, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lingering_batch_goes_when_its_first_item_has_waited_or_when_it_is_full() {
        let sizes = Flushes::default();
        let seen = sizes.clone();
        let linger = std::time::Duration::from_millis(10);
        let tx = spawn_when(3, 2, When::Lingered(linger), move |batch: Vec<Item>| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push(batch.iter().map(|(n, _)| *n).collect());
                for (n, reply) in batch {
                    let _ = reply.send(n);
                }
            }
        });

        // Nothing in flight, and still a lone item waits for its linger, gathering a second.
        let one = send(&tx, 1).await;
        settle().await;
        tokio::time::advance(linger / 2).await;
        let two = send(&tx, 2).await;
        settle().await;
        assert!(sizes.lock().unwrap().is_empty(), "1 and 2 linger");
        tokio::time::advance(linger / 2).await;
        settle().await;
        assert_eq!(*sizes.lock().unwrap(), vec![vec![1, 2]], "a linger after 1");

        // A full batch does not wait.
        let (three, four, five) = (send(&tx, 3).await, send(&tx, 4).await, send(&tx, 5).await);
        settle().await;
        assert_eq!(sizes.lock().unwrap()[1], vec![3, 4, 5]);

        // The last items go when the senders are gone, linger or not.
        let six = send(&tx, 6).await;
        drop(tx);
        settle().await;
        assert_eq!(sizes.lock().unwrap()[2], vec![6]);
        for (rx, n) in [
            (one, 1),
            (two, 2),
            (three, 3),
            (four, 4),
            (five, 5),
            (six, 6),
        ] {
            assert_eq!(rx.await.unwrap(), n);
        }
    }
}
