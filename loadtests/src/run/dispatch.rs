//! The open model's clock: each arrival, and each re-send, goes to the senders when it is due.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::profile::{Arrival, Stream};
use crate::traffic::streams;

use super::state::{Item, Pending, State};

/// Follows the schedule: each arrival (and each re-send) goes to the senders when it is due.
pub(super) async fn dispatch(
    state: Arc<State>,
    arrivals: Vec<Arrival>,
    tx: flume::Sender<Item>,
    senders: usize,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    // Start once the senders wait (goose launches them over about a second), or after 30 s.
    let waiting = Instant::now();
    while state.ready.load(Ordering::Relaxed) < senders
        && waiting.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    let _ = state.start.set(start);
    let profile = &state.profile;
    let _ = state.deadline.set(
        start
            + profile.duration
            + profile.resend_delay
            + state.drop_after
            + Duration::from_secs(60 * (1 + u64::from(state.retry_refused))),
    );
    for a in arrivals {
        if goose::is_killswitch_triggered() {
            return;
        }
        let due = start + Duration::from_secs_f64(a.at);
        while let Some(p) = pop_due(&state, due) {
            tokio::time::sleep_until(p.due.into()).await;
            if !hand_over(&state, &tx, p) {
                return;
            }
        }
        tokio::time::sleep_until(due.into()).await;
        let pop = &state.population;
        let update = match a.stream {
            Stream::Mixed => pop.random(&mut rng),
            Stream::Quiet(i) => pop.make(0, streams::quiet_chat(i), streams::QUIET_KIND, &mut rng),
            Stream::Flood => pop.make(0, streams::FLOOD_CHAT, streams::FLOOD_KIND, &mut rng),
        };
        let item = Item {
            due,
            update: Arc::new(update),
            stream: a.stream,
            resend: false,
            attempt: 0,
        };
        if profile.resend_share > 0.0 && rng.random_bool(profile.resend_share) {
            let again = if rng.random_bool(profile.resend_concurrent) {
                Duration::ZERO
            } else {
                profile.resend_delay.mul_f64(rng.random::<f64>())
            };
            later(
                &state,
                Item {
                    due: due + again,
                    resend: true,
                    ..item.clone()
                },
            );
        }
        if !hand_over(&state, &tx, item) {
            return;
        }
    }
    // The schedule is over: re-sends still come due, and answers still in flight may refuse and
    // ask for more, so stop only when neither is left.
    loop {
        if goose::is_killswitch_triggered() {
            return;
        }
        let now = Instant::now();
        if let Some(p) = pop_due(&state, now) {
            if !hand_over(&state, &tx, p) {
                return;
            }
            continue;
        }
        let idle = state.in_flight.load(Ordering::SeqCst) == 0
            && state.later.lock().expect("not poisoned").is_empty();
        if idle {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(super) fn later(state: &State, item: Item) {
    state
        .later
        .lock()
        .expect("not poisoned")
        .push(Pending(item));
}

/// The earliest waiting re-send if it is due by `by`.
pub(super) fn pop_due(state: &State, by: Instant) -> Option<Item> {
    let mut later = state.later.lock().expect("not poisoned");
    if later.peek().is_some_and(|p| p.0.due <= by) {
        later.pop().map(|p| p.0)
    } else {
        None
    }
}

/// Hands an item to the senders, counting it in flight until it is answered; false when the
/// senders are gone.
pub(super) fn hand_over(state: &State, tx: &flume::Sender<Item>, item: Item) -> bool {
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    if tx.send(item).is_err() {
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    true
}
