//! What a 2xx promised, and whether Postgres holds it; a broken promise is diagnosed with the
//! point of issue 12 that explains it, so a failure says at once whether it is known.

use std::collections::HashMap;

use sluice_shared::dlq::{DeadLetterFilter, DeadLetters};
use sluice_shared::job::Origin;
use sluice_testkit::TestDb;

use super::inputs::{BOT, SOURCE};

/// What a 2xx promised: a row for it.
#[derive(Debug, Clone)]
pub enum Promise {
    /// A new update (`id` in the answer): its row must hold this body.
    Update {
        update_id: i64,
        body: String,
    },
    /// A duplicate: the row of the first delivery must exist.
    Seen {
        update_id: i64,
    },
    Event {
        key: String,
    },
}

/// Why a promise is not kept, or `None`. `siblings`: the storable bodies acknowledged as new
/// for the same update_id (this one's included).
async fn broken(
    db: &TestDb,
    p: &Promise,
    siblings: &[String],
    dead: &HashMap<i64, String>,
) -> Option<String> {
    let row: Result<Option<(bool,)>, _> = match p {
        Promise::Update { update_id, .. } | Promise::Seen { update_id } => {
            sqlx::query_as(
                "SELECT (payload->>'update_id')::numeric IS NOT DISTINCT FROM update_id \
                 FROM updates WHERE bot = $1 AND update_id = $2",
            )
            .bind(BOT)
            .bind(update_id)
            .fetch_optional(&db.pool)
            .await
        }
        Promise::Event { key } => {
            sqlx::query_as("SELECT true FROM events WHERE source = $1 AND idempotency_key = $2")
                .bind(SOURCE)
                .bind(key)
                .fetch_optional(&db.pool)
                .await
        }
    };
    let (update_id, body) = match p {
        Promise::Update { update_id, body } => (*update_id, Some(body)),
        _ => (0, None),
    };
    match (row, body) {
        (Err(e), _) => Some(format!("row not readable: {e}")),
        (Ok(Some((false,))), _) => Some(
            "the row's update_id is not the payload's (point 3: a repeated top-level key)".into(),
        ),
        (Ok(Some(_)), None) => None,
        (Ok(Some(_)), Some(body)) => {
            if let Err(e) = storable(db, Some(body)).await {
                return Some(format!(
                    "acknowledged an unstorable body (point 1: {e}); the row holds another"
                ));
            }
            // The generator may give two different bodies one update_id (Telegram never does);
            // in different lanes both are queued, and the row holds one of them.
            let same: Result<bool, _> = sqlx::query_scalar(
                "SELECT payload = ANY(SELECT b::jsonb FROM unnest($3::text[]) AS b) \
                 FROM updates WHERE bot = $1 AND update_id = $2",
            )
            .bind(BOT)
            .bind(update_id)
            .bind(siblings)
            .fetch_one(&db.pool)
            .await;
            match same {
                Ok(true) => None,
                other => Some(format!(
                    "the row holds another payload than the body ({other:?})"
                )),
            }
        }
        (Ok(None), body) => Some(match storable(db, body).await {
            Err(e) => format!("no row; the body is not storable in jsonb (point 1: {e})"),
            Ok(()) => match dead.get(&update_id) {
                Some(reason) => format!(
                    "no row; a storable body dead-lettered with \"{reason}\" (point 2 when that \
                     is another row's jsonb error)"
                ),
                None => "no row yet though the body is storable (point 2 if it is still \
                         retrying in a batch with an unstorable body; else a new bug)"
                    .into(),
            },
        }),
    }
}

/// Whether Postgres's `jsonb` takes `body` (what the worker's insert needs).
async fn storable(db: &TestDb, body: Option<&String>) -> Result<(), String> {
    let Some(body) = body else { return Ok(()) };
    sqlx::query("SELECT $1::jsonb")
        .bind(body)
        .execute(&db.pool)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The promises not kept, each with why (bodies cut to 300 bytes).
pub async fn unkept(db: &TestDb, dead: &DeadLetters, promises: &[Promise]) -> Vec<String> {
    let dead: HashMap<i64, String> = dead
        .list(&DeadLetterFilter::default(), None, 100_000)
        .await
        .map(|page| page.letters)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|l| match l.envelope.origin {
            Origin::Telegram { update_id, .. } => Some((update_id, l.reason)),
            Origin::Signed { .. } => None,
        })
        .collect();
    let mut bodies: HashMap<i64, Vec<String>> = HashMap::new();
    for p in promises {
        if let Promise::Update { update_id, body } = p
            && storable(db, Some(body)).await.is_ok()
        {
            bodies.entry(*update_id).or_default().push(body.clone());
        }
    }
    let mut bad = Vec::new();
    for p in promises {
        let siblings = match p {
            Promise::Update { update_id, .. } => bodies.get(update_id).map_or(&[][..], |b| b),
            _ => &[],
        };
        if let Some(why) = broken(db, p, siblings, &dead).await {
            let mut shown = format!("{p:?}");
            if shown.len() > 300 {
                let mut cut = 300;
                while !shown.is_char_boundary(cut) {
                    cut -= 1;
                }
                shown.truncate(cut);
                shown.push('…');
            }
            bad.push(format!("{why}: {shown}"));
        }
    }
    bad
}
