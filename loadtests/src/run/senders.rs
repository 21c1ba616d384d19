//! The goose users: senders of the open model, and the `users` profile's simulated people.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use goose::goose::{GooseMethod, GooseRequest, GooseUser, TransactionError};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::profile::{Shape, Stream};
use crate::summary::LedgerEntry;

use super::dispatch::later;
use super::record::{Answer, record};
use super::state::{Item, STATE, State};

/// A goose user of the open model: sends whatever the dispatcher hands it until the schedule
/// ends (one long transaction; goose runs it once per user).
pub(super) async fn sender(user: &mut GooseUser) -> Result<(), Box<TransactionError>> {
    let state = STATE.get().expect("set before the attack").clone();
    state.ready.fetch_add(1, Ordering::Relaxed);
    loop {
        let item = tokio::select! {
            item = state.rx.recv_async() => match item {
                Ok(item) => item,
                Err(_) => return Ok(()),
            },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if goose::is_killswitch_triggered() || past_deadline(&state) {
                    return Ok(());
                }
                continue;
            }
        };
        if goose::is_killswitch_triggered() {
            return Ok(());
        }
        let sent = if item.due.elapsed() > state.drop_after {
            state.rec.lock().expect("not poisoned").dropped += 1;
            Ok(())
        } else {
            send(user, &state, &item).await
        };
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        sent?;
    }
}

pub(super) fn past_deadline(state: &State) -> bool {
    state.deadline.get().is_some_and(|d| Instant::now() > *d)
}

/// A goose user of the `users` profile: one person talking to bots, with think time between
/// actions (its own think time), until the profile's duration is over.
pub(super) async fn simulated_user(user: &mut GooseUser) -> Result<(), Box<TransactionError>> {
    let state = STATE.get().expect("set before the attack").clone();
    let start = *state.start.get_or_init(Instant::now);
    let _ = state
        .deadline
        .set(start + state.profile.duration + Duration::from_secs(30));
    let Shape::Users { think, .. } = state.profile.shape else {
        return Ok(());
    };
    let mut rng = StdRng::from_os_rng();
    let pop = &state.population;
    let person = user.weighted_users_index as u64;
    while start.elapsed() < state.profile.duration && !goose::is_killswitch_triggered() {
        let date = chrono::Utc::now().timestamp();
        let action = pop.act(person, date, &mut rng);
        let item = Item {
            due: Instant::now(),
            update: Arc::new(action.update),
            stream: Stream::Mixed,
            resend: false,
            attempt: 0,
        };
        send(user, &state, &item).await?;
        let pause = rng.random_range(think.0..=think.1);
        tokio::time::sleep(Duration::from_secs_f64(pause)).await;
    }
    Ok(())
}

/// Posts one update and records the answer.
pub(super) async fn send(
    user: &mut GooseUser,
    state: &State,
    item: &Item,
) -> Result<(), Box<TransactionError>> {
    let update = &item.update;
    let path = &state.bot_paths[update.bot];
    let ledger_at = {
        let mut rec = state.rec.lock().expect("not poisoned");
        rec.ledger.push(LedgerEntry {
            bot: state.population.bots[update.bot].name.clone(),
            update_id: update.update_id,
            status: 0,
            resend: item.resend,
            sent_us: None,
            answered_us: None,
        });
        if item.resend {
            rec.requests.resent += 1;
        }
        rec.ledger.len() - 1
    };
    let builder = user
        .get_request_builder(&GooseMethod::Post, path)?
        .header(
            "X-Telegram-Bot-Api-Secret-Token",
            state.population.bots[update.bot].secret.as_str(),
        )
        .header("content-type", "application/json")
        .body(update.body.clone());
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(path.as_str())
        .name("POST /webhook/telegram/{bot}")
        .set_request_builder(builder)
        .build();
    let sent = Instant::now();
    let mut response = user.request(request).await?;
    let expected_429 = item.stream == Stream::Flood;
    let answer = match response.response {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if status == 429 && expected_429 {
                user.set_success(&mut response.request)?;
            }
            let body = r.bytes().await.unwrap_or_default();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            Answer {
                status,
                timeout: false,
                retry_after,
                body_ok: json["ok"].as_bool() == Some(true),
                duplicate: json["duplicate"].as_bool() == Some(true),
            }
        }
        Err(e) => Answer {
            status: 0,
            timeout: e.is_timeout(),
            retry_after: None,
            body_ok: false,
            duplicate: false,
        },
    };
    let done = Instant::now();
    let refused = answer.status == 429 || answer.status == 503;
    if refused && item.attempt < state.retry_refused {
        // Telegram waits exactly Retry-After (clamped to 0-3600 s; here to 60 s so a run ends).
        let wait = Duration::from_secs(answer.retry_after.unwrap_or(0).min(60));
        later(
            state,
            Item {
                due: done + wait,
                resend: true,
                attempt: item.attempt + 1,
                ..item.clone()
            },
        );
    }
    let start = *state.start.get().expect("set before any send");
    record(&state.rec, start, item, ledger_at, answer, sent, done);
    Ok(())
}
